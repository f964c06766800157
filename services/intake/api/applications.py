"""Cases through the six kinds (a clerk acts only for their own unit), joint tasks, overrides.

Every answer that shows an applicant's unmasked data (the case view, a list's full names) is on
the access log before it leaves (``usecases.record_reads``): who, when, which case, which fields."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.runtime import CurrentStaff, Staff, UoW
from services.runtime.errors import NotAllowed
from services.runtime.params import Offset

from .. import usecases
from ..domain.cases import Application, Status
from ..schemas import (
    ApplicationIn,
    CaseSummary,
    CaseView,
    DecisionIn,
    ForwardIn,
    HigherAnswerIn,
    JointAnswerIn,
    JointProgressView,
    NotAcceptedIn,
    OverrideIn,
    Period,
    ProvidedIn,
    SupplementRequestIn,
    case_view,
)
from ..store import Store
from .deps import State, actor_of, unit_scope

router = APIRouter(tags=["applications"])


async def _shown(uow, st, staff: Staff, app: Application, action: str):  # type: ignore[no-untyped-def]
    """The staff view of the case, its unmasked fields on the access log first."""
    await usecases.record_reads(uow, st, actor_of(staff), [(app.receipt_no, usecases.unmasked_fields(app))], action)
    return case_view(app)


async def _listed(uow, st, staff: Staff, apps: list[Application], action: str) -> list[CaseSummary]:  # type: ignore[no-untyped-def]
    await usecases.record_reads(uow, st, actor_of(staff),
                                [(a.receipt_no, usecases.unmasked_fields(a, "summary")) for a in apps], action)
    return [CaseSummary.of(a) for a in apps]


@router.post("/applications", status_code=201, summary="收件（材料齐全即受理，不齐即一次性告知）")
async def receive_application(body: ApplicationIn, staff: CurrentStaff, uow: UoW, st: State) -> CaseView:  # type: ignore[valid-type]
    usecases.expect_reader(uow, actor_of(staff), "POST /applications")
    return case_view(await usecases.receive_application(uow, st, actor_of(staff), body))


def _may_read(staff: Staff, app: Application) -> bool:
    if staff.center_wide or staff.unit == app.unit_code:
        return True
    return any(t.unit_code == staff.unit for t in app.joint_tasks)


@router.get("/applications/{receipt_no}", summary="案件详情")
async def get_application(receipt_no: str, staff: CurrentStaff, uow: UoW, st: State) -> CaseView:  # type: ignore[valid-type]
    app, _ = await usecases.load_case(Store(uow.session), receipt_no)
    if not _may_read(staff, app):
        raise NotAllowed(None, "只能查看本单位的案件")
    return await _shown(uow, st, staff, app, "GET /applications/{receipt_no}")


@router.get("/applications", summary="案件列表（本单位；督查、管理员可看全部）")
async def list_applications(
    staff: CurrentStaff, uow: UoW, st: State,
    unit: Annotated[str | None, Query(max_length=12)] = None,
    status: Annotated[Status | None, Query()] = None,
    item: Annotated[str | None, Query(max_length=20)] = None,
    period: Annotated[Period | None, Query(description="月份，YYYY-MM")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Offset = 0,
    masked: Annotated[bool, Query(description="申请人隐去（个人只留姓氏）：列表不含未遮蔽信息，不记访问留痕")] = False,
) -> list[CaseSummary]:
    apps = await Store(uow.session).cases(unit_code=unit_scope(staff, unit), status=status.value if status else None,
                                          item_code=item, period=period, limit=limit, offset=offset)
    if masked:  # a list that shows nobody's full name reads no personal data: nothing to log
        return [CaseSummary.of(a, masked=True) for a in apps]
    return await _listed(uow, st, staff, apps, "GET /applications")


@router.get("/joint-tasks", summary="本单位待答复的联办任务")
async def my_joint_tasks(
    staff: CurrentStaff, uow: UoW, st: State, all: Annotated[bool, Query(description="包括已答复的")] = False,
) -> list[CaseSummary]:
    if not staff.unit:
        raise NotAllowed(None, "联办任务由窗口单位答复")
    apps = await Store(uow.session).joint_tasks_for(staff.unit, open_only=not all)
    return await _listed(uow, st, staff, apps, "GET /joint-tasks")


@router.post("/applications/{receipt_no}/accept", summary="受理（只收件的案件，窗口审查后）")
async def accept(receipt_no: str, staff: CurrentStaff, uow: UoW, st: State) -> CaseView:  # type: ignore[valid-type]
    usecases.expect_reader(uow, actor_of(staff), "POST /applications/{receipt_no}/accept")
    return case_view(await usecases.accept(uow, st, actor_of(staff), receipt_no))


@router.post("/applications/{receipt_no}/supplement-requests",
             summary="要求补正（一次性告知全部缺少的材料；审查中补正暂停计时）")
async def request_supplement(receipt_no: str, body: SupplementRequestIn, staff: CurrentStaff, uow: UoW,
                             st: State) -> CaseView:  # type: ignore[valid-type]
    usecases.expect_reader(uow, actor_of(staff), "POST /applications/{receipt_no}/supplement-requests")
    return case_view(await usecases.request_supplement(uow, st, actor_of(staff), receipt_no,
                                                       [m.requested() for m in body.materials]))


@router.post("/applications/{receipt_no}/supplement-overrides", summary="督查人员批准再次补正首次未告知的材料（留痕）")
async def override_supplement(receipt_no: str, body: OverrideIn, staff: CurrentStaff, uow: UoW,
                              st: State) -> CaseView:  # type: ignore[valid-type]
    usecases.expect_reader(uow, actor_of(staff), "POST /applications/{receipt_no}/supplement-overrides")
    return case_view(await usecases.override_supplement(uow, st, actor_of(staff), receipt_no,
                                                        [m.requested() for m in body.materials], body.reason))


@router.post("/applications/{receipt_no}/supplements", summary="接收补正材料")
async def provide_supplement(receipt_no: str, body: ProvidedIn, staff: CurrentStaff, uow: UoW,
                             st: State) -> CaseView:  # type: ignore[valid-type]
    usecases.expect_reader(uow, actor_of(staff), "POST /applications/{receipt_no}/supplements")
    return case_view(await usecases.provide_supplement(uow, st, actor_of(staff), receipt_no, body.materials))


@router.post("/applications/{receipt_no}/not-accepted", summary="不予受理（退回件）")
async def not_accept(receipt_no: str, body: NotAcceptedIn, staff: CurrentStaff, uow: UoW, st: State) -> CaseView:  # type: ignore[valid-type]
    usecases.expect_reader(uow, actor_of(staff), "POST /applications/{receipt_no}/not-accepted")
    return case_view(await usecases.not_accept(uow, st, actor_of(staff), receipt_no, body.reason_code, body.reason))


@router.post("/applications/{receipt_no}/forward", summary="上报上级机关（上报件）")
async def forward(receipt_no: str, body: ForwardIn, staff: CurrentStaff, uow: UoW, st: State) -> CaseView:  # type: ignore[valid-type]
    usecases.expect_reader(uow, actor_of(staff), "POST /applications/{receipt_no}/forward")
    return case_view(await usecases.forward(uow, st, actor_of(staff), receipt_no, body.authority, body.note))


@router.post("/applications/{receipt_no}/higher-answer", summary="录入上级机关答复")
async def higher_answer(receipt_no: str, body: HigherAnswerIn, staff: CurrentStaff, uow: UoW,
                        st: State) -> CaseView:  # type: ignore[valid-type]
    usecases.expect_reader(uow, actor_of(staff), "POST /applications/{receipt_no}/higher-answer")
    return case_view(await usecases.record_higher_answer(uow, st, actor_of(staff), receipt_no, body.approved,
                                                         body.answer, body.document_no))


@router.post("/applications/{receipt_no}/joint-answer", summary="联办单位答复联办任务")
async def joint_answer(receipt_no: str, body: JointAnswerIn, staff: CurrentStaff, uow: UoW,
                       st: State) -> CaseView | JointProgressView:  # type: ignore[valid-type]
    app = await usecases.answer_joint_task(uow, st, actor_of(staff), receipt_no, body.answer, body.opinion)
    if staff.unit != app.unit_code:
        # A participating unit sees its own task and the case's progress, not the applicant's data.
        return JointProgressView.of(app)
    return await _shown(uow, st, staff, app, "POST /applications/{receipt_no}/joint-answer")


@router.post("/applications/{receipt_no}/decision", summary="作出决定（准予/不予）")
async def decide(receipt_no: str, body: DecisionIn, staff: CurrentStaff, uow: UoW, st: State) -> CaseView:  # type: ignore[valid-type]
    usecases.expect_reader(uow, actor_of(staff), "POST /applications/{receipt_no}/decision")
    return case_view(await usecases.decide(uow, st, actor_of(staff), receipt_no, body.outcome, body.decision_text))
