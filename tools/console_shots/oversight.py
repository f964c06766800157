"""Screenshots of oversight (督查督办): the month's bulletin with notices and samples, a
supervision notice, an inspection sample with its seed, and a refused form, at 1280 px and
390 px. Issues one notice and draws this month's sample of FGJ when there is none yet."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.runtime import clock
from tools.console_screenshots import DESKTOP, PHONE, sign_in
from tools.console_shots import snap


def _prepare(page: Any, base: str, period: str) -> tuple[str, str]:
    """A supervision notice and an inspection sample to show (made through the pages)."""
    page.goto(f"{base}/manage/oversight?period={period}")
    page.select_option("#n-f-unit_code", "FGJ")
    page.fill("#n-f-reason", "窗口收件后未及时录入系统，请说明原因并整改")
    page.fill("#n-f-reply_days", "5")
    page.click("button:has-text('发出督办通知书')")
    page.wait_for_load_state()
    notice = re.search(r"/manage/oversight/notices/([^?#]+)", page.url)
    assert notice, page.inner_text("main")[:500]
    page.goto(f"{base}/manage/oversight?period={period}")
    existing = page.query_selector(f"#samples a[href$='CC-{period}-FGJ']")
    if existing is None:
        page.select_option("#s-f-unit_code", "FGJ")
        page.fill("#s-f-period", period)
        page.fill("#s-f-share", "50")
        page.fill("#s-f-seed", f"qs{period.replace('-', '')}")
        page.click("button:has-text('抽取')")
        page.wait_for_load_state()
    return notice.group(1), f"CC-{period}-FGJ"


def take(browser: Any, base: str, out: Path, check: Callable[[Any, str], None] | None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    period = f"{clock.today():%Y-%m}"
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    sign_in(page, base, "supervisor")
    notice, sample = _prepare(page, base, period)
    ctx.close()
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        ctx = browser.new_context(viewport=size, locale="zh-CN")
        page = ctx.new_page()
        sign_in(page, base, "supervisor")
        for name, path in (("manage-oversight", f"/manage/oversight?period={period}"),
                           ("manage-oversight-notice", f"/manage/oversight/notices/{notice}"),
                           ("manage-oversight-sample", f"/manage/oversight/inspections/{sample}")):
            page.goto(base + path)
            page.wait_for_load_state()
            snap(page, out, name, suffix, check, shots)
        # A refused form: the service's reason next to the field, what was typed kept.
        page.goto(f"{base}/manage/oversight?period={period}")
        page.select_option("#n-f-unit_code", "FGJ")
        page.fill("#n-f-reason", "请说明超期原因")
        page.fill("#n-f-reply_days", "45")
        page.click("button:has-text('发出督办通知书')")
        page.wait_for_load_state()
        page.locator("#n-f-reply_days").scroll_into_view_if_needed()
        snap(page, out, "manage-oversight-errors", suffix, check, shots, full_page=False)
        ctx.close()
    return shots
