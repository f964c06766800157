"""Who looked at whom (访问留痕), the shared pieces: an append-only table of reads of an
applicant's unmasked data — who (staff id, role, unit), when, which case, which fields, which
route — that a service adds to its own metadata and its own database, the migration steps that
create it with triggers refusing UPDATE and DELETE (PostgreSQL and SQLite alike, so the code is
not the only guard), recording a read, and the auditors' query with its response model.

A service decides what of its answers is unmasked applicant data and calls :func:`record` in the
route's transaction before the answer leaves; the runtime names no service.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = [
    "AccessEntry", "access_log_table", "create_append_only", "create_table", "drop_table", "query", "record",
]


def _columns() -> list[Any]:
    # One definition for the model and the migration, so that they cannot drift apart.
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("staff_id", String(64), nullable=False),
        Column("role", String(16), nullable=False),
        Column("staff_unit", String(32), nullable=True),
        Column("receipt_no", String(40), nullable=False),
        Column("fields", Text, nullable=False),       # comma-separated field paths
        Column("action", String(80), nullable=False),  # the route, e.g. 'GET /notify/messages'
    ]


def _indexes(name: str) -> list[tuple[str, list[str]]]:
    return [(f"ix_{name}_{c}", [c]) for c in ("at", "receipt_no", "staff_id")]


def access_log_table(metadata: MetaData, name: str) -> Table:
    """The access-log table ``name`` in ``metadata`` (a service's own), created once."""
    if name in metadata.tables:
        return metadata.tables[name]
    return Table(name, metadata, *_columns(), *(Index(ix, *cols) for ix, cols in _indexes(name)))


def create_table(op: Any, name: str) -> None:
    """Migration step: the table, its indexes and the append-only triggers."""
    op.create_table(name, *_columns())
    for ix, cols in _indexes(name):
        op.create_index(ix, name, cols, unique=False)
    create_append_only(op, name)


def drop_table(op: Any, name: str) -> None:
    drop_append_only(op, name)
    for ix, _ in _indexes(name):
        op.drop_index(ix, table_name=name)
    op.drop_table(name)


def create_append_only(op: Any, table: str) -> None:
    """Refuse UPDATE and DELETE on ``table`` in the database itself."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{table} is append-only';
            END $$""")
        op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()")
    else:
        for what in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{what.lower()} BEFORE {what} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def drop_append_only(op: Any, table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    else:
        for what in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{what}")


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


async def record(session: AsyncSession, table: Table, *, staff: Any, at: datetime,
                 reads: Iterable[tuple[str, Sequence[str]]], action: str) -> int:
    """Append one row per (receipt number, fields) read by ``staff`` (anything with ``sub``,
    ``role`` and ``unit``, e.g. the runtime's ``Staff``); returns how many. Same transaction as
    the caller's: commit it before the answer leaves."""
    role = getattr(staff.role, "value", staff.role)
    rows = [dict(at=_utc(at), staff_id=str(staff.sub)[:64], role=str(role)[:16], staff_unit=staff.unit,
                 receipt_no=no[:40], fields=",".join(fields), action=action[:80])
            for no, fields in reads if no and fields]
    if rows:
        await session.execute(insert(table), rows)
    return len(rows)


class AccessEntry(BaseModel):
    """One read of an applicant's unmasked data."""

    id: int = Field(description="序号（只增不改）")
    at: datetime = Field(description="查看时间")
    staff_id: str = Field(description="查看人")
    role: str = Field(description="查看人角色")
    staff_unit: str | None = Field(description="查看人所在单位")
    receipt_no: str = Field(description="受理编号")
    fields: list[str] = Field(description="看到的未遮蔽字段，如 message.text")
    action: str = Field(description="接口")


async def query(session: AsyncSession, table: Table, *, receipt_no: str | None = None, staff_id: str | None = None,
                since: datetime | None = None, until: datetime | None = None, limit: int = 100,
                offset: int = 0) -> list[AccessEntry]:
    """The log, newest first, filtered."""
    c = table.c
    stmt = select(table).order_by(c.id.desc())
    if receipt_no:
        stmt = stmt.where(c.receipt_no == receipt_no)
    if staff_id:
        stmt = stmt.where(c.staff_id == staff_id)
    if since:
        stmt = stmt.where(c.at >= _utc(since))
    if until:
        stmt = stmt.where(c.at < _utc(until))
    rows = (await session.execute(stmt.limit(limit).offset(offset))).mappings().all()
    return [AccessEntry(id=r["id"], at=_utc(r["at"]), staff_id=r["staff_id"], role=r["role"],
                        staff_unit=r["staff_unit"], receipt_no=r["receipt_no"],
                        fields=[f for f in r["fields"].split(",") if f], action=r["action"]) for r in rows]
