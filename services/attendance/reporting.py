"""Loads a period's data from the store and runs the rules on it: the monthly report, the
year's combined report, the evaluation. Shared by the API and the month-end job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from sqlmodel.ext.asyncio.session import AsyncSession

from . import domain, monthly, store
from .config import AttendanceSettings
from .evaluation import Evaluation, evaluate


@lru_cache(maxsize=1)
def calendar() -> domain.WorkCalendar:
    return domain.WorkCalendar()


@dataclass
class PeriodData:
    report: monthly.MonthlyReport
    staff: list[domain.StaffMember]
    posts: list[domain.WindowPosts]


async def month_report(session: AsyncSession, period: str, settings: AttendanceSettings,
                       now: datetime) -> PeriodData:
    rules = settings.attendance_rules
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
    report = monthly.monthly_report(period, staff, punches, rules, calendar(), posts=posts, roster=roster,
                                   trainings=trainings, leaves=leaves, as_of=as_of)
    return PeriodData(report, staff, posts)


async def period_report(session: AsyncSession, period: str, settings: AttendanceSettings,
                        now: datetime) -> PeriodData:
    """A month, or a year as the sum of its months begun so far."""
    year, month = domain.parse_period(period)
    if month is not None:
        return await month_report(session, period, settings, now)
    now_local = domain.to_local(now, settings.attendance_rules.zone)
    last_month = 12 if year < now_local.year else (now_local.month if year == now_local.year else 0)
    months = [await month_report(session, f"{year:04d}-{m:02d}", settings, now) for m in range(1, last_month + 1)]
    if not months:
        staff = [s.domain() for s in await store.all_staff(session)]
        posts = [p.domain() for p in await store.all_posts(session)]
        return PeriodData(monthly.MonthlyReport(period, 0, [], []), staff, posts)
    combined = monthly.combine_reports(period, [m.report for m in months])
    return PeriodData(combined, months[-1].staff, months[-1].posts)


async def evaluation(session: AsyncSession, period: str, settings: AttendanceSettings,
                     now: datetime) -> tuple[PeriodData, Evaluation]:
    data = await period_report(session, period, settings, now)
    start, end = domain.period_bounds(period, settings.attendance_rules.zone)
    outcomes, ratings, notices = await store.facts_between(session, start, end,
                                                           {s.staff_id for s in data.staff})
    ev = evaluate(period, data.posts, data.staff, data.report.people, data.report.windows, outcomes, ratings,
                  notices, settings.attendance_evaluation,
                  irregular_weight=settings.attendance_rules.irregular_session_weight)
    return data, ev


def restrict_to_unit(report: monthly.MonthlyReport, unit_code: str) -> monthly.MonthlyReport:
    """A unit head sees their own unit's people and windows only."""
    people = [p for p in report.people if p.unit_code == unit_code]
    windows = [w for w in report.windows if w.unit_code == unit_code]
    staff_ids = {p.staff_id for p in people}
    window_nos = {w.window_no for w in windows}
    return monthly.MonthlyReport(
        report.period, report.working_days, people, windows,
        [d for d in report.details if d.staff_id in staff_ids],
        [g for g in report.duty_gaps if g.window_no in window_nos],
        report.as_of,
    )
