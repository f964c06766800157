"""Screenshots of the deadline board (期限看板): the board, a unit's open cases, the calendar
and a calendar change's preview (nothing is saved), at 1280 px and 390 px."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.runtime import clock
from services.runtime.workdays import national_calendar
from tools.console_screenshots import DESKTOP, PHONE, sign_in
from tools.console_shots import snap


def take(browser: Any, base: str, out: Path, check: Callable[[Any, str], None] | None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    # The next working day: a day off declared there moves the open cases due after it.
    day = national_calendar().add_working_days(clock.today(), 1)
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        ctx = browser.new_context(viewport=size, locale="zh-CN")
        page = ctx.new_page()
        sign_in(page, base, "admin")
        for name, path in (("manage-deadlines", "/manage/deadlines"), ("manage-deadlines-unit", "/manage/deadlines/units/FGJ"),
                           ("manage-deadlines-calendar", "/manage/deadlines/calendar")):
            page.goto(base + path)
            page.wait_for_load_state()
            snap(page, out, name, suffix, check, shots)
        page.fill("#f-day", day.isoformat())
        page.select_option("#f-action", "off")
        page.fill("#f-reason", "县政府临时放假通知（示例，仅预览）")
        page.click("button:has-text('预览影响')")
        page.wait_for_load_state()
        page.locator("#preview").scroll_into_view_if_needed()
        snap(page, out, "manage-deadlines-calendar-preview", suffix, check, shots)
        ctx.close()
    return shots
