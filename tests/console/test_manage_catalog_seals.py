"""Units, catalog and seals in a real browser against the real running suite (issue 18, areas
3–5): a dormant unit flagged; an administrator drafts and publishes a new item version (a refused
draft first: intake's reason next to the field, what was typed kept) and the public guide shows it;
a seal is revoked: a new document of that unit is refused (the usage log says why, its chain
checked) and the verification page says so for a document sealed before. axe-core on every page.

A unit is dormant (应进不进) only after months without business counted from when it was
recorded, so this module's suite really lives through them: it starts on a wall clock about 100
days in the past, where the demo catalog records the units, and is then restarted on today's
(tests/e2e/shifted_clock, as the deadline board's tests move theirs)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import pytest

from services.runtime.workdays import national_calendar
from tests.console.a11y import assert_accessible, serious_violations
from tests.e2e.harness import SHANGHAI, Suite, issue_seals, running_suite, suite_broker
from tools.console_screenshots import DESKTOP, PHONE, file_application, sign_in, wait_for

CLERK_PASSWORD = "Window-clerk-2026"

#: Units no other browser test files cases for: what these tests change stays theirs.
CATALOG_ITEM = "YBJ-004"  # 医疗费用零星报销, a promised item (statutory 20, promised 10 working days)
SEAL_UNIT = "YCJ"
SEAL_ITEM = "YCJ-001"  # an immediate item


def _past_morning() -> datetime:
    """10:00 on a working day about 100 days ago: more than the 3 months that flag a unit."""
    day = datetime.now(SHANGHAI).date() - timedelta(days=100)
    while not national_calendar().is_working_day(day):
        day = date.fromordinal(day.toordinal() - 1)
    return datetime.combine(day, clock_time(10, 0), tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    with suite_broker(tmp_path_factory.mktemp("units-kafka")) as bootstrap:
        with running_suite(bootstrap, tmp_path_factory.mktemp("units-suite"), clock=_past_morning(),
                           env={"ONEWINDOW_CONSOLE_DEMO_ACCOUNTS": "1"}) as s:
            # The units were recorded then; now the services run on today's clock.
            s.stop()
            s.env["ONEWINDOW_E2E_CLOCK_OFFSET"] = "0"
            s.clock_offset = 0.0
            s.start()
            issue_seals(s, ["FGJ", "GAJ"])
            yield s


@pytest.fixture(scope="module")
def base(moved: Suite) -> str:
    return moved.url("console")


def make_clerk(suite: Suite, unit: str) -> str:
    """A clerk account of ``unit`` in the running console's accounts (the demo has FGJ's and GAJ's)."""
    from services.console.app import create_service
    from services.console.config import ConsoleSettings
    from services.console.usecases import Accounts

    async def create() -> None:
        svc = create_service(ConsoleSettings(data_dir=suite.data_dir, auth_secret=suite.secret))
        try:
            await Accounts(svc.db, svc.settings, svc.auth).create_account(  # type: ignore[arg-type]
                f"clerk-{unit.lower()}", CLERK_PASSWORD, f"{unit}窗口", "clerk", unit)
        finally:
            await svc.db.dispose()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # Playwright's loop is not in that thread
        pool.submit(asyncio.run, create()).result(timeout=60)
    return f"clerk-{unit.lower()}"


def new_page(browser: Any, size: dict[str, int] = DESKTOP) -> tuple[Any, Any]:
    ctx = browser.new_context(viewport=size, locale="zh-CN")
    return ctx, ctx.new_page()


def reload_until(page: Any, url: str, predicate: Any, timeout: float = 90, what: str = "") -> None:
    end = time.monotonic() + timeout
    while True:
        page.goto(url)
        if predicate(page):
            return
        if time.monotonic() > end:
            raise AssertionError(f"not within {timeout}s: {what}\n{page.inner_text('main')[-2500:]}")
        time.sleep(1.5)


@pytest.mark.timeout(300)
def test_units_page_flags_a_dormant_unit(browser: Any, base: str) -> None:
    console_url = base
    ctx, page = new_page(browser)
    sign_in(page, console_url, "supervisor")
    page.goto(f"{console_url}/manage/units")
    assert page.title() and "单位与办件量" in page.inner_text("h1")
    # Recorded about 100 days ago, no case since: 民族宗教事务局 is idle for more than 3 months.
    row = page.locator("#inactivity tr", has_text="青山县民族宗教事务局")
    assert "应进不进" in row.inner_text(), row.inner_text()
    months = int(re.search(r"(\d+)个月", row.inner_text()).group(1))  # type: ignore[union-attr]
    assert months >= 3
    assert page.locator("#volume caption").count() == 1  # the numbers as a table, chart or not
    assert_accessible(page, "units")
    # A unit head may not open it: the refusal page, not a stack trace.
    ctx2, other = new_page(browser, PHONE)
    sign_in(other, console_url, "head")
    answer = other.goto(f"{console_url}/manage/units")
    assert answer is not None and answer.status == 403 and "无权访问" in other.inner_text("main")
    assert_accessible(other, "units refused")
    ctx.close()
    ctx2.close()


@pytest.mark.timeout(400)
def test_admin_drafts_and_publishes_a_new_version_and_the_guide_shows_it(browser: Any, base: str) -> None:
    ctx, page = new_page(browser)
    sign_in(page, base, "admin")
    page.goto(f"{base}/manage/catalog?unit=YBJ")
    assert_accessible(page, "catalog")
    page.click(f"a:has-text('{CATALOG_ITEM}')")
    page.wait_for_load_state()
    assert "现行 第1版" in page.inner_text("main")
    assert_accessible(page, "catalog item")
    page.click("a:has-text('修改（生成新版本草稿）')")
    page.wait_for_load_state()
    assert_accessible(page, "catalog edit")
    # intake refuses a promise longer than the statutory limit: its reason next to the field.
    page.fill("#f-promised_days", "25")
    page.fill("#f-legal_basis", page.input_value("#f-legal_basis") + "\n《青山县医疗保障经办规程》第十二条")
    page.click("button:has-text('保存草稿')")
    page.wait_for_load_state()
    err = page.inner_text("#f-promised_days-error")
    assert "不能超过法定时限" in err, err
    assert page.input_value("#f-promised_days") == "25"  # what was typed is kept
    assert "《青山县医疗保障经办规程》第十二条" in page.input_value("#f-legal_basis")
    assert "Traceback" not in page.content()
    assert_accessible(page, "catalog edit refused")
    # Fixed: saved as the draft of version 2, the diff shows what changed, then published.
    page.fill("#f-promised_days", "8")
    page.click("button:has-text('保存草稿')")
    page.wait_for_load_state()
    assert "草稿已保存" in page.inner_text("main")
    diff = page.inner_text("#draft-changes")
    assert "审批依据" in diff and "《青山县医疗保障经办规程》第十二条" in diff
    assert "承诺时限" in diff and "10个工作日" in diff and "8个工作日" in diff
    assert_accessible(page, "catalog draft")
    page.click("button:has-text('发布第2版')")
    page.wait_for_load_state()
    main = page.inner_text("main")
    assert "已发布" in main and "现行 第2版" in main
    assert "第2版与上一版相比的变化" in main
    # The public guide shows the new version (served by intake's read model right away).
    ctx2, pub = new_page(browser, PHONE)
    pub.goto(f"{base}/portal/items/{CATALOG_ITEM}")
    guide = pub.inner_text("main")
    assert "《青山县医疗保障经办规程》第十二条" in guide
    assert re.search(r"承诺时限\D{0,20}8", guide), guide[:800]
    assert_accessible(pub, "guide after publishing")
    ctx.close()
    ctx2.close()


@pytest.mark.timeout(600)
def test_a_revoked_seal_seals_nothing_new_and_the_verify_page_says_so(browser: Any, moved: Suite, base: str) -> None:
    actx, admin = new_page(browser)
    sign_in(admin, base, "admin")
    admin.goto(f"{base}/manage/seals")
    assert_accessible(admin, "seals")
    # The suite's demo issued every unit's No. 2 seal: 烟草专卖局's is in use.
    row = admin.locator("#seals tr", has_text="青山县烟草专卖局")
    assert "使用中" in row.inner_text()
    # A second one is refused by the seal service: its reason on the form, the choice kept.
    admin.select_option("#f-unit_code", SEAL_UNIT)
    admin.click("button:has-text('发放')")
    admin.wait_for_load_state()
    assert admin.locator(".error-summary").count() == 1, admin.inner_text("main")[-800:]
    assert admin.input_value("#f-unit_code") == SEAL_UNIT
    assert "Traceback" not in admin.content()
    assert_accessible(admin, "seal issue refused")

    # A document sealed with it: the clerk decides an immediate case; the decision is sealed.
    cctx, clerk = new_page(browser)
    sign_in(clerk, base, make_clerk(moved, SEAL_UNIT), CLERK_PASSWORD)
    before = file_application(clerk, base, SEAL_ITEM, name="赵敏", mobile="13600002222", seq=411)
    clerk.goto(f"{base}/desk/cases/{before}")
    clerk.fill("#decision-f-decision_text", "准予核发烟草专卖零售许可证。")
    clerk.click("button:has-text('作出决定')")
    clerk.wait_for_load_state()
    link = wait_for(clerk, "li:has-text('准予行政许可决定书') a:has-text('打开盖章文书')")
    sealed_pdf = clerk.request.get(base + link.get_attribute("href")).body()
    assert sealed_pdf.startswith(b"%PDF")

    # Revoked, with the reason: the seal page, the list and the CRL say so.
    admin.goto(f"{base}/manage/seals")
    admin.locator("#seals tr", has_text="青山县烟草专卖局").locator("a").first.click()
    admin.wait_for_load_state()
    assert_accessible(admin, "seal")
    assert admin.locator("img[src$='/image.svg']").evaluate("i => i.naturalWidth > 0")  # the picture loads
    admin.select_option("#f-reason", "lost")
    admin.fill("#f-note", "印章密钥介质遗失（测试）")
    admin.click("button:has-text('注销该印章')")
    admin.wait_for_load_state()
    assert "印章已注销" in admin.inner_text("main") and "原因：印章遗失" in admin.inner_text("main")
    admin.goto(f"{base}/manage/seals")
    assert "已注销" in admin.locator("#seals tr", has_text="青山县烟草专卖局").inner_text()
    assert "印章遗失" in admin.locator("#crl tr", has_text="青山县烟草专卖局").inner_text()

    # A new document after the revocation: the seal service refuses to seal it, and the usage
    # log (its hash chain checked on the page) names the reason.
    after = file_application(clerk, base, SEAL_ITEM, name="钱程", mobile="13600003333", seq=412)
    clerk.goto(f"{base}/desk/cases/{after}")
    clerk.fill("#decision-f-decision_text", "准予核发烟草专卖零售许可证。")
    clerk.click("button:has-text('作出决定')")
    clerk.wait_for_load_state()
    assert "已办结" in clerk.inner_text("#status")
    reload_until(admin, f"{base}/manage/seals",
                 lambda p: p.locator("#usage-log tr", has_text="印章已注销，不得使用").count() > 0,
                 what="the refused stamp request in the usage log")
    refused = admin.locator("#usage-log tr", has_text="印章已注销，不得使用").first.inner_text()
    assert SEAL_UNIT in refused and "拒绝用印" in refused
    assert "哈希链完整" in admin.inner_text("#chain-check")
    assert_accessible(admin, "seals after revocation")

    # The document sealed before: still valid, and the verification page says the seal is revoked since.
    pctx, pub = new_page(browser, PHONE)
    pub.goto(f"{base}/portal/verify")
    pub.set_input_files("#f-file", files=[{"name": "decision.pdf", "mimeType": "application/pdf", "buffer": sealed_pdf}])
    pub.click("button:has-text('验证')")
    pub.wait_for_load_state()
    answer = pub.inner_text("main")
    assert "此后已注销" in answer, answer[:1200]
    assert_accessible(pub, "verification after revocation")
    for c in (actx, cctx, pctx):
        c.close()


@pytest.mark.timeout(600)
def test_screenshots_at_both_widths(browser: Any, base: str, tmp_path: Path) -> None:
    """The pictures of docs/console.md (into ONEWINDOW_CONSOLE_SCREENSHOTS when set), each page
    checked by axe-core at 1280 px and 390 px on the way."""
    from tools.console_shots import catalog, seals, units

    out = Path(os.environ.get("ONEWINDOW_CONSOLE_SCREENSHOTS") or tmp_path)
    problems: list[str] = []

    def check(page: Any, name: str) -> None:
        assert "Traceback" not in page.content()
        problems.extend(f"{name} ({page.viewport_size['width']}px): {v}" for v in serious_violations(page))

    shots = [*units.take(browser, base, out, check), *catalog.take(browser, base, out, check),
             *seals.take(browser, base, out, check)]
    assert not problems, "\n".join(problems)
    assert {p.name for p in shots} >= {"manage-units.png", "manage-catalog-edit-errors-phone.png", "manage-seals-seal.png"}
    assert all(p.stat().st_size > 5000 for p in shots)

