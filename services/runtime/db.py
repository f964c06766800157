"""Storage: an async SQLModel engine per service, sessions, and Alembic migrations applied at
start.

Each service declares its tables on its own registry (so that one process can hold several
services' models in tests without mixing their metadata)::

    from services.runtime.db import service_registry
    Base, metadata = service_registry()
    class Case(Base, table=True): ...
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import registry
from sqlmodel import SQLModel, create_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from .tables import RuntimeTables, add_runtime_tables


def database_unavailable(exc: BaseException) -> bool:
    """The database could not be reached or used right now (not the request's or the event's fault):
    connection refused or cut, pool exhausted, server going away."""
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout, ConnectionError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)

log = logging.getLogger(__name__)


def service_registry() -> tuple[type[SQLModel], MetaData]:
    """A SQLModel base class with its own metadata, the runtime tables already in it."""
    reg = registry()

    class Base(SQLModel, registry=reg):
        pass

    add_runtime_tables(reg.metadata)
    return Base, reg.metadata


def sync_url(url: str) -> str:
    """The synchronous twin of an async URL (Alembic runs synchronously)."""
    u = make_url(url)
    if u.drivername == "sqlite+aiosqlite":
        u = u.set(drivername="sqlite")
    elif u.drivername in ("postgresql+asyncpg",):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def async_url(url: str) -> str:
    u = make_url(url)
    if u.drivername in ("sqlite", "sqlite+pysqlite"):
        u = u.set(drivername="sqlite+aiosqlite")
    elif u.drivername in ("postgresql", "postgresql+psycopg2"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def _sqlite_pragmas(engine: Engine | AsyncEngine) -> None:
    target = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(target, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:  # pragma: no cover - trivial
        cur = dbapi_conn.cursor()
        # WAL lets the API read while a handler writes; busy_timeout waits out short locks.
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()


class Database:
    """One service's database: the async engine, sessions, migrations, a readiness probe."""

    def __init__(self, url: str, metadata: MetaData, migrations: Path | None = None, echo: bool = False) -> None:
        self.url = async_url(url)
        self.metadata = metadata
        self.migrations = migrations
        self.tables: RuntimeTables = add_runtime_tables(metadata)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if not self.is_sqlite:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=10)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            _sqlite_pragmas(self.engine)
        self.sessionmaker = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._head: str | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> AsyncSession:
        return self.sessionmaker()

    # -- migrations -------------------------------------------------------------------------
    def alembic_config(self) -> Config:
        if self.migrations is None:
            raise RuntimeError("this database has no migrations folder")
        cfg = Config()
        cfg.set_main_option("script_location", str(self.migrations))
        cfg.set_main_option("sqlalchemy.url", sync_url(self.url).replace("%", "%%"))
        cfg.attributes["target_metadata"] = self.metadata
        return cfg

    def head_revision(self) -> str | None:
        if self._head is None and self.migrations is not None:
            self._head = ScriptDirectory.from_config(self.alembic_config()).get_current_head()
        return self._head

    async def migrate(self) -> None:
        """Apply migrations up to head (or create tables when the service has none yet)."""
        if self.migrations is None:
            async with self.engine.begin() as conn:
                await conn.run_sync(self.metadata.create_all)
            return
        cfg = self.alembic_config()
        await asyncio.to_thread(command.upgrade, cfg, "head")
        self.head_revision()

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def migrations_applied(self) -> bool:
        if self.migrations is None:
            return True
        return await self.current_revision() == self.head_revision()

    async def dispose(self) -> None:
        await self.engine.dispose()


def sync_engine(url: str) -> Engine:
    eng = create_engine(sync_url(url))
    if eng.dialect.name == "sqlite":
        _sqlite_pragmas(eng)
    return eng
