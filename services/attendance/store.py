"""The attendance service's tables and queries.

Instants are stored in UTC and come back aware (SQLModel's UTC type); wall times (a terminal's
clock, leave) are naive. A punch also keeps the
terminal's own wall time (``local_time``), which with the device and the PIN is its identity:
a terminal that resends a batch sends the very same three values.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, and_, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from pydantic import NaiveDatetime
from sqlmodel import Field, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.attendance import StaffRole
from services.runtime.db import service_registry

from . import domain
from .domain.evaluation import CaseOutcome, NoticeFact, RatingFact

Base, metadata = service_registry()

_NS = uuid.UUID("6f1c1a52-2b1e-4d1e-9a57-0a77e0da7e11")


def stable_id(*parts: object) -> str:
    """A deterministic event id, so a watcher that repeats itself after a restart repeats the
    same event (consumers drop the second)."""
    return str(uuid.uuid5(_NS, "|".join(str(p) for p in parts)))


def aware(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return dt.astimezone(UTC)


# --- tables ---------------------------------------------------------------------------------


class Device(Base, table=True):
    __tablename__ = "att_devices"

    sn: str = Field(primary_key=True, max_length=64)
    name: str = Field(default="", max_length=80)
    location: str = Field(default="", max_length=80)
    time_zone: str = Field(default=domain.DEFAULT_ZONE, max_length=64)
    charset: str = Field(default="utf-8", max_length=16)  # commands to old firmware go out in GB18030
    active: bool = True
    registered_at: datetime
    last_seen_at: datetime | None = Field(default=None)
    last_ip: str | None = Field(default=None, max_length=64)
    pushver: str | None = Field(default=None, max_length=32)
    firmware: str | None = Field(default=None, max_length=80)
    attlog_stamp: str | None = Field(default=None, max_length=32)
    operlog_stamp: str | None = Field(default=None, max_length=32)
    attphoto_stamp: str | None = Field(default=None, max_length=32)
    info: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class UnknownDevice(Base, table=True):
    """Terminals that knocked without being registered (refused; listed for the administrator)."""

    __tablename__ = "att_unknown_devices"

    sn: str = Field(primary_key=True, max_length=64)
    first_seen_at: datetime
    last_seen_at: datetime
    last_ip: str | None = Field(default=None, max_length=64)
    attempts: int = 0


class Punch(Base, table=True):
    __tablename__ = "att_punches"
    __table_args__ = (
        UniqueConstraint("device_sn", "pin", "local_time", name="uq_att_punch"),
        Index("ix_att_punch_staff_time", "staff_id", "punched_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    device_sn: str = Field(max_length=64)
    pin: str = Field(max_length=24, index=True)
    local_time: NaiveDatetime  # the terminal's wall clock, no zone
    punched_at: datetime = Field(index=True)
    status: int = 0
    verify: int = 1
    work_code: str = Field(default="", max_length=24)
    staff_id: str | None = Field(default=None, max_length=32)
    received_at: datetime


class DeviceUser(Base, table=True):
    """Users a terminal reported (OPERLOG USER records): compared with the staff list."""

    __tablename__ = "att_device_users"

    device_sn: str = Field(primary_key=True, max_length=64)
    pin: str = Field(primary_key=True, max_length=24)
    name: str = Field(default="", max_length=40)
    privilege: int = 0
    seen_at: datetime


class OperationLog(Base, table=True):
    __tablename__ = "att_oplog"
    __table_args__ = (UniqueConstraint("device_sn", "op", "admin", "local_time", name="uq_att_oplog"),)

    id: int | None = Field(default=None, primary_key=True)
    device_sn: str = Field(max_length=64)
    op: int
    admin: str = Field(max_length=24)
    local_time: NaiveDatetime
    values: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class StaffRow(Base, table=True):
    __tablename__ = "att_staff"

    staff_id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=40)
    unit_code: str = Field(max_length=32, index=True)
    unit_name: str = Field(max_length=80)
    window_no: str | None = Field(default=None, max_length=16)
    role: str = Field(default=StaffRole.WINDOW_CLERK.value, max_length=32)
    pin: str | None = Field(default=None, max_length=24, unique=True)
    mobile: str | None = Field(default=None, max_length=11)
    active: bool = True
    active_from: date | None = None
    active_until: date | None = None
    updated_at: datetime

    def domain(self) -> domain.StaffMember:
        return domain.StaffMember(self.staff_id, self.name, self.unit_code, self.unit_name, self.window_no,
                                  StaffRole(self.role), self.pin, self.mobile, self.active, self.active_from,
                                  self.active_until)


class PostRow(Base, table=True):
    __tablename__ = "att_posts"

    window_no: str = Field(primary_key=True, max_length=16)
    unit_code: str = Field(max_length=32, index=True)
    unit_name: str = Field(max_length=80)
    post_a: str | None = Field(default=None, max_length=32)
    post_b: str | None = Field(default=None, max_length=32)
    weekend_service: bool = True
    updated_at: datetime

    def domain(self) -> domain.WindowPosts:
        return domain.WindowPosts(self.window_no, self.unit_code, self.unit_name, self.post_a, self.post_b,
                                  self.weekend_service)


class RosterRow(Base, table=True):
    __tablename__ = "att_roster"
    __table_args__ = (UniqueConstraint("day", "window_no", "staff_id", "start", name="uq_att_roster"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)
    window_no: str = Field(max_length=16)
    staff_id: str = Field(max_length=32)
    start: time
    end: time

    def domain(self) -> domain.RosterEntry:
        return domain.RosterEntry(self.day, self.window_no, self.staff_id, self.start, self.end)


class TrainingRow(Base, table=True):
    __tablename__ = "att_trainings"

    session_id: str = Field(primary_key=True, max_length=40)
    day: date = Field(index=True)
    start: time
    end: time
    topic: str = Field(max_length=200)
    staff_ids: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))

    def domain(self) -> domain.TrainingSession:
        return domain.TrainingSession(self.session_id, self.day, self.start, self.end, self.topic,
                                      frozenset(self.staff_ids) if self.staff_ids is not None else None)


class LeaveRow(Base, table=True):
    __tablename__ = "att_leaves"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: str = Field(max_length=32, index=True)
    kind: str = Field(max_length=16)
    start: NaiveDatetime  # center-local wall time
    end: NaiveDatetime
    approved: bool = True
    approved_by: str = Field(max_length=64)
    reason: str = Field(default="", max_length=500)
    created_at: datetime

    def domain(self) -> domain.Leave:
        return domain.Leave(self.staff_id, domain.LeaveKind(self.kind), self.start, self.end, self.approved)


class CommandRow(Base, table=True):
    """The command queue per terminal. ``id`` is the command id the terminal echoes back."""

    __tablename__ = "att_commands"
    __table_args__ = (Index("ix_att_cmd_queue", "device_sn", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    device_sn: str = Field(max_length=64)
    text: str = Field(max_length=2000)
    label: str = Field(default="", max_length=200)
    status: str = Field(default="queued", max_length=16)  # queued, sent, succeeded, failed
    queued_at: datetime
    queued_by: str = Field(default="", max_length=64)
    sent_at: datetime | None = Field(default=None)
    done_at: datetime | None = Field(default=None)
    return_code: int | None = None
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class OutcomeRow(Base, table=True):
    """deadline's ClockEnded, reduced to what the evaluation needs."""

    __tablename__ = "att_case_outcomes"

    receipt_no: str = Field(primary_key=True, max_length=40)
    unit_code: str = Field(max_length=32)
    decided_at: datetime = Field(index=True)
    on_time: bool


class RatingRow(Base, table=True):
    """intake's RatingSubmitted (one rating per case; a later one replaces it)."""

    __tablename__ = "att_ratings"

    receipt_no: str = Field(primary_key=True, max_length=40)
    unit_code: str = Field(max_length=32)
    score: int
    staff_id: str | None = Field(default=None, max_length=64)
    rated_at: datetime = Field(index=True)


class NoticeRow(Base, table=True):
    """deadline's SupervisionNoticeIssued."""

    __tablename__ = "att_supervision_notices"

    notice_no: str = Field(primary_key=True, max_length=40)
    unit_code: str = Field(max_length=32)
    receipt_no: str | None = Field(default=None, max_length=40)
    raised_at: datetime = Field(index=True)


class DutyAlertRow(Base, table=True):
    __tablename__ = "att_duty_alerts"

    slot_key: str = Field(primary_key=True, max_length=64)
    window_no: str = Field(max_length=16)
    day: date = Field(index=True)
    opening: time
    detected_at: datetime
    resolved_at: datetime | None = Field(default=None)
    resolved_by: str | None = Field(default=None, max_length=32)


class PublicationRow(Base, table=True):
    """What the month-end job has published (so it publishes each period once)."""

    __tablename__ = "att_publications"

    period: str = Field(primary_key=True, max_length=7)
    kind: str = Field(primary_key=True, max_length=16)  # monthly, ranking
    published_at: datetime
    event_id: str = Field(max_length=64)


class ViolationRow(Base, table=True):
    """A staff violation (违规违章): evidence, the staff member's reply, its withdrawal."""

    __tablename__ = "att_violations"
    __table_args__ = (Index("ix_att_violation_day", "occurred_on", "unit_code"),)

    violation_id: str = Field(primary_key=True, max_length=64)
    source_key: str | None = Field(default=None, max_length=120, unique=True)  # found by a rule: once
    staff_id: str = Field(max_length=32, index=True)
    unit_code: str = Field(max_length=32)
    window_no: str | None = Field(default=None, max_length=16)
    kind: str = Field(max_length=16)
    origin: str = Field(max_length=16)
    occurred_on: date
    evidence: str = Field(max_length=2000)
    receipt_no: str | None = Field(default=None, max_length=40)
    inspection_ref: str | None = Field(default=None, max_length=120)
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime
    reply: str | None = Field(default=None, max_length=2000)
    replied_by: str | None = Field(default=None, max_length=64)
    replied_at: datetime | None = Field(default=None)
    withdrawn_at: datetime | None = Field(default=None)
    withdrawn_by: str | None = Field(default=None, max_length=64)
    withdraw_reason: str | None = Field(default=None, max_length=1000)


class InspectionFindingRow(Base, table=True):
    """deadline's InspectionRecorded (a finding on a sampled case), for attributing it to staff."""

    __tablename__ = "att_inspection_findings"

    sample_id: str = Field(primary_key=True, max_length=60)
    receipt_no: str = Field(primary_key=True, max_length=40)
    unit_code: str = Field(max_length=32)
    result: str = Field(max_length=16)
    violation: bool
    inspector: str = Field(max_length=80)
    notes: str | None = Field(default=None, max_length=2000)
    notice_no: str | None = Field(default=None, max_length=40)
    recorded_at: datetime


class AssessmentRow(Base, table=True):
    """The center's year-end decision on a staff member, and the one appeal."""

    __tablename__ = "att_assessments"

    year: int = Field(primary_key=True)
    staff_id: str = Field(primary_key=True, max_length=32)
    unit_code: str = Field(max_length=32)
    grade: str = Field(max_length=24)
    proposed_grade: str | None = Field(default=None, max_length=24)
    score: float | None = None
    parts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    formula: str = Field(max_length=2000)
    decided_by: str = Field(max_length=64)
    decided_by_name: str = Field(default="", max_length=40)
    decided_at: datetime
    note: str = Field(default="", max_length=1000)
    first_grade: str | None = Field(default=None, max_length=24)  # the grade appealed against
    appeal_reason: str | None = Field(default=None, max_length=2000)
    appealed_by: str | None = Field(default=None, max_length=64)
    appealed_at: datetime | None = Field(default=None)
    appeal_decided_at: datetime | None = Field(default=None)


# --- queries --------------------------------------------------------------------------------


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    """The dialect's INSERT with ON CONFLICT support (SQLite and PostgreSQL)."""
    name = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgresql.insert if name == "postgresql" else sqlite.insert


async def insert_punches(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert punches, skipping those already stored (same device, PIN and terminal time).
    Returns the rows that were new."""
    new: list[dict[str, Any]] = []
    insert = _insert(session)
    for i in range(0, len(rows), 500):
        chunk = rows[i:i + 500]
        stmt = (insert(Punch).values(list(chunk))
                .on_conflict_do_nothing(index_elements=["device_sn", "pin", "local_time"])
                .returning(Punch.device_sn, Punch.pin, Punch.local_time))
        result = await session.execute(stmt)
        inserted = {(r.device_sn, r.pin, r.local_time) for r in result}
        new.extend(r for r in chunk if (r["device_sn"], r["pin"], r["local_time"]) in inserted)
    return new


async def insert_oplogs(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    insert = _insert(session)
    await session.execute(insert(OperationLog).values(list(rows))
                          .on_conflict_do_nothing(index_elements=["device_sn", "op", "admin", "local_time"]))


async def all_devices(session: AsyncSession) -> list[Device]:
    return list((await session.exec(select(Device).order_by(Device.sn))).all())


async def active_devices(session: AsyncSession) -> list[Device]:
    return list((await session.exec(select(Device).where(Device.active == True))).all())  # noqa: E712


async def unknown_devices(session: AsyncSession) -> list[UnknownDevice]:
    return list((await session.exec(select(UnknownDevice).order_by(UnknownDevice.sn))).all())


async def commands_of(session: AsyncSession, sn: str, limit: int) -> list[CommandRow]:
    """A terminal's latest commands, newest first."""
    q = (select(CommandRow).where(CommandRow.device_sn == sn)
         .order_by(CommandRow.id.desc()).limit(limit))  # type: ignore[union-attr]
    return list((await session.exec(q)).all())


async def staff_by_pin(session: AsyncSession, pins: Iterable[str]) -> dict[str, StaffRow]:
    pins = list(set(pins))
    if not pins:
        return {}
    rows = (await session.exec(select(StaffRow).where(StaffRow.pin.in_(pins)))).all()  # type: ignore[union-attr]
    return {r.pin: r for r in rows if r.pin}


async def all_staff(session: AsyncSession) -> list[StaffRow]:
    return list((await session.exec(select(StaffRow).order_by(StaffRow.staff_id))).all())


async def all_posts(session: AsyncSession) -> list[PostRow]:
    return list((await session.exec(select(PostRow).order_by(PostRow.window_no))).all())


async def roster_between(session: AsyncSession, first: date, last: date) -> list[RosterRow]:
    q = select(RosterRow).where(RosterRow.day >= first, RosterRow.day <= last).order_by(RosterRow.day, RosterRow.start)
    return list((await session.exec(q)).all())


async def trainings_between(session: AsyncSession, first: date, last: date) -> list[TrainingRow]:
    q = select(TrainingRow).where(TrainingRow.day >= first, TrainingRow.day <= last).order_by(TrainingRow.day)
    return list((await session.exec(q)).all())


async def leaves_between(session: AsyncSession, start: datetime, end: datetime) -> list[LeaveRow]:
    q = select(LeaveRow).where(LeaveRow.start < end, LeaveRow.end > start).order_by(LeaveRow.start)
    return list((await session.exec(q)).all())


async def punches_between(session: AsyncSession, start: datetime, end: datetime,
                          staff_ids: Iterable[str] | None = None) -> list[Punch]:
    q = select(Punch).where(Punch.punched_at >= utc(start), Punch.punched_at < utc(end),
                            Punch.staff_id.is_not(None))  # type: ignore[union-attr]
    if staff_ids is not None:
        q = q.where(Punch.staff_id.in_(list(staff_ids)))  # type: ignore[union-attr]
    return list((await session.exec(q.order_by(Punch.punched_at))).all())


def local_punches(rows: Iterable[Punch], zone) -> dict[str, list[datetime]]:  # type: ignore[no-untyped-def]
    """Punches per staff id as wall times in the center's zone (the rules' frame)."""
    out: dict[str, list[datetime]] = defaultdict(list)
    for p in rows:
        if p.staff_id:
            out[p.staff_id].append(domain.to_local(aware(p.punched_at), zone))  # type: ignore[arg-type]
    return out


async def attach_pin(session: AsyncSession, staff_id: str, pin: str) -> None:
    """Punches that arrived for a PIN before anybody had it now belong to its holder."""
    await session.execute(update(Punch).where(Punch.pin == pin, Punch.staff_id.is_(None))  # type: ignore[union-attr]
                          .values(staff_id=staff_id))


async def facts_between(session: AsyncSession, start: datetime, end: datetime,
                        staff_ids: set[str]) -> tuple[list[CaseOutcome], list[RatingFact], list[NoticeFact]]:
    s, e = utc(start), utc(end)
    outs = (await session.exec(select(OutcomeRow).where(OutcomeRow.decided_at >= s, OutcomeRow.decided_at < e))).all()
    rates = (await session.exec(select(RatingRow).where(RatingRow.rated_at >= s, RatingRow.rated_at < e))).all()
    notes = (await session.exec(select(NoticeRow).where(NoticeRow.raised_at >= s, NoticeRow.raised_at < e))).all()
    return (
        [CaseOutcome(o.receipt_no, o.unit_code, aware(o.decided_at), o.on_time) for o in outs],  # type: ignore[arg-type]
        [RatingFact(r.receipt_no, r.unit_code, r.score, aware(r.rated_at),  # type: ignore[arg-type]
                    staff_id=r.staff_id if r.staff_id in staff_ids else None) for r in rates],
        [NoticeFact(n.notice_no, n.unit_code, aware(n.raised_at)) for n in notes],  # type: ignore[arg-type]
    )


async def due_commands(session: AsyncSession, sn: str, limit: int, resend_before: datetime) -> list[CommandRow]:
    """Commands to hand out: queued ones, and ones handed out before ``resend_before`` that never
    got a result (the answer to the poll may have been lost on the way)."""
    q = (select(CommandRow)
         .where(CommandRow.device_sn == sn,
                or_(CommandRow.status == "queued",
                    and_(CommandRow.status == "sent", CommandRow.sent_at < utc(resend_before))))  # type: ignore[arg-type,operator]
         .order_by(CommandRow.id).limit(limit))
    return list((await session.exec(q)).all())


async def open_alerts(session: AsyncSession, day: date) -> list[DutyAlertRow]:
    q = select(DutyAlertRow).where(DutyAlertRow.day == day, DutyAlertRow.resolved_at.is_(None))  # type: ignore[union-attr]
    return list((await session.exec(q)).all())


async def alert_keys(session: AsyncSession, day: date) -> set[str]:
    return set((await session.exec(select(DutyAlertRow.slot_key).where(DutyAlertRow.day == day))).all())


async def is_published(session: AsyncSession, period: str, kind: str) -> bool:
    return await session.get(PublicationRow, (period, kind)) is not None


def month_range(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt - timedelta(days=1)



async def violations_between(session: AsyncSession, first: date, last: date, *, unit_code: str | None = None,
                             staff_id: str | None = None) -> list[ViolationRow]:
    q = select(ViolationRow).where(ViolationRow.occurred_on >= first, ViolationRow.occurred_on <= last)
    if unit_code is not None:
        q = q.where(ViolationRow.unit_code == unit_code)
    if staff_id is not None:
        q = q.where(ViolationRow.staff_id == staff_id)
    return list((await session.exec(q.order_by(ViolationRow.occurred_on, ViolationRow.recorded_at))).all())


async def violation_by_source(session: AsyncSession, source_key: str) -> ViolationRow | None:
    return (await session.exec(select(ViolationRow).where(ViolationRow.source_key == source_key))).first()


async def assessments_of(session: AsyncSession, year: int) -> dict[str, AssessmentRow]:
    rows = (await session.exec(select(AssessmentRow).where(AssessmentRow.year == year))).all()
    return {r.staff_id: r for r in rows}
