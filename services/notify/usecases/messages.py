"""Use cases of SMS: queueing a message and settling it (a provider's answer, a delivery receipt,
staff), each inside the caller's transaction together with the events it causes (``uow`` is a
UnitOfWork or a HandlerContext: both have ``session`` and ``emit``); and the requests about
messages (search, one message, settling an unknown outcome, survey opt-outs, the cloud
provider's receipt push)."""

from __future__ import annotations

import hmac
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Protocol

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.common import mask_mobile
from contracts.notify import (
    Recipient, SmsDeferred, SmsDelivered, SmsFailed, SmsFailureStage, SmsUnconfirmed, SmsSent,
)

from services.runtime.auth import Staff
from services.runtime.errors import InvalidInput, InvalidState, NotAllowed, NotFound
from services.runtime.params import plausible_key

from .. import domain, store
from ..adapters import rendering
from ..config import NotifySettings
from ..domain import Category, MalformedPush, MessageState, SendResult, sms_text
from ..store import MessageRow, OptOutRow, ReceiptRow, aware
from .access import check_case_access

log = logging.getLogger(__name__)


class Emitter(Protocol):
    session: AsyncSession

    async def emit(self, event: Any, **kwargs: Any) -> Any: ...


class SmsMetrics:
    """Business metrics: SMS by provider, outcome and reason code; notices by type and state;
    duty gaps waiting for a duty manager."""

    def __init__(self, metrics: Any) -> None:
        self.sms = metrics.counter("sms_events", "SMS state changes by provider, outcome and reason code.",
                                   ("provider", "outcome", "code"))
        self.notices = metrics.counter("notice_events", "Notice saga steps by document type and state.",
                                       ("document_type", "state"))
        self.parts = metrics.counter("sms_parts_submitted", "SMS parts the providers accepted.", ("provider",))
        self.duty_gaps_waiting = metrics.gauge(
            "duty_gaps_awaiting_manager", "Weekend duty gaps whose alert waits for a duty manager to become known.")

    def sms_event(self, provider: str | None, outcome: str, code: str | None = "") -> None:
        self.sms.labels(provider or "none", outcome, (code or "")[:40]).inc()


class NullMetrics(SmsMetrics):
    def __init__(self) -> None:  # noqa: D107 - used where no registry exists (scripts)
        pass

    def sms_event(self, provider: str | None, outcome: str, code: str | None = "") -> None:
        pass


@dataclass(frozen=True)
class SmsRequest:
    cause_event_id: str
    template: str
    category: Category
    recipient_kind: Recipient
    mobile: str
    context: Mapping[str, Any]
    receipt_no: str | None = None
    staff_id: str | None = None
    notice_id: str | None = None


def _base_fields(row: MessageRow) -> dict[str, Any]:
    return dict(message_id=row.id, template=row.template, recipient_kind=Recipient(row.recipient_kind),
                mobile=mask_mobile(row.mobile), receipt_no=row.receipt_no)


async def queue_sms(uow: Emitter, settings: NotifySettings, req: SmsRequest, now: datetime,
                    metrics: SmsMetrics) -> MessageRow | None:
    """Create the message for ``req`` unless its idempotency key exists. Returns the new row or
    None (a duplicate: the event was redelivered or handled before a restart)."""
    try:
        mobile = domain.normalize_mobile(req.mobile)
    except domain.InvalidMobile as exc:
        log.warning("no SMS for %s (%s): %s", req.receipt_no or req.staff_id, req.template, exc)
        return None
    key = domain.idempotency_key(req.cause_event_id, mobile, req.template)
    if await store.message_by_key(uow.session, key) is not None:
        return None
    # Only a category an opt-out can stop looks the opt-out up (a query less per legal notice).
    opted_out = req.category in domain.OPT_OUT_CATEGORIES and await store.is_opted_out(uow.session, mobile)
    row = MessageRow(**_new_message(settings, req, mobile, key, now, opted_out))
    if not await store.insert_message(uow.session, row, looked_up=True):  # looked up above, in this transaction
        return None
    await _queued(uow, row, metrics)
    return row


async def queue_sms_many(uow: Emitter, settings: NotifySettings, reqs: Sequence[SmsRequest], now: datetime,
                         metrics: SmsMetrics) -> int:
    """:func:`queue_sms` for the requests of a consumer's batch: the idempotency keys looked up in
    one query, the new messages written in one INSERT (no savepoint: a concurrent twin fails the
    batch, which the runtime then hands again one event at a time, and the retry finds the
    twin's message). Returns how many messages were queued."""
    planned: list[tuple[SmsRequest, str, str]] = []
    for req in reqs:
        try:
            mobile = domain.normalize_mobile(req.mobile)
        except domain.InvalidMobile as exc:
            log.warning("no SMS for %s (%s): %s", req.receipt_no or req.staff_id, req.template, exc)
            continue
        planned.append((req, mobile, domain.idempotency_key(req.cause_event_id, mobile, req.template)))
    if not planned:
        return 0
    seen = await store.existing_message_keys(uow.session, [key for _, _, key in planned])
    survey_mobiles = {mobile for req, mobile, key in planned
                      if key not in seen and req.category in domain.OPT_OUT_CATEGORIES}
    opted_out = await store.opted_out_among(uow.session, survey_mobiles) if survey_mobiles else set()
    rows: list[dict[str, Any]] = []
    for req, mobile, key in planned:
        if key in seen:
            continue
        seen.add(key)
        rows.append(_new_message(settings, req, mobile, key, now,
                                 req.category in domain.OPT_OUT_CATEGORIES and mobile in opted_out))
    await store.insert_messages(uow.session, rows)
    for values in rows:
        await _queued(uow, store.MessageData(values), metrics)
    return len(rows)


def _new_message(settings: NotifySettings, req: SmsRequest, mobile: str, key: str, now: datetime,
                 opted_out: bool) -> dict[str, Any]:
    """Every column of a new message for ``req``: rendered, and queued, deferred (quiet hours),
    suppressed (opted out of surveys) or failed (too long)."""
    row: dict[str, Any] = dict(
        id=uuid.uuid4().hex, idempotency_key=key, template=req.template, category=req.category.value,
        recipient_kind=req.recipient_kind.value, mobile=mobile, staff_id=req.staff_id, receipt_no=req.receipt_no,
        notice_id=req.notice_id, text="", body="", params={}, parts=1, state="", not_before=now, attempts=0,
        provider=None, accepted_parts={}, code=None, reason=None, permanent=None, receipt_status=None,
        created_at=now, updated_at=now, sent_at=None, delivered_at=None)
    try:
        sms = rendering.render_sms(req.template, req.context, signature=settings.signature,
                                   max_parts=settings.notify_sms_max_parts,
                                   reference_bits=settings.notify_sms_reference_bits)
    except sms_text.MessageTooLong as exc:
        row.update(state=MessageState.FAILED.value, permanent=True, code="too_long",
                   reason=f"短信超过{exc.cap}条的长度上限（需{exc.parts}条）")
        return row
    row.update(text=sms.text, body=sms.body, params=sms.params, parts=sms.length.parts)
    if domain.may_suppress(req.category, opted_out):
        row.update(state=MessageState.SUPPRESSED.value, reason="applicant opted out of survey invitations")
    else:
        plan = domain.schedule(req.category, now, settings.quiet_hours)
        row.update(state=plan.state.value, not_before=plan.not_before)
    return row


async def _queued(uow: Emitter, row: Any, metrics: SmsMetrics) -> None:
    """The events and metrics of a message just queued (none for one simply due)."""
    if row.state == MessageState.FAILED.value:
        await uow.emit(SmsFailed(**_base_fields(row), provider=None, stage=SmsFailureStage.SUBMIT, code="too_long",
                                 reason=row.reason or "", permanent=True), id=f"{row.id}-failed-0")
        metrics.sms_event(None, "failed", "too_long")
    elif row.state == MessageState.DEFERRED.value:
        await uow.emit(SmsDeferred(**_base_fields(row), not_before=row.not_before), id=f"{row.id}-deferred")
        metrics.sms_event(None, "deferred", "quiet_hours")
    elif row.state == MessageState.SUPPRESSED.value:
        metrics.sms_event(None, "suppressed", "opt_out")


async def store_attempts(uow: Emitter, settings: NotifySettings,
                         outcomes: Sequence[tuple[str, SendResult | None, str]], now: datetime,
                         metrics: SmsMetrics) -> int:
    """Store what a batch of submit attempts did (the delivery worker's, ``(message id, the
    provider's answer or None when it raised, detail)``), each with its events: one read of the
    messages, one write of their outcomes, one INSERT of the parts the providers accepted. A
    message no longer 'sending' is left alone (an earlier try committed although its answer was
    lost). Returns how many were stored."""
    rows = await store.messages_by_ids(uow.session, [message_id for message_id, _, _ in outcomes])
    changed: list[Any] = []
    parts: list[dict[str, Any]] = []
    for message_id, result, detail in outcomes:
        row = rows.get(message_id)
        if row is None or row.state != MessageState.SENDING.value:
            continue
        if result is None:
            await mark_unknown(uow, row, detail, now, metrics)
        else:
            parts.extend(await apply_attempt(uow, settings, row, result, now, metrics))
        changed.append(row)
    await store.store_outcomes(uow.session, changed)
    for provider, provider_message_id in sorted(await store.insert_parts(uow.session, parts)):
        log.warning("provider id %s reused by %s", provider_message_id, provider)
    return len(changed)


async def apply_attempt(uow: Emitter, settings: NotifySettings, row: Any, result: SendResult,
                        now: datetime, metrics: SmsMetrics) -> list[dict[str, Any]]:
    """What a submit attempt did, on ``row`` (its attributes; the caller writes it back) and as
    the matching event; returns the newly accepted parts for the caller to store."""
    decision = domain.after_attempt(result, row.attempts, now, settings.retry_policy)
    accepted = {str(k): v for k, v in {**{int(k): v for k, v in row.accepted_parts.items()},
                                       **result.accepted_parts}.items()}
    new_parts = set(accepted) - set(row.accepted_parts)
    row.accepted_parts = accepted
    row.provider = result.provider
    row.parts = result.parts or row.parts
    row.code, row.reason = result.code, result.reason
    row.updated_at = now
    parts = [{"provider": result.provider, "provider_message_id": accepted[seq], "message_id": row.id, "seq": int(seq)}
             for seq in sorted(new_parts, key=int)]
    if new_parts:
        metrics.parts.labels(result.provider).inc(len(new_parts))
    row.state = domain.check_transition(MessageState(row.state), decision.state).value
    base = _base_fields(row)
    if decision.state in (MessageState.SENT, MessageState.DELIVERED):
        row.sent_at = now
        await uow.emit(SmsSent(**base, provider=result.provider, parts=row.parts,
                               provider_message_ids=[accepted[k] for k in sorted(accepted, key=int)],
                               attempts=row.attempts), id=f"{row.id}-sent")
        metrics.sms_event(result.provider, "sent", result.code)
        if decision.state is MessageState.DELIVERED:  # the embedded provider: delivered on write
            row.delivered_at, row.receipt_status = now, domain.ReceiptStatus.DELIVRD.value
            await uow.emit(SmsDelivered(**base, provider=result.provider, status="DELIVRD", delivered_at=now),
                           id=f"{row.id}-delivered")
            metrics.sms_event(result.provider, "delivered", "DELIVRD")
        else:
            await settle_from_receipts(uow, row, now, metrics)
    elif decision.state is MessageState.QUEUED:
        row.not_before = decision.not_before or now
        metrics.sms_event(result.provider, "retry", result.code)
    elif decision.state is MessageState.FAILED:
        row.permanent = bool(decision.failure_permanent)
        row.reason = decision.reason
        await uow.emit(SmsFailed(**base, provider=result.provider, stage=SmsFailureStage.SUBMIT, code=result.code or "",
                                 reason=decision.reason, permanent=row.permanent), id=f"{row.id}-failed-{row.attempts}")
        metrics.sms_event(result.provider, "failed", result.code)
    elif decision.state is MessageState.UNKNOWN:
        await uow.emit(SmsUnconfirmed(**base, provider=result.provider, detail=result.reason),
                       id=f"{row.id}-unknown-{row.attempts}")
        metrics.sms_event(result.provider, "unknown", result.code)
    return parts


async def mark_unknown(uow: Emitter, row: MessageRow, detail: str, now: datetime, metrics: SmsMetrics) -> None:
    row.state = domain.check_transition(MessageState(row.state), MessageState.UNKNOWN).value
    row.reason, row.code, row.updated_at = detail, "interrupted", now
    await uow.emit(SmsUnconfirmed(**_base_fields(row), provider=row.provider or "unknown", detail=detail),
                   id=f"{row.id}-unknown-{row.attempts}")
    metrics.sms_event(row.provider, "unknown", "interrupted")


async def apply_receipt(uow: Emitter, receipt: domain.Receipt, now: datetime, metrics: SmsMetrics) -> MessageRow | None:
    """Store a delivery receipt and settle its message when every part is accounted for.
    Returns the message it settled, if any."""
    try:
        async with uow.session.begin_nested():
            uow.session.add(ReceiptRow(provider=receipt.provider, provider_message_id=receipt.provider_message_id,
                                       status=receipt.status, error=receipt.error[:40] or None,
                                       done_at=receipt.done_at, received_at=now))
    except IntegrityError:
        return None  # the same receipt again (the SMSC redelivered it)
    part = await store.part_owner(uow.session, receipt.provider, receipt.provider_message_id)
    if part is None:
        return None  # its submit result is not stored yet; matched when it is
    row = await uow.session.get(MessageRow, part.message_id)
    if row is None:
        return None
    return row if await settle_from_receipts(uow, row, now, metrics) else None


async def settle_from_receipts(uow: Emitter, row: MessageRow, now: datetime, metrics: SmsMetrics) -> bool:
    if row.state not in (MessageState.SENT.value, MessageState.UNKNOWN.value) or not row.provider:
        return False
    receipts = await store.receipts_for(uow.session, row.provider, list(row.accepted_parts.values()))
    # Delivered needs a receipt for every part; with parts of unknown fate only a failure can
    # be concluded (the rest is left to staff).
    tally = domain.tally_receipts(row.parts, receipts)
    if tally is None:
        return False
    row.state = domain.check_transition(MessageState(row.state), tally.state).value
    row.receipt_status, row.updated_at = tally.status, now
    base = _base_fields(row)
    if tally.state is MessageState.DELIVERED:
        done = max((r.done_at for r in receipts if r.done_at), default=None)
        row.delivered_at = aware(done) or now
        await uow.emit(SmsDelivered(**base, provider=row.provider, status=tally.status, delivered_at=row.delivered_at),
                       id=f"{row.id}-delivered")
        metrics.sms_event(row.provider, "delivered", tally.status)
    else:
        row.permanent, row.reason = True, tally.reason
        await uow.emit(SmsFailed(**base, provider=row.provider, stage=SmsFailureStage.DELIVERY, code=tally.status,
                                 reason=tally.reason, permanent=True), id=f"{row.id}-undelivered")
        metrics.sms_event(row.provider, "failed", tally.status)
    return True


async def resolve(uow: Emitter, row: MessageRow, action: str, note: str, now: datetime, metrics: SmsMetrics) -> None:
    """Staff settle a message: 'failed' (it did not arrive), 'delivered' (confirmed by phone),
    or 'resend' (queue it again on purpose; only parts not known to be accepted go)."""
    current = MessageState(row.state)
    base = _base_fields(row)
    if action == "resend":
        row.state = domain.check_transition(current, MessageState.QUEUED).value
        row.not_before, row.updated_at, row.reason = now, now, f"resent by staff: {note}".strip()
        return
    if action == "delivered":
        row.state = domain.check_transition(current, MessageState.DELIVERED).value
        row.delivered_at, row.updated_at, row.receipt_status = now, now, "CONFIRMED"
        await uow.emit(SmsDelivered(**base, provider=row.provider or "none", status="CONFIRMED", delivered_at=now),
                       id=f"{row.id}-delivered")
        metrics.sms_event(row.provider, "delivered", "operator")
        return
    if action == "failed":
        row.state = domain.check_transition(current, MessageState.FAILED).value
        row.permanent, row.reason, row.updated_at = False, note or "closed by staff", now
        await uow.emit(SmsFailed(**base, provider=row.provider, stage=SmsFailureStage.OPERATOR, code="operator",
                                 reason=row.reason, permanent=False), id=f"{row.id}-failed-op-{int(now.timestamp())}")
        metrics.sms_event(row.provider, "failed", "operator")
        return
    raise ValueError(f"unknown action {action!r}")


async def staff_alert(uow: Emitter, settings: NotifySettings, metrics: SmsMetrics, *, cause_event_id: str,
                      staff: Sequence[store.StaffRow], template: str, context: Mapping[str, Any],
                      receipt_no: str | None, now: datetime) -> None:
    """One alert SMS to each of ``staff`` (deadline warnings, overdue cases, supervision)."""
    for person in staff:
        await queue_sms(uow, settings, SmsRequest(
            cause_event_id=cause_event_id, template=template, category=Category.STAFF_ALERT,
            recipient_kind=Recipient.STAFF, mobile=person.mobile or "", context=context,
            receipt_no=receipt_no, staff_id=person.staff_id), now, metrics)


# --------------------------------------------------------------------------- requests


def mobile_of(value: str) -> str:
    """A mobile number as given in a request, normalized; refused (422, ``mobile``) otherwise."""
    try:
        return domain.normalize_mobile(value)
    except domain.InvalidMobile:
        raise InvalidInput("mobile", "手机号码无效") from None


async def opt_out(uow: Emitter, mobile: str) -> str:
    """Stop survey invitations to ``mobile`` (legal notices still go); returns it normalized."""
    number = mobile_of(mobile)
    await store.upsert(uow.session, OptOutRow, {"mobile": number}, {"source": "api"})
    return number


async def opt_in(uow: Emitter, mobile: str) -> bool:
    """Survey invitations to ``mobile`` again; whether it had opted out."""
    row = await uow.session.get(OptOutRow, mobile_of(mobile))
    if row is None:
        return False
    await uow.session.delete(row)
    return True


def check_receipt_token(settings: NotifySettings, token: str | None) -> None:
    """The cloud provider's push carries the secret of the registered callback URL (when one is
    set): the route is public, so that is what tells its pushes from anyone's."""
    expected = settings.notify_aliyun_receipt_token
    if expected is not None and not hmac.compare_digest((token or "").encode(),
                                                        expected.get_secret_value().encode()):
        raise NotAllowed("token", "回执推送凭证无效")


async def take_aliyun_receipts(uow: Emitter, payload: Any, now: datetime, metrics: SmsMetrics) -> int:
    """Store the delivery receipts of the cloud provider's push (SmsReport) and settle their
    messages; returns how many receipts it held. Refused (400) unless an array of objects."""
    from ..providers.aliyun import parse_reports

    if not isinstance(payload, list):
        raise MalformedPush(None, "回执格式错误：应为JSON数组")
    if not all(isinstance(item, dict) for item in payload):
        raise MalformedPush(None, "回执格式错误：数组的每一项应为JSON对象")
    n = 0
    for receipt in parse_reports(payload):
        await apply_receipt(uow, receipt, now, metrics)
        n += 1
    return n


async def search_messages(uow: Emitter, staff: Staff, *, receipt_no: str | None, mobile: str | None,
                          state: str | None, template: str | None, limit: int,
                          offset: int) -> tuple[int, Sequence[MessageRow]]:
    """Messages a member of staff may see (their unit's cases; every one for center-wide roles)."""
    await check_case_access(uow, staff, receipt_no)
    if state is not None and state not in {s.value for s in MessageState}:
        raise InvalidInput("state", "短信状态无效")
    return await store.search_messages(uow.session, receipt_no=receipt_no,
                                       mobile=mobile_of(mobile) if mobile else None, state=state,
                                       template=template, limit=limit, offset=offset)


async def _message(uow: Emitter, message_id: str) -> MessageRow:
    row = await uow.session.get(MessageRow, message_id) if plausible_key(message_id, 32) else None
    if row is None:
        raise NotFound("message_id", "没有这条短信")
    return row


async def message_for(uow: Emitter, staff: Staff, message_id: str) -> MessageRow:
    """One message, if it is about a case of the staff member's unit (or they are center-wide)."""
    row = await _message(uow, message_id)
    if not staff.center_wide:
        if not row.receipt_no:
            raise NotAllowed(None, "此短信不属于本单位的办件")
        await check_case_access(uow, staff, row.receipt_no)
    return row


async def resolve_message(uow: Emitter, staff: Staff, message_id: str, action: str, note: str, now: datetime,
                          metrics: SmsMetrics) -> MessageRow:
    """A supervisor settles a message (see :func:`resolve`); the note records who did."""
    row = await _message(uow, message_id)
    try:
        await resolve(uow, row, action, f"{note}（{staff.name or staff.sub}）", now, metrics)
    except domain.InvalidTransition:
        raise InvalidState("action", f"短信当前状态为 {row.state}，不能执行 {action}") from None
    return row
