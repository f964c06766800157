"""The console in a real browser against the real running suite (every service, real Kafka):
the window clerk, the public and the hall, as issue 17 tells the story. axe-core runs on every
page the story passes through."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.console.a11y import assert_accessible
from tests.e2e.harness import Suite, eventually
from tools.console_screenshots import DESKTOP, HALL, PHONE, file_application, sign_in, wait_for


def new_page(browser: Any, size: dict[str, int] = DESKTOP) -> tuple[Any, Any]:
    ctx = browser.new_context(viewport=size, locale="zh-CN")
    return ctx, ctx.new_page()


def hall_figure(page: Any, base: str, element: str) -> int:
    page.goto(f"{base}/hall")
    text = page.inner_text(f"#{element}")
    return int(text.strip())


@pytest.mark.timeout(900)
def test_clerk_files_a_promised_case_with_a_material_missing_through_to_the_sealed_decision(
        browser: Any, suite: Suite, console_url: str) -> None:
    base = console_url
    # The hall before.
    hall_ctx, hall = new_page(browser, HALL)
    sign_in(hall, base, "supervisor")
    received_before = hall_figure(hall, base, "received-today")
    assert_accessible(hall, "hall")

    ctx, page = new_page(browser)
    # An expired (absent) session: to sign-in and back to the page asked for.
    page.goto(f"{base}/desk/new")
    assert "/signin?next=/desk/new" in page.url
    assert_accessible(page, "signin")
    page.fill("#f-username", "clerk")
    page.fill("#f-password", "Chuangkou2026")
    page.press("#f-password", "Enter")  # Enter submits
    page.wait_for_load_state()
    assert page.url.endswith("/desk/new")
    assert_accessible(page, "desk/new (choose item)")

    # A 承诺件 with one mandatory material missing: the one-time notice at once.
    page.select_option("#f-item", "FGJ-001")
    page.click("button:has-text('下一步')")
    page.wait_for_load_state()
    assert "企业投资项目核准" in page.inner_text("h1")
    assert_accessible(page, "desk/new form")
    missing_name = page.inner_text("label[for=mat-M03]")
    receipt = file_application(page, base, "FGJ-001", name="张晓明", mobile="13812345678", seq=41,
                               leave_out=("M03",))
    assert re.fullmatch(r"\d{4}-FGJ-[0-9A-Z]{5,}", receipt)
    assert page.url.endswith(f"/desk/cases/{receipt}/notice?new=1")
    notice = page.inner_text("article")
    assert "一次性告知书" in notice and missing_name.split(" ", 1)[1] in notice and receipt in notice
    assert_accessible(page, "one-time notice")
    # Printed: A4, without the navigation, the receipt number in the footer.
    page.emulate_media(media="print")
    assert not page.is_visible("header.site") and page.is_visible("article")
    assert page.is_visible(".doc-footer") and receipt in page.inner_text(".doc-footer")
    page.emulate_media(media="screen")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    # ... and sent: the sealed notice and its SMS (sealed and sent in the background).
    wait_for(page, "a:has-text('打开盖章告知书')")
    eventually(lambda: any(receipt in m.get("text", "") and m.get("template") == "notice_supplement"
                               for m in suite.sms_lines()), timeout=90,
               what="the supplement SMS handed to the carrier")

    # The hall's count moved.
    eventually(lambda: hall_figure(hall, base, "received-today") >= received_before + 1, timeout=30,
               what="the hall's received-today figure moved")

    # Completes it (accepted at once), decides it.
    page.goto(f"{base}/desk/cases/{receipt}")
    assert "待补正材料" in page.inner_text("#status")
    assert_accessible(page, "case awaiting supplement")
    page.check("#supplements-f-materials input[value=M03]")
    page.click("button:has-text('确认收到补正材料')")
    page.wait_for_load_state()
    assert "已受理" in page.inner_text("#status")
    assert_accessible(page, "case accepted")
    # Bad input: the decision without its text is refused next to the field, nothing sent.
    page.click("button:has-text('作出决定')")
    page.wait_for_load_state()
    assert "请填写决定内容" in page.inner_text("main")
    assert page.is_visible("#decision-f-decision_text-error")
    assert_accessible(page, "case with an error")
    page.fill("#decision-f-decision_text", "准予核准青山县某某项目。")
    page.click("button:has-text('作出决定')")
    page.wait_for_load_state()
    assert "已办结" in page.inner_text("#status")
    assert "准予核准青山县某某项目" in page.inner_text("main")
    # Opens the sealed PDF (decision and acceptance notices are sealed in the background).
    link = wait_for(page, "li:has-text('准予行政许可决定书') a:has-text('打开盖章文书')")
    href = link.get_attribute("href")
    pdf_answer = page.request.get(base + href)
    assert pdf_answer.status == 200 and pdf_answer.headers["content-type"] == "application/pdf"
    sealed_pdf = pdf_answer.body()
    assert sealed_pdf.startswith(b"%PDF")
    # The timeline and the SMS states are on the case page.
    page.reload()
    timeline = page.inner_text("ol.timeline")
    for step in ("已收件", "一次性告知", "补正材料已齐全", "已受理", "已办结"):
        assert step in timeline
    assert re.search(r"已发送|已送达手机|排队待发|发送中", page.inner_text("#sms-title + *, section[aria-labelledby=sms-title]"))
    assert_accessible(page, "case decided")
    ctx.close()

    # A clerk of another unit: a clear "no access" page, never a stack trace.
    ctx, other = new_page(browser)
    sign_in(other, base, "clerk2")
    answer = other.goto(f"{base}/desk/cases/{receipt}")
    assert answer is not None and answer.status == 403
    body = other.inner_text("main")
    assert "无权访问" in body and "Traceback" not in other.content()
    assert receipt not in body or "张晓明" not in body
    assert_accessible(other, "no access")
    ctx.close()

    # The public: the guide, the lookup, the rating, the seal verification of the decision.
    ctx, pub = new_page(browser, PHONE)
    pub.goto(f"{base}/portal")
    assert_accessible(pub, "portal")
    pub.fill("#q", "企业投资项目核准")
    pub.click("button:has-text('搜索')")
    pub.wait_for_load_state()
    assert_accessible(pub, "portal search")
    pub.click("a:has-text('企业投资项目核准')")
    pub.wait_for_load_state()
    guide = pub.inner_text("main")
    for words in ("审批依据", "办理程序", "申报材料", "承诺时限", "收费标准及依据"):
        assert words in guide
    assert_accessible(pub, "item guide")
    pub.goto(f"{base}/portal/status")
    pub.fill("#f-receipt_no", receipt)
    pub.fill("#f-mobile_last4", "5678")
    pub.click("button:has-text('查询')")
    pub.wait_for_load_state()
    result = pub.inner_text("main")
    assert "已办结" in result and "准予" in result and "张*" in result and "张晓明" not in result
    assert_accessible(pub, "status result")
    pub.click("a:has-text('评价本次服务')")
    pub.wait_for_load_state()
    pub.fill("#f-mobile_last4", "5678")
    pub.check("input[name=level][value=very_satisfied]")
    pub.click("button:has-text('提交评价')")
    pub.wait_for_load_state()
    assert "感谢您的评价" in pub.inner_text("main")
    assert_accessible(pub, "rating thanks")
    pub.goto(f"{base}/portal/verify")
    pub.set_input_files("#f-file", files=[{"name": "decision.pdf", "mimeType": "application/pdf", "buffer": sealed_pdf}])
    pub.click("button:has-text('验证')")
    pub.wait_for_load_state()
    assert "签章有效" in pub.inner_text("main")
    assert_accessible(pub, "verification result")
    ctx.close()
    hall_ctx.close()


@pytest.mark.timeout(600)
def test_an_immediate_case_moves_the_halls_immediate_figure(browser: Any, suite: Suite, console_url: str) -> None:
    base = console_url
    hctx, hall = new_page(browser, HALL)
    sign_in(hall, base, "supervisor")
    before = hall_figure(hall, base, "immediate-today")
    ctx, page = new_page(browser)
    sign_in(page, base, "clerk")
    page.goto(f"{base}/desk/new")
    immediate = [o.get_attribute("value") for o in page.query_selector_all("#f-item option")
                 if "即办件" in (o.inner_text() or "")]
    assert immediate, "the demo FGJ has an immediate item"
    receipt = file_application(page, base, immediate[0], name="王五", mobile="13700001111", seq=77)
    page.goto(f"{base}/desk/cases/{receipt}")
    assert "已受理" in page.inner_text("#status")
    page.fill("#decision-f-decision_text", "当场办结，准予。")
    page.click("button:has-text('作出决定')")
    page.wait_for_load_state()
    assert "已办结" in page.inner_text("#status")
    eventually(lambda: hall_figure(hall, base, "immediate-today") >= before + 1, timeout=60,
               what="the hall's immediate figure moved")
    ctx.close()
    hctx.close()


@pytest.mark.timeout(300)
def test_public_form_errors_are_next_to_their_fields_and_kept(browser: Any, suite: Suite, console_url: str) -> None:
    ctx, page = new_page(browser, PHONE)
    page.goto(f"{console_url}/portal/status")
    page.fill("#f-receipt_no", "2026-FGJ-99999")
    page.fill("#f-mobile_last4", "12a")
    page.click("button:has-text('查询')")
    page.wait_for_load_state()
    assert page.is_visible(".error-summary")
    assert "请填写4位数字" in page.inner_text("#f-mobile_last4-error")
    assert page.input_value("#f-receipt_no") == "2026-FGJ-99999"
    assert_accessible(page, "status with errors")
    page.fill("#f-mobile_last4", "1234")
    page.click("button:has-text('查询')")
    page.wait_for_load_state()
    assert "未查询到该办件" in page.inner_text("#f-receipt_no-error")  # intake's reason, next to its field
    ctx.close()
