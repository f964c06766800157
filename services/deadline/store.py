"""The deadline service's tables and queries.

- ``deadline_clock``: one row per accepted case. ``due_at`` (the red-card instant, NULL when
  nothing is pending) and ``next_warning_at`` (the next yellow-card instant) are indexed (partial
  indexes: only the rows where they are set): the watcher asks for the earliest of each and for
  the rows already due, never scans.
- ``deadline_calendar_change``: the calendar's history (who changed what, when, why); the
  calendar is rebuilt from it. ``deadline_recompute_job``: open clocks to recompute after a
  change, done in chunks by a worker (resumable).
- Supervision: notices, bulletins, inspection samples and results; unit names; counters for
  document numbers.

Every instant is stored in UTC (SQLite hands datetimes back naive: :func:`aware` restores UTC).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON, Column, DateTime, Index, String, Table, Text, UniqueConstraint, case, cast, func, literal_column, or_, text,
    type_coerce, update,
)
from sqlalchemy import event as sa_event
from sqlalchemy import select as sa_select
from sqlmodel import Field, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.base import Event
from contracts.common import CaseKind
from contracts.deadline import CalendarAction, NoticeSource, StopReason
from contracts.envelope import CONTENT_TYPE, SOURCE_PREFIX, SPECVERSION
from contracts.kinds import ON_THE_SPOT
from services.runtime import clock as suite_clock
from services.runtime.db import BUSY_TIMEOUT_MS, service_registry
from services.runtime.workdays import WorkCalendar

from .domain.calendar import CalendarChange
from .domain.clock import OVERDUE, Clock, Extension, Stop
from .domain.oversight import CaseSpan, InspectionSample, Period, SupervisionNotice, UnitStats

Base, metadata = service_registry()
log = logging.getLogger(__name__)


def aware(dt: datetime | None) -> datetime | None:
    """A stored instant as an aware UTC datetime."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def utc(dt: datetime | None) -> datetime | None:
    """An instant to store: UTC (naive values are taken as UTC already)."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index))


# ---------------------------------------------------------------------------------------------
# Clocks


def _partial(name: str, *columns: str, where: str) -> Index:
    """An index of the rows where ``where`` holds, on SQLite and PostgreSQL alike. The alert
    instants and the decision day are NULL for most rows an update leaves (a red card clears
    ``due_at``; an open case has no ``decided_on``): such a row gets no entry, and on PostgreSQL,
    where an update adds the new row version to every index whose predicate it meets, the
    watcher's updates touch two or three indexes instead of six. Queries comparing the column
    (``due_at <= now``, ``decided_on >= first``, ``min()`` with ``IS NOT NULL``) still use them."""
    return Index(name, *columns, sqlite_where=text(where), postgresql_where=text(where))


class ClockRow(Base, table=True):
    __tablename__ = "deadline_clock"
    __table_args__ = (
        _partial("ix_deadline_clock_unit_decided", "unit_code", "decided_on", where="decided_on IS NOT NULL"),
        Index("ix_deadline_clock_open_overdue", "overdue", "state"),
        _partial("ix_deadline_clock_due_at", "due_at", where="due_at IS NOT NULL"),
        _partial("ix_deadline_clock_next_warning_at", "next_warning_at", where="next_warning_at IS NOT NULL"),
        _partial("ix_deadline_clock_decided_on", "decided_on", where="decided_on IS NOT NULL"),
    )

    receipt_no: str = Field(primary_key=True, max_length=40)
    unit_code: str = Field(max_length=32)
    item_code: str = Field(max_length=64)
    item_version: int | None = None
    case_kind: str = Field(max_length=16)
    accepted_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    accepted_on: date
    promised_days: int
    statutory_days: int
    due_date: date
    statutory_due_date: date
    provisional: bool = False
    calendar_version: int = 0
    #: running | stopped | ended
    state: str = Field(max_length=8)
    overdue: bool = False
    due_at: datetime | None = _ts()
    next_warning_at: datetime | None = _ts()
    stops: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    extensions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    fired: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decided_at: datetime | None = _ts()
    decided_on: date | None = None
    outcome: str | None = Field(default=None, max_length=40)
    on_time: bool | None = None
    working_days_used: int | None = None
    working_days_stopped: int | None = None
    late_working_days: int | None = None
    updated_at: datetime | None = _ts()


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else utc(dt).isoformat()  # type: ignore[union-attr]


def _dt(text: str | None) -> datetime | None:
    return None if text is None else aware(datetime.fromisoformat(text))


#: The columns a :class:`Clock` is built from, in :func:`_clock`'s order.
_CLOCK_FIELDS = (
    "receipt_no", "unit_code", "item_code", "case_kind", "accepted_at", "promised_days", "statutory_days",
    "item_version", "stops", "extensions", "decided_at", "outcome", "fired", "due_date", "statutory_due_date",
    "provisional", "calendar_version",
)
_CASE_KINDS = {k.value: k for k in CaseKind}


def _clock(
    receipt_no: str, unit_code: str, item_code: str, case_kind: str, accepted_at: datetime, promised_days: int,
    statutory_days: int, item_version: int | None, stops: list[dict[str, Any]], extensions: list[dict[str, Any]],
    decided_at: datetime | None, outcome: str | None, fired: Iterable[str], due_date: date, statutory_due_date: date,
    provisional: bool, calendar_version: int,
) -> Clock:
    return Clock(
        receipt_no=receipt_no,
        unit_code=unit_code,
        item_code=item_code,
        case_kind=_CASE_KINDS[case_kind],
        accepted_at=aware(accepted_at),  # type: ignore[arg-type]
        promised_days=promised_days,
        statutory_days=statutory_days,
        item_version=item_version,
        stops=[
            Stop(s["stop_id"], StopReason(s["reason"]), _dt(s["started_at"]), _dt(s.get("ended_at")), s.get("note"))  # type: ignore[arg-type]
            for s in stops
        ],
        extensions=[
            Extension(e["extension_id"], int(e["days"]), e["approved_by"], e["reason"], _dt(e["granted_at"]))  # type: ignore[arg-type]
            for e in extensions
        ],
        decided_at=aware(decided_at),
        outcome=outcome,
        fired=set(fired),
        due_date=due_date,
        statutory_due_date=statutory_due_date,
        provisional=bool(provisional),
        calendar_version=calendar_version,
    )


def clock_from_row(row: Any) -> Clock:
    """The domain's clock from a stored row (a :class:`ClockRow`)."""
    return _clock(*[getattr(row, name) for name in _CLOCK_FIELDS])


def alert_columns(clock: Clock, cal: WorkCalendar, thresholds: Sequence[int]) -> dict[str, Any]:
    """The columns that follow from the cards already fired: the red-card and next yellow-card
    instants (indexed, for the watcher), the overdue flag and the fired list. The only columns
    :meth:`Clock.check_alerts` can change."""
    return {
        "overdue": OVERDUE in clock.fired,
        "due_at": utc(clock.due_at()),
        "next_warning_at": utc(clock.next_warning_at(cal, thresholds)),
        "fired": sorted(clock.fired),
    }


def clock_to_row(clock: Clock, cal: WorkCalendar, thresholds: Sequence[int], row: ClockRow | None = None) -> ClockRow:
    """Write the clock's state (and its indexed alert instants) into ``row`` (a new row when
    None)."""
    if row is None:
        row = ClockRow(
            receipt_no=clock.receipt_no,
            unit_code=clock.unit_code,
            item_code=clock.item_code,
            case_kind=clock.case_kind.value,
            accepted_at=utc(clock.accepted_at),
            accepted_on=clock.accepted_on,
            promised_days=clock.promised_days,
            statutory_days=clock.statutory_days,
            due_date=clock.due_date,
            statutory_due_date=clock.statutory_due_date,
            state="running",
            # Given, not defaulted (set below): SQLModel calls a default factory through
            # inspect.signature(list) each time, most of a new row's cost.
            stops=[], extensions=[], fired=[],
        )
    row.item_version = clock.item_version
    row.due_date = clock.due_date
    row.statutory_due_date = clock.statutory_due_date
    row.provisional = clock.provisional
    row.calendar_version = clock.calendar_version
    row.state = "ended" if clock.ended else ("stopped" if clock.stopped else "running")
    alerts = alert_columns(clock, cal, thresholds)
    row.overdue = alerts["overdue"]
    row.due_at = alerts["due_at"]
    row.next_warning_at = alerts["next_warning_at"]
    row.stops = [
        {"stop_id": s.stop_id, "reason": s.reason.value, "started_at": _iso(s.started_at), "ended_at": _iso(s.ended_at), "note": s.note}
        for s in clock.stops
    ]
    row.extensions = [
        {"extension_id": e.extension_id, "days": e.days, "approved_by": e.approved_by, "reason": e.reason, "granted_at": _iso(e.granted_at)}
        for e in clock.extensions
    ]
    row.fired = alerts["fired"]
    row.decided_at = utc(clock.decided_at)
    row.outcome = clock.outcome
    row.updated_at = suite_clock.system_now()  # housekeeping: the wall clock
    return row


def record_end(row: ClockRow, decided_on: date, on_time: bool, used: int, stopped: int, late: int) -> None:
    row.decided_on = decided_on
    row.on_time = on_time
    row.working_days_used = used
    row.working_days_stopped = stopped
    row.late_working_days = late


async def get_clock(session: AsyncSession, receipt_no: str, *, for_update: bool = False) -> ClockRow | None:
    stmt = select(ClockRow).where(ClockRow.receipt_no == receipt_no)
    if for_update and session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


#: The clock table for Core statements: the watcher's batches skip the ORM (no identity map, no
#: per-attribute change tracking; one SELECT, executemany UPDATEs and one INSERT per batch).
CLOCKS = ClockRow.__table__  # type: ignore[attr-defined]

_JSON_FIELDS = frozenset({"stops", "extensions", "fired"})
_DAY_FIELDS = frozenset({"due_date", "statutory_due_date"})
_INSTANT_FIELDS = frozenset({"accepted_at", "decided_at"})


def _due_columns(sqlite: bool) -> tuple[Any, ...]:
    """The watcher's SELECT list: the clock's columns (the JSON lists as their text, decoded by
    :func:`_json_list`; on SQLite the dates and instants as their stored text, decoded with
    ``fromisoformat``, which is what SQLAlchemy's SQLite types do, slower), then whether a yellow
    card is pending as stored."""
    columns: list[Any] = []
    for name in _CLOCK_FIELDS:
        column = CLOCKS.c[name]
        if name in _JSON_FIELDS:
            column = cast(column, Text)
        elif sqlite and (name in _DAY_FIELDS or name in _INSTANT_FIELDS):
            column = type_coerce(column, String)
        columns.append(column)
    # Last, the row's locator for the batch UPDATE, found without a search of the receipt
    # number's index per clock: SQLite's rowid; PostgreSQL's ctid as text (a TID scan; the row is
    # locked FOR UPDATE by the same transaction, so its version cannot move before the UPDATE).
    # SQLite also gives the row's ``updated_at`` as stored: its SELECT runs before the write
    # transaction begins (the sqlite3 module opens it at the first UPDATE), so the UPDATE only
    # takes the row if nobody wrote it in between (:class:`ClocksChanged`).
    if sqlite:
        return (*columns, CLOCKS.c.next_warning_at.is_not(None), literal_column("deadline_clock.rowid"),
                type_coerce(CLOCKS.c.updated_at, String))
    return (*columns, CLOCKS.c.next_warning_at.is_not(None), cast(literal_column("deadline_clock.ctid"), Text))


_DUE_COLUMNS = {sqlite: _due_columns(sqlite) for sqlite in (False, True)}


def _json_list(text: str | None) -> list[Any]:
    return [] if text is None or text == "[]" else json.loads(text)


@dataclass(slots=True)
class DueClock:
    """A clock the watcher took, with what its row held of the alert columns."""

    clock: Clock
    fired: frozenset[str]
    warning_pending: bool


def due_clock(values: Sequence[Any], sqlite: bool) -> DueClock:
    """The domain's clock of a row of :func:`due_clocks`, with what the row held."""
    (receipt_no, unit_code, item_code, case_kind, accepted_at, promised_days, statutory_days, item_version, stops,
     extensions, decided_at, outcome, fired, due_date, statutory_due_date, provisional, calendar_version,
     warning_pending) = values[:18]
    if sqlite:  # the stored text (see _due_columns)
        accepted_at = datetime.fromisoformat(accepted_at)
        decided_at = None if decided_at is None else datetime.fromisoformat(decided_at)
        due_date = date.fromisoformat(due_date)
        statutory_due_date = date.fromisoformat(statutory_due_date)
    fired_list = _json_list(fired)
    clock = _clock(
        receipt_no, unit_code, item_code, case_kind, accepted_at, promised_days, statutory_days, item_version,
        _json_list(stops), _json_list(extensions), decided_at, outcome, fired_list, due_date, statutory_due_date,
        provisional, calendar_version,
    )
    return DueClock(clock, frozenset(fired_list), bool(warning_pending))


async def due_clocks(
    session: AsyncSession, now: datetime, limit: int, skip: Collection[str] = ()
) -> tuple[list[Sequence[Any]], bool]:
    """At most ``limit`` clocks with a card due at ``now``, taken for this transaction: the red
    cards first (``due_at`` index, earliest first), then the yellow ones (``next_warning_at``
    index). On PostgreSQL the rows are locked ``FOR UPDATE SKIP LOCKED``, so replicas watching
    side by side take different clocks. Clocks in ``skip`` (already handled in this tick) are left
    out. Returns the clocks as rows (:data:`_CLOCK_FIELDS`, then whether a yellow card is pending and
    the row's locator for :func:`write_alert_rows`; :func:`due_clock` makes the domain's clock of one) and whether more may be due (either index
    gave all it was asked)."""
    now = utc(now)  # type: ignore[assignment]
    dialect = session.bind.dialect.name if session.bind is not None else ""
    postgres, sqlite = dialect == "postgresql", dialect == "sqlite"
    conn = await session.connection()  # Core statements: the session's transaction, without the ORM's execute
    if sqlite:
        await _rollover_cache(conn)  # before the SELECT: the pages it reads are the ones the batch rewrites
    taken: dict[str, Sequence[Any]] = {}
    more = False
    for column in (CLOCKS.c.due_at, CLOCKS.c.next_warning_at):
        want = limit - len(taken)
        if want <= 0:
            more = True
            break
        stmt = sa_select(*_DUE_COLUMNS[sqlite]).where(column <= now).order_by(column).limit(want)
        if postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        rows = (await conn.execute(stmt)).all()
        more = more or len(rows) == want
        for values in rows:
            receipt_no = values[0]
            if receipt_no not in taken and receipt_no not in skip:
                taken[receipt_no] = values
    return list(taken.values()), more


def changed_alerts(due: DueClock, values: dict[str, Any], old_due_at: datetime | None) -> tuple[str, ...]:
    """Which of :func:`alert_columns` differ from what the row holds, for a clock whose
    :meth:`Clock.check_alerts` changed at most its fired cards (``old_due_at``: ``due_at()``
    before). ``overdue`` and ``due_at`` follow from the fired cards and the row's own state, so
    they are compared with what the clock said before; the next yellow-card instant also depends
    on the calendar, so it is written unless none was pending and none is."""
    columns: list[str] = []
    if values["overdue"] != (OVERDUE in due.fired):
        columns.append("overdue")
    if values["due_at"] != old_due_at:
        columns.append("due_at")
    if due.warning_pending or values["next_warning_at"] is not None:
        columns.append("next_warning_at")
    if values["fired"] != sorted(due.fired):
        columns.append("fired")
    return tuple(columns)


# -- the watcher's batch writes --------------------------------------------------------------
# One statement per batch (per set of changed columns) over ONE parameter, the batch's rows as a
# JSON array, unpacked by the database (SQLite ``json_each``, PostgreSQL ``jsonb_array_elements``:
# parsed once, where ``json``'s ``->>`` re-reads each element's text per field), in the batch's order. Through executemany each row costs SQLAlchemy's parameter processing
# (SQLite) or a pipelined statement of psycopg (PostgreSQL), more than the database's own work.
# The values are what the columns' own binds would store: SQLite instants in SQLAlchemy's
# storage format, PostgreSQL ones as ISO 8601; the JSON columns (``fired``, the outbox headers)
# as the text ``json.dumps`` gives; the payload (UTF-8 JSON) as text, turned back into its bytes.
_PG_TYPES = {
    "b_receipt_no": "VARCHAR", "b_ctid": "TID", "overdue": "BOOLEAN", "due_at": "TIMESTAMPTZ",
    "next_warning_at": "TIMESTAMPTZ", "fired": "TEXT", "updated_at": "TIMESTAMPTZ",
    "event_id": "VARCHAR", "topic": "VARCHAR", "key": "VARCHAR", "headers": "TEXT", "payload": "TEXT",
    "created_at": "TIMESTAMPTZ",
}
_JSON_TEXT = frozenset({"fired", "headers"})
OUTBOX_COLUMNS = _OUTBOX_COLUMNS = ("event_id", "topic", "key", "headers", "payload", "created_at")


def _sqlite_instant(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME storage format (the value's own fields, as its bind does)."""
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
            f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}")


def json_value(sqlite: bool, v: Any) -> str:
    """One value of a batch row as JSON text, as :func:`_batch_rows` renders it."""
    if isinstance(v, datetime):
        return json_string(_sqlite_instant(v) if sqlite else v.isoformat())
    if isinstance(v, bytes):
        return json_string(v.decode())
    if isinstance(v, str):
        return json_string(v)
    return json.dumps(v)


def _batch_rows(sqlite: bool, rows: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, str]:
    def value(v: Any) -> Any:
        if isinstance(v, datetime):
            return _sqlite_instant(v) if sqlite else v.isoformat()
        if isinstance(v, bytes):
            return v.decode()
        return v

    return {"rows": json.dumps([[value(row[name]) for name in names] for row in rows])}


def _batch_source(sqlite: bool, names: Sequence[str]) -> str:
    """The batch's rows as a relation ``v`` with columns ``names`` and ``ord``."""
    if sqlite:
        fields = ", ".join(
            (f"CAST(value ->> {i} AS BLOB)" if name == "payload" else f"value ->> {i}") + f" AS {name}"
            for i, name in enumerate(names)
        )
        return f"(SELECT {fields}, key AS ord FROM json_each(:rows)) AS v"
    fields = ", ".join(f"CAST(r ->> {i} AS {_PG_TYPES[name]}) AS {name}" for i, name in enumerate(names))
    return f"(SELECT {fields}, ord FROM jsonb_array_elements(CAST(:rows AS JSONB)) WITH ORDINALITY AS a(r, ord)) AS v"


def _batch_value(sqlite: bool, name: str) -> str:
    if sqlite:
        return f"v.{name}"
    if name in _JSON_TEXT:
        return f"CAST(v.{name} AS JSON)"
    if name == "payload":
        return "convert_to(v.payload, 'UTF8')"
    return f"v.{name}"


_BATCH_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _dialect_of(conn: Any) -> bool:
    """True for SQLite, False for PostgreSQL (the two the runtime supports)."""
    name = conn.dialect.name
    if name not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"the watcher's batch writes know SQLite and PostgreSQL, not {name}")
    return name == "sqlite"


async def write_alerts(session: AsyncSession, changes: Iterable[tuple[tuple[str, ...], dict[str, Any]]]) -> None:
    """Write the changed alert columns of many clocks, in the caller's transaction: ``(columns,
    values)`` pairs (:func:`changed_alerts`), ``values`` holding those columns, ``updated_at`` and
    ``b_receipt_no``. One UPDATE per set of columns: a column left out is not written (on SQLite
    and PostgreSQL alike, writing an indexed column, even unchanged, costs its index entries)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for columns, values in changes:
        if "fired" in columns:
            values = {**values, "fired": json_strings(values["fired"])}
        groups.setdefault(columns, []).append(values)
    conn = await session.connection()  # Core statements in the session's transaction
    sqlite = _dialect_of(conn)
    for columns, rows in groups.items():
        names = ("b_receipt_no", *columns, "updated_at")
        await conn.execute(_alerts_statement(sqlite, columns), _batch_rows(sqlite, rows, names))


def _alerts_statement(sqlite: bool, columns: tuple[str, ...], by_ctid: bool = False) -> Any:
    """The batch UPDATE of ``columns``: rows by receipt number, or (``by_ctid``, PostgreSQL) by
    the ctid :func:`due_clocks` gave."""
    key = ("alerts", sqlite, columns, by_ctid)
    stmt = _BATCH_STATEMENTS.get(key)
    if stmt is None:
        names = ("b_ctid" if by_ctid else "b_receipt_no", *columns, "updated_at")
        sets = ", ".join(f"{name} = {_batch_value(sqlite, name)}" for name in names[1:])
        where = f"{CLOCKS.name}.ctid = v.b_ctid" if by_ctid else f"{CLOCKS.name}.receipt_no = v.b_receipt_no"
        stmt = _BATCH_STATEMENTS[key] = text(
            f"UPDATE {CLOCKS.name} SET {sets} FROM {_batch_source(sqlite, names)} WHERE {where}"
        )
    return stmt


# The watcher's batches with their rows already rendered (:mod:`.usecases.rollover`).
# SQLite: each row a tuple of the columns' values, to the driver's own executemany (one prepared
# statement, each row's values bound by the sqlite3 module in C; through ``exec_driver_sql``, so
# SQLAlchemy does not process them row by row) -- cheaper for SQLite than unpacking a JSON text,
# whose elements it parses again for every field. PostgreSQL: each row its JSON array text, the
# batch one ``jsonb`` parameter (:func:`_batch_source`): an executemany is a statement per row on
# the server, and arrays in psycopg's binary format cost the client ~0.5 µs an element to dump,
# more than the server saves not parsing them.
_MANY_STATEMENTS: dict[tuple[Any, ...], str] = {}


def _alerts_many(columns: tuple[str, ...]) -> str:
    sql = _MANY_STATEMENTS.get(("alerts", columns))
    if sql is None:
        sets = ", ".join(f"{name} = ?" for name in (*columns, "updated_at"))
        sql = _MANY_STATEMENTS[("alerts", columns)] = (
            f"UPDATE {CLOCKS.name} SET {sets} WHERE rowid = ? AND updated_at IS ?"
        )
    return sql


class ClocksChanged(Exception):
    """SQLite: a clock of the watcher's batch was written by another transaction between the
    batch's SELECT and its UPDATE; the batch must be rolled back and taken again."""


def _outbox_many(outbox: Table) -> str:
    sql = _MANY_STATEMENTS.get(("outbox", outbox.name))
    if sql is None:
        sql = _MANY_STATEMENTS[("outbox", outbox.name)] = (
            f"INSERT INTO {outbox.name} ({', '.join(_OUTBOX_COLUMNS)}) VALUES ({', '.join('?' * len(_OUTBOX_COLUMNS))})"
        )
    return sql


def row_value(sqlite: bool, v: Any) -> Any:
    """One value of a SQLite batch row (:func:`write_alert_rows`, :func:`add_outbox_values`) as
    the column's own bind would store it: instants in SQLAlchemy's storage format, the rest as
    they are (the ``fired`` list given as its JSON text, :func:`json_strings`). PostgreSQL's rows
    are JSON texts (:func:`json_value`); this leaves its values as they are."""
    return _sqlite_instant(v) if sqlite and isinstance(v, datetime) else v


async def write_alert_rows(session: AsyncSession, groups: dict[tuple[str, ...], list[Any]]) -> None:
    """:func:`write_alerts` with the rows already rendered: per set of columns, each clock's row
    -- on SQLite the tuple ``(<the columns' values>, updated_at, rowid, updated_at as read)``
    (as :func:`row_value` gives them), on PostgreSQL the JSON array text ``[ctid, <the columns'
    values>, updated_at]`` (as :func:`json_value` renders them) -- the locator as
    :func:`due_clocks` gave it. On SQLite, raises :class:`ClocksChanged` when a row was written
    since it was read (the caller rolls back)."""
    conn = await session.connection()
    sqlite = _dialect_of(conn)
    for columns, rows in groups.items():
        if sqlite:
            result = await conn.exec_driver_sql(_alerts_many(columns), rows)
            if result.rowcount != len(rows):
                raise ClocksChanged(f"{len(rows) - result.rowcount} of the batch's clocks were written meanwhile")
        else:
            await conn.execute(_alerts_statement(False, columns, by_ctid=True), {"rows": "[" + ",".join(rows) + "]"})


async def add_outbox_values(session: AsyncSession, outbox: Table, rows: Sequence[Any]) -> None:
    """:func:`add_outbox_rows` with the rows already rendered, in the outbox's order: on SQLite
    each the tuple of :data:`OUTBOX_COLUMNS`' values (headers as their JSON text, payload as
    bytes, ``created_at`` as :func:`row_value` gives it), on PostgreSQL each the JSON array text
    of those values (as :func:`json_value` renders them)."""
    if not rows:
        return
    conn = await session.connection()
    if _dialect_of(conn):
        await conn.exec_driver_sql(_outbox_many(outbox), list(rows))
    else:
        await conn.execute(_outbox_statement(False, outbox), {"rows": "[" + ",".join(rows) + "]"})


#: The page cache of the watcher's SQLite connection during a batch (KiB; SQLite's default is
#: 2,000): a batch's rows are read by its SELECT and rewritten by its UPDATE, its cards go to
#: random leaves of the outbox's ``event_id`` index; with the default cache those pages are read
#: from the file again and dirty pages spill to the WAL before the commit. Given to the
#: connection for the batch (:func:`_rollover_cache`), SQLite's default back when the connection
#: returns to the pool (the pages above it freed: no memory kept between ticks).
#: The connection's automatic WAL checkpoint is off for the batch too: a tick's batches write a
#: few hundred MB of pages, and a checkpoint run by a batch's commit (copying the WAL into the
#: database file, then fsync) held the rollover up for a third of its time; the tick has them
#: made beside it instead, on another connection in another thread (:class:`WalCheckpoints`).
ROLLOVER_CACHE_KIB = 32_768
_DEFAULT_CACHE_KIB = 2_000
_DEFAULT_AUTOCHECKPOINT = 1_000  # pages: SQLite's default
_CACHE_MARK = "deadline_rollover_cache"


def _cache_back(dbapi_conn: Any, record: Any) -> None:
    """Pool check-in: SQLite's default page cache back on a connection a batch enlarged."""
    if dbapi_conn is None or not record.info.pop(_CACHE_MARK, False):
        return
    try:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA cache_size = -{_DEFAULT_CACHE_KIB}")
        cur.execute(f"PRAGMA wal_autocheckpoint = {_DEFAULT_AUTOCHECKPOINT}")
        cur.close()
    except Exception:  # the connection is being discarded: its cache goes with it
        log.debug("could not put the page cache back on a checked-in connection", exc_info=True)


async def _rollover_cache(conn: Any) -> None:
    raw = await conn.get_raw_connection()
    if raw.info.get(_CACHE_MARK):
        return
    pool = conn.engine.sync_engine.pool
    if not sa_event.contains(pool, "checkin", _cache_back):
        sa_event.listen(pool, "checkin", _cache_back)
    await conn.exec_driver_sql(f"PRAGMA cache_size = -{ROLLOVER_CACHE_KIB}")
    await conn.exec_driver_sql("PRAGMA wal_autocheckpoint = 0")
    raw.info[_CACHE_MARK] = True


class WalCheckpoints:
    """SQLite: the WAL checkpoints of a tick's batches, made on a connection of their own in a
    thread (the checkpoint copies pages and syncs the file with the GIL released: the other
    core), at most one at a time, started after each batch's commit. PASSIVE: it never waits for
    nor blocks the batches' writer, and copies what the WAL holds at the time. :meth:`finish`
    makes the last one (the tick ends with its pages in the database file, as the automatic
    checkpoint would have left them) and closes the connection. A no-op for other databases and
    in-memory SQLite."""

    def __init__(self, url: Any) -> None:
        database = url.database if url.get_backend_name() == "sqlite" else None
        self._path = database if database and database != ":memory:" and not database.startswith("file:") else None
        self._conn: sqlite3.Connection | None = None
        self._running: asyncio.Task[None] | None = None
        self._behind = False  # a batch committed while a checkpoint ran: its pages are not copied yet

    def kick(self) -> None:
        if self._path is None:
            return
        if self._running is None or self._running.done():
            self._behind = False
            self._running = asyncio.get_running_loop().create_task(asyncio.to_thread(self._checkpoint))
        else:
            self._behind = True

    async def finish(self) -> None:
        try:
            if self._running is not None:
                await self._running
                if self._behind:
                    self._behind = False
                    await asyncio.to_thread(self._checkpoint)
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _checkpoint(self) -> None:
        # One checkpoint at a time (kick), possibly in different threads of the pool.
        if self._conn is None:
            self._conn = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)  # type: ignore[arg-type]
        try:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.OperationalError:  # busy: the next batch's checkpoint, or the automatic one, takes it
            log.debug("a rollover checkpoint did not run", exc_info=True)


_encode_str = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]  # json.dumps of a str (ensure_ascii)


def json_strings(items: Iterable[str]) -> str:
    """``json.dumps(list(items))`` for strings, without the encoder's set-up."""
    return "[" + ", ".join(map(_encode_str, items)) + "]"


#: ``json.dumps`` of one string (ASCII, escaped), without the encoder's set-up.
json_string = _encode_str


def outbox_headers(event_id: str, source: str, ce_type: str, time: str, key: str | None) -> str:
    """The outbox row's headers as their JSON text: ``json.dumps`` of ``{"ce_id", "ce_source",
    "ce_type", "ce_specversion", "ce_time", "content-type"[, "ce_subject"]}``,
    ``Envelope.headers()``'s keys in its order."""
    return (
        '{"ce_id": ' + _encode_str(event_id)
        + ', "ce_source": ' + _encode_str(SOURCE_PREFIX + source)
        + ', "ce_type": ' + _encode_str(ce_type)
        + ', "ce_specversion": ' + _encode_str(SPECVERSION)
        + ', "ce_time": ' + _encode_str(time)
        + ', "content-type": ' + _encode_str(CONTENT_TYPE)
        + ("}" if key is None else ', "ce_subject": ' + _encode_str(key) + "}")
    )


_CE_TYPES: dict[type[Event], str] = {}


def outbox_row(event: Event, event_id: str, source: str, time: str, created_at: datetime) -> dict[str, Any]:
    """The outbox row of ``event``, column for column what ``uow.emit(event, id=event_id)`` and
    the commit write (``Envelope.wrap``, ``Envelope.headers``/``body``, ``add_to_outbox``),
    built without the envelope: ``time`` is the ``ce_time`` (ISO 8601), shared by a batch. The
    headers are given as their JSON text, ``json.dumps(headers)`` (insert with
    :func:`add_outbox_rows`)."""
    cls = type(event)
    ce_type = _CE_TYPES.get(cls)
    if ce_type is None:
        ce_type = _CE_TYPES[cls] = cls.ce_type()
    key = event.key()
    headers = outbox_headers(event_id, source, ce_type, time, key)
    return {
        "event_id": event_id,
        "topic": event.topic,
        "key": key,
        "headers": headers,
        "payload": event.model_dump_json().encode(),
        "created_at": created_at,
    }


async def add_outbox_rows(session: AsyncSession, outbox: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert outbox rows (:func:`outbox_row`) in the caller's transaction: one INSERT, the rows
    in their order (the outbox's ids, the relay's publishing order)."""
    if not rows:
        return
    conn = await session.connection()
    sqlite = _dialect_of(conn)
    await conn.execute(_outbox_statement(sqlite, outbox), _batch_rows(sqlite, rows, _OUTBOX_COLUMNS))


def _outbox_statement(sqlite: bool, outbox: Table) -> Any:
    key = ("outbox", sqlite, outbox.name)
    stmt = _BATCH_STATEMENTS.get(key)
    if stmt is None:
        stmt = _BATCH_STATEMENTS[key] = text(
            f"INSERT INTO {outbox.name} ({', '.join(_OUTBOX_COLUMNS)}) "
            f"SELECT {', '.join(_batch_value(sqlite, name) for name in _OUTBOX_COLUMNS)} "
            f"FROM {_batch_source(sqlite, _OUTBOX_COLUMNS)} ORDER BY v.ord"
        )
    return stmt


async def next_alert_at(session: AsyncSession) -> datetime | None:
    """The earliest pending card instant (two index lookups)."""
    # ``IS NOT NULL``: the indexes are partial; SQLite only takes one for min() with the predicate.
    red = (await session.exec(sa_select(func.min(ClockRow.due_at)).where(ClockRow.due_at.is_not(None)))).scalar_one_or_none()  # type: ignore[call-overload,union-attr]
    yellow = (await session.exec(
        sa_select(func.min(ClockRow.next_warning_at)).where(ClockRow.next_warning_at.is_not(None))  # type: ignore[union-attr]
    )).scalar_one_or_none()  # type: ignore[call-overload]
    times = [aware(t) for t in (red, yellow) if t is not None]
    return min(times) if times else None  # type: ignore[type-var]


async def clock_counts(session: AsyncSession) -> dict[tuple[str, bool], int]:
    """Clocks by state and overdue flag (for the gauges)."""
    rows = (
        await session.exec(
            sa_select(ClockRow.state, ClockRow.overdue, func.count()).group_by(ClockRow.state, ClockRow.overdue)  # type: ignore[call-overload]
        )
    ).all()
    return {(state, bool(overdue)): n for state, overdue, n in rows}


async def open_clock_summary(
    session: AsyncSession, *, today: date, yellow_before: date, unit_code: str | None
) -> dict[str, tuple[int, int, int, int]]:
    """Open clocks per unit in one grouped query: (open, yellow, red, overdue). Yellow: running,
    no red card, due from ``today`` up to (not including) ``yellow_before``; red: the red card
    issued; overdue: the red card issued or running past its due date (the watcher not yet by)."""
    is_open = ClockRow.state != "ended"
    running = ClockRow.state == "running"
    yellow = running & ~ClockRow.overdue & (ClockRow.due_date >= today) & (ClockRow.due_date < yellow_before)  # type: ignore[operator]
    late = ClockRow.overdue | (running & (ClockRow.due_date < today))  # type: ignore[operator]
    stmt = (
        sa_select(  # type: ignore[call-overload]
            ClockRow.unit_code,
            func.count(),
            func.sum(case((yellow, 1), else_=0)),
            func.sum(case((ClockRow.overdue, 1), else_=0)),
            func.sum(case((late, 1), else_=0)),
        )
        .where(is_open)
        .group_by(ClockRow.unit_code)
    )
    if unit_code is not None:
        stmt = stmt.where(ClockRow.unit_code == unit_code)
    rows = (await session.exec(stmt)).all()
    return {u: (int(n), int(y or 0), int(r or 0), int(o or 0)) for u, n, y, r, o in rows}


async def latest_bulletin(session: AsyncSession) -> BulletinRow | None:
    """The bulletin published last (by publication instant; the later period on a tie)."""
    stmt = select(BulletinRow).order_by(BulletinRow.published_at.desc(), BulletinRow.period.desc()).limit(1)  # type: ignore[attr-defined]
    return (await session.exec(stmt)).first()


async def list_clocks(
    session: AsyncSession,
    *,
    unit_code: str | None,
    state: str | None,
    overdue: bool | None,
    after: str | None,
    limit: int,
) -> list[ClockRow]:
    stmt = select(ClockRow)
    if unit_code:
        stmt = stmt.where(ClockRow.unit_code == unit_code)
    if state:
        stmt = stmt.where(ClockRow.state == state)
    if overdue is not None:
        stmt = stmt.where(ClockRow.overdue == overdue)
    if after:
        stmt = stmt.where(ClockRow.receipt_no > after)
    return list((await session.exec(stmt.order_by(ClockRow.receipt_no).limit(limit))).all())


async def open_clocks_between(
    session: AsyncSession, first: date, last: date, *, after: str | None, limit: int
) -> list[ClockRow]:
    """Open clocks that a calendar change of days in [first, last] may move: accepted before
    ``last`` and not due (by the statutory date, the later one) before ``first``. Keyset
    pagination by receipt number."""
    stmt = select(ClockRow).where(
        ClockRow.state != "ended",
        ClockRow.accepted_on < last,
        ClockRow.statutory_due_date >= first,
    )
    if after:
        stmt = stmt.where(ClockRow.receipt_no > after)
    return list((await session.exec(stmt.order_by(ClockRow.receipt_no).limit(limit))).all())


async def unit_statistics(session: AsyncSession, first: date, last: date, unit_code: str | None = None) -> dict[str, UnitStats]:
    """Figures per unit for cases decided in [first, last] (aggregated in SQL), with the
    center's total under ``"*"``."""
    immediate = func.sum(case((ClockRow.case_kind.in_(sorted(ON_THE_SPOT)), 1), else_=0))
    on_time = func.sum(case((ClockRow.on_time == True, 1), else_=0))  # noqa: E712
    stmt = (
        sa_select(ClockRow.unit_code, func.count(), on_time, func.coalesce(func.sum(ClockRow.working_days_used), 0), immediate)  # type: ignore[call-overload]
        .where(ClockRow.decided_on >= first, ClockRow.decided_on <= last)
        .group_by(ClockRow.unit_code)
    )
    if unit_code:
        stmt = stmt.where(ClockRow.unit_code == unit_code)
    out: dict[str, UnitStats] = {}
    total = [0, 0, 0, 0]
    for unit, n, ok, used, imm in (await session.exec(stmt)).all():
        out[unit] = UnitStats(unit, int(n), int(ok or 0), int(used or 0), int(imm or 0))
        for i, v in enumerate((n, ok, used, imm)):
            total[i] += int(v or 0)
    out["*"] = UnitStats("*", *total)
    return dict(sorted(out.items()))


async def overdue_candidates(session: AsyncSession, first: date, last: date) -> list[CaseSpan]:
    """Cases that may have been overdue in [first, last]: open ones with a red card, and the
    ones decided late from ``first`` on (the bulletin filters them exactly)."""
    stmt = select(ClockRow).where(
        or_(
            (ClockRow.state != "ended") & (ClockRow.overdue == True),  # noqa: E712
            (ClockRow.decided_on >= first) & (ClockRow.on_time == False),  # noqa: E712
        ),
        ClockRow.due_date < last,
    )
    return [
        CaseSpan(r.receipt_no, r.unit_code, r.item_code, r.due_date, r.decided_on)
        for r in (await session.exec(stmt)).all()
    ]


async def decided_receipts(session: AsyncSession, unit_code: str, first: date, last: date) -> list[str]:
    stmt = select(ClockRow.receipt_no).where(
        ClockRow.unit_code == unit_code, ClockRow.decided_on >= first, ClockRow.decided_on <= last
    )
    return list((await session.exec(stmt)).all())


# ---------------------------------------------------------------------------------------------
# The calendar


class CalendarChangeRow(Base, table=True):
    __tablename__ = "deadline_calendar_change"

    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    action: str = Field(max_length=20)
    year: int
    day: date | None = None
    working: bool | None = None
    holidays: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    working_days: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    changed_by: str = Field(max_length=80)
    changed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))


def change_to_row(c: CalendarChange) -> CalendarChangeRow:
    return CalendarChangeRow(
        version=c.version,
        action=c.action.value,
        year=c.year,
        day=c.day,
        working=c.working,
        holidays=[d.isoformat() for d in c.holidays],
        working_days=[d.isoformat() for d in c.working_days],
        changed_by=c.changed_by,
        changed_at=utc(c.changed_at),
        reason=c.reason,
    )


def change_from_row(r: CalendarChangeRow) -> CalendarChange:
    return CalendarChange(
        version=r.version,
        action=CalendarAction(r.action),
        year=r.year,
        changed_by=r.changed_by,
        changed_at=aware(r.changed_at),  # type: ignore[arg-type]
        reason=r.reason,
        day=r.day,
        working=r.working,
        holidays=tuple(date.fromisoformat(d) for d in r.holidays),
        working_days=tuple(date.fromisoformat(d) for d in r.working_days),
    )


async def calendar_history(session: AsyncSession) -> list[CalendarChange]:
    rows = (await session.exec(select(CalendarChangeRow).order_by(CalendarChangeRow.version))).all()
    return [change_from_row(r) for r in rows]


async def calendar_version(session: AsyncSession) -> int:
    v = (await session.exec(sa_select(func.max(CalendarChangeRow.version)))).scalar_one_or_none()  # type: ignore[call-overload]
    return int(v or 0)


class RecomputeJob(Base, table=True):
    """Open clocks to recompute after a calendar change (worked through in chunks)."""

    __tablename__ = "deadline_recompute_job"

    id: int | None = Field(default=None, primary_key=True)
    #: The calendar version that caused it (0: the national library changed).
    calendar_version: int
    first_day: date
    last_day: date
    cursor: str | None = Field(default=None, max_length=40)
    moved: int = 0
    done: bool = Field(default=False, index=True)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    finished_at: datetime | None = _ts()


async def next_recompute_job(session: AsyncSession) -> RecomputeJob | None:
    """The oldest unfinished recomputation job."""
    stmt = select(RecomputeJob).where(RecomputeJob.done == False).order_by(RecomputeJob.id).limit(1)  # noqa: E712
    return (await session.exec(stmt)).first()


async def pending_recompute_jobs(session: AsyncSession) -> int:
    return len((await session.exec(select(RecomputeJob.id).where(RecomputeJob.done == False))).all())  # noqa: E712


async def recompute_jobs_by_version(session: AsyncSession) -> dict[int, RecomputeJob]:
    """The recomputation job of each calendar change (the library's are left out)."""
    rows = (await session.exec(select(RecomputeJob).where(RecomputeJob.calendar_version > 0))).all()
    return {j.calendar_version: j for j in rows}


class KeyValue(Base, table=True):
    """Small service state: the calendar fingerprint last applied to the clocks, counters."""

    __tablename__ = "deadline_kv"

    key: str = Field(primary_key=True, max_length=60)
    value: str = Field(sa_column=Column(Text, nullable=False))


async def kv_get(session: AsyncSession, key: str) -> str | None:
    row = await session.get(KeyValue, key)
    return None if row is None else row.value


async def kv_set(session: AsyncSession, key: str, value: str) -> None:
    row = await session.get(KeyValue, key)
    if row is None:
        session.add(KeyValue(key=key, value=value))
    else:
        row.value = value
        session.add(row)


class Counter(Base, table=True):
    """Document number sequences (notice numbers per year ...)."""

    __tablename__ = "deadline_counter"

    name: str = Field(primary_key=True, max_length=60)
    value: int = 0


async def next_number(session: AsyncSession, name: str) -> int:
    """The next number of a sequence, in the caller's transaction (the UPDATE locks the row on
    PostgreSQL, so concurrent requests queue)."""
    result = await session.exec(update(Counter).where(Counter.name == name).values(value=Counter.value + 1))  # type: ignore[call-overload]
    if result.rowcount == 0:
        session.add(Counter(name=name, value=1))
        await session.flush()
        return 1
    row = await session.get(Counter, name, populate_existing=True)
    assert row is not None
    return row.value


# ---------------------------------------------------------------------------------------------
# Units


class UnitRow(Base, table=True):
    __tablename__ = "deadline_unit"

    unit_code: str = Field(primary_key=True, max_length=32)
    unit_name: str = Field(max_length=100)


async def remember_unit(session: AsyncSession, unit_code: str, unit_name: str) -> None:
    row = await session.get(UnitRow, unit_code)
    if row is None:
        session.add(UnitRow(unit_code=unit_code, unit_name=unit_name))
    elif row.unit_name != unit_name:
        row.unit_name = unit_name
        session.add(row)


async def unit_names(session: AsyncSession) -> dict[str, str]:
    return {r.unit_code: r.unit_name for r in (await session.exec(select(UnitRow))).all()}


# ---------------------------------------------------------------------------------------------
# Supervision notices


class NoticeRow(Base, table=True):
    __tablename__ = "deadline_notice"

    notice_no: str = Field(primary_key=True, max_length=40)
    unit_code: str = Field(max_length=32, index=True)
    receipt_no: str | None = Field(default=None, max_length=40, index=True)
    raised_by: str = Field(max_length=80)
    raised_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    reply_due: date
    origin: str = Field(max_length=16)
    replied_by: str | None = Field(default=None, max_length=80)
    replied_at: datetime | None = _ts()
    reply: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


def notice_from_row(r: NoticeRow) -> SupervisionNotice:
    return SupervisionNotice(
        notice_no=r.notice_no,
        unit_code=r.unit_code,
        receipt_no=r.receipt_no,
        raised_by=r.raised_by,
        raised_at=aware(r.raised_at),  # type: ignore[arg-type]
        reason=r.reason,
        reply_due=r.reply_due,
        origin=NoticeSource(r.origin),
        replied_by=r.replied_by,
        replied_at=aware(r.replied_at),
        reply=r.reply,
    )


def notice_to_row(n: SupervisionNotice, row: NoticeRow | None = None) -> NoticeRow:
    row = row or NoticeRow(
        notice_no=n.notice_no,
        unit_code=n.unit_code,
        receipt_no=n.receipt_no,
        raised_by=n.raised_by,
        raised_at=utc(n.raised_at),
        reason=n.reason,
        reply_due=n.reply_due,
        origin=n.origin.value,
    )
    row.replied_by = n.replied_by
    row.replied_at = utc(n.replied_at)
    row.reply = n.reply
    return row


async def list_notices(session: AsyncSession, *, unit_code: str | None, open_only: bool, limit: int) -> list[NoticeRow]:
    """Notices, newest first."""
    stmt = select(NoticeRow)
    if unit_code:
        stmt = stmt.where(NoticeRow.unit_code == unit_code)
    if open_only:
        stmt = stmt.where(NoticeRow.replied_at == None)  # noqa: E711
    return list((await session.exec(stmt.order_by(NoticeRow.raised_at.desc()).limit(limit))).all())  # type: ignore[attr-defined]


async def notices_between(session: AsyncSession, start: datetime, end: datetime) -> list[NoticeRow]:
    stmt = select(NoticeRow).where(NoticeRow.raised_at >= utc(start), NoticeRow.raised_at < utc(end))
    return list((await session.exec(stmt.order_by(NoticeRow.raised_at))).all())


# ---------------------------------------------------------------------------------------------
# Bulletins


class BulletinRow(Base, table=True):
    __tablename__ = "deadline_bulletin"

    period: str = Field(primary_key=True, max_length=7)
    bulletin_no: str = Field(max_length=40, unique=True)
    published_by: str = Field(max_length=80)
    published_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


# ---------------------------------------------------------------------------------------------
# Inspections


class SampleRow(Base, table=True):
    __tablename__ = "deadline_inspection_sample"
    __table_args__ = (UniqueConstraint("unit_code", "period", name="uq_deadline_sample_unit_period"),)

    sample_id: str = Field(primary_key=True, max_length=60)
    unit_code: str = Field(max_length=32)
    period: str = Field(max_length=7)
    seed: str = Field(max_length=64)
    share: float
    population: int
    receipt_nos: list[str] = Field(sa_column=Column(JSON, nullable=False))
    sampled_by: str = Field(max_length=80)
    sampled_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


def sample_from_row(r: SampleRow) -> InspectionSample:
    return InspectionSample(r.sample_id, r.unit_code, Period.parse(r.period), r.seed, r.share, r.population, tuple(r.receipt_nos))


class InspectionRow(Base, table=True):
    __tablename__ = "deadline_inspection_result"

    sample_id: str = Field(primary_key=True, max_length=60)
    receipt_no: str = Field(primary_key=True, max_length=40)
    unit_code: str = Field(max_length=32, index=True)
    period: str = Field(max_length=7, index=True)
    inspector: str = Field(max_length=80)
    result: str = Field(max_length=16)
    violation: bool
    notes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    notice_no: str | None = Field(default=None, max_length=40)


async def inspection_results(session: AsyncSession, sample_id: str) -> list[InspectionRow]:
    return list((await session.exec(select(InspectionRow).where(InspectionRow.sample_id == sample_id))).all())


async def samples(session: AsyncSession, *, period: str | None, unit_code: str | None, limit: int) -> list[SampleRow]:
    """Inspection samples, newest month first (then by unit)."""
    stmt = select(SampleRow)
    if period is not None:
        stmt = stmt.where(SampleRow.period == period)
    if unit_code is not None:
        stmt = stmt.where(SampleRow.unit_code == unit_code)
    stmt = stmt.order_by(SampleRow.period.desc(), SampleRow.unit_code).limit(limit)  # type: ignore[attr-defined]
    return list((await session.exec(stmt)).all())


async def violations_between(session: AsyncSession, start: datetime, end: datetime) -> list[InspectionRow]:
    stmt = select(InspectionRow).where(
        InspectionRow.violation == True,  # noqa: E712
        InspectionRow.recorded_at >= utc(start),
        InspectionRow.recorded_at < utc(end),
    )
    return list((await session.exec(stmt.order_by(InspectionRow.recorded_at))).all())


# ---------------------------------------------------------------------------------------------
# Staff violations (attendance.violations): counted per unit in the monthly bulletin


class StaffViolationRow(Base, table=True):
    """A staff violation as the bulletin counts it: only unit, kind and month (the evidence and the
    staff member's reply stay with attendance). ``withdrawn_at`` set: no longer counted."""

    __tablename__ = "deadline_staff_violation"

    violation_id: str = Field(primary_key=True, max_length=64)
    unit_code: str = Field(max_length=32)
    violation_kind: str = Field(max_length=24)
    period: str = Field(max_length=7, index=True)
    occurred_on: date
    recorded_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    withdrawn_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


async def staff_violation_counts(session: AsyncSession, period: str) -> list[tuple[str, str, int]]:
    """(unit_code, violation_kind, count) of a month's violations not withdrawn."""
    stmt = (
        sa_select(StaffViolationRow.unit_code, StaffViolationRow.violation_kind, func.count())
        .where(StaffViolationRow.period == period, StaffViolationRow.withdrawn_at.is_(None))  # type: ignore[union-attr]
        .group_by(StaffViolationRow.unit_code, StaffViolationRow.violation_kind)
    )
    return [(str(u), str(k), int(n)) for u, k, n in (await session.execute(stmt)).all()]


# ---------------------------------------------------------------------------------------------
# Overdue follow-ups


class FollowUpRow(Base, table=True):
    """Overdue follow-ups already emitted, one per notice: the primary key makes a second
    emission (a restarted worker, another replica) fail inside its own transaction, event and all."""

    __tablename__ = "deadline_followups"

    kind: str = Field(primary_key=True, max_length=24)          # 'supervision_reply'
    subject_id: str = Field(primary_key=True, max_length=40)    # the notice's number
    unit_code: str = Field(max_length=32)
    due_on: date
    detected_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


__all__ = [
    "BulletinRow", "CalendarChangeRow", "ClockRow", "Counter", "InspectionRow", "KeyValue",
    "NoticeRow", "RecomputeJob", "SampleRow", "UnitRow", "aware", "metadata", "utc",
]
