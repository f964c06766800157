"""The migrations create exactly the tables the models declare (on SQLite, and PostgreSQL in CI),
the held duty gaps' table included."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from services.notify.app import MIGRATIONS
from services.notify.store import metadata
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
            gaps = inspect(conn)
            columns = {c["name"] for c in gaps.get_columns("notify_duty_gaps")}
            indexes = {tuple(i["column_names"]) for i in gaps.get_indexes("notify_duty_gaps")}
    finally:
        engine.dispose()
    assert diff == []
    assert {"event_id", "window_no", "unit_name", "posts", "opening_time", "detected_at", "state",
            "alerted_at"} <= columns
    assert ("state",) in indexes
