"""Attendance and messages management pages in Chromium against the real running suite (a broker,
every service): a person registered from the page shows up in the monthly report, whose XLSX
downloads and opens (openpyxl); a failed SMS is resolved from the page; a poison record's dead
letter is listed and replayed from the page by the center admin, and a supervisor gets the refusal
page. axe-core on every page; the screenshots of both areas (docs/console when
ONEWINDOW_CONSOLE_SCREENSHOTS names it)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.console.a11y import assert_accessible
from tests.e2e.harness import Suite
from tools.console_screenshots import DESKTOP, sign_in

STAFF_ID = "e2e-att-01"
STAFF_NAME = "周晓岚"


def _in_thread(coro: Any, timeout: float = 90) -> Any:
    # Playwright's sync API keeps an event loop in this thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=timeout)


def _page(browser: Any, console_url: str, user: str) -> tuple[Any, Any]:
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    page = ctx.new_page()
    sign_in(page, console_url, user)
    return ctx, page


@pytest.mark.timeout(300)
def test_a_person_registered_on_the_page_is_in_the_report_and_its_xlsx(suite: Suite, console_url: str,
                                                                      browser: Any) -> None:
    from openpyxl import load_workbook

    ctx, page = _page(browser, console_url, "admin")
    try:
        page.goto(f"{console_url}/manage/attendance/staff")
        assert_accessible(page, "attendance staff")
        page.fill("#f-staff_id", STAFF_ID)
        page.fill("#f-name", STAFF_NAME)
        page.fill("#f-unit_code", "FGJ")
        page.fill("#f-unit_name", "青山县发展和改革局")
        page.fill("#f-window_no", "01")
        page.fill("#f-mobile", "12345")  # the service refuses it
        page.click("button:has-text('保存')")
        page.wait_for_load_state()
        assert "手机号码应为11位数字" in page.inner_text("#f-mobile-error")
        assert page.input_value("#f-name") == STAFF_NAME  # what was typed is kept
        assert_accessible(page, "attendance staff errors")
        page.fill("#f-mobile", "13800138000")
        page.click("button:has-text('保存')")
        page.wait_for_load_state()
        assert "已保存人员信息" in page.inner_text("main")
        assert STAFF_NAME in page.inner_text("table")

        month = time.strftime("%Y-%m", time.gmtime(time.time() + 8 * 3600))
        page.goto(f"{console_url}/manage/attendance?month={month}")
        assert_accessible(page, "attendance report")
        assert STAFF_NAME in page.inner_text("main")
        with page.expect_download() as info:
            page.click("a:has-text('下载月报（Excel）')")
        path = info.value.path()
        wb = load_workbook(io.BytesIO(Path(path).read_bytes()))
        assert "个人考勤" in wb.sheetnames and "窗口考勤" in wb.sheetnames
        names = [row[0] for row in wb["个人考勤"].iter_rows(values_only=True)]
        ids = [row[1] for row in wb["个人考勤"].iter_rows(values_only=True) if len(row) > 1]
        assert STAFF_NAME in names and STAFF_ID in ids

        page.goto(f"{console_url}/manage/attendance/awards")
        assert_accessible(page, "attendance awards")
        assert "评分公式" in page.inner_text("main")
    finally:
        ctx.close()


async def _failed_sms(suite: Suite) -> str:
    from services.notify.app import create_service
    from services.notify.config import NotifySettings
    from services.notify.store import MessageRow

    svc = create_service(NotifySettings(data_dir=suite.data_dir, auth_secret=suite.secret), deliver=False,
                         release=False)
    msg_id = uuid.uuid4().hex[:24]
    try:
        async with svc.uow() as uow:
            uow.session.add(MessageRow(
                id=msg_id, idempotency_key=f"e2e-{msg_id}", template="acceptance", category="legal",
                recipient_kind="applicant", mobile="13900001234", receipt_no="2026-FGJ-09999",
                text="【青山县政务服务中心】您的申请已受理。", body="您的申请已受理。", state="failed", attempts=5,
                provider="file", code="io_error", reason="outbox write failed", permanent=False))
            await uow.commit()
    finally:
        await svc.db.dispose()
    return msg_id


@pytest.mark.timeout(300)
def test_a_failed_sms_is_resolved_from_the_page(suite: Suite, console_url: str, browser: Any) -> None:
    # As the delivery worker leaves one after its retries (written into notify's database).
    msg_id = _in_thread(_failed_sms(suite))
    ctx, page = _page(browser, console_url, "admin")
    try:
        page.goto(f"{console_url}/manage/messages")
        assert_accessible(page, "messages")
        row = f"#sms-{msg_id}"
        assert "发送失败" in page.inner_text(row) and "139****1234" in page.inner_text(row)
        # A failed message cannot be marked delivered: notify refuses, the page says so by the field.
        page.select_option(f"{row} select[name=action]", "delivered")
        page.fill(f"{row} input[name=note]", "电话核实")
        page.click(f"{row} button:has-text('处理')")
        page.wait_for_load_state()
        assert page.locator(f"{row} .error-msg").count() == 1
        assert page.input_value(f"{row} input[name=note]") == "电话核实"
        assert_accessible(page, "messages errors")
        page.select_option(f"{row} select[name=action]", "resend")
        page.click(f"{row} button:has-text('处理')")
        page.wait_for_load_state()
        assert "已处理该短信" in page.inner_text("main")
        assert page.locator(row).count() == 0  # no longer failed
        notify = suite.client("notify")
        end = time.monotonic() + 60
        while True:
            state = notify.get(f"/notify/messages/{msg_id}", headers=suite.admin()).json()["state"]
            if state in ("sent", "delivered"):
                break
            assert time.monotonic() < end, f"the resent SMS is {state}"
            time.sleep(0.5)
        assert msg_id in suite.sms_outbox.read_text()
    finally:
        ctx.close()


async def _poison(bootstrap: str, topic: str, ce_id: str) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        # An event id, and a body that is no event: every consumer group dead-letters it as invalid.
        await producer.send_and_wait(topic, b"{not json", key=b"2026-FGJ-09998",
                                     headers=[("ce_id", ce_id.encode()), ("ce_type", b"onewindow.nonsense.v1")])
    finally:
        await producer.stop()


@pytest.mark.timeout(420)
def test_a_dead_letter_is_listed_and_replayed_by_the_center_admin_only(suite: Suite, console_url: str,
                                                                        browser: Any) -> None:
    ce_id = f"poison-{uuid.uuid4().hex[:12]}"
    _in_thread(_poison(suite.bootstrap, "intake.applications", ce_id))
    ctx, page = _page(browser, console_url, "admin")
    try:
        listing = f"{console_url}/manage/messages/dead-letters?service=notify"
        end = time.monotonic() + 120
        while True:
            page.goto(listing)
            if page.locator(f"tr:has-text('{ce_id}')").count():
                break
            assert time.monotonic() < end, page.inner_text("main")[:1500]
            time.sleep(2)
        assert_accessible(page, "dead letters")
        row = page.locator(f"tr:has-text('{ce_id}')")
        assert "不是有效的事件" in row.inner_text() and "notify." in row.inner_text() and "待处理" in row.inner_text()
        row.locator("a:has-text('重放')").click()
        page.wait_for_load_state()
        assert_accessible(page, "dead letter replay")
        assert ce_id in page.inner_text("main")
        page.click("button:has-text('确认重放')")  # without ticking the confirmation
        page.wait_for_load_state()
        assert "请勾选确认后再重放" in page.inner_text("#f-confirm-error")
        page.check("#f-confirm")
        page.click("button:has-text('确认重放')")
        page.wait_for_load_state()
        # Still no event: notify's consumer ran it again and dead-lettered it again.
        assert re.search(r"outcome=failed_again", page.url), page.url
        assert "仍然处理失败" in page.inner_text("main")
        assert page.locator(f"tr:has-text('{ce_id}')").count() == 2
    finally:
        ctx.close()
    ctx, page = _page(browser, console_url, "supervisor")
    try:
        r = page.goto(f"{console_url}/manage/messages/dead-letters")
        assert r is not None and r.status == 403
        assert "此页面仅供中心管理员使用" in page.inner_text("main")
        assert "Traceback" not in page.content()
        assert_accessible(page, "dead letters refused")
    finally:
        ctx.close()


@pytest.mark.timeout(600)
def test_screenshots_of_attendance_and_messages(suite: Suite, console_url: str, browser: Any, tmp_path: Path) -> None:
    from tools.console_shots import attendance, messages

    _in_thread(_failed_sms(suite))  # a row with its resolve form in the pictures
    out = Path(os.environ.get("ONEWINDOW_CONSOLE_SCREENSHOTS") or tmp_path)
    shots = attendance.take(browser, console_url, out, assert_accessible)
    shots += messages.take(browser, console_url, out, assert_accessible)
    names = {p.name for p in shots}
    assert {"manage-attendance.png", "manage-attendance-phone.png", "manage-messages-dead-letters.png",
            "manage-messages-replay.png"} <= names
    assert all(p.stat().st_size > 10_000 for p in shots)
