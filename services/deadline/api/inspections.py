"""``/deadline/inspections``: random inspections (抽查), samples and results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from contracts.common import UnitCode
from services.runtime.auth import CurrentStaff, Supervisor
from services.runtime.deps import UoW

from ..schemas import InspectionIn, InspectionOut, SampleDetailOut, SampleIn, SampleOut
from ..usecases import oversight, previews
from .deps import State

router = APIRouter()


@router.post("/inspections", response_model=SampleOut, status_code=201,
             summary="Draw a month's random inspection sample of a unit's decided cases (supervisor)")
async def draw(body: SampleIn, staff: Supervisor, uow: UoW, st: State) -> SampleOut:
    row = await oversight.draw_sample(
        uow, st, staff, unit_code=body.unit_code, period=body.period, share=body.share, seed=body.seed
    )
    return SampleOut.of(row)


@router.get("/inspections", response_model=list[SampleOut], summary="Samples drawn, newest month first")
async def list_samples(
    staff: CurrentStaff, uow: UoW, unit_code: UnitCode | None = None,
    period: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description="A month, YYYY-MM.")] = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[SampleOut]:
    rows = await previews.list_samples(uow, staff, period=period, unit_code=unit_code, limit=limit)
    return [SampleOut.of(r) for r in rows]


@router.get("/inspections/{sample_id}", response_model=SampleDetailOut, summary="A sample and its results")
async def get_sample(sample_id: str, staff: CurrentStaff, uow: UoW) -> SampleDetailOut:
    return SampleDetailOut.with_results(*await oversight.get_sample(uow, sample_id, staff))


@router.post("/inspections/{sample_id}/results", response_model=InspectionOut, status_code=201,
             summary="Record the inspection of one sampled case (supervisor)")
async def record(sample_id: str, body: InspectionIn, staff: Supervisor, uow: UoW, st: State) -> InspectionOut:
    row = await oversight.record_result(
        uow, st, sample_id, staff, receipt_no=body.receipt_no, result=body.result, notes=body.notes,
        with_notice=body.raise_notice, reply_days=body.reply_days,
    )
    return InspectionOut.of(row)
