"""The migrations create exactly the tables the models declare (on SQLite, and PostgreSQL in CI)."""

from __future__ import annotations

from services.deadline.app import MIGRATIONS
from services.deadline.store import metadata
from tests.migrations import migrated_schema


async def test_migrations_match_the_models(database_url: str) -> None:
    diff, _ = await migrated_schema(database_url, metadata, MIGRATIONS)
    assert diff == []
