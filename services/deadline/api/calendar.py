"""``/deadline/calendar``: the working-day calendar (public), its history, the admin's changes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from services.runtime.auth import PUBLIC, CenterAdmin, CurrentStaff
from services.runtime.deps import UoW
from services.runtime.params import FreeText

from ..schemas import ChangeOut, DayIn, DayOut, DueDateOut, PreviewIn, PreviewOut, ScheduleIn
from ..usecases import calendar, previews
from .deps import State

router = APIRouter()


@router.get("/calendar/days", response_model=list[DayOut], summary="Working days between two dates", **PUBLIC)
async def calendar_days(uow: UoW, st: State, start: date, end: date) -> list[DayOut]:
    return [DayOut.of(d) for d in await calendar.days(uow, st, start, end)]


@router.get("/calendar/due-date", response_model=DueDateOut, summary="The due date of a limit, counted as the law does",
            **PUBLIC)
async def due_date(uow: UoW, st: State, accepted_on: date, days: int = Query(ge=0, le=3650)) -> DueDateOut:
    return DueDateOut.of(await calendar.due_date(uow, st, accepted_on, days))


@router.get("/calendar/changes", response_model=list[ChangeOut], summary="The calendar's history")
async def calendar_changes(staff: CurrentStaff, uow: UoW) -> list[ChangeOut]:
    return [ChangeOut.of(v) for v in await calendar.history(uow)]


@router.put("/calendar/days/{day}", response_model=ChangeOut, status_code=201,
            summary="Declare a day off or a working day for the county (center admin)")
async def set_day(day: date, body: DayIn, staff: CenterAdmin, uow: UoW, st: State) -> ChangeOut:
    return ChangeOut.of(await calendar.set_day(uow, st, day, staff, working=body.working, reason=body.reason))


@router.delete("/calendar/days/{day}", response_model=ChangeOut,
               summary="Remove the county's override of a day (center admin)")
async def remove_day(
    day: date, staff: CenterAdmin, uow: UoW, st: State,
    reason: Annotated[FreeText, Query(min_length=2, max_length=500, description="Why.")],
) -> ChangeOut:
    return ChangeOut.of(await calendar.remove_day(uow, st, day, staff, reason=reason))


@router.put("/calendar/schedules/{year}", response_model=ChangeOut, status_code=201,
            summary="Load the State Council's holiday schedule of a year (center admin)")
async def load_schedule(year: int, body: ScheduleIn, staff: CenterAdmin, uow: UoW, st: State) -> ChangeOut:
    v = await calendar.load_schedule(
        uow, st, year, staff, holidays=body.holidays, working_days=body.working_days, reason=body.reason
    )
    return ChangeOut.of(v)


@router.post("/calendar/preview", response_model=PreviewOut,
             summary="Preview a county day change: the open due dates it would move, nothing saved (center admin)")
async def preview_day(body: PreviewIn, staff: CenterAdmin, uow: UoW, st: State) -> PreviewOut:
    return PreviewOut.of(await previews.preview_day(uow, st, body.day, staff, working=body.working, reason=body.reason))
