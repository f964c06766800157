"""Screenshots of units and volume (单位与办件量): monthly volume (chart and table), the dormant
units (应进不进), ratings and rectification tasks, at 1280 px and 390 px. Changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.console_screenshots import DESKTOP, PHONE, sign_in


def take(browser: Any, base: str, out: Path, check: Callable[[Any, str], None] | None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        ctx = browser.new_context(viewport=size, locale="zh-CN")
        page = ctx.new_page()
        sign_in(page, base, "supervisor")
        page.goto(f"{base}/manage/units")
        page.wait_for_load_state()
        if check:
            check(page, "manage-units")
        target = out / f"manage-units{suffix}.png"
        page.screenshot(path=str(target), full_page=True)
        shots.append(target)
        ctx.close()
    return shots
