"""The migrations create exactly the tables the models declare (on SQLite, and PostgreSQL in CI),
the held duty gaps' table included."""

from __future__ import annotations

from sqlalchemy import Connection, inspect

from services.notify.app import MIGRATIONS
from services.notify.store import metadata
from tests.migrations import migrated_schema


def _duty_gaps(conn: Connection) -> tuple[set[str], set[tuple[str, ...]]]:
    gaps = inspect(conn)
    return ({c["name"] for c in gaps.get_columns("notify_duty_gaps")},
            {tuple(i["column_names"]) for i in gaps.get_indexes("notify_duty_gaps")})


async def test_migrations_match_the_models(database_url: str) -> None:
    diff, (columns, indexes) = await migrated_schema(database_url, metadata, MIGRATIONS, _duty_gaps)
    assert diff == []
    assert {"event_id", "window_no", "unit_name", "posts", "opening_time", "detected_at", "state",
            "alerted_at"} <= columns
    assert ("state",) in indexes
