"""intake's HTTP API.

Public (no token): the guide (办事指南) for touch screens and the website, the status lookup
(受理编号 + 手机号后四位, rate-limited per client) and the rating (好差评).
Staff (token): catalog administration (center admin), consultations, cases through the six
kinds (a clerk acts only for their own unit), overrides (supervisors), rectifications, reports.

Every refusal is problem+json naming the field and the reason in zh-CN; a request either
commits whole (state and events) or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from contracts.base import Event
from contracts.common import ApplicantType
from contracts.intake import APPLICATIONS
from services.runtime import PUBLIC, CurrentStaff, Problem, Staff, UoW
from services.runtime.params import Offset
from services.runtime.problems import problem_response

from . import access, catalog, domain
from .access import Actor
from .consultations import record_consultation
from .domain import Application, Applicant, PublicStatus, normalize_receipt_no
from .errors import IntakeError, InvalidInput, NotAllowed, NotFound
from .ratings import RectificationStatus, submit_rating
from .reports import make_monthly_reports, volume_for
from .schemas import (
    ApplicationIn,
    CaseSummary,
    CloseRectificationIn,
    ConsultationIn,
    DecisionIn,
    ForwardIn,
    GuideItem,
    GuideItemSummary,
    GuideUnit,
    HigherAnswerIn,
    ItemAdminView,
    ItemContentIn,
    ItemCreate,
    JointAnswerIn,
    LookupIn,
    MonthlyReportIn,
    NotAcceptedIn,
    OverrideIn,
    Period,
    ProvidedIn,
    PublicRatingIn,
    RatingAck,
    RetireIn,
    SupplementRequestIn,
    UnitIn,
    case_view,
    consultation_view,
    guide_item,
    guide_summary,
    rectification_view,
    unit_view,
)
from .store import Store
from .workdays import local_date

router = APIRouter(prefix="/intake")


def install_errors(app: Any) -> None:
    """Domain refusals become problem+json (the unit of work is rolled back by then)."""

    async def _intake_error(request: Request, exc: IntakeError) -> JSONResponse:
        return problem_response(Problem(exc.status, exc.reason, title=exc.title, field=exc.field), request)

    app.add_exception_handler(IntakeError, _intake_error)


def _ctx(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.intake


Ctx = Annotated[Any, Depends(_ctx)]


def actor_of(staff: Staff) -> Actor:
    return Actor(staff_id=staff.sub, role=staff.role, unit_code=staff.unit)


async def _emit(uow, events: list[Event]) -> None:  # type: ignore[no-untyped-def]
    for e in events:
        await uow.emit(e)


# ============================================================================ public guide


@router.get("/guide/units", tags=["guide"], summary="窗口单位及可办事项数", **PUBLIC)
async def guide_units(uow: UoW) -> list[GuideUnit]:
    store = Store(uow.session)
    counts = await store.item_counts()
    return [GuideUnit(code=u.code, name=u.name, window_numbers=u.window_numbers, items=counts.get(u.code, 0))
            for u in await store.units() if u.entered]


@router.get("/guide/items", tags=["guide"], summary="现行事项（可按单位、名称、类型查询）", **PUBLIC)
async def guide_items(
    uow: UoW,
    unit: Annotated[str | None, Query(description="单位代码", max_length=12)] = None,
    q: Annotated[str | None, Query(description="事项名称关键词，空格分隔多个词", max_length=100)] = None,
    kind: Annotated[str | None, Query(description="事项类型", max_length=16)] = None,
) -> list[GuideItemSummary]:
    store = Store(uow.session)
    names = await store.unit_names()
    items = await store.current_items(unit, q, kind)
    return [guide_summary(i.current_version(), names.get(i.unit_code, i.unit_code)) for i in items]


@router.get("/guide/items/{item_code}", tags=["guide"], summary="办事指南：事项的依据、程序、材料、时限、收费", **PUBLIC)
async def guide_item_detail(item_code: str, uow: UoW) -> GuideItem:
    store = Store(uow.session)
    item = await store.item(item_code.upper())
    if item is None or not item.accepting:
        raise Problem(404, f"没有编码为 {item_code} 的现行事项", field="item_code")
    unit = await store.unit(item.unit_code)
    return guide_item(item.current_version(), unit.name if unit else item.unit_code)


# ============================================================================ public status and rating


def _client_key(request: Request, trust_forwarded: bool) -> str:
    if trust_forwarded:
        fwd = request.headers.get("x-forwarded-for")
        if fwd:
            return fwd.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


def _rate_limit(request: Request, ctx) -> None:  # type: ignore[no-untyped-def]
    key = _client_key(request, ctx.settings.intake_trust_forwarded_for)
    if not ctx.limiter.hit(ctx.rate, "lookup", key):
        ctx.metrics.lookups.labels("limited").inc()
        stats = ctx.limiter.get_window_stats(ctx.rate, "lookup", key)
        retry = max(1, int(stats.reset_time - ctx.now().timestamp()) + 1)
        raise Problem(429, "查询过于频繁，请稍后再试", headers={"Retry-After": str(retry)})


UNKNOWN_CASE = "未查询到该办件，请核对受理编号和手机号码后四位"


async def _public_case(store: Store, body: LookupIn, ctx) -> tuple[Application, int, PublicStatus]:  # type: ignore[no-untyped-def]
    """The case for a (receipt number, last four digits) pair; a wrong pair is an unknown number."""
    receipt_no = normalize_receipt_no(body.receipt_no)
    found = await store.case(receipt_no) if receipt_no else None
    view = domain.lookup(found[0] if found else None, body.mobile_last4)
    if view is None or found is None:
        ctx.metrics.lookups.labels("unknown").inc()
        raise Problem(404, UNKNOWN_CASE, field="receipt_no")
    ctx.metrics.lookups.labels("found").inc()
    return found[0], found[1], view


@router.post("/public/status", tags=["public"], summary="办件查询（受理编号 + 手机号后四位）", **PUBLIC)
async def public_status(body: LookupIn, request: Request, uow: UoW, ctx: Ctx) -> PublicStatus:
    _rate_limit(request, ctx)
    _, _, view = await _public_case(Store(uow.session), body, ctx)
    return view


@router.post("/public/ratings", tags=["public"], status_code=201, summary="办件评价（好差评），每件一次", **PUBLIC)
async def public_rating(body: PublicRatingIn, request: Request, uow: UoW, ctx: Ctx) -> RatingAck:
    _rate_limit(request, ctx)
    store = Store(uow.session)
    app, rev, _ = await _public_case(store, body, ctx)
    events, rect = submit_rating(app, at=ctx.now(), level=body.level, comment=body.comment,
                                 rectification_id=f"ZG-{uuid.uuid4().hex[:12].upper()}",
                                 rectification_days=ctx.settings.intake_rectification_days)
    await store.save_case(app, rev)
    if rect is not None:
        await store.add_rectification(rect)
    await _emit(uow, events)
    await uow.commit()
    return RatingAck(receipt_no=app.receipt_no, level=body.level, level_label=body.level.label,
                     rectification_opened=rect is not None)


# ============================================================================ catalog administration


@router.post("/catalog/units", tags=["catalog"], status_code=201, summary="登记窗口单位（中心管理员）")
async def register_unit(body: UnitIn, staff: CurrentStaff, uow: UoW, ctx: Ctx) -> dict[str, Any]:
    store = Store(uow.session)
    if await store.unit(body.code.strip().upper()):
        raise Problem(409, f"单位代码 {body.code} 已存在", field="code")
    unit, events = catalog.register_unit(actor_of(staff), ctx.now(), code=body.code, name=body.name,
                                         window_numbers=body.window_numbers, entered=body.entered,
                                         entered_since=body.entered_since)
    await store.save_unit(unit)
    await _emit(uow, events)
    await uow.commit()
    return unit_view(unit)


@router.put("/catalog/units/{unit_code}", tags=["catalog"], summary="修改窗口单位（中心管理员）")
async def update_unit(unit_code: str, body: UnitIn, staff: CurrentStaff, uow: UoW, ctx: Ctx) -> dict[str, Any]:
    store = Store(uow.session)
    existing = await store.unit(unit_code)
    if existing is None:
        raise Problem(404, f"没有代码为 {unit_code} 的单位", field="unit_code")
    if body.code.strip().upper() != unit_code:
        raise InvalidInput("code", "单位代码不能修改")
    unit, events = catalog.register_unit(actor_of(staff), ctx.now(), code=body.code, name=body.name,
                                         window_numbers=body.window_numbers, entered=body.entered,
                                         entered_since=body.entered_since, registered_on=existing.registered_on)
    await store.save_unit(unit)
    await _emit(uow, events)
    await uow.commit()
    return unit_view(unit)


@router.get("/catalog/units", tags=["catalog"], summary="全部窗口单位")
async def list_units(staff: CurrentStaff, uow: UoW) -> list[dict[str, Any]]:
    return [unit_view(u) for u in await Store(uow.session).units()]


async def _item(store: Store, code: str) -> catalog.Item:
    item = await store.item(code.upper())
    if item is None:
        raise NotFound("item_code", f"没有编码为 {code} 的事项")
    return item


@router.post("/catalog/items", tags=["catalog"], status_code=201, summary="新建事项草稿（中心管理员）")
async def create_item(body: ItemCreate, staff: CurrentStaff, uow: UoW, ctx: Ctx) -> ItemAdminView:
    store = Store(uow.session)
    access.require_center_admin(actor_of(staff))
    if await store.item(body.code.strip().upper()):
        raise Problem(409, f"事项编码 {body.code} 已存在", field="code")
    units = (await store.unit_names()).keys()
    item = catalog.Item.create(actor_of(staff), code=body.code, unit_code=body.unit_code.strip().upper(),
                               content=body.content(), rules=ctx.rules, known_units=units)
    await store.save_item(item)
    await uow.commit()
    return ItemAdminView.of(item)


@router.get("/catalog/items/{item_code}", tags=["catalog"], summary="事项全部版本及草稿")
async def get_item(item_code: str, staff: CurrentStaff, uow: UoW) -> ItemAdminView:
    return ItemAdminView.of(await _item(Store(uow.session), item_code))


@router.put("/catalog/items/{item_code}/draft", tags=["catalog"], summary="编辑事项（生成新版本草稿）")
async def edit_item(item_code: str, body: ItemContentIn, staff: CurrentStaff, uow: UoW, ctx: Ctx) -> ItemAdminView:
    store = Store(uow.session)
    item = await _item(store, item_code)
    item.edit(actor_of(staff), body.content(), ctx.rules, (await store.unit_names()).keys())
    await store.save_item(item)
    await uow.commit()
    return ItemAdminView.of(item)


@router.post("/catalog/items/{item_code}/publish", tags=["catalog"], summary="发布草稿为现行版本")
async def publish_item(item_code: str, staff: CurrentStaff, uow: UoW, ctx: Ctx) -> ItemAdminView:
    store = Store(uow.session)
    item = await _item(store, item_code)
    unit = await store.unit(item.unit_code)
    events = item.publish(actor_of(staff), ctx.now(), unit.name if unit else item.unit_code, ctx.rules)
    await store.save_item(item)
    await _emit(uow, events)
    await uow.commit()
    return ItemAdminView.of(item)


@router.post("/catalog/items/{item_code}/retire", tags=["catalog"], summary="停用事项（在办案件不受影响）")
async def retire_item(item_code: str, body: RetireIn, staff: CurrentStaff, uow: UoW, ctx: Ctx) -> ItemAdminView:
    store = Store(uow.session)
    item = await _item(store, item_code)
    events = item.retire(actor_of(staff), ctx.now(), body.reason)
    await store.save_item(item)
    await _emit(uow, events)
    await uow.commit()
    return ItemAdminView.of(item)


# ============================================================================ consultations


@router.post("/consultations", tags=["consultations"], status_code=201, summary="登记咨询（首问负责）")
async def add_consultation(body: ConsultationIn, staff: CurrentStaff, uow: UoW, ctx: Ctx) -> dict[str, Any]:
    store = Store(uow.session)
    item_unit = None
    if body.item_code:
        item = await store.item(body.item_code.upper())
        item_unit = item.unit_code if item else None
    if body.referred_to_unit and await store.unit(body.referred_to_unit) is None:
        raise InvalidInput("referred_to_unit", f"单位代码 {body.referred_to_unit} 不存在")
    c, events = record_consultation(
        actor_of(staff), ctx.now(), consultation_id=f"ZX-{uuid.uuid4().hex[:12].upper()}", channel=body.channel,
        question=body.question, outcome=body.outcome, item_code=body.item_code.upper() if body.item_code else None,
        item_unit=item_unit, answer=body.answer, referred_to_unit=body.referred_to_unit,
    )
    await store.add_consultation(c)
    await _emit(uow, events)
    await uow.commit()
    return consultation_view(c)


def _unit_scope(staff: Staff, unit: str | None) -> str | None:
    """Clerks and unit heads see their own unit; oversight sees the one asked for (or all)."""
    if staff.center_wide:
        return unit
    if unit and unit != staff.unit:
        raise NotAllowed("unit", "只能查看本单位的数据")
    return staff.unit


@router.get("/consultations", tags=["consultations"], summary="咨询记录")
async def list_consultations(
    staff: CurrentStaff, uow: UoW,
    unit: Annotated[str | None, Query(max_length=12)] = None,
    period: Annotated[Period | None, Query(description="月份，YYYY-MM")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Offset = 0,
) -> list[dict[str, Any]]:
    rows = await Store(uow.session).consultations(unit_code=_unit_scope(staff, unit), period=period, limit=limit,
                                                  offset=offset)
    return [consultation_view(c) for c in rows]


@router.get("/consultations/counts", tags=["consultations"], summary="各单位咨询量（按渠道）")
async def consultation_counts(
    staff: CurrentStaff, uow: UoW, period: Annotated[Period, Query(description="月份，YYYY-MM")],
) -> dict[str, dict[str, int]]:
    counts = await Store(uow.session).consultation_counts(period)
    scope = _unit_scope(staff, None)
    return {u: c for u, c in counts.items() if scope is None or u == scope}


# ============================================================================ applications


@router.post("/applications", tags=["applications"], status_code=201, summary="收件（材料齐全即受理，不齐即一次性告知）")
async def receive_application(body: ApplicationIn, staff: CurrentStaff, uow: UoW, ctx: Ctx) -> dict[str, Any]:
    store = Store(uow.session)
    actor = actor_of(staff)
    item = await store.item(body.item_code.strip().upper())
    if item is None:
        raise NotFound("item_code", f"没有编码为 {body.item_code} 的事项")
    version = item.current_version()
    access.require_unit_staff(actor, item.unit_code)
    a = body.applicant
    if a.type is ApplicantType.PERSON:
        if not a.resident_id:
            raise InvalidInput("applicant.resident_id", "个人申请请填写居民身份证号码")
        applicant = Applicant.person(name=a.name, resident_id=a.resident_id, mobile=a.mobile)
    else:
        if not a.credit_code:
            raise InvalidInput("applicant.credit_code", "单位申请请填写统一社会信用代码")
        applicant = Applicant.company(company_name=a.company_name or "", credit_code=a.credit_code,
                                      contact_name=a.name, mobile=a.mobile)
    now = ctx.now()
    names = await store.unit_names()
    seq = await store.next_seq(local_date(now).year, item.unit_code)
    app = Application.receive(
        receipt_no=domain.receipt_number(local_date(now).year, item.unit_code, seq), item=version,
        unit_name=names.get(item.unit_code, item.unit_code), applicant=applicant, materials=body.materials,
        conditional=body.conditional_materials, channel=body.channel, at=now, actor=actor,
        accept_if_complete=body.accept_if_complete, unit_names=names,
    )
    events = app.pull_events()
    await store.add_case(app)
    await _emit(uow, events)
    await uow.commit()
    ctx.metrics.received.labels(app.kind.value, str(app.weekend).lower()).inc()
    for e in events:
        if e.topic == APPLICATIONS.name:
            ctx.metrics.transitions.labels(type(e).__name__).inc()
    return case_view(app)


def _may_read(staff: Staff, app: Application) -> bool:
    if staff.center_wide or staff.unit == app.unit_code:
        return True
    return any(t.unit_code == staff.unit for t in app.joint_tasks)


async def _load(store: Store, receipt_no: str) -> tuple[Application, int]:
    found = await store.case(receipt_no.strip().upper())
    if found is None:
        raise NotFound("receipt_no", f"没有受理编号为 {receipt_no} 的案件")
    return found


@router.get("/applications/{receipt_no}", tags=["applications"], summary="案件详情")
async def get_application(receipt_no: str, staff: CurrentStaff, uow: UoW) -> dict[str, Any]:
    app, _ = await _load(Store(uow.session), receipt_no)
    if not _may_read(staff, app):
        raise NotAllowed(None, "只能查看本单位的案件")
    return case_view(app)


@router.get("/applications", tags=["applications"], summary="案件列表（本单位；督查、管理员可看全部）")
async def list_applications(
    staff: CurrentStaff, uow: UoW,
    unit: Annotated[str | None, Query(max_length=12)] = None,
    status: Annotated[domain.Status | None, Query()] = None,
    item: Annotated[str | None, Query(max_length=20)] = None,
    period: Annotated[Period | None, Query(description="月份，YYYY-MM")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Offset = 0,
) -> list[CaseSummary]:
    apps = await Store(uow.session).cases(unit_code=_unit_scope(staff, unit), status=status.value if status else None,
                                          item_code=item, period=period, limit=limit, offset=offset)
    return [CaseSummary.of(a) for a in apps]


@router.get("/joint-tasks", tags=["applications"], summary="本单位待答复的联办任务")
async def my_joint_tasks(
    staff: CurrentStaff, uow: UoW, all: Annotated[bool, Query(description="包括已答复的")] = False,
) -> list[CaseSummary]:
    if not staff.unit:
        raise NotAllowed(None, "联办任务由窗口单位答复")
    return [CaseSummary.of(a) for a in await Store(uow.session).joint_tasks_for(staff.unit, open_only=not all)]


async def _act(uow, ctx, receipt_no: str, step: Callable[[Application], list[Event]]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Load the case, take one step, save it (revision checked) with its events, commit."""
    store = Store(uow.session)
    app, rev = await _load(store, receipt_no)
    events = step(app)
    app.pull_events()
    await store.save_case(app, rev)
    await _emit(uow, events)
    await uow.commit()
    for e in events:
        if e.topic == APPLICATIONS.name:
            ctx.metrics.transitions.labels(type(e).__name__).inc()
    return case_view(app)


@router.post("/applications/{receipt_no}/accept", tags=["applications"], summary="受理（只收件的案件，窗口审查后）")
async def accept(receipt_no: str, staff: CurrentStaff, uow: UoW, ctx: Ctx) -> dict[str, Any]:
    return await _act(uow, ctx, receipt_no, lambda a: a.accept(actor_of(staff), ctx.now()))


@router.post("/applications/{receipt_no}/supplement-requests", tags=["applications"],
             summary="要求补正（一次性告知全部缺少的材料；审查中补正暂停计时）")
async def request_supplement(receipt_no: str, body: SupplementRequestIn, staff: CurrentStaff, uow: UoW,
                             ctx: Ctx) -> dict[str, Any]:
    return await _act(uow, ctx, receipt_no, lambda a: a.request_supplement(
        actor_of(staff), ctx.now(), [m.requested() for m in body.materials]))


@router.post("/applications/{receipt_no}/supplement-overrides", tags=["applications"],
             summary="督查人员批准再次补正首次未告知的材料（留痕）")
async def override_supplement(receipt_no: str, body: OverrideIn, staff: CurrentStaff, uow: UoW,
                              ctx: Ctx) -> dict[str, Any]:
    return await _act(uow, ctx, receipt_no, lambda a: a.record_override(
        actor_of(staff), ctx.now(), [m.requested() for m in body.materials], body.reason,
        f"PZ-{uuid.uuid4().hex[:12].upper()}"))


@router.post("/applications/{receipt_no}/supplements", tags=["applications"], summary="接收补正材料")
async def provide_supplement(receipt_no: str, body: ProvidedIn, staff: CurrentStaff, uow: UoW,
                             ctx: Ctx) -> dict[str, Any]:
    return await _act(uow, ctx, receipt_no, lambda a: a.provide_supplement(actor_of(staff), ctx.now(), body.materials))


@router.post("/applications/{receipt_no}/not-accepted", tags=["applications"], summary="不予受理（退回件）")
async def not_accept(receipt_no: str, body: NotAcceptedIn, staff: CurrentStaff, uow: UoW, ctx: Ctx) -> dict[str, Any]:
    return await _act(uow, ctx, receipt_no, lambda a: a.not_accept(actor_of(staff), ctx.now(), body.reason_code,
                                                                  body.reason))


@router.post("/applications/{receipt_no}/forward", tags=["applications"], summary="上报上级机关（上报件）")
async def forward(receipt_no: str, body: ForwardIn, staff: CurrentStaff, uow: UoW, ctx: Ctx) -> dict[str, Any]:
    return await _act(uow, ctx, receipt_no, lambda a: a.forward(actor_of(staff), ctx.now(), body.authority, body.note))


@router.post("/applications/{receipt_no}/higher-answer", tags=["applications"], summary="录入上级机关答复")
async def higher_answer(receipt_no: str, body: HigherAnswerIn, staff: CurrentStaff, uow: UoW,
                        ctx: Ctx) -> dict[str, Any]:
    return await _act(uow, ctx, receipt_no, lambda a: a.record_higher_answer(
        actor_of(staff), ctx.now(), body.approved, body.answer, body.document_no))


@router.post("/applications/{receipt_no}/joint-answer", tags=["applications"], summary="联办单位答复联办任务")
async def joint_answer(receipt_no: str, body: JointAnswerIn, staff: CurrentStaff, uow: UoW,
                       ctx: Ctx) -> dict[str, Any]:
    view = await _act(uow, ctx, receipt_no, lambda a: a.answer_joint_task(actor_of(staff), ctx.now(), body.answer,
                                                                         body.opinion))
    if staff.unit != view["unit_code"]:
        # A participating unit sees its own task and the case's progress, not the applicant's data.
        view = {k: view[k] for k in ("receipt_no", "status", "status_label", "joint_tasks", "unit_code")}
    return view


@router.post("/applications/{receipt_no}/decision", tags=["applications"], summary="作出决定（准予/不予）")
async def decide(receipt_no: str, body: DecisionIn, staff: CurrentStaff, uow: UoW, ctx: Ctx) -> dict[str, Any]:
    return await _act(uow, ctx, receipt_no, lambda a: a.decide(actor_of(staff), ctx.now(), body.outcome,
                                                              body.decision_text))


# ============================================================================ rectifications


@router.get("/rectifications", tags=["ratings"], summary="整改任务（本单位；督查、管理员可看全部）")
async def list_rectifications(
    staff: CurrentStaff, uow: UoW,
    unit: Annotated[str | None, Query(max_length=12)] = None,
    status: Annotated[RectificationStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Offset = 0,
) -> list[dict[str, Any]]:
    rows = await Store(uow.session).rectifications(unit_code=_unit_scope(staff, unit), status=status, limit=limit,
                                                   offset=offset)
    return [rectification_view(r) for r in rows]


@router.post("/rectifications/{rectification_id}/close", tags=["ratings"], summary="提交整改情况并办结")
async def close_rectification(rectification_id: str, body: CloseRectificationIn, staff: CurrentStaff, uow: UoW,
                              ctx: Ctx) -> dict[str, Any]:
    store = Store(uow.session)
    found = await store.rectification(rectification_id)
    if found is None:
        raise NotFound("rectification_id", f"没有编号为 {rectification_id} 的整改任务")
    rect, rev = found
    events = rect.close(actor_of(staff), ctx.now(), body.response)
    rect.pull_events()
    await store.save_rectification(rect, rev)
    await _emit(uow, events)
    await uow.commit()
    return rectification_view(rect)


# ============================================================================ reports


@router.get("/reports/volume", tags=["reports"], summary="各单位月度业务量（含双休日）")
async def volume(
    staff: CurrentStaff, uow: UoW, period: Annotated[Period, Query(description="月份，YYYY-MM")],
) -> list[dict[str, Any]]:
    rows = await volume_for(Store(uow.session), period, _unit_scope(staff, None))
    return [r.model_dump(mode="json") for r in rows]


@router.get("/reports/weekends", tags=["reports"], summary="双休日收件量（按周末）")
async def weekends(
    staff: CurrentStaff, uow: UoW,
    since: Annotated[date | None, Query(description="自该日起")] = None,
    until: Annotated[date | None, Query(description="至该日止")] = None,
) -> dict[str, Any]:
    rows = await Store(uow.session).weekend_counts(since, until)
    total = sum(n for _, n in rows)
    return {"weekends": [{"saturday": d.isoformat(), "received": n} for d, n in rows], "total": total,
            "average_per_weekend": round(total / len(rows), 1) if rows else 0}


@router.post("/reports/monthly", tags=["reports"], summary="发布月度业务量并标记“应进不进”单位（督查人员）")
async def monthly(body: MonthlyReportIn, staff: CurrentStaff, uow: UoW, ctx: Ctx) -> dict[str, Any]:
    access.require_oversight(actor_of(staff))
    events = await make_monthly_reports(Store(uow.session), body.period, ctx.now(),
                                        ctx.settings.intake_inactivity_months)
    await _emit(uow, events)
    await uow.commit()
    return {"period": body.period, "events": [type(e).__name__ for e in events],
            "flagged": [e.unit_code for e in events if type(e).__name__ == "UnitInactivityFlagged"]}
