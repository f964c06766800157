"""Management pages: failed/unconfirmed SMS and notices, dead letters (消息与死信). Same rules as every console page: the services' HTTP APIs with the
signed-in person's token; the services decide who may see and do what.

- ``/manage/messages``: SMS that failed or whose outcome is unknown, each with the operator's
  resolve form (notify ``POST /notify/messages/{id}/resolve``), and notices whose sealing failed,
  with "send to the seal again" (``POST /notify/notices/{id}/retry``);
- ``/manage/messages/dead-letters``: each Kafka service's dead letters (the runtime's
  ``GET /<service>/admin/dead-letters``), a confirmation page per letter and its replay
  (``POST .../{id}/replay``): the ``onewindow dlq`` commands as pages. The console has no Kafka.

The whole area is the center admin's (the operator role); the services refuse anyone else too.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contracts.common import Role

from ... import domain, labels
from ...clients import BackendProblem, optional
from ...store import SessionRow
from ...web import check_csrf, console, redirect, render, require_role, staff, submit

router = APIRouter(prefix="/manage/messages", tags=["console: management"])

Staff = Depends(staff)

#: The services whose consumers dead-letter (every Kafka service; the console has none).
DLQ_SERVICES = ("intake", "seal", "deadline", "notify", "attendance")
#: Reading every ``.dlq`` twin of a service takes a few broker round trips per topic.
DLQ_SECONDS = 30.0
SERVICE_NAMES = {"intake": "受理服务", "seal": "电子印章服务", "deadline": "期限监察服务", "notify": "文书与短信服务",
                 "attendance": "考勤服务"}
RESOLVE_ACTIONS = {"resend": "重新发送", "delivered": "已电话确认收到（标记为已送达）", "failed": "确认未收到（标记为发送失败）"}
REASONS = {"invalid": "不是有效的事件（格式错误）", "rejected": "处理程序拒收", "handler_failed": "多次重试后仍处理失败"}
OUTCOMES = {
    "processed": "已重放：该消费组已成功处理这条消息。",
    "already_processed": "该消费组此前已处理过这条消息，本次未重复处理。",
    "failed_again": "已重放，但仍然处理失败，已再次进入死信队列。请先排除原因后再重放。",
}
LETTER_ID = re.compile(r"^[A-Za-z0-9._-]{1,200}:\d{1,6}:\d{1,19}$")
MESSAGE_ID = re.compile(r"^[A-Za-z0-9._-]{1,80}$")
DONE = {"resolved": "已处理该短信。", "retried": "已重新提交盖章，稍后刷新查看结果。"}


def _operator(user: SessionRow) -> None:
    require_role(user, Role.CENTER_ADMIN)


# ------------------------------------------------------------------------------------ SMS and notices


async def _messages_page(request: Request, user: SessionRow, *, errors: dict[str, domain.FormErrors] | None = None,
                         values: dict[str, dict[str, str]] | None = None, status: int = 200) -> Response:
    b = console(request).backends
    failed, unknown, notices = await asyncio.gather(
        b.get("notify", "/notify/messages", token=user.token, params={"state": "failed", "limit": 100}),
        b.get("notify", "/notify/messages", token=user.token, params={"state": "unknown", "limit": 100}),
        b.get("notify", "/notify/notices", token=user.token, params={"state": "failed", "limit": 100}),
    )
    sms = sorted(failed["items"] + unknown["items"], key=lambda m: m.get("created_at") or "", reverse=True)
    return render(request, "manage/messages.html", status_code=status, title="消息与死信", sms=sms,
                  sms_total=failed["total"] + unknown["total"], notices=notices["items"],
                  notices_total=notices["total"], errors=errors or {}, values=values or {},
                  actions=RESOLVE_ACTIONS, sms_states=labels.SMS_STATES, documents=labels.DOCUMENTS,
                  done=DONE.get(request.query_params.get("done", "")))


@router.get("", summary="SMS and notices that failed or are unconfirmed")
async def messages(request: Request, user: SessionRow = Staff) -> Response:
    _operator(user)
    return await _messages_page(request, user)


@router.post("/sms/{message_id}/resolve", summary="Settle an SMS: resend, confirmed delivered, or failed")
async def resolve_sms(message_id: str, request: Request, user: SessionRow = Staff) -> Response:
    _operator(user)
    form = await request.form()
    await check_csrf(request, form)
    values = {"action": str(form.get("action") or ""), "note": str(form.get("note") or "").strip()}
    errors = domain.FormErrors()
    if not MESSAGE_ID.fullmatch(message_id):
        errors.add(None, "没有这条短信")
    if values["action"] not in RESOLVE_ACTIONS:
        errors.add("action", "请选择处理方式")
    if len(values["note"]) > 200:
        errors.add("note", "说明最多200字")
    if not errors:
        _, errors = await submit(console(request).backends.post(
            "notify", f"/notify/messages/{message_id}/resolve", token=user.token, json=values), ("action", "note"))
        if not errors:
            return redirect("/manage/messages?done=resolved")
    return await _messages_page(request, user, errors={message_id: errors}, values={message_id: values}, status=422)


@router.post("/notices/{notice_id}/retry", summary="Send a notice whose sealing failed to the seal service again")
async def retry_notice(notice_id: str, request: Request, user: SessionRow = Staff) -> Response:
    _operator(user)
    form = await request.form()
    await check_csrf(request, form)
    errors = domain.FormErrors()
    try:
        if not MESSAGE_ID.fullmatch(notice_id):
            raise BackendProblem("notify", 404, {"detail": "没有这份文书"})
        await console(request).backends.post("notify", f"/notify/notices/{notice_id}/retry", token=user.token)
    except BackendProblem as exc:
        if exc.status in (401, 403):
            raise
        errors = domain.errors_from_problem(exc.problem)
    else:
        return redirect("/manage/messages?done=retried")
    return await _messages_page(request, user, errors={notice_id: errors}, status=422)


# ------------------------------------------------------------------------------------ dead letters


async def _letters(request: Request, user: SessionRow, service: str) -> dict[str, Any]:
    return await console(request).backends.get(service, f"/{service}/admin/dead-letters", token=user.token,
                                                params={"limit": 200}, timeout=DLQ_SECONDS)


@router.get("/dead-letters", summary="Dead letters of every service, with replay")
async def dead_letters(request: Request, user: SessionRow = Staff, service: str = "") -> Response:
    _operator(user)
    chosen = [service] if service in DLQ_SERVICES else list(DLQ_SERVICES)
    answers = await asyncio.gather(*(optional(_letters(request, user, s), service=s) for s in chosen))
    groups = []
    for name, (page, failed) in zip(chosen, answers, strict=True):
        items = (page or {}).get("items", [])
        groups.append({"service": name, "label": SERVICE_NAMES[name], "failed": failed, "letters": items,
                       "pending": sum(1 for i in items if not i.get("processed")),
                       "total": (page or {}).get("total", 0),
                       # every topic read, with how many of this service's letters it holds
                       "topics": [(t, sum(1 for i in items if i.get("topic") == t))
                                  for t in (page or {}).get("topics", [])]})
    outcome = request.query_params.get("outcome", "")
    return render(request, "manage/messages_dead_letters.html", title="死信队列", groups=groups,
                  services=SERVICE_NAMES, current=service if service in DLQ_SERVICES else "",
                  reasons=REASONS, outcome=OUTCOMES.get(outcome), outcome_kind=outcome)


async def _one_letter(request: Request, user: SessionRow, service: str, letter_id: str) -> dict[str, Any]:
    if service not in DLQ_SERVICES or not LETTER_ID.fullmatch(letter_id):
        raise BackendProblem(service if service in DLQ_SERVICES else "notify", 404, {"detail": "没有这条死信"})
    page = await _letters(request, user, service)
    letter = next((i for i in page.get("items", []) if i.get("id") == letter_id), None)
    if letter is None:
        raise BackendProblem(service, 404, {"detail": "没有这条死信（可能已过保留期被清除）"})
    return letter


@router.get("/dead-letters/{service}/{letter_id}", summary="One dead letter and the confirmation of its replay")
async def dead_letter(service: str, letter_id: str, request: Request, user: SessionRow = Staff) -> Response:
    _operator(user)
    letter = await _one_letter(request, user, service, letter_id)
    return render(request, "manage/messages_dead_letter.html", title="重放死信", letter=letter, service=service,
                  service_label=SERVICE_NAMES[service], reasons=REASONS)


@router.post("/dead-letters/{service}/{letter_id}/replay", summary="Replay one dead letter (after confirmation)")
async def replay(service: str, letter_id: str, request: Request, user: SessionRow = Staff) -> Response:
    _operator(user)
    form = await request.form()
    await check_csrf(request, form)
    if service not in DLQ_SERVICES or not LETTER_ID.fullmatch(letter_id):
        raise BackendProblem("notify", 404, {"detail": "没有这条死信"})
    if form.get("confirm") != "yes":
        letter = await _one_letter(request, user, service, letter_id)
        return render(request, "manage/messages_dead_letter.html", status_code=422, title="重放死信", letter=letter,
                      service=service, service_label=SERVICE_NAMES[service], reasons=REASONS,
                      errors=domain.FormErrors(fields={"confirm": "请勾选确认后再重放"}))
    answer = await console(request).backends.post(
        service, f"/{service}/admin/dead-letters/{letter_id}/replay", token=user.token, timeout=DLQ_SECONDS)
    return redirect(f"/manage/messages/dead-letters?service={service}&outcome={answer.get('outcome', '')}")
