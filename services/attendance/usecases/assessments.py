"""The year-end assessment (年终考核由中心统一评定): the proposal per staff member from the year's
attendance, ratings, on-time rate, violations and awards; the center's decision (who decided);
the one appeal and its final decision. Each decision emits ``StaffAssessmentDecided``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from contracts.attendance import AssessmentGrade, AssessmentParts, StaffAssessmentDecided
from contracts.common import Role
from services.runtime import clock
from services.runtime.errors import InvalidInput, InvalidState, NotAllowed, NotFound
from services.runtime.uow import UnitOfWork

from .. import domain, store
from ..domain import assessment as rules
from ..domain import monthly
from ..domain.evaluation import evaluate
from ..domain.violations import ViolationFact, by_staff
from .reports import month_report
from .shared import Attendance

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from services.runtime.auth import Staff


def _check_year(att: Attendance, year: int) -> None:
    today = domain.to_local(clock.now(), att.rules.zone).date()
    if not 2 <= year <= 9998:
        raise InvalidInput("year", "年份应在 0002 至 9998 之间")
    if year > today.year:
        raise InvalidInput("year", "该年度尚未开始，不能考核")


async def proposals(session: "AsyncSession", att: Attendance, year: int, now: datetime) -> list[rules.Proposal]:
    """Every staff member of the year with their score, the proposed grade and the formula."""
    zone = att.rules.zone
    now_local = domain.to_local(now, zone)
    last_month = 12 if year < now_local.year else now_local.month
    settings = att.settings
    months = [await month_report(session, att, f"{year:04d}-{m:02d}", now) for m in range(1, last_month + 1)]
    staff = [s.domain() for s in await store.all_staff(session)]
    posts = [p.domain() for p in await store.all_posts(session)]
    ids = {s.staff_id for s in staff}
    # Awards: the months a person was a service star, or their window a red-flag window.
    awards: dict[str, int] = {}
    for i, m in enumerate(months, start=1):
        start, end = domain.period_bounds(f"{year:04d}-{i:02d}", zone)
        outs, rates, notes = await store.facts_between(session, start, end, ids)
        ev = evaluate(m.report.period, posts, staff, m.report.people, m.report.windows, outs, rates, notes,
                      settings.attendance_evaluation, irregular_weight=settings.attendance_rules.irregular_session_weight)
        red = {w.window_no for w in ev.red_flag_windows}
        for p in m.report.people:
            n = int(any(s.staff_id == p.staff_id for s in ev.service_stars)) + int(p.window_no in red)
            if n:
                awards[p.staff_id] = awards.get(p.staff_id, 0) + n
    combined = monthly.combine_reports(f"{year:04d}", [m.report for m in months]) if months else \
        monthly.MonthlyReport(f"{year:04d}", 0, [], [])
    start, end = domain.period_bounds(f"{year:04d}", zone)
    outs, rates, notes = await store.facts_between(session, start, end, ids)
    year_ev = evaluate(f"{year:04d}", posts, staff, combined.people, combined.windows, outs, rates, notes,
                       settings.attendance_evaluation, irregular_weight=settings.attendance_rules.irregular_session_weight)
    rows = await store.violations_between(session, date(year, 1, 1), date(year, 12, 31))
    counts = by_staff(ViolationFact(r.violation_id, r.staff_id, r.unit_code, r.kind, r.occurred_on,  # type: ignore[arg-type]
                                    r.withdrawn_at is not None) for r in rows)
    out = []
    for p in year_ev.people:
        parts = AssessmentParts(attendance_score=p.parts.attendance_score,
                                satisfaction_index=p.parts.satisfaction_index, on_time_rate=p.parts.on_time_rate,
                                violations=counts.get(p.staff_id, 0), awards=awards.get(p.staff_id, 0))
        out.append(rules.propose(p.staff_id, p.name, p.unit_code, p.unit_name, p.window_no, parts,
                                 settings.attendance_assessment))
    return out


@dataclass
class Assessment:
    proposal: rules.Proposal
    decision: store.AssessmentRow | None


async def year_view(uow: UnitOfWork, att: Attendance, year: int, staff: "Staff") -> list[Assessment]:
    """The year's proposals and decisions as ``staff`` may see them (a unit head: their unit; a
    clerk: their own)."""
    _check_year(att, year)
    props = await proposals(uow.session, att, year, clock.now())
    decisions = await store.assessments_of(uow.session, year)
    out = []
    for p in props:
        if not staff.center_wide and (p.unit_code != staff.unit if staff.role is Role.UNIT_HEAD
                                      else p.staff_id != staff.sub):
            continue
        out.append(Assessment(p, decisions.get(p.staff_id)))
    return out


async def one(uow: UnitOfWork, att: Attendance, year: int, staff_id: str, staff: "Staff") -> Assessment:
    for a in await year_view(uow, att, year, staff):
        if a.proposal.staff_id == staff_id:
            return a
    raise NotFound("staff_id", f"{year}年度没有工作人员 {staff_id} 的考核")


async def decide(uow: UnitOfWork, att: Attendance, year: int, staff_id: str, grade: AssessmentGrade, note: str,
                 staff: "Staff") -> store.AssessmentRow:
    """The center decides (first, or on the appeal: final); emits StaffAssessmentDecided."""
    _check_year(att, year)
    s = uow.session
    member = await s.get(store.StaffRow, staff_id)
    if member is None:
        raise NotFound("staff_id", f"没有工作人员 {staff_id}")
    row = await s.get(store.AssessmentRow, (year, staff_id))
    step = rules.next_step(row is not None, row is not None and row.appealed_at is not None,
                           row is not None and row.appeal_decided_at is not None)
    props = {p.staff_id: p for p in await proposals(s, att, year, clock.now())}
    p = props.get(staff_id)
    if p is None:
        raise InvalidInput("staff_id", f"{member.name} 在{year}年度没有在中心任职")
    now = clock.now()
    if row is None:
        row = store.AssessmentRow(year=year, staff_id=staff_id, unit_code=member.unit_code, grade=grade.value,
                                  formula=p.formula, decided_by=staff.sub, decided_at=now)
    elif step == rules.Step.APPEAL:
        row.first_grade = row.grade
        row.appeal_decided_at = now
    row.grade, row.unit_code = grade.value, member.unit_code
    row.proposed_grade = p.grade.value if p.grade else None
    row.score, row.parts, row.formula = p.score, p.parts.model_dump(mode="json"), p.formula
    row.decided_by, row.decided_by_name, row.decided_at, row.note = staff.sub, staff.name[:40], now, note
    s.add(row)
    on_appeal = step == rules.Step.APPEAL
    await uow.emit(StaffAssessmentDecided(
        assessment_id=f"{year}/{staff_id}", year=year, staff_id=staff_id, name=member.name,
        unit_code=member.unit_code, unit_name=member.unit_name, window_no=member.window_no, grade=grade,
        proposed_grade=p.grade, score=p.score, formula=p.formula, parts=p.parts, decided_by=staff.sub,
        decided_by_name=staff.name[:40], decided_at=now, note=note, on_appeal=on_appeal,
        previous_grade=AssessmentGrade(row.first_grade) if on_appeal and row.first_grade else None,
        appeal_reason=row.appeal_reason if on_appeal else None,
    ))
    try:
        await uow.commit()
    except IntegrityError:  # somebody decided the same assessment at the same moment
        raise InvalidState("grade", "已由他人评定，请刷新后查看") from None
    return row


async def appeal(uow: UnitOfWork, att: Attendance, year: int, staff_id: str, reason: str,
                 staff: "Staff") -> store.AssessmentRow:
    """The staff member (or their unit head for them) appeals the center's decision, once."""
    _check_year(att, year)
    s = uow.session
    member = await s.get(store.StaffRow, staff_id)
    if member is None:
        raise NotFound("staff_id", f"没有工作人员 {staff_id}")
    if staff.sub != staff_id and not (staff.role is Role.UNIT_HEAD and staff.unit == member.unit_code):
        raise NotAllowed("staff_id", "只有本人或本单位负责人可以申诉")
    row = await s.get(store.AssessmentRow, (year, staff_id))
    rules.check_appeal(row is not None, row is not None and row.appealed_at is not None)
    assert row is not None
    row.appeal_reason, row.appealed_by, row.appealed_at = reason, staff.sub, clock.now()
    s.add(row)
    await uow.commit()
    return row
