"""``/deadline/clocks``: a case's clock, the clocks of a unit, stops and extensions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from contracts.common import UnitCode
from services.runtime.auth import CurrentStaff, UnitHead
from services.runtime.deps import UoW
from services.runtime.params import FreeText

from ..schemas import ClockOut, ExtensionIn, ResumeIn, StopIn
from ..usecases import clocks
from .deps import State

router = APIRouter()


@router.get("/clocks/{receipt_no}", response_model=ClockOut, summary="One case's clock")
async def get_clock(receipt_no: str, staff: CurrentStaff, uow: UoW, st: State) -> ClockOut:
    return ClockOut.of(await clocks.get_clock(uow, st, receipt_no, staff))


@router.get("/clocks", response_model=list[ClockOut], summary="Clocks, filtered (keyset pages by receipt number)")
async def list_clocks(
    staff: CurrentStaff,
    uow: UoW,
    st: State,
    unit_code: UnitCode | None = None,
    state: Annotated[str | None, Query(pattern="^(running|stopped|ended)$")] = None,
    overdue: bool | None = None,
    after: Annotated[
        FreeText | None, Query(max_length=40, description="The last receipt number of the previous page.")
    ] = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[ClockOut]:
    views = await clocks.list_clocks(
        uow, st, staff, unit_code=unit_code, state=state, overdue=overdue, after=after, limit=limit
    )
    return [ClockOut.of(v) for v in views]


@router.post("/clocks/{receipt_no}/stops", response_model=ClockOut, status_code=201,
             summary="Stop a case's clock (hearing, testing, inspection, expert review ...)")
async def stop_clock(receipt_no: str, body: StopIn, staff: CurrentStaff, uow: UoW, st: State) -> ClockOut:
    v = await clocks.stop_clock(
        uow, st, receipt_no, staff, reason=body.reason, started_at=body.started_at, note=body.note, stop_id=body.stop_id
    )
    return ClockOut.of(v)


@router.post("/clocks/{receipt_no}/stops/{stop_id}/end", response_model=ClockOut,
             summary="End a stop: the due date moves by the working days stopped")
async def end_stop(receipt_no: str, stop_id: str, body: ResumeIn, staff: CurrentStaff, uow: UoW, st: State) -> ClockOut:
    return ClockOut.of(await clocks.end_stop(uow, st, receipt_no, stop_id, staff, ended_at=body.ended_at))


@router.post("/clocks/{receipt_no}/extensions", response_model=ClockOut, status_code=201,
             summary="Extend a case's limit (unit head of the unit, supervisor, center admin)")
async def extend_clock(receipt_no: str, body: ExtensionIn, staff: UnitHead, uow: UoW, st: State) -> ClockOut:
    v = await clocks.extend_clock(
        uow, st, receipt_no, staff, days=body.days, reason=body.reason, extension_id=body.extension_id
    )
    return ClockOut.of(v)
