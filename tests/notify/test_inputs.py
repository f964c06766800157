"""Odd requests the API fuzzer sends (tests/fuzz), each answered with a refusal that names the
field (or 404 for a key that cannot exist), never a server error: keys and filters with control
characters (PostgreSQL refuses NUL in text: run with ONEWINDOW_TEST_POSTGRES_URL to see the
database side too), offsets beyond the database's integers, and receipt pushes that are not
SmsReport arrays or carry ids and times the database cannot take."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from contracts.common import Role
from services.notify.config import NotifySettings
from services.notify.providers import aliyun
from services.notify.store import ReceiptRow

from .conftest import Harness


@pytest.fixture
def notify_settings(tmp_path, database_url: str) -> NotifySettings:
    return NotifySettings(data_dir=tmp_path, database_url=database_url, auth_secret="k" * 32, notify_quiet_hours="off",
                          notify_center_name="示范县行政审批服务中心", notify_public_url="https://zw.example.gov.cn",
                          log_json=False)


def client(h: Harness, role: Role | None = Role.SUPERVISOR) -> httpx.AsyncClient:
    headers = {}
    if role is not None:
        headers["Authorization"] = f"Bearer {h.service.auth.issue('sup-1', role, None, '李督查')}"
    return httpx.AsyncClient(transport=httpx.ASGITransport(h.service.api), base_url="http://t", headers=headers)


def refused(r: httpx.Response, field: str | None, status: int = 422) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if field is None:
        return body["detail"]
    (reason,) = [e["reason"] for e in body["errors"] if e["field"] == field]
    return reason


async def test_keys_that_cannot_name_a_row_are_not_found(harness: Harness) -> None:
    async with client(harness) as c:
        for method, path, body, field in (
            ("GET", "/s/%00", None, "code"),
            ("GET", "/s/" + "x" * 40, None, "code"),
            ("GET", "/notify/messages/%00", None, "message_id"),
            ("GET", "/notify/messages/" + "m" * 100, None, "message_id"),
            ("POST", "/notify/messages/a%00b/resolve", {"action": "failed"}, "message_id"),
            ("POST", "/notify/notices/%00/retry", None, "notice_id"),
        ):
            refused(await c.request(method, path, json=body), field, 404)


async def test_filters_and_offsets_the_database_cannot_take_are_refused(harness: Harness) -> None:
    async with client(harness) as c:
        for path, params, field in (
            ("/notify/messages", {"receipt_no": "2025\x00"}, "receipt_no"),
            ("/notify/messages", {"template": "survey\x00"}, "template"),
            ("/notify/messages", {"offset": str(2**63)}, "offset"),
            ("/notify/notices", {"receipt_no": "\x00"}, "receipt_no"),
            ("/notify/notices", {"state": "released\x00"}, "state"),
            ("/notify/notices", {"state": "nope"}, "state"),
            ("/notify/notices", {"offset": str(2**63)}, "offset"),
        ):
            refused(await c.get(path, params=params), field)
        for path, params in (("/notify/messages", {"template": "survey", "offset": str(2**63 - 1)}),
                             ("/notify/notices", {"state": "awaiting_contact", "receipt_no": "2025-SJJ-00042"})):
            r = await c.get(path, params=params)
            assert r.status_code == 200 and r.json()["items"] == [], r.text
        r = await c.post("/notify/messages/m-1/resolve", json={"action": "failed", "note": "电话\x00确认"})
        assert "控制字符" in refused(r, "note")


async def test_receipt_pushes_the_database_cannot_take_are_refused_or_skipped(harness: Harness) -> None:
    async with client(harness, role=None) as provider:
        r = await provider.post("/notify/sms/receipts/aliyun", json=[1, "a", None])
        assert "JSON对象" in refused(r, None, 400)
        r = await provider.post("/notify/sms/receipts/aliyun", json=[
            {"biz_id": "NUL\x00", "success": True, "report_time": "2025-03-05 10:00:05"},
            {"biz_id": "9" * 81, "success": True},
            {"biz_id": ["not", "an", "id"], "success": True},
            {"biz_id": "biz-old", "success": True, "err_code": "DELIVERED", "report_time": "0001-01-01 00:00:00"},
            {"biz_id": "biz-bad", "success": False, "err_code": "MK:\x000001"},
        ])
        assert r.status_code == 200 and r.json() == {"code": 0, "msg": "成功"}, r.text
    async with harness.service.uow() as uow:
        rows = (await uow.session.execute(select(ReceiptRow).order_by(ReceiptRow.provider_message_id))).scalars().all()
    assert [(x.provider_message_id, x.status, x.error, x.done_at) for x in rows] == [
        ("biz-bad", "UNDELIV", "MK:0001", None), ("biz-old", "DELIVRD", "DELIVERED", None)]


def test_push_report_times_and_ids_are_taken_only_when_plausible() -> None:
    receipts = aliyun.parse_reports([
        {"biz_id": 12345, "success": "true", "report_time": "2025-03-05 10:00:05"},
        {"biz_id": True, "success": True},
        {"biz_id": "b-2", "success": True, "report_time": "1999-12-31 23:59:59"},
        {"biz_id": "b-3", "success": True, "report_time": 20250305},
    ])
    assert [(r.provider_message_id, r.delivered, r.done_at and r.done_at.isoformat()) for r in receipts] == [
        ("12345", True, "2025-03-05T10:00:05+08:00"), ("b-2", True, None), ("b-3", True, None)]


async def test_receipt_pushes_carry_the_callback_secret_when_one_is_set(harness: Harness) -> None:
    from pydantic import SecretStr

    harness.service.state.settings.notify_aliyun_receipt_token = SecretStr("cb-3f9a1c")
    push = [{"biz_id": "biz-1", "success": True, "err_code": "DELIVERED", "report_time": "2025-03-05 10:00:05"}]
    async with client(harness, role=None) as anyone:
        assert "凭证" in refused(await anyone.post("/notify/sms/receipts/aliyun", json=push), "token", 403)
        refused(await anyone.post("/notify/sms/receipts/aliyun?token=cb-3f9a1d", json=push), "token", 403)
        refused(await anyone.post("/sms/receipts/aliyun?token=cb-3f9a1d", json=push), "token", 403)
        async with harness.service.uow() as uow:
            assert (await uow.session.execute(select(ReceiptRow))).scalars().all() == []  # nothing taken
        # The old callback path (providers are configured with it) takes the same pushes.
        r = await anyone.post("/sms/receipts/aliyun?token=cb-3f9a1c", json=push)
        assert r.status_code == 200 and r.json() == {"code": 0, "msg": "成功"}
    async with harness.service.uow() as uow:
        assert [x.provider_message_id for x in (await uow.session.execute(select(ReceiptRow))).scalars()] == ["biz-1"]
