"""The messages and dead-letter pages (/manage/messages) against a stand-in for the services: what
they ask notify and each service's dead-letter API, the center admin only, errors next to the
field with what was typed kept, a service away marked on its own part."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.console.test_console_unit import console, csrf_of, sign_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.timeout(60)

SMS = {"id": "m-1", "template": "acceptance", "category": "legal", "recipient_kind": "applicant",
       "mobile": "138****5678", "receipt_no": "2026-FGJ-00001", "notice_id": None, "text": "您的申请已受理",
       "state": "unknown", "attempts": 3, "provider": "smpp", "parts": 1, "code": "timeout", "reason": "no answer",
       "receipt_status": None, "not_before": "2026-12-07T01:00:00Z", "created_at": "2026-12-07T01:00:00Z",
       "sent_at": None, "delivered_at": None}
NOTICE = {"id": "n-1", "receipt_no": "2026-FGJ-00002", "document_type": "acceptance", "document_no": None,
          "state": "failed", "attempts": 2, "requested_at": None, "sealed_at": None, "short_url": None,
          "failure_reason": "seal_refused", "failure_detail": "证书已吊销", "created_at": "2026-12-07T01:00:00Z",
          "files": []}
LETTER = {"id": "intake.applications:0:5", "topic": "intake.applications", "ce_id": "ev-1",
          "ce_type": "onewindow.intake.application_accepted.v1", "reason": "handler_failed",
          "error": "RuntimeError: boom", "consumer": "notify.cases", "origin": "intake.applications[0]@12",
          "time": "2026-12-07T02:00:00+00:00", "processed": False}


def _notify(stand: Any) -> None:
    def messages(req: httpx.Request) -> httpx.Response:
        state = req.url.params.get("state")
        items = [SMS] if state == "unknown" else [{**SMS, "id": "m-2", "state": "failed"}]
        return httpx.Response(200, json={"total": len(items), "items": items})

    stand.answers[("GET", "/notify/messages")] = messages
    stand.answers[("GET", "/notify/notices")] = lambda req: httpx.Response(200, json={"total": 1, "items": [NOTICE]})


def _dead_letters(stand: Any, services: tuple[str, ...] = ("intake", "seal", "deadline", "notify", "attendance")) -> None:
    for s in services:
        items = [LETTER] if s == "notify" else []
        stand.answers[("GET", f"/{s}/admin/dead-letters")] = (
            lambda req, s=s, items=items: httpx.Response(200, json={"service": s, "topics": ["intake.applications"],
                                                                   "total": len(items), "items": items}))


async def test_only_the_center_admin_opens_the_area(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    _notify(stand)
    _dead_letters(stand)
    await sign_in(client, "supervisor", "Ducha2026")
    for path in ("/manage/messages", "/manage/messages/dead-letters",
                 "/manage/messages/dead-letters/notify/intake.applications:0:5"):
        r = await client.get(path)
        assert r.status_code == 403, path
        assert "此页面仅供中心管理员使用" in r.text and "Traceback" not in r.text
    assert [c for c in stand.calls if "/admin/" in c[1] or c[1].startswith("/notify/")] == []


async def test_failed_and_unknown_sms_and_failed_notices_are_listed(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    _notify(stand)
    await sign_in(client, "admin", "Guanli2026")
    r = await client.get("/manage/messages")
    assert r.status_code == 200
    assert "结果未知（待核实）" in r.text and "发送失败" in r.text and "138****5678" in r.text
    assert "受理通知书" in r.text and "证书已吊销" in r.text
    asked = {(c[1], c[2].get("role")) for c in stand.calls if c[1].startswith("/notify/")}
    assert asked == {("/notify/messages", "center_admin"), ("/notify/notices", "center_admin")}
    # Two forms for two messages, each field with its own id (labels point at the right one).
    assert 'id="m1-f-action"' in r.text and 'id="m2-f-action"' in r.text


async def test_resolving_an_sms_posts_the_action_and_a_refusal_shows_next_to_it(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    _notify(stand)
    posted: list[dict[str, Any]] = []

    def resolve(req: httpx.Request) -> httpx.Response:
        posted.append(json.loads(req.content))
        return httpx.Response(200, json=SMS)

    stand.answers[("POST", "/notify/messages/m-1/resolve")] = resolve
    await sign_in(client, "admin", "Guanli2026")
    page = await client.get("/manage/messages")
    r = await client.post("/manage/messages/sms/m-1/resolve",
                          data={"csrf": csrf_of(page.text), "action": "delivered", "note": "电话确认已收到"})
    assert r.status_code == 303 and r.headers["location"] == "/manage/messages?done=resolved"
    assert posted == [{"action": "delivered", "note": "电话确认已收到"}]

    stand.answers[("POST", "/notify/messages/m-1/resolve")] = lambda req: httpx.Response(
        422, json={"status": 422, "detail": "短信当前状态为 failed，不能执行 delivered",
                   "errors": [{"field": "action", "reason": "短信当前状态为 failed，不能执行 delivered"}]})
    r = await client.post("/manage/messages/sms/m-1/resolve",
                          data={"csrf": csrf_of(page.text), "action": "delivered", "note": "我写的说明"})
    assert r.status_code == 422
    assert "不能执行 delivered" in r.text and 'aria-invalid="true"' in r.text
    assert 'value="我写的说明"' in r.text  # what was typed is kept

    r = await client.post("/manage/messages/sms/m-1/resolve", data={"csrf": "forged", "action": "failed"})
    assert r.status_code == 403 and "页面已过期" in r.text
    assert len(posted) == 1


async def test_a_failed_notice_is_sent_to_the_seal_again(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    _notify(stand)
    stand.answers[("POST", "/notify/notices/n-1/retry")] = lambda req: httpx.Response(200, json=NOTICE)
    await sign_in(client, "admin", "Guanli2026")
    page = await client.get("/manage/messages")
    r = await client.post("/manage/messages/notices/n-1/retry", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303 and "done=retried" in r.headers["location"]
    assert ("POST", "/notify/notices/n-1/retry") in [(m, p) for m, p, _ in stand.calls]


async def test_dead_letters_of_each_service_and_one_away(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    _dead_letters(stand)
    stand.down.add("seal")
    await sign_in(client, "admin", "Guanli2026")
    r = await client.get("/manage/messages/dead-letters")
    assert r.status_code == 200
    assert "notify.cases" in r.text and "多次重试后仍处理失败" in r.text and "RuntimeError: boom" in r.text
    assert "电子印章服务（seal）暂时无法访问" in r.text or "seal）暂时无法访问" in r.text
    asked = {p for m, p, _ in stand.calls if "/admin/dead-letters" in p}
    assert asked == {f"/{s}/admin/dead-letters" for s in ("intake", "deadline", "notify", "attendance", "seal")} - {
        "/seal/admin/dead-letters"}
    assert 'href="/manage/messages/dead-letters/notify/intake.applications:0:5"' in r.text
    # per topic: notify's one letter, none for the others
    assert r.text.count("<code>intake.applications</code>（1）") == 1
    assert r.text.count("<code>intake.applications</code>（0）") == 3


async def test_replay_needs_the_confirmation_and_says_the_outcome(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    _dead_letters(stand)
    replays: list[str] = []

    def replay(req: httpx.Request) -> httpx.Response:
        replays.append(req.url.path)
        return httpx.Response(200, json={"id": LETTER["id"], "ce_id": "ev-1", "consumer": "notify.cases",
                                         "outcome": "processed"})

    stand.answers[("POST", "/notify/admin/dead-letters/intake.applications:0:5/replay")] = replay
    await sign_in(client, "admin", "Guanli2026")
    page = await client.get("/manage/messages/dead-letters/notify/intake.applications:0:5")
    assert page.status_code == 200 and "确认重放" in page.text and "notify.cases" in page.text
    action = "/manage/messages/dead-letters/notify/intake.applications:0:5/replay"
    r = await client.post(action, data={"csrf": csrf_of(page.text)})
    assert r.status_code == 422 and "请勾选确认后再重放" in r.text and replays == []
    r = await client.post(action, data={"csrf": csrf_of(page.text), "confirm": "yes"})
    assert r.status_code == 303
    assert r.headers["location"] == "/manage/messages/dead-letters?service=notify&outcome=processed"
    assert replays == ["/notify/admin/dead-letters/intake.applications:0:5/replay"]
    done = await client.get(r.headers["location"])
    assert "该消费组已成功处理这条消息" in done.text
    r = await client.post("/manage/messages/dead-letters/console/x:0:1/replay", data={"csrf": csrf_of(page.text),
                                                                                   "confirm": "yes"})
    assert r.status_code == 404 and len(replays) == 1
