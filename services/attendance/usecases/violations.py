"""Staff violations (违规违章): recorded by the rules (a judged day's lateness, absence, leaving the
post; a rating at the complaint level), by a supervisor (conduct, leaving the post, an inspection
finding with its reference), replied to by the staff member, withdrawn with a reason; counted per
unit and month for the bulletin. Each record and each withdrawal emits its event in the same
transaction."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from contracts.attendance import (
    StaffViolationRecorded,
    StaffViolationWithdrawn,
    ViolationKind,
    ViolationOrigin,
)
from contracts.common import Role
from contracts.deadline import InspectionRecorded, InspectionResult
from services.runtime import clock
from services.runtime.errors import InvalidInput, InvalidState, NotAllowed, NotFound
from services.runtime.uow import UnitOfWork

from .. import domain, store
from ..domain import violations as rules
from .shared import Attendance, attendance

if TYPE_CHECKING:
    from services.runtime.app import Service
    from services.runtime.auth import Staff

    from ..schemas import ViolationIn

log = logging.getLogger(__name__)

SYSTEM = "system"


def _period(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


async def _record(uow: UnitOfWork, member: store.StaffRow, kind: ViolationKind, origin: ViolationOrigin,
                  occurred_on: date, evidence: str, by: str, *, source_key: str | None = None,
                  receipt_no: str | None = None, inspection_ref: str | None = None) -> store.ViolationRow:
    now = clock.now()
    vid = store.stable_id("violation", source_key) if source_key else str(uuid.uuid4())
    row = store.ViolationRow(violation_id=vid, source_key=source_key, staff_id=member.staff_id,
                             unit_code=member.unit_code, window_no=member.window_no, kind=kind.value,
                             origin=origin.value, occurred_on=occurred_on, evidence=evidence,
                             receipt_no=receipt_no, inspection_ref=inspection_ref, recorded_by=by,
                             recorded_at=now)
    uow.session.add(row)
    await uow.emit(StaffViolationRecorded(
        violation_id=vid, staff_id=member.staff_id, unit_code=member.unit_code, window_no=member.window_no,
        violation_kind=kind, origin=origin, occurred_on=occurred_on, period=_period(occurred_on),
        evidence=evidence, receipt_no=receipt_no, inspection_ref=inspection_ref, recorded_by=by, recorded_at=now,
    ), id=store.stable_id("violation-recorded", vid) if source_key else None)
    return row


async def _withdraw(uow: UnitOfWork, row: store.ViolationRow, reason: str, by: str) -> None:
    now = clock.now()
    row.withdrawn_at, row.withdrawn_by, row.withdraw_reason = now, by, reason
    uow.session.add(row)
    await uow.emit(StaffViolationWithdrawn(
        violation_id=row.violation_id, staff_id=row.staff_id, unit_code=row.unit_code,
        violation_kind=ViolationKind(row.kind), occurred_on=row.occurred_on, period=_period(row.occurred_on),
        reason=reason, withdrawn_by=by, withdrawn_at=now,
    ))


# --- by a supervisor --------------------------------------------------------------------------


async def record(uow: UnitOfWork, att: Attendance, body: "ViolationIn", staff: "Staff") -> store.ViolationRow:
    """A supervisor records a violation with its evidence; an inspection finding names the
    inspection (sample and case) deadline reported, of the staff member's unit."""
    s = uow.session
    member = await s.get(store.StaffRow, body.staff_id)
    if member is None:
        raise InvalidInput("staff_id", f"没有工作人员 {body.staff_id}")
    today = domain.to_local(clock.now(), att.rules.zone).date()
    if body.occurred_on > today:
        raise InvalidInput("occurred_on", "发生日期不能晚于今天")
    if not domain.StaffMember(member.staff_id, member.name, member.unit_code, member.unit_name,
                              active_from=member.active_from, active_until=member.active_until
                              ).serves_on(body.occurred_on):
        raise InvalidInput("occurred_on", f"{member.name} 该日不在中心任职")
    source_key = ref = None
    receipt_no = body.receipt_no
    origin = ViolationOrigin.SUPERVISOR
    if body.kind is ViolationKind.INSPECTION:
        if body.inspection is None:
            raise InvalidInput("inspection", "抽查违规须注明抽查记录（抽样编号和受理编号）")
        finding = await s.get(store.InspectionFindingRow, (body.inspection.sample_id, body.inspection.receipt_no))
        if finding is None:
            raise InvalidInput("inspection.sample_id", "没有这次抽查的结果（抽样编号与受理编号不符，或尚未收到）")
        if finding.result == InspectionResult.COMPLIANT.value and not finding.violation:
            raise InvalidInput("inspection", "该案件抽查结果为合格，不能记为违规")
        if finding.unit_code != member.unit_code:
            raise InvalidInput("staff_id", f"{member.name} 不属于被抽查的单位 {finding.unit_code}")
        ref = f"{finding.sample_id}/{finding.receipt_no}"
        source_key = f"inspection:{ref}:{member.staff_id}"
        receipt_no = finding.receipt_no
        origin = ViolationOrigin.INSPECTION
        if await store.violation_by_source(s, source_key) is not None:
            raise InvalidState("inspection", "这次抽查的违规已记录在该工作人员名下")
    elif body.inspection is not None:
        raise InvalidInput("inspection", "只有抽查违规可注明抽查记录")
    row = await _record(uow, member, body.kind, origin, body.occurred_on, body.evidence, staff.sub,
                        source_key=source_key, receipt_no=receipt_no, inspection_ref=ref)
    try:
        await uow.commit()
    except IntegrityError:  # the same finding attributed at the same moment by somebody else
        raise InvalidState("inspection", "这次抽查的违规已记录在该工作人员名下") from None
    return row


async def _get(uow: UnitOfWork, violation_id: str) -> store.ViolationRow:
    row = await uow.session.get(store.ViolationRow, violation_id)
    if row is None:
        raise NotFound("violation_id", "没有这条违规违章记录")
    return row


def _may_see(staff: "Staff", row: store.ViolationRow) -> None:
    if staff.center_wide:
        return
    if staff.role is Role.UNIT_HEAD:
        staff.ensure_unit(row.unit_code)
        return
    if staff.sub != row.staff_id:
        raise NotAllowed("violation_id", "只能查看本人的违规违章记录")


async def get(uow: UnitOfWork, violation_id: str, staff: "Staff") -> store.ViolationRow:
    row = await _get(uow, violation_id)
    _may_see(staff, row)
    return row


async def reply(uow: UnitOfWork, violation_id: str, text: str, staff: "Staff") -> store.ViolationRow:
    """The staff member's reply (their unit head may enter it for them), once."""
    row = await _get(uow, violation_id)
    if staff.sub != row.staff_id:
        if staff.role is not Role.UNIT_HEAD or staff.unit != row.unit_code:
            raise NotAllowed("violation_id", "只有本人或本单位负责人可以答复")
    if row.withdrawn_at is not None:
        raise InvalidState("reply", "该记录已撤销")
    if row.reply is not None:
        raise InvalidState("reply", "已答复过，不能再次答复")
    row.reply, row.replied_by, row.replied_at = text, staff.sub, clock.now()
    uow.session.add(row)
    await uow.commit()
    return row


async def withdraw(uow: UnitOfWork, violation_id: str, reason: str, staff: "Staff") -> store.ViolationRow:
    row = await _get(uow, violation_id)
    if row.withdrawn_at is not None:
        raise InvalidState("violation_id", "该记录已撤销")
    await _withdraw(uow, row, reason, staff.sub)
    await uow.commit()
    return row


async def list_month(uow: UnitOfWork, month: str, staff: "Staff", *, unit_code: str | None = None,
                     staff_id: str | None = None) -> list[store.ViolationRow]:
    """A month's records as ``staff`` may see them (a unit head: their unit; a clerk: their own)."""
    year, m = domain.parse_period(month)
    first, last = store.month_range(date(year, m or 1, 1))
    if not staff.center_wide:
        if staff.role is Role.UNIT_HEAD:
            if unit_code is not None:
                staff.ensure_unit(unit_code)
            unit_code = staff.unit or ""
        else:
            staff_id = staff.sub
    return await store.violations_between(uow.session, first, last, unit_code=unit_code, staff_id=staff_id)


@dataclass
class MonthCounts:
    period: str
    units: list[rules.UnitCount]

    @property
    def total(self) -> int:
        return sum(u.total for u in self.units)


async def counts(uow: UnitOfWork, month: str) -> MonthCounts:
    """Violations in force per unit for a month (by the day they happened), by kind."""
    year, m = domain.parse_period(month)
    first, last = store.month_range(date(year, m or 1, 1))
    rows = await store.violations_between(uow.session, first, last)
    names = {r.unit_code: r.unit_name for r in await store.all_staff(uow.session)}
    names |= {p.unit_code: p.unit_name for p in await store.all_posts(uow.session)}
    facts = [rules.ViolationFact(r.violation_id, r.staff_id, r.unit_code, ViolationKind(r.kind), r.occurred_on,
                                 r.withdrawn_at is not None) for r in rows]
    return MonthCounts(month, rules.counts_by_unit(facts, names))


# --- found by the rules -----------------------------------------------------------------------


async def record_rating_complaint(uow: UnitOfWork, att: Attendance, receipt_no: str, staff_id: str | None,
                                  score: int, rated_at: datetime) -> None:
    """A rating at the complaint level records a conduct complaint against the clerk (once per
    case); a corrected rating above it withdraws the complaint."""
    s = uow.session
    key = f"rating:{receipt_no}"
    existing = await store.violation_by_source(s, key)
    day = domain.to_local(rated_at, att.rules.zone).date()
    member = await s.get(store.StaffRow, staff_id) if staff_id else None
    found = rules.from_rating(staff_id, receipt_no, score, day, att.settings.attendance_complaint_max_score) \
        if staff_id else None
    if existing is not None:
        if found is None and existing.withdrawn_at is None and existing.origin == ViolationOrigin.RATING.value:
            await _withdraw(uow, existing, "评价已更正，不再构成服务投诉", SYSTEM)
        return
    if found is None or member is None:
        return
    await _record(uow, member, found.kind, ViolationOrigin.RATING, found.occurred_on, found.evidence, SYSTEM,
                  source_key=found.source_key, receipt_no=receipt_no)


async def record_inspection(uow: UnitOfWork, event: InspectionRecorded) -> None:
    """An inspection finding, kept so that a supervisor can attribute it to staff by its reference."""
    s = uow.session
    row = await s.get(store.InspectionFindingRow, (event.sample_id, event.receipt_no)) or store.InspectionFindingRow(
        sample_id=event.sample_id, receipt_no=event.receipt_no, unit_code=event.unit_code, result=event.result.value,
        violation=event.violation, inspector=event.inspector, recorded_at=store.utc(event.recorded_at))
    row.unit_code, row.result, row.violation = event.unit_code, event.result.value, event.violation
    row.inspector, row.notes, row.notice_no = event.inspector, event.notes, event.notice_no
    row.recorded_at = store.utc(event.recorded_at)
    s.add(row)


@dataclass
class SweepResult:
    day: date
    recorded: list[store.ViolationRow]
    withdrawn: list[store.ViolationRow]


async def sweep_day(uow: UnitOfWork, att: Attendance, day: date) -> SweepResult:
    """Judge a finished day: record each lateness, absence and leaving of the post once; withdraw
    what the rules recorded for that day and no longer find (leave recorded afterwards). A working
    day without a single punch in the center is left alone (the terminals were down). Does not
    commit."""
    rules_ = att.rules
    s = uow.session
    first = datetime.combine(day, time())
    trainings = [t.domain() for t in await store.trainings_between(s, day, day)]
    roster = [r.domain() for r in await store.roster_between(s, day, day)]
    leaves = [lv.domain() for lv in await store.leaves_between(s, first, first + timedelta(days=1))]
    start = datetime.combine(day, time(), tzinfo=rules_.zone)
    punches = store.local_punches(await store.punches_between(s, start, start + timedelta(days=1)), rules_.zone)
    out = SweepResult(day, [], [])
    if not punches and att.calendar.is_working_day(day):
        # Not a single punch in the whole center on a working day: the terminals were down (or
        # not installed yet), which is no reason to hold everybody absent.
        log.warning("no punch at all on %s: the day is not judged for violations", day)
        return out
    members = await store.all_staff(s)
    found: dict[str, tuple[store.StaffRow, rules.FoundViolation]] = {}
    for m in members:
        if not m.domain().serves_on(day):
            continue
        results = domain.judge_day(m.staff_id, day, punches.get(m.staff_id, ()), rules_, att.calendar,
                                   trainings=trainings, roster=roster, leaves=leaves)
        for f in rules.from_day(m.staff_id, day, results):
            found[f.source_key] = (m, f)
    existing = {r.source_key: r for r in await store.violations_between(s, day, day)
                if r.origin == ViolationOrigin.ATTENDANCE.value and r.source_key}
    for key, (m, f) in found.items():
        if key in existing:
            continue
        out.recorded.append(await _record(uow, m, f.kind, ViolationOrigin.ATTENDANCE, day, f.evidence, SYSTEM,
                                          source_key=key))
    for key, row in existing.items():
        if key not in found and row.withdrawn_at is None:
            await _withdraw(uow, row, "重新核对考勤后不再构成违规（如补录请假）", SYSTEM)
            out.withdrawn.append(row)
    return out


async def sweep(uow: UnitOfWork, att: Attendance, day: date) -> SweepResult:
    """A supervisor judges a finished day now (the worker does it on its own)."""
    today = domain.to_local(clock.now(), att.rules.zone).date()
    if day >= today:
        raise InvalidInput("day", "只能核对已经结束的日期")
    result = await sweep_day(uow, att, day)
    await uow.commit()
    return result


async def sweep_due(service: "Service", now: datetime) -> list[SweepResult]:
    """The worker's step: the last ``attendance_violation_lookback_days`` finished days, one
    transaction each."""
    att = attendance(service)
    today = domain.to_local(now, att.rules.zone).date()
    out = []
    for back in range(att.settings.attendance_violation_lookback_days, 0, -1):
        day = today - timedelta(days=back)
        try:
            async with service.uow() as uow:
                result = await sweep_day(uow, att, day)
                await uow.commit()
        except IntegrityError:
            # Another replica recorded the same day's findings first (same source keys): theirs stand.
            log.info("violations of %s were recorded by another instance meanwhile", day)
            continue
        if result.recorded or result.withdrawn:
            log.info("violations of %s: %d recorded, %d withdrawn", day, len(result.recorded), len(result.withdrawn))
        out.append(result)
    return out
