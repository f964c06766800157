"""Screenshots of the seals (电子印章): every seal, the CRL, the usage log with its chain checked,
and one seal with its picture and certificate, at 1280 px and 390 px. Changes nothing."""

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
        sign_in(page, base, "admin")
        page.goto(f"{base}/manage/seals")
        page.wait_for_load_state()
        for name in ("manage-seals", "manage-seals-seal"):
            if name == "manage-seals-seal":
                # The demo issues FGJ's No. 2 seal; its page has the picture and the revoke form.
                page.locator("#seals tr", has_text="FGJ").locator("a").first.click()
                page.wait_for_load_state()
            if check:
                check(page, name)
            target = out / f"{name}{suffix}.png"
            page.screenshot(path=str(target), full_page=True)
            shots.append(target)
        ctx.close()
    return shots
