"""The migrations create exactly the tables the models declare (on SQLite, and PostgreSQL in CI)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from services.deadline.app import MIGRATIONS
from services.deadline.store import metadata
from services.runtime.db import Database, sync_engine


async def test_migrations_match_the_models(database_url: str) -> None:
    db = Database(database_url, metadata, MIGRATIONS)
    await db.migrate()
    assert await db.migrations_applied()
    await db.dispose()
    engine = sync_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    finally:
        engine.dispose()
    assert diff == []
