"""``/deadline/clocks/summary`` and ``/deadline/bulletins/latest``: counts for screens (the hall,
the boards) in one query each. Included before ``clocks`` and ``bulletins`` so that the fixed
paths win over ``/clocks/{receipt_no}`` and ``/bulletins/{period}``."""

from __future__ import annotations

from fastapi import APIRouter

from contracts.common import UnitCode
from services.runtime.auth import CurrentStaff
from services.runtime.deps import UoW

from ..schemas import BulletinHeadlineOut, ClockSummaryOut
from ..usecases import summaries
from .deps import State

router = APIRouter()


@router.get("/clocks/summary", response_model=ClockSummaryOut,
            summary="Open clocks per unit: open, yellow, red, overdue (clerks, unit heads: own unit)")
async def clock_summary(staff: CurrentStaff, uow: UoW, st: State, unit_code: UnitCode | None = None) -> ClockSummaryOut:
    return ClockSummaryOut.of(await summaries.clock_summary(uow, st, staff, unit_code=unit_code))


@router.get("/bulletins/latest", response_model=BulletinHeadlineOut | None,
            summary="The latest published bulletin's headline figures (null: none published yet)")
async def latest_bulletin(staff: CurrentStaff, uow: UoW) -> BulletinHeadlineOut | None:
    b = await summaries.latest_bulletin(uow)
    return None if b is None else BulletinHeadlineOut.of(b)
