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
import collections
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_dbapi
from sqlalchemy.orm import registry
from sqlalchemy.util.concurrency import await_
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

T = TypeVar("T")

#: How long a SQLite statement waits for another writer's lock before "database is locked".
BUSY_TIMEOUT_MS = 10_000


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
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()
        if isinstance(dbapi_conn, _OneHopConnection):
            dbapi_conn._busy_ms = BUSY_TIMEOUT_MS


#: Set (``inline_sqlite()``) around the runtime's own short transactions -- a consumer's batch,
#: the relay's poll -- so that their SQLite statements run on the event loop's thread.
_INLINE: ContextVar[bool] = ContextVar("onewindow_inline_sqlite", default=False)


@contextmanager
def inline_sqlite() -> Iterator[None]:
    """Within this block, SQLite statements (and commits, rollbacks) run on the calling thread
    instead of a hand-off to aiosqlite's thread and back, when they cannot wait: the connection
    runs them with ``busy_timeout=0``, and a statement that finds the database locked by another
    writer goes to aiosqlite's thread after all and waits there (``busy_timeout``), the event loop
    free meanwhile. For short, indexed work only: a statement that scans a big table would hold
    the event loop for as long. PostgreSQL and everything outside the block are unaffected."""
    token = _INLINE.set(True)
    try:
        yield
    finally:
        _INLINE.reset(token)


def _is_busy(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_BUSY


class _OneHopCursor:
    """A DBAPI cursor over aiosqlite that runs a whole statement -- execute, fetch the rows, read
    ``rowcount``/``lastrowid``, close -- in ONE call to the connection's thread (SQLAlchemy's own
    aiosqlite cursor makes four: cursor, execute, fetchall, close; each a hand-off to the thread
    and back, which costs more than the statement itself on a busy machine), or in none within
    :func:`inline_sqlite`."""

    server_side = False
    __slots__ = ("_adapt_connection", "_rows", "description", "rowcount", "lastrowid", "arraysize")

    def __init__(self, adapt_connection: "_OneHopConnection") -> None:
        self._adapt_connection = adapt_connection
        self._rows: collections.deque[Any] = collections.deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    @staticmethod
    def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> tuple[Any, Any, int, Any]:
        cur = conn.cursor()
        try:
            if many:
                cur.executemany(operation, parameters)
            elif parameters is None:
                cur.execute(operation)
            else:
                cur.execute(operation, parameters)
            description = cur.description
            rows = cur.fetchall() if description else ()
            return description, rows, cur.rowcount, cur.lastrowid
        finally:
            cur.close()

    def _execute(self, operation: str, parameters: Any, many: bool) -> None:
        try:
            self.description, rows, self.rowcount, self.lastrowid = self._adapt_connection.call(
                self._run, operation, parameters, many
            )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._rows = collections.deque(rows)

    def execute(self, operation: str, parameters: Any = None) -> None:
        self._execute(operation, parameters, False)

    def executemany(self, operation: str, seq_of_parameters: Any) -> None:
        self._execute(operation, seq_of_parameters, True)

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None

    def __iter__(self) -> Any:
        while self._rows:
            yield self._rows.popleft()

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        size = self.arraysize if size is None else size
        rr = self._rows
        return [rr.popleft() for _ in range(min(size, len(rr)))]

    def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


class _OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """aiosqlite's connection as SQLAlchemy adapts it, running each statement, commit and
    rollback in one hop to its thread, or inline (see :func:`inline_sqlite`)."""

    __slots__ = ("_busy_ms", "_thread_done")
    _cursor_cls = _OneHopCursor  # type: ignore[assignment]

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._busy_ms: int | None = None  # the connection's busy_timeout as last set here
        #: Set by aiosqlite's thread when the last call handed to it has really finished (a
        #: cancelled await does not stop it); nothing runs inline before.
        self._thread_done: threading.Event | None = None

    def _inline_ok(self) -> bool:
        return _INLINE.get() and self._quiet()

    def _quiet(self) -> bool:
        """Nothing of this connection's is running in aiosqlite's thread (not even a call whose
        await was cancelled), so its state can be read from here."""
        return (
            not self._execute_mutex.locked()
            and (self._thread_done is None or self._thread_done.is_set())
            and self._connection._connection is not None
        )

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(sqlite3_connection, *args)``: inline when allowed and the database is not locked
        by another writer, else in aiosqlite's thread (waiting out a lock there)."""
        if self._inline_ok():
            conn = self._connection._conn
            if self._busy_ms != 0:
                conn.execute("PRAGMA busy_timeout=0")
                self._busy_ms = 0
            try:
                return fn(conn, *args)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                # Locked by another connection's transaction: wait for it off the event loop.
        return await_(self._call_in_thread(fn, *args))

    async def _call_in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        done = threading.Event()

        def run(conn: sqlite3.Connection) -> T:
            try:
                if self._busy_ms != BUSY_TIMEOUT_MS:
                    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                    self._busy_ms = BUSY_TIMEOUT_MS
                return fn(conn, *args)
            finally:
                done.set()

        async with self._execute_mutex:
            self._thread_done = done
            conn = self._connection._conn
            return await self._connection._execute(run, conn)

    def commit(self) -> None:
        if self._connection._connection:
            try:
                self.call(_commit)
            except Exception as error:
                self._handle_exception(error)

    def rollback(self) -> None:
        if self._connection._connection:
            # No transaction open (the pool's reset when a session hands back its connection
            # after a commit, or after reads only: sqlite3 opens one before a write only):
            # nothing to undo, and no hop to aiosqlite's thread and back for a no-op ROLLBACK.
            if self._quiet() and not self._connection._conn.in_transaction:
                return
            try:
                self.call(_rollback)
            except Exception as error:
                self._handle_exception(error)


def _commit(conn: sqlite3.Connection) -> None:
    conn.commit()


def _rollback(conn: sqlite3.Connection) -> None:
    conn.rollback()


class _OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """aiosqlite as SQLAlchemy's dialect expects it, with :class:`_OneHopConnection`."""

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        kw.pop("async_creator_fn", None)
        kw["check_same_thread"] = False  # used by aiosqlite's thread and, inline, the loop's
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True
        return _OneHopConnection(self, await_(connection))


def _sqlite_dbapi() -> _OneHopDBAPI:
    import aiosqlite

    return _OneHopDBAPI(aiosqlite, sqlite3)


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
        elif make_url(self.url).drivername == "sqlite+aiosqlite":
            kwargs.update(module=_sqlite_dbapi())
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
