"""Screenshots of messages and dead letters (消息与死信): failed or unconfirmed SMS and notices with
their actions, every service's dead letters, and the replay confirmation of the first one (when
there is one), at 1280 px and 390 px, as the center admin. Changes nothing."""

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
        pages = [("manage-messages", "/manage/messages"), ("manage-messages-dead-letters", "/manage/messages/dead-letters")]
        for name, path in pages:
            page.goto(base + path)
            page.wait_for_load_state()
            if check:
                check(page, name)
            target = out / f"{name}{suffix}.png"
            page.screenshot(path=str(target), full_page=True)
            shots.append(target)
        replay = page.query_selector("a:has-text('重放…')")
        if replay is not None:
            replay.click()
            page.wait_for_load_state()
            if check:
                check(page, "manage-messages-replay")
            target = out / f"manage-messages-replay{suffix}.png"
            page.screenshot(path=str(target), full_page=True)
            shots.append(target)
        ctx.close()
    return shots
