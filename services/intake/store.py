"""intake's tables and queries.

Aggregates (a unit, an item with its versions, a case, a rectification) are stored whole as JSON
documents next to the columns the queries need. A case row carries a revision number: saving
checks it, so two clerks acting on one case at once cannot overwrite each other (the second gets
a conflict and retries on fresh data).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint, bindparam, case, cast, delete, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.common import CaseKind
from services.runtime.db import service_registry

from services.runtime.errors import InvalidState
from services.runtime.workdays import local_date, period_of

from .domain.cases import Application, Status
from .domain.catalog import Item, Unit
from .domain.consultations import Consultation
from .domain.ratings import Rectification, RectificationStatus
from .domain.volume import CaseFacts

Base, metadata = service_registry()


def aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


# --------------------------------------------------------------------------- tables


class UnitRow(Base, table=True):
    __tablename__ = "intake_units"

    code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=100)
    entered: bool = True
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class ItemRow(Base, table=True):
    __tablename__ = "intake_items"

    code: str = Field(primary_key=True, max_length=20)
    unit_code: str = Field(index=True, max_length=12)
    name: str = Field(max_length=200)  # current version's name (or the draft's before publishing)
    accepting: bool = Field(default=False, index=True)
    case_kind: str | None = Field(default=None, max_length=16)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class CaseRow(Base, table=True):
    __tablename__ = "intake_cases"

    receipt_no: str = Field(primary_key=True, max_length=40)
    unit_code: str = Field(index=True, max_length=12)
    item_code: str = Field(index=True, max_length=20)
    item_kind: str = Field(max_length=16)
    six_kind: str = Field(index=True, max_length=16)
    status: str = Field(index=True, max_length=24)
    received_at: datetime = Field(index=True)
    period: str = Field(index=True, max_length=7)        # month received, YYYY-MM (Asia/Shanghai)
    weekend: bool = Field(default=False, index=True)
    weekend_of: date | None = Field(default=None, index=True)  # the Saturday of that weekend
    accepted: bool = False
    decided_at: datetime | None = None
    rev: int = 0
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    #: When the applicant's personal data was pseudonymised after the retention period.
    erased_at: datetime | None = Field(default=None, index=True)


class ReceiptSeqRow(Base, table=True):
    __tablename__ = "intake_receipt_seq"

    year: int = Field(primary_key=True)
    unit_code: str = Field(primary_key=True, max_length=12)
    last: int = 0


class JointTaskRow(Base, table=True):
    """Index of joint tasks by participating unit (the case document holds the answers)."""

    __tablename__ = "intake_joint_tasks"

    task_id: str = Field(primary_key=True, max_length=60)
    receipt_no: str = Field(index=True, max_length=40)
    participant_unit: str = Field(index=True, max_length=12)
    answered: bool = Field(default=False, index=True)
    opened_at: datetime


class ConsultationRow(Base, table=True):
    __tablename__ = "intake_consultations"

    consultation_id: str = Field(primary_key=True, max_length=40)
    unit_code: str = Field(index=True, max_length=12)
    staff_id: str = Field(index=True, max_length=64)
    channel: str = Field(max_length=16)
    item_code: str | None = Field(default=None, max_length=20)
    outcome: str = Field(max_length=24)
    referred_to_unit: str | None = Field(default=None, max_length=12)
    recorded_at: datetime
    period: str = Field(index=True, max_length=7)
    question: str = Field(sa_column=Column(Text, nullable=False))
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class RectificationRow(Base, table=True):
    __tablename__ = "intake_rectifications"

    rectification_id: str = Field(primary_key=True, max_length=40)
    receipt_no: str = Field(index=True, unique=True, max_length=40)
    unit_code: str = Field(index=True, max_length=12)
    status: str = Field(index=True, max_length=12)
    due_on: date
    rev: int = 0
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class UnitReportRow(Base, table=True):
    """Which monthly reports (volume, inactivity) were made, so each is made once."""

    __tablename__ = "intake_unit_reports"

    unit_code: str = Field(primary_key=True, max_length=12)
    period: str = Field(primary_key=True, max_length=7)
    kind: str = Field(primary_key=True, max_length=16)
    made_at: datetime


class LookupCounterRow(Base, table=True):
    """Public lookups per client and fixed window, shared by every replica (the rate limit)."""

    __tablename__ = "intake_lookup_counters"

    scope: str = Field(primary_key=True, max_length=16)
    client: str = Field(primary_key=True, max_length=64)  # sha256 of the client address: no IPs stored
    window_start: int = Field(primary_key=True)            # window start, Unix seconds
    hits: int = 0


class LookupLockRow(Base, table=True):
    """Wrong phone tails per receipt number; a number locks for a while after a few."""

    __tablename__ = "intake_lookup_locks"

    receipt_no: str = Field(primary_key=True, max_length=40)
    failures: int = 0
    first_failure: int = 0                                # Unix seconds of the first counted failure
    locked_until: int = Field(default=0, index=True)      # Unix seconds; 0: not locked


class AccessLogRow(Base, table=True):
    """Who read an applicant's unmasked data, when, on which case, which fields. Append-only: the
    migration adds triggers that refuse UPDATE and DELETE."""

    __tablename__ = "intake_access_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    staff_id: str = Field(index=True, max_length=64)
    role: str = Field(max_length=16)
    staff_unit: str | None = Field(default=None, max_length=12)
    receipt_no: str = Field(index=True, max_length=40)
    fields: str = Field(sa_column=Column(Text, nullable=False))  # comma-separated field paths
    action: str = Field(max_length=80)                           # the route, e.g. 'GET /applications/{no}'


# --------------------------------------------------------------------------- the hot path's Core statements

# Receiving an application is the service's busiest write. Its statements skip the ORM (no
# identity map, no unit-of-work flush: the ORM's bookkeeping cost more than SQLite's own work),
# each built once here and run with parameters (one compiled form in SQLAlchemy's cache).
_ITEMS, _UNITS, _CASES = ItemRow.__table__, UnitRow.__table__, CaseRow.__table__  # type: ignore[attr-defined]
_TASKS, _ACCESS = JointTaskRow.__table__, AccessLogRow.__table__  # type: ignore[attr-defined]
#: The item ``code``'s stored text (parsed once per distinct text, :func:`parsed_item`) and its
#: unit's name.
_ITEM_AND_UNIT = (sa_select(cast(_ITEMS.c.data, Text), _UNITS.c.name)
                  .select_from(_ITEMS.outerjoin(_UNITS, _UNITS.c.code == _ITEMS.c.unit_code))
                  .where(_ITEMS.c.code == bindparam("code")))
#: Whether the receipt number ``receipt_no`` is taken.
_RECEIPT_TAKEN = sa_select(_CASES.c.receipt_no).where(_CASES.c.receipt_no == bindparam("receipt_no"))
#: The due dates the cases ``receipt_nos`` show (from the stored document, not parsed).
_DUE_DATES_SHOWN = sa_select(_CASES.c.receipt_no, _CASES.c.data["due_on"].as_string()).where(
    _CASES.c.receipt_no.in_(bindparam("receipt_nos", expanding=True)))
_INSERT_CASE = insert(_CASES)
_INSERT_TASKS = insert(_TASKS)
_INSERT_ACCESS = insert(_ACCESS)
_SEQ = ReceiptSeqRow.__table__  # type: ignore[attr-defined]
#: The receipt sequence's upsert, per dialect, its values bound per call (built once: building it
#: per call cost more than running it).
_NEXT_SEQ = {
    name: ins(_SEQ).values(year=bindparam("year"), unit_code=bindparam("unit_code"), last=1)
    .on_conflict_do_update(index_elements=["year", "unit_code"], set_={"last": _SEQ.c.last + 1})
    .returning(_SEQ.c.last)
    for name, ins in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


@lru_cache(maxsize=256)
def parsed_item(text: str) -> Item:
    """An item from its stored JSON text, parsed once per distinct text: the catalog changes
    rarely and every application reads its item. Keyed by the text itself, so an edit (a new
    text) is never answered from an old parse, whichever replica made it. Callers only read the
    item (its versions are frozen models). 256: about a county's catalog (the demo's has 246
    items); a parsed item of the unit tests' size holds ~10 KiB."""
    return Item.model_validate_json(text)


# --------------------------------------------------------------------------- the store


def weekend_saturday(dt: datetime) -> date | None:
    d = local_date(dt)
    if d.weekday() == 5:
        return d
    if d.weekday() == 6:
        return d - timedelta(days=1)
    return None


class Store:
    """Queries over one session (the unit of work's)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---------------------------------------------------------------- units

    async def unit(self, code: str) -> Unit | None:
        row = await self.session.get(UnitRow, code)
        return Unit.model_validate(row.data) if row else None

    async def units(self) -> list[Unit]:
        rows = (await self.session.exec(select(UnitRow).order_by(UnitRow.code))).all()
        return [Unit.model_validate(r.data) for r in rows]

    async def unit_names(self, codes: list[str] | tuple[str, ...] | None = None) -> dict[str, str]:
        """Every unit's name, or those of ``codes``."""
        stmt = select(UnitRow.code, UnitRow.name)
        if codes is not None:
            stmt = stmt.where(UnitRow.code.in_(codes))  # type: ignore[attr-defined]
        rows = (await self.session.exec(stmt)).all()
        return {code: name for code, name in rows}

    async def save_unit(self, unit: Unit) -> None:
        row = await self.session.get(UnitRow, unit.code)
        data = unit.model_dump(mode="json")
        if row is None:
            self.session.add(UnitRow(code=unit.code, name=unit.name, entered=unit.entered, data=data))
        else:
            row.name, row.entered, row.data = unit.name, unit.entered, data
            self.session.add(row)

    # ---------------------------------------------------------------- items

    async def item(self, code: str) -> Item | None:
        row = await self.session.get(ItemRow, code)
        return Item.model_validate(row.data) if row else None

    async def item_for_application(self, code: str) -> tuple[Item, str | None] | None:
        """The item (as read-only, see :func:`parsed_item`) and its unit's name, in one statement."""
        row = (await self.session.exec(_ITEM_AND_UNIT, params={"code": code})).first()  # type: ignore[call-overload]
        return None if row is None else (parsed_item(row[0]), row[1])

    async def save_item(self, item: Item) -> None:
        row = await self.session.get(ItemRow, item.code)
        current = item.version(item.current).content if item.current is not None else None
        name = current.name if current else (item.draft.name if item.draft else item.code)
        kind = (current or item.draft).case_kind.value if (current or item.draft) else None
        data = item.model_dump(mode="json")
        if row is None:
            self.session.add(ItemRow(code=item.code, unit_code=item.unit_code, name=name, accepting=item.accepting,
                                     case_kind=kind, data=data))
        else:
            row.name, row.accepting, row.case_kind, row.data = name, item.accepting, kind, data
            self.session.add(row)

    async def current_items(self, unit_code: str | None = None, query: str | None = None,
                            kind: str | None = None) -> list[Item]:
        stmt = select(ItemRow).where(ItemRow.accepting == True).order_by(ItemRow.code)  # noqa: E712
        if unit_code:
            stmt = stmt.where(ItemRow.unit_code == unit_code)
        if kind:
            stmt = stmt.where(ItemRow.case_kind == kind)
        for word in (query or "").split():
            stmt = stmt.where(ItemRow.name.contains(word, autoescape=True))
        rows = (await self.session.exec(stmt)).all()
        return [Item.model_validate(r.data) for r in rows]

    async def item_counts(self) -> dict[str, int]:
        stmt = select(ItemRow.unit_code, func.count()).where(ItemRow.accepting == True).group_by(ItemRow.unit_code)  # noqa: E712
        return {u: n for u, n in (await self.session.exec(stmt)).all()}

    async def item_codes(self) -> set[str]:
        return set((await self.session.exec(select(ItemRow.code))).all())

    async def all_items(self, unit_code: str | None = None) -> list[Item]:
        """Every item, drafts never published and retired ones included (the catalog's admin list)."""
        stmt = select(ItemRow).order_by(ItemRow.code)
        if unit_code:
            stmt = stmt.where(ItemRow.unit_code == unit_code)
        return [Item.model_validate(r.data) for r in (await self.session.exec(stmt)).all()]

    # ---------------------------------------------------------------- receipt numbers

    async def next_seq(self, year: int, unit_code: str) -> int:
        """The next sequence number of the unit's receipts this year (atomic upsert)."""
        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        stmt = _NEXT_SEQ["postgresql" if dialect == "postgresql" else "sqlite"]
        return int((await self.session.execute(stmt, {"year": year, "unit_code": unit_code})).scalar_one())

    # ---------------------------------------------------------------- cases

    async def case(self, receipt_no: str) -> tuple[Application, int] | None:
        row = await self.session.get(CaseRow, receipt_no)
        if row is None:
            return None
        return Application.model_validate(row.data), row.rev

    async def due_dates_shown(self, receipt_nos: list[str]) -> dict[str, date | None]:
        """The due date each of these cases shows (None: none yet), read from the stored
        document without parsing it; cases not found are left out."""
        if not receipt_nos:
            return {}
        rows = await self.session.exec(_DUE_DATES_SHOWN, params={"receipt_nos": receipt_nos})  # type: ignore[call-overload]
        return {no: date.fromisoformat(day) if day else None for no, day in rows.all()}

    def _columns(self, app: Application) -> dict[str, Any]:
        return dict(
            unit_code=app.unit_code, item_code=app.item.item_code, item_kind=app.kind.value,
            six_kind=app.six_kind.value, status=app.status.value, received_at=_utc(app.received_at),
            period=period_of(app.received_at), weekend=app.weekend, weekend_of=weekend_saturday(app.received_at),
            accepted=app.accepted_at is not None, decided_at=_utc(app.decided_at) if app.decided_at else None,
            data=app.model_dump(mode="json"),
        )

    async def receipt_taken(self, receipt_no: str) -> bool:
        found = await self.session.exec(_RECEIPT_TAKEN, params={"receipt_no": receipt_no})  # type: ignore[call-overload]
        return found.first() is not None

    async def add_case(self, app: Application) -> None:
        """Insert a new case and its joint tasks' index rows (Core: see the statements above)."""
        await self.session.execute(_INSERT_CASE, {"receipt_no": app.receipt_no, "rev": 1, **self._columns(app)})
        if app.joint_tasks:
            await self.session.execute(_INSERT_TASKS, [
                {"task_id": t.task_id, "receipt_no": app.receipt_no, "participant_unit": t.unit_code,
                 "answered": t.answer is not None, "opened_at": _utc(t.opened_at)} for t in app.joint_tasks])

    async def save_case(self, app: Application, rev: int) -> int:
        """Write the case if nobody changed it since it was read at `rev`."""
        result = await self.session.execute(
            update(CaseRow).where(CaseRow.receipt_no == app.receipt_no, CaseRow.rev == rev)
            .values(rev=rev + 1, **self._columns(app))
        )
        if result.rowcount != 1:
            raise InvalidState(None, "该案件刚被其他人更新，请刷新后重试")
        await self._index_tasks(app)
        return rev + 1

    async def _index_tasks(self, app: Application) -> None:
        for t in app.joint_tasks:
            row = await self.session.get(JointTaskRow, t.task_id)
            if row is None:
                self.session.add(JointTaskRow(task_id=t.task_id, receipt_no=app.receipt_no,
                                              participant_unit=t.unit_code, answered=t.answer is not None,
                                              opened_at=_utc(t.opened_at)))
            elif row.answered != (t.answer is not None):
                row.answered = t.answer is not None
                self.session.add(row)

    async def cases(self, *, unit_code: str | None = None, status: str | None = None, item_code: str | None = None,
                    period: str | None = None, limit: int = 50, offset: int = 0) -> list[Application]:
        stmt = select(CaseRow).order_by(CaseRow.received_at.desc(), CaseRow.receipt_no.desc())
        if unit_code:
            stmt = stmt.where(CaseRow.unit_code == unit_code)
        if status:
            stmt = stmt.where(CaseRow.status == status)
        if item_code:
            stmt = stmt.where(CaseRow.item_code == item_code)
        if period:
            stmt = stmt.where(CaseRow.period == period)
        rows = (await self.session.exec(stmt.limit(limit).offset(offset))).all()
        return [Application.model_validate(r.data) for r in rows]

    async def joint_tasks_for(self, unit_code: str, open_only: bool = True) -> list[Application]:
        stmt = select(JointTaskRow.receipt_no).where(JointTaskRow.participant_unit == unit_code)
        if open_only:
            stmt = stmt.where(JointTaskRow.answered == False)  # noqa: E712
        numbers = list((await self.session.exec(stmt.order_by(JointTaskRow.opened_at))).all())
        out = []
        for no in numbers:
            found = await self.case(no)
            if found:
                out.append(found[0])
        return out

    async def case_facts(self, period: str) -> list[CaseFacts]:
        stmt = select(CaseRow.unit_code, CaseRow.six_kind, CaseRow.accepted, CaseRow.status, CaseRow.weekend).where(
            CaseRow.period == period)
        return [
            CaseFacts(unit_code=u, kind=CaseKind(k), accepted=bool(acc), not_accepted=s == Status.NOT_ACCEPTED.value,
                      decided=s == Status.DECIDED.value, weekend=bool(w))
            for u, k, acc, s, w in (await self.session.exec(stmt)).all()
        ]

    async def last_business(self) -> dict[str, date]:
        stmt = select(CaseRow.unit_code, func.max(CaseRow.received_at)).group_by(CaseRow.unit_code)
        return {u: local_date(aware(t)) for u, t in (await self.session.exec(stmt)).all() if t is not None}

    async def ratings_in(self, period: str) -> list[tuple[str, str]]:
        """(unit, rating level) of every rated case received in `period` (the rating sits in the case)."""
        stmt = select(CaseRow.unit_code, CaseRow.data).where(CaseRow.period == period)
        out = []
        for unit, data in (await self.session.exec(stmt)).all():
            rating = (data or {}).get("rating")
            if rating and rating.get("level"):
                out.append((unit, str(rating["level"])))
        return out

    async def counts_by_kind_and_status(self) -> list[tuple[str, str, int]]:
        stmt = select(CaseRow.six_kind, CaseRow.status, func.count()).group_by(CaseRow.six_kind, CaseRow.status)
        return [(k, s, n) for k, s, n in (await self.session.exec(stmt)).all()]

    async def weekend_counts(self, since: date | None = None, until: date | None = None) -> list[tuple[date, int]]:
        stmt = select(CaseRow.weekend_of, func.count()).where(CaseRow.weekend == True)  # noqa: E712
        if since:
            stmt = stmt.where(CaseRow.weekend_of >= since)
        if until:
            stmt = stmt.where(CaseRow.weekend_of <= until)
        stmt = stmt.group_by(CaseRow.weekend_of).order_by(CaseRow.weekend_of)
        return [(d, n) for d, n in (await self.session.exec(stmt)).all()]

    async def day_counts(self, start: datetime, end: datetime, unit_code: str | None = None) -> dict[str, tuple[int, int]]:
        """Per unit, for the day [start, end): (applications received, immediate cases decided).
        Counts only. Both ride the ``received_at`` index: an immediate case is decided the day it
        is received, so the cases received in the week before are enough to find today's."""
        week = _utc(start) - timedelta(days=7)
        received = case((CaseRow.received_at >= _utc(start), 1), else_=0)
        immediate = case(((CaseRow.six_kind == CaseKind.IMMEDIATE.value) & (CaseRow.decided_at >= _utc(start))
                          & (CaseRow.decided_at < _utc(end)), 1), else_=0)
        stmt = (select(CaseRow.unit_code, func.sum(received), func.sum(immediate))  # type: ignore[call-overload]
                .where(CaseRow.received_at >= week, CaseRow.received_at < _utc(end)).group_by(CaseRow.unit_code))
        if unit_code:
            stmt = stmt.where(CaseRow.unit_code == unit_code)
        return {u: (int(r or 0), int(i or 0)) for u, r, i in (await self.session.exec(stmt)).all()}

    async def search_applicants(self, *, text: str | None, digits: str | None, unit_code: str | None,
                                limit: int) -> list[Application]:
        """Cases whose applicant's name or company name contains ``text``, or whose resident ID or
        mobile contains ``digits``; newest first, erased (pseudonymised) cases left out. A LIKE on
        the stored document's fields (both dialects' JSON paths), bounded by unit and limit."""
        applicant = CaseRow.data["applicant"]  # type: ignore[index]
        stmt = select(CaseRow).where(CaseRow.erased_at == None)  # noqa: E711
        if text:
            stmt = stmt.where(applicant["name"].as_string().contains(text, autoescape=True)
                              | applicant["company_name"].as_string().contains(text, autoescape=True))
        if digits:
            stmt = stmt.where(applicant["resident_id"].as_string().contains(digits, autoescape=True)
                              | applicant["mobile"].as_string().contains(digits, autoescape=True))
        if unit_code:
            stmt = stmt.where(CaseRow.unit_code == unit_code)
        stmt = stmt.order_by(CaseRow.received_at.desc(), CaseRow.receipt_no.desc()).limit(limit)
        return [Application.model_validate(r.data) for r in (await self.session.exec(stmt)).all()]

    # ---------------------------------------------------------------- consultations

    async def add_consultation(self, c: Consultation) -> None:
        self.session.add(ConsultationRow(
            consultation_id=c.consultation_id, unit_code=c.unit_code, staff_id=c.staff_id, channel=c.channel.value,
            item_code=c.item_code, outcome=c.outcome.value, referred_to_unit=c.referred_to_unit,
            recorded_at=_utc(c.recorded_at), period=period_of(c.recorded_at), question=c.question, answer=c.answer,
        ))

    async def consultations(self, *, unit_code: str | None, period: str | None, limit: int = 50,
                            offset: int = 0) -> list[Consultation]:
        stmt = select(ConsultationRow).order_by(ConsultationRow.recorded_at.desc())
        if unit_code:
            stmt = stmt.where(ConsultationRow.unit_code == unit_code)
        if period:
            stmt = stmt.where(ConsultationRow.period == period)
        rows = (await self.session.exec(stmt.limit(limit).offset(offset))).all()
        return [Consultation(consultation_id=r.consultation_id, unit_code=r.unit_code, staff_id=r.staff_id,
                             channel=r.channel, item_code=r.item_code, question=r.question, outcome=r.outcome,
                             answer=r.answer, referred_to_unit=r.referred_to_unit, recorded_at=aware(r.recorded_at))
                for r in rows]

    async def consultation_counts(self, period: str) -> dict[str, dict[str, int]]:
        stmt = (select(ConsultationRow.unit_code, ConsultationRow.channel, func.count())
                .where(ConsultationRow.period == period)
                .group_by(ConsultationRow.unit_code, ConsultationRow.channel))
        out: dict[str, dict[str, int]] = {}
        for unit, channel, n in (await self.session.exec(stmt)).all():
            out.setdefault(unit, {})[channel] = n
        return out

    # ---------------------------------------------------------------- rectifications

    async def rectification(self, rid: str) -> tuple[Rectification, int] | None:
        row = await self.session.get(RectificationRow, rid)
        return (Rectification.model_validate(row.data), row.rev) if row else None

    async def add_rectification(self, r: Rectification) -> None:
        self.session.add(RectificationRow(rectification_id=r.rectification_id, receipt_no=r.receipt_no,
                                          unit_code=r.unit_code, status=r.status.value, due_on=r.due_on, rev=1,
                                          data=r.model_dump(mode="json")))

    async def save_rectification(self, r: Rectification, rev: int) -> None:
        result = await self.session.execute(
            update(RectificationRow)
            .where(RectificationRow.rectification_id == r.rectification_id, RectificationRow.rev == rev)
            .values(status=r.status.value, rev=rev + 1, data=r.model_dump(mode="json"))
        )
        if result.rowcount != 1:
            raise InvalidState(None, "该整改任务刚被其他人更新，请刷新后重试")

    async def rectifications(self, *, unit_code: str | None, status: RectificationStatus | None,
                             limit: int = 50, offset: int = 0) -> list[Rectification]:
        stmt = select(RectificationRow).order_by(RectificationRow.due_on)
        if unit_code:
            stmt = stmt.where(RectificationRow.unit_code == unit_code)
        if status:
            stmt = stmt.where(RectificationRow.status == status.value)
        rows = (await self.session.exec(stmt.limit(limit).offset(offset))).all()
        return [Rectification.model_validate(r.data) for r in rows]

    # ---------------------------------------------------------------- monthly reports

    async def report_made(self, unit_code: str, period: str, kind: str) -> bool:
        return await self.session.get(UnitReportRow, (unit_code, period, kind)) is not None

    async def mark_report(self, unit_code: str, period: str, kind: str, at: datetime) -> None:
        self.session.add(UnitReportRow(unit_code=unit_code, period=period, kind=kind, made_at=_utc(at)))


    # ---------------------------------------------------------------- public lookup: limits and locks

    def _insert(self, model):  # type: ignore[no-untyped-def]
        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        return (pg_insert if dialect == "postgresql" else sqlite_insert)(model)

    async def hit(self, scope: str, client: str, window_start: int) -> int:
        """Count one request of `client` in the window (atomic across replicas); the count so far."""
        table = LookupCounterRow.__table__
        stmt = (self._insert(LookupCounterRow).values(scope=scope, client=client, window_start=window_start, hits=1)
                .on_conflict_do_update(index_elements=["scope", "client", "window_start"],
                                       set_={"hits": table.c.hits + 1})
                .returning(table.c.hits))
        return int((await self.session.execute(stmt)).scalar_one())

    async def lock_of(self, receipt_no: str) -> LookupLockRow | None:
        return await self.session.get(LookupLockRow, receipt_no)

    async def count_failure(self, receipt_no: str, now: int, window: int) -> int:
        """One more wrong pair for the number (failures older than `window` seconds start over)."""
        table = LookupLockRow.__table__
        stale = table.c.first_failure < now - window
        stmt = (self._insert(LookupLockRow).values(receipt_no=receipt_no, failures=1, first_failure=now, locked_until=0)
                .on_conflict_do_update(index_elements=["receipt_no"], set_={
                    "failures": case((stale, 1), else_=table.c.failures + 1),
                    "first_failure": case((stale, now), else_=table.c.first_failure),
                })
                .returning(table.c.failures))
        return int((await self.session.execute(stmt)).scalar_one())

    async def lock(self, receipt_no: str, until: int) -> None:
        await self.session.execute(update(LookupLockRow).where(LookupLockRow.receipt_no == receipt_no)
                                   .values(locked_until=until, failures=0))

    async def clear_failures(self, receipt_no: str) -> None:
        await self.session.execute(delete(LookupLockRow).where(LookupLockRow.receipt_no == receipt_no,
                                                               LookupLockRow.locked_until == 0))

    async def forget_lookups(self, now: int, keep: int) -> None:
        """Housekeeping: counters and locks older than `keep` seconds."""
        await self.session.execute(delete(LookupCounterRow).where(LookupCounterRow.window_start < now - keep))
        await self.session.execute(delete(LookupLockRow).where(LookupLockRow.locked_until < now,
                                                               LookupLockRow.first_failure < now - keep))

    # ---------------------------------------------------------------- access log (append-only)

    async def log_access(self, *, at: datetime, staff_id: str, role: str, staff_unit: str | None,
                         reads: list[tuple[str, list[str]]], action: str) -> None:
        """Append one row per (receipt number, fields read) in one statement."""
        if not reads:
            return
        at, staff_id, role, action = _utc(at), staff_id[:64], role[:16], action[:80]
        await self.session.execute(_INSERT_ACCESS, [
            {"at": at, "staff_id": staff_id, "role": role, "staff_unit": staff_unit, "receipt_no": receipt_no,
             "fields": ",".join(fields), "action": action} for receipt_no, fields in reads])

    async def access_log(self, *, receipt_no: str | None = None, staff_id: str | None = None,
                         since: datetime | None = None, until: datetime | None = None, limit: int = 100,
                         offset: int = 0) -> list[AccessLogRow]:
        stmt = select(AccessLogRow).order_by(AccessLogRow.id.desc())
        if receipt_no:
            stmt = stmt.where(AccessLogRow.receipt_no == receipt_no)
        if staff_id:
            stmt = stmt.where(AccessLogRow.staff_id == staff_id)
        if since:
            stmt = stmt.where(AccessLogRow.at >= _utc(since))
        if until:
            stmt = stmt.where(AccessLogRow.at < _utc(until))
        return list((await self.session.exec(stmt.limit(limit).offset(offset))).all())

    # ---------------------------------------------------------------- retention

    async def cases_to_erase(self, decided_before: datetime, limit: int = 200) -> list[tuple[Application, int]]:
        stmt = (select(CaseRow).where(CaseRow.erased_at == None, CaseRow.decided_at != None,  # noqa: E711
                                      CaseRow.decided_at < _utc(decided_before),
                                      CaseRow.status.in_([Status.DECIDED.value, Status.NOT_ACCEPTED.value]))
                .order_by(CaseRow.decided_at).limit(limit))
        return [(Application.model_validate(r.data), r.rev) for r in (await self.session.exec(stmt)).all()]

    async def mark_erased(self, receipt_no: str, at: datetime) -> None:
        await self.session.execute(update(CaseRow).where(CaseRow.receipt_no == receipt_no).values(erased_at=_utc(at)))

    async def erase_rectification_texts(self, receipt_no: str, placeholder: str) -> None:
        row = (await self.session.exec(select(RectificationRow).where(RectificationRow.receipt_no == receipt_no))).first()
        if row is None:
            return
        data = dict(row.data)
        for key in ("comment", "response"):
            if data.get(key):
                data[key] = placeholder
        await self.session.execute(update(RectificationRow).where(RectificationRow.rectification_id == row.rectification_id)
                                   .values(data=data, rev=row.rev + 1))

    async def forget_sent_events(self, created_before: datetime) -> int:
        """Drop the outbox rows already published and older than the retention period: their
        payloads (the internal topics' full names, mobiles and texts among them) are on Kafka, whose
        own retention ends them there; the relay only ever reads unsent rows."""
        outbox = metadata.tables["outbox"]
        result = await self.session.execute(
            outbox.delete().where(outbox.c.sent_at.is_not(None), outbox.c.created_at < _utc(created_before)))
        return int(result.rowcount or 0)

    async def erase_consultations(self, recorded_before: datetime, placeholder: str) -> int:
        result = await self.session.execute(
            update(ConsultationRow).where(ConsultationRow.recorded_at < _utc(recorded_before),
                                          ConsultationRow.question != placeholder)
            .values(question=placeholder, answer=None))
        return int(result.rowcount or 0)


# --------------------------------------------------------------------------- overdue follow-ups


class FollowUpRow(Base, table=True):
    """Overdue follow-ups already emitted, one per task: the primary key makes a second emission
    (a restarted worker, another replica) fail inside its own transaction, event and all."""

    __tablename__ = "intake_followups"

    kind: str = Field(primary_key=True, max_length=24)          # 'rectification'
    subject_id: str = Field(primary_key=True, max_length=40)    # the task's id
    receipt_no: str = Field(max_length=40)
    unit_code: str = Field(max_length=32)
    due_on: date
    detected_at: datetime


# --------------------------------------------------------------------------- 两头受理


class OutsideDecisionRow(Base, table=True):
    """A decision a unit reports it made outside the center (两头受理), by API or CSV import;
    ``flagged`` when the item is in the center's catalog and no case was received at the center.
    One row per (unit, the unit's own record number): a report sent again is not counted twice."""

    __tablename__ = "intake_outside_decisions"
    __table_args__ = (UniqueConstraint("unit_code", "external_no", name="uq_intake_outside_decisions_external"),)

    decision_id: str = Field(primary_key=True, max_length=40)
    unit_code: str = Field(index=True, max_length=32)
    item_code: str = Field(max_length=64)
    external_no: str = Field(max_length=60)                     # the unit's own record number
    decided_on: date = Field(index=True)
    outcome: str = Field(max_length=12)                         # approved | refused
    receipt_no: str | None = Field(default=None, max_length=40)  # the center's case, when there was one
    flagged: bool = Field(index=True)
    source: str = Field(max_length=8)                           # api | csv
    reported_by: str = Field(max_length=64)
    reported_at: datetime


# --------------------------------------------------------------------------- 领办代办 and consultation follow-ups


class CaseLeadRow(Base, table=True):
    """Each staff member's charge of a case (领办代办), kept beside the case document (which holds
    the same record) so that the counts per staff member are one query."""

    __tablename__ = "intake_case_leads"

    lead_id: str = Field(primary_key=True, max_length=40)
    receipt_no: str = Field(index=True, max_length=40)
    unit_code: str = Field(index=True, max_length=32)         # the case's unit
    staff_id: str = Field(index=True, max_length=64)
    staff_unit: str | None = Field(default=None, index=True, max_length=32)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # the CaseLead
    taken_at: datetime = Field(index=True)
    period: str = Field(index=True, max_length=7)             # the month it was taken
    released_at: datetime | None = None


class ConsultationAnswerRow(Base, table=True):
    """The answer that closed a consultation left open (referred to another unit, or to be
    answered later): who answered, when. One per consultation."""

    __tablename__ = "intake_consultation_answers"

    consultation_id: str = Field(primary_key=True, max_length=40)
    answered_by: str = Field(index=True, max_length=64)
    answered_by_unit: str | None = Field(default=None, max_length=32)
    answered_at: datetime
    answer: str = Field(sa_column=Column(Text, nullable=False))


async def save_lead(session: AsyncSession, receipt_no: str, unit_code: str, lead: Any) -> None:
    """Insert or update the row of a lead (``lead`` is a ``CaseLead``)."""
    row = await session.get(CaseLeadRow, lead.lead_id)
    if row is None:
        session.add(CaseLeadRow(
            lead_id=lead.lead_id, receipt_no=receipt_no, unit_code=unit_code, staff_id=lead.staff_id,
            staff_unit=lead.staff_unit, data=lead.model_dump(mode="json"), taken_at=_utc(lead.taken_at),
            period=period_of(lead.taken_at), released_at=_utc(lead.released_at) if lead.released_at else None))
        return
    row.data = lead.model_dump(mode="json")
    row.released_at = _utc(lead.released_at) if lead.released_at else None
    session.add(row)


async def leads_in(session: AsyncSession, *, period: str | None, staff_unit: str | None) -> list[dict[str, Any]]:
    """The leads taken in a month (all when ``period`` is None), of one unit's staff or all."""
    stmt = select(CaseLeadRow).order_by(CaseLeadRow.taken_at)
    if period:
        stmt = stmt.where(CaseLeadRow.period == period)
    if staff_unit:
        stmt = stmt.where(CaseLeadRow.staff_unit == staff_unit)
    return [r.data for r in (await session.exec(stmt)).all()]


async def consultation(session: AsyncSession, consultation_id: str) -> Consultation | None:
    r = await session.get(ConsultationRow, consultation_id)
    if r is None:
        return None
    return Consultation(consultation_id=r.consultation_id, unit_code=r.unit_code, staff_id=r.staff_id,
                        channel=r.channel, item_code=r.item_code, question=r.question, outcome=r.outcome,
                        answer=r.answer, referred_to_unit=r.referred_to_unit, recorded_at=aware(r.recorded_at))


async def consultation_answer(session: AsyncSession, consultation_id: str) -> ConsultationAnswerRow | None:
    return await session.get(ConsultationAnswerRow, consultation_id)


async def add_consultation_answer(session: AsyncSession, consultation_id: str, answered_by: str,
                                  answered_by_unit: str | None, answered_at: datetime, answer: str) -> None:
    session.add(ConsultationAnswerRow(consultation_id=consultation_id, answered_by=answered_by,
                                      answered_by_unit=answered_by_unit, answered_at=_utc(answered_at), answer=answer))


async def first_inquiry_rows(session: AsyncSession, *, period: str, unit_code: str | None
                             ) -> list[tuple[ConsultationRow, ConsultationAnswerRow | None]]:
    """A month's consultations with the answer that closed each, if any (for the counts per
    first-inquiry staff member)."""
    stmt = (select(ConsultationRow, ConsultationAnswerRow)
            .join(ConsultationAnswerRow, ConsultationAnswerRow.consultation_id == ConsultationRow.consultation_id,
                  isouter=True)
            .where(ConsultationRow.period == period))
    if unit_code:
        stmt = stmt.where(ConsultationRow.unit_code == unit_code)
    return list((await session.exec(stmt)).all())  # type: ignore[arg-type]


async def open_consultations(session: AsyncSession, *, unit_code: str | None
                             ) -> list[ConsultationRow]:
    """Consultations still waiting for an answer (referred or to be followed up), oldest first:
    those a unit recorded or was referred."""
    from sqlalchemy import or_

    stmt = (select(ConsultationRow)
            .join(ConsultationAnswerRow, ConsultationAnswerRow.consultation_id == ConsultationRow.consultation_id,
                  isouter=True)
            .where(ConsultationAnswerRow.consultation_id.is_(None),  # type: ignore[union-attr]
                   ConsultationRow.outcome.in_(("referred", "follow_up")))  # type: ignore[attr-defined]
            .order_by(ConsultationRow.recorded_at))
    if unit_code:
        stmt = stmt.where(or_(ConsultationRow.unit_code == unit_code, ConsultationRow.referred_to_unit == unit_code))
    return list((await session.exec(stmt)).all())
