"""The migrations create exactly the tables the models declare (on SQLite, and PostgreSQL in CI),
the access log's append-only triggers included."""

from __future__ import annotations

import pytest

from services.intake.app import MIGRATIONS
from services.intake.store import metadata
from tests.migrations import migrated_schema

pytestmark = pytest.mark.timeout(120)


async def test_migrations_match_the_models(database_url: str) -> None:
    diff, _ = await migrated_schema(database_url, metadata, MIGRATIONS)
    assert diff == []
