"""Reports: monthly volume per unit, weekend receptions, the monthly reports (supervisors)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from contracts.intake import UnitInactivityFlagged
from services.runtime import CurrentStaff, UoW

from .. import usecases
from ..schemas import (
    MonthlyReportIn, MonthlyReportOut, Period, TodayReport, TodayUnit, VolumeRow, WeekendCount, WeekendReport,
)
from ..store import Store
from .deps import State, actor_of, unit_scope
from ..schemas import InactivityRow, RatingsRow

router = APIRouter(tags=["reports"])


@router.get("/reports/volume", summary="各单位月度业务量（含双休日）")
async def volume(
    staff: CurrentStaff, uow: UoW, st: State, period: Annotated[Period, Query(description="月份，YYYY-MM")],
) -> list[VolumeRow]:
    rows = await usecases.volume_for(Store(uow.session), period, st.now(), unit_scope(staff, None))
    return [VolumeRow.model_validate(r.model_dump()) for r in rows]


@router.get("/reports/today", summary="今日收件与即办件办结数（按单位；仅计数）")
async def today(
    staff: CurrentStaff, uow: UoW, st: State,
    unit: Annotated[str | None, Query(max_length=12, description="单位（督查、管理员可选；窗口人员为本单位）")] = None,
) -> TodayReport:
    start, rows = await usecases.today_counts(Store(uow.session), st.now(), unit_scope(staff, unit))
    units = [TodayUnit(unit_code=r.unit_code, unit_name=r.unit_name, received=r.received,
                       immediate_done=r.immediate_done) for r in rows]
    total = TodayUnit(unit_code="*", received=sum(u.received for u in units),
                      immediate_done=sum(u.immediate_done for u in units))
    return TodayReport(day=start.date(), units=units, total=total)


@router.get("/reports/weekends", summary="双休日收件量（按周末）")
async def weekends(
    staff: CurrentStaff, uow: UoW,
    since: Annotated[date | None, Query(description="自该日起")] = None,
    until: Annotated[date | None, Query(description="至该日止")] = None,
) -> WeekendReport:
    rows = await Store(uow.session).weekend_counts(since, until)
    total = sum(n for _, n in rows)
    return WeekendReport(weekends=[WeekendCount(saturday=d, received=n) for d, n in rows], total=total,
                         average_per_weekend=round(total / len(rows), 1) if rows else 0)


@router.post("/reports/monthly", summary="发布月度业务量并标记“应进不进”单位（督查人员）")
async def monthly(body: MonthlyReportIn, staff: CurrentStaff, uow: UoW, st: State) -> MonthlyReportOut:
    events = await usecases.monthly_reports(uow, st, actor_of(staff), body.period)
    return MonthlyReportOut(period=body.period, events=[type(e).__name__ for e in events],
                            flagged=[e.unit_code for e in events if isinstance(e, UnitInactivityFlagged)])


@router.get("/reports/inactivity", summary="各单位连续无收件月数及“应进不进”标记（督查人员、管理员；只计算不发布）")
async def inactivity(
    staff: CurrentStaff, uow: UoW, st: State, period: Annotated[Period, Query(description="月份，YYYY-MM")],
) -> list[InactivityRow]:
    rows = await usecases.inactivity_for(Store(uow.session), actor_of(staff), period,
                                         st.settings.intake_inactivity_months, st.now())
    return [InactivityRow.model_validate(r) for r in rows]


@router.get("/reports/ratings", summary="各单位当月收件的好差评（督查人员、管理员）")
async def ratings(
    staff: CurrentStaff, uow: UoW, period: Annotated[Period, Query(description="月份，YYYY-MM")],
) -> list[RatingsRow]:
    rows = await usecases.ratings_for(Store(uow.session), actor_of(staff), period)
    return [RatingsRow.model_validate(r) for r in rows]

