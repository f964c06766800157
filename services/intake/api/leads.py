"""领办代办 (lead and agent handling): a staff member takes charge of a case for the applicant,
hands it back, and the counts per staff member."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.runtime import CurrentStaff, UoW
from services.runtime.errors import NotAllowed

from .. import usecases
from ..domain.leads import LeadCount, current_lead, holding_units
from ..schemas import CaseLeadsView, LeadIn, LeadReleaseIn, Period, lead_views
from ..store import Store
from .deps import State, actor_of, unit_scope

router = APIRouter(tags=["leads"])


def _view(app) -> CaseLeadsView:  # type: ignore[no-untyped-def]
    history = lead_views(app)
    lead = current_lead(app)
    return CaseLeadsView(receipt_no=app.receipt_no, status=app.status, holding_units=holding_units(app),
                         current=next((v for v in history if lead and v.lead_id == lead.lead_id), None),
                         history=history)


@router.post("/applications/{receipt_no}/lead", status_code=201, summary="领办代办：由本人专人领办此案件")
async def take_lead(receipt_no: str, body: LeadIn, staff: CurrentStaff, uow: UoW, st: State) -> CaseLeadsView:
    return _view(await usecases.take_lead(uow, st, actor_of(staff), staff.name, receipt_no, body.reason, body.note))


@router.post("/applications/{receipt_no}/lead/release", summary="解除领办（领办人本人或中心督查、管理员）")
async def release_lead(receipt_no: str, body: LeadReleaseIn, staff: CurrentStaff, uow: UoW, st: State) -> CaseLeadsView:
    return _view(await usecases.release_lead(uow, st, actor_of(staff), receipt_no, body.note))


@router.get("/applications/{receipt_no}/leads", summary="案件的领办记录与当前承办单位")
async def case_leads(receipt_no: str, staff: CurrentStaff, uow: UoW) -> CaseLeadsView:
    app, _ = await usecases.load_case(Store(uow.session), receipt_no)
    if not (staff.center_wide or staff.unit == app.unit_code or any(t.unit_code == staff.unit for t in app.joint_tasks)):
        raise NotAllowed(None, "只能查看本单位的案件")
    return _view(app)


@router.get("/reports/leads", summary="领办代办统计（按工作人员；本单位，督查、管理员可看全部）")
async def lead_report(
    staff: CurrentStaff, uow: UoW,
    period: Annotated[Period | None, Query(description="领办的月份，YYYY-MM；不填为全部")] = None,
    unit: Annotated[str | None, Query(max_length=12, description="工作人员所在单位")] = None,
) -> list[LeadCount]:
    return await usecases.lead_counts(uow, period=period, staff_unit=unit_scope(staff, unit))
