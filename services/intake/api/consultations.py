"""Consultations (咨询) under first-inquiry responsibility."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.runtime import CurrentStaff, UoW
from services.runtime.params import Offset

from .. import usecases
from ..schemas import ConsultationIn, ConsultationView, Period, consultation_view
from ..store import Store
from .deps import State, actor_of, unit_scope

router = APIRouter(tags=["consultations"])


@router.post("/consultations", status_code=201, summary="登记咨询（首问负责）")
async def add_consultation(body: ConsultationIn, staff: CurrentStaff, uow: UoW, st: State) -> ConsultationView:
    return consultation_view(await usecases.add_consultation(uow, st, actor_of(staff), body))


@router.get("/consultations", summary="咨询记录")
async def list_consultations(
    staff: CurrentStaff, uow: UoW,
    unit: Annotated[str | None, Query(max_length=12)] = None,
    period: Annotated[Period | None, Query(description="月份，YYYY-MM")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Offset = 0,
) -> list[ConsultationView]:
    rows = await Store(uow.session).consultations(unit_code=unit_scope(staff, unit), period=period, limit=limit,
                                                  offset=offset)
    return [consultation_view(c) for c in rows]


@router.get("/consultations/counts", summary="各单位咨询量（按渠道）")
async def consultation_counts(
    staff: CurrentStaff, uow: UoW, period: Annotated[Period, Query(description="月份，YYYY-MM")],
) -> dict[str, dict[str, int]]:
    counts = await Store(uow.session).consultation_counts(period)
    scope = unit_scope(staff, None)
    return {u: c for u, c in counts.items() if scope is None or u == scope}
