"""Screenshots of the catalog (事项目录): one unit's items, an item with its versions, the edit
form and the same form refused by intake (nothing saved), at 1280 px and 390 px."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.console_screenshots import DESKTOP, PHONE, sign_in


def take(browser: Any, base: str, out: Path, check: Callable[[Any, str], None] | None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []

    def shot(page: Any, name: str, suffix: str) -> None:
        if check:
            check(page, name)
        target = out / f"{name}{suffix}.png"
        page.screenshot(path=str(target), full_page=True)
        shots.append(target)

    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        ctx = browser.new_context(viewport=size, locale="zh-CN")
        page = ctx.new_page()
        sign_in(page, base, "admin")
        # YBJ-004: tests/console/test_manage_catalog_seals.py publishes its version 2 (the diff shows).
        for name, path in (("manage-catalog", "/manage/catalog?unit=YBJ"), ("manage-catalog-item", "/manage/catalog/items/YBJ-004"),
                           ("manage-catalog-edit", "/manage/catalog/items/YBJ-004/edit")):
            page.goto(base + path)
            page.wait_for_load_state()
            shot(page, name, suffix)
        # A promise longer than the statutory limit: intake refuses, the form shows why (no draft saved).
        page.fill("#f-promised_days", "99")
        page.click("button:has-text('保存草稿')")
        page.wait_for_load_state()
        shot(page, "manage-catalog-edit-errors", suffix)
        ctx.close()
    return shots
