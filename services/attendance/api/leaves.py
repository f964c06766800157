"""Approved leave (a unit head for their own unit, a supervisor for everyone)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from services.runtime import UnitHead, UoW

from ..schemas import LeaveIn, LeaveOut, MonthStr, RowId
from ..usecases import staffing
from .deps import AttendanceDep, staff_router

router = staff_router()


@router.post("/leaves", status_code=201, summary="Record approved leave")
async def add_leave(body: LeaveIn, staff: UnitHead, uow: UoW, att: AttendanceDep) -> LeaveOut:
    return LeaveOut.of(await staffing.add_leave(uow, att, body, staff))


@router.get("/leaves", summary="Leave of a month")
async def list_leaves(staff: UnitHead, uow: UoW, month: Annotated[MonthStr, Query()]) -> list[LeaveOut]:
    return [LeaveOut.of(r) for r in await staffing.leaves_of_month(uow, month, staff)]


@router.delete("/leaves/{leave_id}", status_code=204, summary="Withdraw leave recorded by mistake")
async def delete_leave(leave_id: RowId, staff: UnitHead, uow: UoW) -> Response:
    await staffing.delete_leave(uow, leave_id, staff)
    return Response(status_code=204)
