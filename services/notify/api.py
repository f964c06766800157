"""notify's HTTP API: short links to sealed notices (public), survey opt-out (public), message and
notice status for staff, settling unknown outcomes, provider health, and the cloud provider's
delivery-receipt push."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from contracts.common import ReceiptNo, mask_mobile
from services.runtime import PUBLIC, CurrentStaff, Problem, Supervisor, UoW
from services.runtime.auth import PUBLIC_RAW_INPUT, Staff
from services.runtime.params import FreeText, Offset, plausible_key

from . import domain, messaging, store
from .params import TemplateName
from .store import CaseRow, MessageRow, NoticeRow, OptOutRow, ShortLinkRow

router = APIRouter(tags=["notify"])


def _now() -> datetime:
    return datetime.now(UTC)


def _state(request: Request) -> Any:
    return request.app.state.notify


# --------------------------------------------------------------------------- public


@router.get("/s/{code}", summary="Short link to a sealed notice (redirects to the PDF)", **PUBLIC,
            response_class=RedirectResponse, status_code=307)
async def short_link(code: str, uow: UoW) -> RedirectResponse:
    row = await uow.session.get(ShortLinkRow, code) if plausible_key(code, 16) else None
    if row is None:
        raise Problem(404, "链接无效或已失效", field="code")
    return RedirectResponse(row.target_url, status_code=307)


class OptOutIn(BaseModel):
    mobile: str = Field(description="The mobile number that should get no more survey invitations.")


class OptOutOut(BaseModel):
    mobile: str = Field(description="The number, masked.")
    surveys: bool = Field(description="Whether survey invitations are sent to it.")
    note: str = Field(description="What an opt-out covers (zh-CN).")


OPT_OUT_NOTE = "退订仅对满意度评价邀请短信有效；受理、补正、决定等法定告知短信仍会发送。"


def _mobile(value: str) -> str:
    try:
        return domain.normalize_mobile(value)
    except domain.InvalidMobile:
        raise Problem(422, "手机号码无效", field="mobile") from None


@router.post("/opt-outs", status_code=201, summary="Stop survey invitations to a number (not legal notices)", **PUBLIC)
async def opt_out(body: OptOutIn, uow: UoW) -> OptOutOut:
    mobile = _mobile(body.mobile)
    await store.upsert(uow.session, OptOutRow, {"mobile": mobile}, {"source": "api"})
    await uow.commit()
    return OptOutOut(mobile=mask_mobile(mobile), surveys=False, note=OPT_OUT_NOTE)


@router.delete("/opt-outs/{mobile}", status_code=204, summary="Receive survey invitations again", **PUBLIC)
async def opt_in(mobile: str, uow: UoW) -> Response:
    row = await uow.session.get(OptOutRow, _mobile(mobile))
    if row is not None:
        await uow.session.delete(row)
        await uow.commit()
    return Response(status_code=204)


@router.post("/sms/receipts/aliyun", summary="Delivery receipts pushed by the cloud SMS provider (SmsReport)",
             **PUBLIC_RAW_INPUT)
async def aliyun_reports(request: Request, uow: UoW) -> dict[str, Any]:
    from .providers.aliyun import parse_reports

    # The route is public (the provider has no staff token): the secret in the registered
    # callback URL is what tells its pushes from anyone's.
    expected = _state(request).settings.notify_aliyun_receipt_token
    if expected is not None and not hmac.compare_digest(
        (request.query_params.get("token") or "").encode(), expected.get_secret_value().encode()
    ):
        raise Problem(403, "回执推送凭证无效", field="token")
    try:
        payload = await request.json()
    except ValueError:
        raise Problem(400, "回执格式错误：应为JSON数组") from None
    if not isinstance(payload, list):
        raise Problem(400, "回执格式错误：应为JSON数组")
    if not all(isinstance(item, dict) for item in payload):
        raise Problem(400, "回执格式错误：数组的每一项应为JSON对象")
    metrics = _state(request).metrics
    for receipt in parse_reports(payload):
        await messaging.apply_receipt(uow, receipt, _now(), metrics)
    await uow.commit()
    return {"code": 0, "msg": "成功"}  # the answer the provider expects


# --------------------------------------------------------------------------- staff


class MessageOut(BaseModel):
    id: str
    template: str
    category: str
    recipient_kind: str
    mobile: str = Field(description="Masked.")
    receipt_no: str | None
    notice_id: str | None
    text: str
    state: str
    attempts: int
    provider: str | None
    parts: int
    code: str | None
    reason: str | None
    receipt_status: str | None
    not_before: datetime
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, r: MessageRow) -> "MessageOut":
        return cls(id=r.id, template=r.template, category=r.category, recipient_kind=r.recipient_kind,
                   mobile=mask_mobile(r.mobile), receipt_no=r.receipt_no, notice_id=r.notice_id, text=r.text,
                   state=r.state, attempts=r.attempts, provider=r.provider, parts=r.parts, code=r.code, reason=r.reason,
                   receipt_status=r.receipt_status, not_before=store.aware(r.not_before),
                   created_at=store.aware(r.created_at), sent_at=store.aware(r.sent_at),
                   delivered_at=store.aware(r.delivered_at))


class MessagePage(BaseModel):
    total: int
    items: list[MessageOut]


async def _check_case_access(uow: UoW, staff: Staff, receipt_no: str | None) -> None:
    """Clerks and unit heads see their own unit's cases; supervisors and the admin see all."""
    if staff.center_wide:
        return
    if not receipt_no:
        raise Problem(403, "请按受理编号查询本单位的短信和文书", field="receipt_no")
    case = await uow.session.get(CaseRow, receipt_no)
    if case is None:
        raise Problem(404, "没有这个受理编号", field="receipt_no")
    staff.ensure_unit(case.unit_code)


@router.get("/messages", summary="Search SMS (staff)")
async def list_messages(
    staff: CurrentStaff, uow: UoW,
    receipt_no: ReceiptNo | None = None, mobile: str | None = None,
    state: Annotated[str | None, Query(description="queued, deferred, sending, sent, delivered, failed, unknown, suppressed")] = None,
    template: TemplateName | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Offset = 0,
) -> MessagePage:
    await _check_case_access(uow, staff, receipt_no)
    if state is not None and state not in {s.value for s in domain.MessageState}:
        raise Problem(422, "短信状态无效", field="state")
    total, rows = await store.search_messages(uow.session, receipt_no=receipt_no,
                                              mobile=_mobile(mobile) if mobile else None, state=state,
                                              template=template, limit=limit, offset=offset)
    return MessagePage(total=total, items=[MessageOut.of(r) for r in rows])


@router.get("/messages/{message_id}", summary="One SMS (staff)")
async def get_message(message_id: str, staff: CurrentStaff, uow: UoW) -> MessageOut:
    row = await uow.session.get(MessageRow, message_id) if plausible_key(message_id, 32) else None
    if row is None:
        raise Problem(404, "没有这条短信", field="message_id")
    if not staff.center_wide:
        if not row.receipt_no:
            raise Problem(403, "此短信不属于本单位的办件")
        await _check_case_access(uow, staff, row.receipt_no)
    return MessageOut.of(row)


class ResolveIn(BaseModel):
    action: Literal["failed", "delivered", "resend"] = Field(
        description="failed: it did not arrive; delivered: confirmed with the recipient; resend: send again on purpose.")
    note: FreeText = Field("", max_length=200, description="Why (kept with the message).")


@router.post("/messages/{message_id}/resolve", summary="Settle a message whose outcome is unknown (supervisors)")
async def resolve_message(message_id: str, body: ResolveIn, staff: Supervisor, uow: UoW, request: Request) -> MessageOut:
    row = await uow.session.get(MessageRow, message_id) if plausible_key(message_id, 32) else None
    if row is None:
        raise Problem(404, "没有这条短信", field="message_id")
    try:
        await messaging.resolve(uow, row, body.action, f"{body.note}（{staff.name or staff.sub}）", _now(),
                                _state(request).metrics)
    except domain.InvalidTransition:
        raise Problem(409, f"短信当前状态为 {row.state}，不能执行 {body.action}", field="action") from None
    await uow.commit()
    if body.action == "resend":
        _state(request).worker.wakeup.set()
    return MessageOut.of(row)


class NoticeOut(BaseModel):
    id: str
    receipt_no: str
    document_type: str
    document_no: str | None
    state: str
    attempts: int
    requested_at: datetime | None
    sealed_at: datetime | None
    short_url: str | None
    failure_reason: str | None
    failure_detail: str | None
    created_at: datetime


def _notice_out(row: NoticeRow, base_url: str) -> NoticeOut:
    return NoticeOut(id=row.id, receipt_no=row.receipt_no, document_type=row.document_type, document_no=row.document_no,
                     state=row.state, attempts=row.attempts, requested_at=store.aware(row.requested_at),
                     sealed_at=store.aware(row.sealed_at),
                     short_url=f"{base_url}/s/{row.short_code}" if row.short_code else None,
                     failure_reason=row.failure_reason, failure_detail=row.failure_detail,
                     created_at=store.aware(row.created_at))


#: A notice's states as stored: waiting for the applicant's contact, then the saga's.
NOTICE_STATES = frozenset({store.AWAITING_CONTACT, *(s.value for s in domain.NoticeState)})


class NoticePage(BaseModel):
    total: int
    items: list[NoticeOut]


@router.get("/notices", summary="Notices and their saga state (staff)")
async def list_notices(staff: CurrentStaff, uow: UoW, request: Request, receipt_no: ReceiptNo | None = None,
                       state: Annotated[str | None,
                                        Query(description="awaiting_contact, requested, sealed, released, failed")] = None,
                       limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Offset = 0) -> NoticePage:
    await _check_case_access(uow, staff, receipt_no)
    if state is not None and state not in NOTICE_STATES:
        raise Problem(422, "文书状态无效", field="state")
    total, rows = await store.search_notices(uow.session, receipt_no=receipt_no, state=state, limit=limit, offset=offset)
    base = request.app.state.service.settings.public_url
    return NoticePage(total=total, items=[_notice_out(r, base) for r in rows])


@router.post("/notices/{notice_id}/retry", summary="Send a failed notice to the seal service again (staff)")
async def retry_notice(notice_id: str, staff: CurrentStaff, uow: UoW, request: Request) -> NoticeOut:
    row = await uow.session.get(NoticeRow, notice_id) if plausible_key(notice_id, 32) else None
    if row is None:
        raise Problem(404, "没有这份文书", field="notice_id")
    staff.ensure_unit(row.unit_code)
    if not await _state(request).notices.retry(uow, row, _now()):
        raise Problem(409, f"文书当前状态为 {row.state}，只有失败的文书可以重新用印", field="notice_id")
    await uow.commit()
    return _notice_out(row, request.app.state.service.settings.public_url)


@router.get("/providers/health", summary="The SMS provider's health and the message backlog (staff)")
async def provider_health(staff: CurrentStaff, uow: UoW, request: Request) -> dict[str, Any]:
    health = _state(request).provider.health()
    return {"provider": health.provider, "ok": health.ok, "detail": health.detail, **health.extra,
            "messages": await store.message_counts(uow.session)}
