"""Training sessions (Friday afternoons, 周五下午学习培训)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from services.runtime import CurrentStaff, Supervisor, UoW

from .. import store
from ..schemas import FridaysIn, MonthStr, TrainingIn
from ..usecases import staffing
from .deps import AttendanceDep, staff_router

router = staff_router()


@router.get("/trainings", summary="Training sessions of a month")
async def list_trainings(staff: CurrentStaff, uow: UoW, month: Annotated[MonthStr, Query()]) -> list[TrainingIn]:
    first, last = staffing.month_days(month)
    return [TrainingIn.of(r) for r in await store.trainings_between(uow.session, first, last)]


@router.put("/trainings/{session_id}", summary="Schedule or change a training session")
async def put_training(session_id: str, body: TrainingIn, staff: Supervisor, uow: UoW) -> TrainingIn:
    return TrainingIn.of(await staffing.put_training(uow, session_id, body))


@router.post("/trainings/fridays", status_code=201, summary="Schedule every working Friday afternoon of a month")
async def schedule_fridays(body: FridaysIn, staff: Supervisor, uow: UoW, att: AttendanceDep) -> list[TrainingIn]:
    return [TrainingIn.of(r) for r in await staffing.schedule_fridays(uow, att, body)]
