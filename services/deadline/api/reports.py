"""``/deadline/statistics``: figures per unit for the cases decided in a period."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query

from contracts.common import UnitCode
from services.runtime.auth import CurrentStaff
from services.runtime.deps import UoW

from ..schemas import StatisticsOut
from ..usecases import oversight

router = APIRouter()


@router.get("/statistics", response_model=StatisticsOut, summary="Figures per unit for the cases decided in a period")
async def statistics(
    staff: CurrentStaff,
    uow: UoW,
    period: str | None = Query(None, description="A month, YYYY-MM (or give first and last)."),
    first: date | None = None,
    last: date | None = None,
    unit_code: UnitCode | None = None,
) -> StatisticsOut:
    return StatisticsOut.of(
        await oversight.statistics(uow, period=period, first=first, last=last, unit_code=unit_code)
    )
