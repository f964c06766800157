"""The deadline board and oversight in a browser, against the real suite (issue 18, areas 1 and 2).

The clock is really moved: this module's suite starts on a wall clock set to a working day in
the past (tests/e2e/shifted_clock), where a GAJ clerk files a case with a promised limit of 3
working days (no card yet: 3 left). The suite is then restarted on today's clock: 2 working days
are left, and the supervisor sees the yellow card on the board and in the unit's list, issues a
supervision notice for the case from the page, and GAJ's unit head's reply shows up. The center
admin previews a day off for the county: the preview lists the case's due date moving, and
only the confirmation saves it. axe-core on every page; bad input comes back next to its field.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

import pytest

from contracts.common import Role
from services.runtime.workdays import national_calendar
from tests.console.a11y import assert_accessible
from tests.e2e.harness import SHANGHAI, Suite, eventually, issue_seals, mandatory_materials, running_suite, suite_broker
from tools.console_screenshots import DESKTOP, sign_in

ITEM = "GAJ-016"  # 3 working days promised (the demo catalog)
HEAD = ("head-gaj", "Gaj-head-2026")


def _past_morning() -> datetime:
    """10:00 on the working day from which exactly one working day has passed by today: a
    3-day limit accepted then has 2 left today (a yellow card) and had 3 (none) then."""
    cal = national_calendar()
    today = datetime.now(SHANGHAI).date()
    day = date.fromordinal(today.toordinal() - 1)
    while not (cal.is_working_day(day) and cal.working_days_after(day, today) == 1):
        day = date.fromordinal(day.toordinal() - 1)
    return datetime.combine(day, time(10, 0), tzinfo=SHANGHAI)


def _make_unit_head(suite: Suite) -> None:
    """GAJ's unit head in the running console's accounts (the demo has FGJ's only)."""
    from services.console.app import create_service
    from services.console.config import ConsoleSettings
    from services.console.usecases import Accounts

    async def create() -> None:
        svc = create_service(ConsoleSettings(data_dir=suite.data_dir, auth_secret=suite.secret))
        try:
            await Accounts(svc.db, svc.settings, svc.auth).create_account(  # type: ignore[arg-type]
                HEAD[0], HEAD[1], "公安局负责人", Role.UNIT_HEAD.value, "GAJ")
        finally:
            await svc.db.dispose()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # Playwright's loop is not in that thread
        pool.submit(asyncio.run, create()).result(timeout=60)


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Suite, str]]:
    """A suite whose clock moved from a past working day to today, and the case filed then."""
    past = _past_morning()
    with suite_broker(tmp_path_factory.mktemp("board-kafka")) as bootstrap:
        with running_suite(bootstrap, tmp_path_factory.mktemp("board-suite"), clock=past,
                           env={"ONEWINDOW_CONSOLE_DEMO_ACCOUNTS": "1"}) as s:
            issue_seals(s, ["GAJ"])
            clerk = s.headers("clerk-gaj", Role.CLERK, "GAJ", "李建国")
            r = s.client("intake").post("/intake/applications", headers=clerk, json={
                "item_code": ITEM, "materials": mandatory_materials(s, ITEM), "accept_if_complete": True,
                "applicant": {"type": "person", "name": "陈小红", "mobile": "13900007302",
                              "resident_id": "11010519491231002X"}})
            assert r.status_code == 201, r.text
            no = r.json()["receipt_no"]
            d = s.client("deadline")
            clock = eventually(lambda: (c := d.get(f"/deadline/clocks/{no}", headers=s.supervisor())).status_code == 200
                               and c.json(), what="the clock starts")
            assert clock["days_left"] == 3 and clock["promised_days"] == 3, clock
            gaj = next(u for u in d.get("/deadline/clocks/summary", headers=s.supervisor()).json()["units"]
                       if u["unit_code"] == "GAJ")
            assert gaj["yellow"] == 0, gaj

            # The clock moves: every service restarted on today's wall clock.
            s.stop()
            s.env["ONEWINDOW_E2E_CLOCK_OFFSET"] = "0"
            s.clock_offset = 0.0
            s.start()
            _make_unit_head(s)
            yield s, no


def _page(browser: Any, base: str, user: str, password: str | None = None) -> Any:
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    sign_in(page, base, user, password)
    return page


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state()
    assert "Traceback" not in page.content()
    assert_accessible(page)


@pytest.mark.timeout(600)
def test_supervisor_sees_the_yellow_card_issues_a_notice_and_the_reply_shows_up(moved, browser) -> None:  # type: ignore[no-untyped-def]
    s, no = moved
    base = s.url("console")
    page = _page(browser, base, "supervisor")

    _open(page, f"{base}/manage/deadlines")
    row = page.locator("#units tr", has_text="GAJ")
    assert "黄牌 1" in row.inner_text(), row.inner_text()
    row.locator("a").click()
    page.wait_for_load_state()
    assert page.url.endswith("/manage/deadlines/units/GAJ")
    assert_accessible(page)
    case = page.locator("#clocks tr", has_text=no)
    assert "黄牌·剩2个工作日" in case.inner_text()
    case.locator(f"a[href='/desk/cases/{no}']").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/desk/cases/{no}") and no in page.inner_text("h1")

    # A supervision notice from the page: first refused (the service's reason next to the field,
    # what was typed kept), then issued.
    _open(page, f"{base}/manage/oversight")
    page.select_option("#n-f-unit_code", "GAJ")
    page.fill("#n-f-receipt_no", no)
    page.fill("#n-f-reason", "案件即将到期，请加快办理并说明进度")
    page.fill("#n-f-reply_days", "45")
    page.click("button:has-text('发出督办通知书')")
    page.wait_for_load_state()
    error = page.locator("#n-f-reply_days-error").inner_text()
    assert re.search(r"[\u4e00-\u9fff]", error), error
    assert page.input_value("#n-f-reply_days") == "45" and page.input_value("#n-f-receipt_no") == no
    assert "案件即将到期" in page.input_value("#n-f-reason")
    assert_accessible(page)
    page.fill("#n-f-reply_days", "3")
    page.click("button:has-text('发出督办通知书')")
    page.wait_for_load_state()
    m = re.search(r"/manage/oversight/notices/([^?#]+)", page.url)
    assert m, page.inner_text("main")[:500]
    notice_no = m.group(1)
    assert "待回复" in page.inner_text("#notice-facts")
    assert_accessible(page)

    # GAJ's unit head finds it on the board and replies on the notice page (an empty reply is
    # refused in place).
    head = _page(browser, base, *HEAD)
    _open(head, f"{base}/manage/deadlines")
    assert [r for r in head.locator("#units tbody tr").all_inner_texts() if "GAJ" not in r] == []  # own unit only
    head.locator(f"#open-notices a:has-text('{notice_no}')").click()
    head.wait_for_load_state()
    assert head.url.endswith(f"/manage/oversight/notices/{notice_no}")
    assert_accessible(head)
    head.click("button:has-text('提交回复')")
    head.wait_for_load_state()
    assert "请填写整改情况" in head.locator("#f-reply-error").inner_text()
    head.fill("#f-reply", "已于当日联系申请人，案件将按期办结")
    head.click("button:has-text('提交回复')")
    head.wait_for_load_state()
    assert "已于当日联系申请人" in head.inner_text("#notice-reply")
    head.context.close()

    _open(page, f"{base}/manage/oversight")
    listed = page.locator("#notices tr", has_text=notice_no).inner_text()
    assert "已回复" in listed and "已于当日联系申请人" in listed, listed
    page.context.close()


@pytest.mark.timeout(600)
def test_calendar_change_previewed_with_the_due_dates_it_moves_then_saved(moved, browser) -> None:  # type: ignore[no-untyped-def]
    s, no = moved
    base = s.url("console")
    cal = national_calendar()
    today = datetime.now(SHANGHAI).date()
    day = cal.add_working_days(today, 1)  # inside the case's last two working days
    before = s.client("deadline").get(f"/deadline/clocks/{no}", headers=s.supervisor()).json()["due_date"]

    sup = _page(browser, base, "supervisor")
    _open(sup, f"{base}/manage/deadlines/calendar")
    assert sup.locator("#f-day").count() == 0  # only the center admin changes the calendar
    sup.context.close()

    page = _page(browser, base, "admin")
    _open(page, f"{base}/manage/deadlines/calendar")
    # Bad input: removing an override the county never made; the reason next to the field.
    page.fill("#f-day", day.isoformat())
    page.select_option("#f-action", "remove")
    page.fill("#f-reason", "撤销临时放假")
    page.click("button:has-text('预览影响')")
    page.wait_for_load_state()
    assert "没有本县的调整记录" in page.locator("#f-day-error").inner_text()
    assert page.input_value("#f-day") == day.isoformat() and page.input_value("#f-reason") == "撤销临时放假"
    assert_accessible(page)

    page.select_option("#f-action", "off")
    page.fill("#f-reason", "县政府临时放假通知（青政发〔2026〕9号）")
    page.click("button:has-text('预览影响')")
    page.wait_for_load_state()
    assert_accessible(page)
    row = page.locator("#preview-clocks tr", has_text=no).inner_text()
    new_due = cal.add_working_days(date.fromisoformat(before), 1)
    assert f"{date.fromisoformat(before):%Y}年" in row
    assert _zh(date.fromisoformat(before)) in row and _zh(new_due) in row, row
    # Nothing saved by the preview.
    assert s.client("deadline").get("/deadline/calendar/changes", headers=s.supervisor()).json() == []
    assert s.client("deadline").get(f"/deadline/clocks/{no}", headers=s.supervisor()).json()["due_date"] == before

    page.click("button:has-text('确认保存调整')")
    page.wait_for_load_state()
    assert "日历已调整" in page.inner_text("main")
    assert_accessible(page)
    eventually(lambda: s.client("deadline").get(f"/deadline/clocks/{no}", headers=s.supervisor()).json()["due_date"]
               == new_due.isoformat(), timeout=60, what="the open due date recomputed")
    page.reload()
    assert "县政府临时放假通知" in page.inner_text("#changes")
    page.context.close()


def _zh(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"
