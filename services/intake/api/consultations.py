"""Consultations (咨询) under first-inquiry responsibility."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.runtime import CurrentStaff, UoW
from services.runtime.params import Offset

from .. import usecases
from ..domain.consultations import FirstInquiryCount
from ..schemas import (
    ConsultationAnswerIn,
    ConsultationFollowUpView,
    ConsultationIn,
    ConsultationView,
    Period,
    consultation_view,
)
from ..store import Store, aware, open_consultations
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


@router.post("/consultations/{consultation_id}/answer", summary="答复转交或待答复的咨询（跟踪至办结）")
async def answer_consultation(consultation_id: str, body: ConsultationAnswerIn, staff: CurrentStaff, uow: UoW,
                              st: State) -> ConsultationFollowUpView:
    c, a = await usecases.answer_consultation(uow, st, actor_of(staff), consultation_id, body.answer)
    return ConsultationFollowUpView(consultation=consultation_view(c), open=False, answered_by=a.answered_by,
                                    answered_by_unit=a.answered_by_unit, answered_at=aware(a.answered_at),
                                    answer=a.answer)


@router.get("/consultations/open", summary="跟踪中的咨询（本单位登记或转交给本单位、尚未答复的）")
async def open_list(
    staff: CurrentStaff, uow: UoW, unit: Annotated[str | None, Query(max_length=12)] = None,
) -> list[ConsultationView]:
    rows = await open_consultations(uow.session, unit_code=unit_scope(staff, unit))
    return [ConsultationView(consultation_id=r.consultation_id, unit_code=r.unit_code, staff_id=r.staff_id,
                             channel=r.channel, item_code=r.item_code, question=r.question, outcome=r.outcome,
                             answer=r.answer, referred_to_unit=r.referred_to_unit,
                             recorded_at=aware(r.recorded_at)) for r in rows]


@router.get("/reports/first-inquiry", summary="首问负责统计（按首问负责人；本单位，督查、管理员可看全部）")
async def first_inquiry(
    staff: CurrentStaff, uow: UoW, period: Annotated[Period, Query(description="月份，YYYY-MM")],
    unit: Annotated[str | None, Query(max_length=12)] = None,
) -> list[FirstInquiryCount]:
    return await usecases.first_inquiry_report(uow, period=period, unit_code=unit_scope(staff, unit))
