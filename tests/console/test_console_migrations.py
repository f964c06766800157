"""The console's migrations create exactly the tables its models declare (SQLite, and PostgreSQL
in CI), the runtime's outbox and inbox through the runtime's helper."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, inspect

from services.console.app import MIGRATIONS
from services.console.store import metadata
from tests.migrations import migrated_schema

pytestmark = pytest.mark.timeout(120)


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def test_migrations_match_the_models(database_url: str) -> None:
    diff, tables = await migrated_schema(database_url, metadata, MIGRATIONS, _tables)
    assert diff == []
    assert {"console_accounts", "console_sessions", "console_login_failures", "outbox", "inbox"} <= tables
