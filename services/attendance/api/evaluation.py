"""Evaluation, rankings (red-flag windows, service stars) and their publication."""

from __future__ import annotations

from services.runtime import CenterAdmin, CurrentStaff, ServiceDep, UoW, clock

from .. import store
from ..schemas import EvaluationOut, PeriodStr, PublishOut, RankingsOut
from ..usecases import reports
from .deps import AttendanceDep, staff_router

router = staff_router()


@router.get("/evaluation/{period}", summary="Scores of windows and staff, the formula and the awards")
async def evaluation_json(period: PeriodStr, staff: CurrentStaff, uow: UoW, att: AttendanceDep) -> EvaluationOut:
    return EvaluationOut.of(await reports.evaluation_of(uow, att, period))


@router.get("/rankings/{period}", summary="Red-flag windows and service stars")
async def rankings(period: PeriodStr, staff: CurrentStaff, uow: UoW, att: AttendanceDep) -> RankingsOut:
    ev = EvaluationOut.of(await reports.evaluation_of(uow, att, period))
    return ev.rankings(await store.is_published(uow.session, period, "ranking"))


@router.post("/rankings/{period}/publish", summary="Publish a period's report and rankings now")
async def publish(period: PeriodStr, staff: CenterAdmin, service: ServiceDep, force: bool = False) -> PublishOut:
    events = await reports.publish_period(service, period, clock.now(), force=force)
    return PublishOut(period=period, events=[type(e).__name__ for e in events])
