"""Screenshots of attendance (考勤管理): the monthly report (chart and table), the awards with the
formula, staff and AB posts, the terminals, a day's duty with trainings and leaves, and the year-end assessment, at 1280 px
and 390 px, as the center admin. Changes nothing (the browser test registers the people first)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.console_screenshots import DESKTOP, PHONE, sign_in

PAGES = (("manage-attendance", "/manage/attendance"), ("manage-attendance-awards", "/manage/attendance/awards"),
         ("manage-attendance-staff", "/manage/attendance/staff"),
         ("manage-attendance-terminals", "/manage/attendance/terminals"),
         ("manage-attendance-duty", "/manage/attendance/duty"),
         ("manage-attendance-assessments", "/manage/attendance/assessments"))


def take(browser: Any, base: str, out: Path, check: Callable[[Any, str], None] | None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        ctx = browser.new_context(viewport=size, locale="zh-CN")
        page = ctx.new_page()
        sign_in(page, base, "admin")
        for name, path in PAGES:
            page.goto(base + path)
            page.wait_for_load_state()
            if check:
                check(page, name)
            target = out / f"{name}{suffix}.png"
            page.screenshot(path=str(target), full_page=True)
            shots.append(target)
        ctx.close()
    return shots
