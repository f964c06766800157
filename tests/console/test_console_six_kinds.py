"""The case page's steps for the other kinds, in the browser against the running suite:
returned (不予受理 with a reason), reported-up (上报, the higher authority's answer, the decision)
and joint (联办: the participating units' opinions, then the lead unit's decision)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.a11y import assert_accessible
from tests.console.conftest import CLERK_PASSWORD
from tests.e2e.harness import Suite
from tools.console_screenshots import DESKTOP, file_application, sign_in


def clerk_page(browser: Any, base: str, username: str, password: str | None = None) -> tuple[Any, Any]:
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    sign_in(page, base, username, password)
    assert "/desk" in page.url, page.inner_text("main")[:300]
    return ctx, page


def first_item(suite: Suite, kind: str) -> dict[str, Any]:
    items = suite.client("intake").get("/intake/guide/items", params={"kind": kind}).json()
    assert items, f"the demo catalog has a {kind} item"
    return suite.client("intake").get(f"/intake/guide/items/{items[0]['code']}").json()


@pytest.mark.timeout(600)
def test_returned_with_a_reason(browser: Any, suite: Suite, console_url: str) -> None:
    ctx, page = clerk_page(browser, console_url, "clerk", "Chuangkou2026")
    receipt = file_application(page, console_url, "FGJ-001", name="赵六", mobile="13600002222", seq=301,
                               leave_out=("M04",))
    page.goto(f"{console_url}/desk/cases/{receipt}")
    page.click("summary:has-text('不予受理')")
    page.click("button:has-text('不予受理')")  # without a reason: refused next to the field
    page.wait_for_load_state()
    assert "请写明不予受理的理由" in page.inner_text("#na-f-reason-error")
    page.select_option("#na-f-reason_code", "not_eligible")
    page.fill("#na-f-reason", "申请人不具备项目单位资格。")
    page.click("button:has-text('不予受理')")
    page.wait_for_load_state()
    assert "不予受理（退回）" in page.inner_text("#status")
    assert "申请人不具备项目单位资格" in page.inner_text("main")
    assert_accessible(page, "returned case")
    ctx.close()


@pytest.mark.timeout(600)
def test_reported_up_forwarded_answered_decided(browser: Any, suite: Suite, console_url: str, make_clerk) -> None:  # type: ignore[no-untyped-def]
    item = first_item(suite, "reported_up")
    ctx, page = clerk_page(browser, console_url, make_clerk(item["unit_code"]), CLERK_PASSWORD)
    receipt = file_application(page, console_url, item["code"], name="孙七", mobile="13500003333", seq=302)
    page.goto(f"{console_url}/desk/cases/{receipt}")
    assert "已受理" in page.inner_text("#status")
    assert not page.is_visible("button:has-text('作出决定')")  # not before the higher authority answered
    page.click("button:has-text('上报')")
    page.wait_for_load_state()
    assert "已上报上级机关" in page.inner_text("#status")
    page.click("button:has-text('录入答复')")  # without the answer: refused next to the field
    page.wait_for_load_state()
    assert page.is_visible("#higher-f-answer-error")
    page.fill("#higher-f-answer", "经审核，同意。")
    page.fill("#higher-f-document_no", "市审〔2026〕12号")
    page.click("button:has-text('录入答复')")
    page.wait_for_load_state()
    assert "已受理" in page.inner_text("#status")
    page.fill("#decision-f-decision_text", "根据上级机关意见，准予。")
    page.click("button:has-text('作出决定')")
    page.wait_for_load_state()
    assert "已办结" in page.inner_text("#status")
    assert "经审核，同意" in page.inner_text("main")
    assert_accessible(page, "reported-up case")
    ctx.close()


@pytest.mark.timeout(600)
def test_joint_opinions_then_the_decision(browser: Any, suite: Suite, console_url: str, make_clerk) -> None:  # type: ignore[no-untyped-def]
    item = first_item(suite, "joint")
    assert item["joint_units"]
    ctx, page = clerk_page(browser, console_url, make_clerk(item["unit_code"]), CLERK_PASSWORD)
    receipt = file_application(page, console_url, item["code"], name="周八", mobile="13400004444", seq=303)
    page.goto(f"{console_url}/desk/cases/{receipt}")
    assert "联办单位会签中" in page.inner_text("#status")
    assert not page.is_visible("button:has-text('作出决定')")
    for unit in item["joint_units"]:
        pctx, other = clerk_page(browser, console_url, make_clerk(unit), CLERK_PASSWORD)
        other.goto(f"{console_url}/desk/joint-tasks")
        assert receipt in other.inner_text("main")
        other.goto(f"{console_url}/desk/cases/{receipt}")
        other.fill("#joint-f-opinion", f"{unit}同意。")
        other.click("button:has-text('提交意见')")
        other.wait_for_load_state()
        assert f"{unit}同意" in other.inner_text("main")
        assert_accessible(other, "joint case, a participant")
        pctx.close()
    page.reload()
    assert "已受理" in page.inner_text("#status")
    page.fill("#decision-f-decision_text", "联办单位均同意，准予。")
    page.click("button:has-text('作出决定')")
    page.wait_for_load_state()
    assert "已办结" in page.inner_text("#status")
    ctx.close()
