"""Loads a period's data from the store and runs the rules on it: the monthly report, the
year's combined report, the evaluation; and their publication at month end (shared by the API
and the month-end worker)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.base import Event
from services.runtime import clock
from services.runtime.uow import UnitOfWork

from .. import domain, store
from ..domain import monthly
from ..domain.evaluation import Evaluation, evaluate, monthly_event, ranking_event
from .shared import Attendance, attendance

if TYPE_CHECKING:
    from services.runtime.app import Service
    from services.runtime.auth import Staff

log = logging.getLogger(__name__)


@dataclass
class PeriodData:
    report: monthly.MonthlyReport
    staff: list[domain.StaffMember]
    posts: list[domain.WindowPosts]


async def month_report(session: AsyncSession, att: Attendance, period: str, now: datetime) -> PeriodData:
    rules = att.rules
    zone = rules.zone
    year, month = domain.parse_period(period)
    if month is None:
        raise ValueError("a month is YYYY-MM")
    first = date(year, month, 1)
    _, last = store.month_range(first)
    start, end = domain.period_bounds(period, zone)
    now_local = domain.to_local(now, zone)
    # The current month is judged up to now; a month not begun yet owes nothing.
    as_of = now_local if now_local < end.replace(tzinfo=None) else None
    staff = [s.domain() for s in await store.all_staff(session)]
    posts = [p.domain() for p in await store.all_posts(session)]
    roster = [r.domain() for r in await store.roster_between(session, first, last)]
    trainings = [t.domain() for t in await store.trainings_between(session, first, last)]
    leaves = [lv.domain() for lv in await store.leaves_between(session, start.replace(tzinfo=None),
                                                                end.replace(tzinfo=None))]
    punches = store.local_punches(await store.punches_between(session, start, end), zone)
    report = monthly.monthly_report(period, staff, punches, rules, att.calendar, posts=posts, roster=roster,
                                    trainings=trainings, leaves=leaves, as_of=as_of)
    return PeriodData(report, staff, posts)


async def period_report(session: AsyncSession, att: Attendance, period: str, now: datetime) -> PeriodData:
    """A month, or a year as the sum of its months begun so far."""
    year, month = domain.parse_period(period)
    if month is not None:
        return await month_report(session, att, period, now)
    now_local = domain.to_local(now, att.rules.zone)
    last_month = 12 if year < now_local.year else (now_local.month if year == now_local.year else 0)
    months = [await month_report(session, att, f"{year:04d}-{m:02d}", now) for m in range(1, last_month + 1)]
    if not months:
        staff = [s.domain() for s in await store.all_staff(session)]
        posts = [p.domain() for p in await store.all_posts(session)]
        return PeriodData(monthly.MonthlyReport(period, 0, [], []), staff, posts)
    combined = monthly.combine_reports(period, [m.report for m in months])
    return PeriodData(combined, months[-1].staff, months[-1].posts)


async def evaluation(session: AsyncSession, att: Attendance, period: str,
                     now: datetime) -> tuple[PeriodData, Evaluation]:
    data = await period_report(session, att, period, now)
    settings = att.settings
    start, end = domain.period_bounds(period, settings.attendance_rules.zone)
    outcomes, ratings, notices = await store.facts_between(session, start, end,
                                                           {s.staff_id for s in data.staff})
    ev = evaluate(period, data.posts, data.staff, data.report.people, data.report.windows, outcomes, ratings,
                  notices, settings.attendance_evaluation,
                  irregular_weight=settings.attendance_rules.irregular_session_weight)
    return data, ev


async def monthly_report_for(uow: UnitOfWork, att: Attendance, period: str, staff: "Staff") -> monthly.MonthlyReport:
    """A month's report as ``staff`` may see it (a unit head: their own unit)."""
    data = await month_report(uow.session, att, period, clock.now())
    return data.report if staff.center_wide else monthly.restrict_to_unit(data.report, staff.unit or "")


@dataclass
class WorkbookData:
    report: monthly.MonthlyReport
    evaluation: Evaluation | None
    names: dict[str, str] = field(default_factory=dict)


async def workbook_data_for(uow: UnitOfWork, att: Attendance, period: str, staff: "Staff") -> WorkbookData:
    """What the period's workbook holds for ``staff`` (a unit head: their unit, no evaluation)."""
    data, ev = await evaluation(uow.session, att, period, clock.now())
    names = {s.staff_id: s.name for s in data.staff}
    if not staff.center_wide:
        return WorkbookData(monthly.restrict_to_unit(data.report, staff.unit or ""), None, names)
    return WorkbookData(data.report, ev, names)


async def evaluation_of(uow: UnitOfWork, att: Attendance, period: str) -> Evaluation:
    _, ev = await evaluation(uow.session, att, period, clock.now())
    return ev


async def publish_period(service: "Service", period: str, now: datetime, *, force: bool = False,
                         skip_empty: bool = False) -> list[Event]:
    """Publish the monthly attendance summary (months) and the rankings (months and years),
    once per period unless ``force``. ``skip_empty``: a period in which nobody was at the
    center yet (a fresh installation) is left alone, to be published if staff get back-dated."""
    att = attendance(service)
    out: list[Event] = []
    async with service.uow() as uow:
        s = uow.session
        year, month = domain.parse_period(period)
        data, ev = await evaluation(s, att, period, now)
        if skip_empty and not data.report.people:
            return []
        kinds = (["monthly"] if month is not None else []) + ["ranking"]
        for kind in kinds:
            existing = await s.get(store.PublicationRow, (period, kind))
            if existing is not None and not force:
                continue
            event: Event = monthly_event(data.report) if kind == "monthly" else ranking_event(ev)
            # A forced republication is a new fact (new id); the first one has a stable id.
            event_id = store.stable_id("publish", period, kind) if existing is None else None
            env = await uow.emit(event, id=event_id)
            if existing is None:
                s.add(store.PublicationRow(period=period, kind=kind, published_at=store.utc(now), event_id=env.id))
            else:
                existing.published_at, existing.event_id = store.utc(now), env.id
                s.add(existing)
            out.append(event)
        await uow.commit()
    if out:
        log.info("published %s for %s", ", ".join(type(e).__name__ for e in out), period)
    return out


def previous_month(day: date) -> str:
    first = day.replace(day=1) - timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


async def publish_due(service: "Service", now: datetime) -> list[Event]:
    """From ``attendance_publish_on_day`` of a month on: last month's report and rankings; in
    January also the year-end rankings of the year before."""
    settings = attendance(service).settings
    today = domain.to_local(now, settings.attendance_rules.zone).date()
    if today.day < settings.attendance_publish_on_day:
        return []
    periods = [previous_month(today)]
    if today.month == 1:
        periods.append(str(today.year - 1))
    out: list[Event] = []
    for period in periods:
        out += await publish_period(service, period, now, skip_empty=True)
    return out
