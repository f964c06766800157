"""A service's migrations against its models: run them on a fresh database and compare."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData

from services.runtime.db import Database, sync_engine

T = TypeVar("T")


async def migrated_schema(database_url: str, metadata: MetaData, migrations: Path,
                          look: Callable[[Connection], T] | None = None) -> tuple[list[Any], T | None]:
    """Apply ``migrations`` to the empty database at ``database_url``; returns what differs from
    ``metadata`` (alembic's autogenerate diff: empty when they match) and what ``look`` saw."""
    db = Database(database_url, metadata, migrations)
    await db.migrate()
    assert await db.migrations_applied()
    await db.dispose()
    engine = sync_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
            seen = look(conn) if look is not None else None
    finally:
        engine.dispose()
    return diff, seen
