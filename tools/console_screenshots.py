"""Screenshots of every page of the console (docs/console.md), at 1280 px and at a phone's
width, taken with Debian's Chromium through Playwright against a running suite.

    python -m tools.console_screenshots --url http://127.0.0.1:8100 --out docs/console

needs the demo accounts (ONEWINDOW_CONSOLE_DEMO_ACCOUNTS=1) and a No. 2 seal for FGJ; it files
its own cases. tests/console/test_console_pages.py runs it against the test suite
(ONEWINDOW_CONSOLE_SCREENSHOTS=docs/console writes the committed pictures)."""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Any, Callable

from stdnum.cn import ric

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
HALL = {"width": 1920, "height": 1080}

ACCOUNTS = {"clerk": "Chuangkou2026", "clerk2": "Chuangkou2026", "head": "Fuzeren2026", "supervisor": "Ducha2026",
            "admin": "Guanli2026"}


def launch(playwright: Any) -> Any:
    """Debian's Chromium (Playwright cannot download its own browser here)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def resident_id(seq: int) -> str:
    base = f"11010119900307{seq % 1000:03d}"
    return base + ric.calc_check_digit(base + "0")  # the function takes the number with a check digit


def sign_in(page: Any, base: str, username: str, password: str | None = None, next_url: str = "") -> None:
    page.goto(f"{base}/signin" + (f"?next={next_url}" if next_url else ""))
    page.fill("#f-username", username)
    page.fill("#f-password", password or ACCOUNTS[username])
    page.click("button[type=submit]:has-text('登录')")
    page.wait_for_load_state()


def file_application(page: Any, base: str, item: str, *, name: str, mobile: str, seq: int,
                     leave_out: tuple[str, ...] = ()) -> str:
    """File an application at the desk, ticking every mandatory material except ``leave_out``;
    the receipt number."""
    page.goto(f"{base}/desk/new?item={item}")
    page.fill("#f-applicant-name", name)
    page.fill("#f-applicant-resident_id", resident_id(seq))
    page.fill("#f-applicant-mobile", mobile)
    for box in page.query_selector_all("input[name=materials]"):
        code = box.get_attribute("value")
        row = box.evaluate("b => b.closest('tr').innerText")
        if code not in leave_out and "必交" in row:
            box.check()
    page.click("button:has-text('收件')")
    page.wait_for_load_state()
    m = re.search(r"/desk/cases/([0-9A-Z-]+)", page.url)
    if not m:
        raise AssertionError(f"not filed: {page.url}\n{page.inner_text('main')[:800]}")
    return m.group(1)


def wait_for(page: Any, selector: str, timeout: float = 90) -> Any:
    """Reload until ``selector`` is on the page (sealing and SMS happen in the background)."""
    end = time.monotonic() + timeout
    while True:
        el = page.query_selector(selector)
        if el is not None:
            return el
        if time.monotonic() > end:
            raise AssertionError(f"{selector} not on {page.url} within {timeout:.0f}s")
        time.sleep(1)
        page.reload()


def take_screenshots(base: str, out: Path, *, check: Callable[[Any, str], None] | None = None,
                     browser: Any = None) -> list[Path]:
    """Every page, at 1280 px and 390 px (the hall at 1920×1080); ``check(page, name)`` runs on
    each (the tests' accessibility check). ``browser``: a Playwright browser to use (default: a
    Chromium of its own). The pictures' paths."""
    if browser is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            own = launch(pw)
            try:
                return take_screenshots(base, out, check=check, browser=own)
            finally:
                own.close()
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    # Prepare: a case with a material missing, and a decided one, by the clerk.
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    sign_in(page, base, "clerk")
    seq = int(time.time()) % 900
    missing = file_application(page, base, "FGJ-001", name="张晓明", mobile="13812345678", seq=seq,
                               leave_out=("M03",))
    done = file_application(page, base, "FGJ-001", name="刘芳", mobile="13912340000", seq=seq + 1)
    page.goto(f"{base}/desk/cases/{done}")
    page.fill("#decision-f-decision_text", "准予核准该企业投资项目。")
    page.click("button:has-text('作出决定')")
    page.wait_for_load_state()
    wait_for(page, "a:has-text('打开盖章文书')")
    ctx.close()

    def staff_pages(user: str) -> list[tuple[str, str]]:
        if user == "clerk":
            return [("desk", "/desk"), ("desk-new-choose", "/desk/new"), ("desk-new", "/desk/new?item=FGJ-001"),
                    ("desk-notice", f"/desk/cases/{missing}/notice"), ("desk-case-supplement", f"/desk/cases/{missing}"),
                    ("desk-case-decided", f"/desk/cases/{done}"), ("desk-search", "/desk/search?q=FGJ-001"),
                    ("desk-consultations", "/desk/consultations"), ("desk-joint-tasks", "/desk/joint-tasks")]
        return [("no-access", f"/desk/cases/{missing}")]

    public = [("landing", "/"), ("signin", "/signin"), ("portal", "/portal"), ("portal-unit", "/portal/units/FGJ"),
              ("portal-search", "/portal/search?q=%E6%A0%B8%E5%87%86"), ("portal-item", "/portal/items/FGJ-001"),
              ("portal-status", "/portal/status"), ("portal-rate", "/portal/rate"), ("portal-verify", "/portal/verify"),
              ("not-found", "/portal/items/NOPE-999")]

    def shoot(page: Any, name: str, path: str, size: dict[str, int], suffix: str) -> None:
        page.set_viewport_size(size)
        page.goto(base + path)
        page.wait_for_load_state()
        if check:
            check(page, name)
        target = out / f"{name}{'' if suffix == '-hall' else suffix}.png"
        page.screenshot(path=str(target), full_page=suffix != "-hall")
        shots.append(target)

    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        ctx = browser.new_context(viewport=size, locale="zh-CN")
        page = ctx.new_page()
        for name, path in public:
            shoot(page, name, path, size, suffix)
        # a filled-in status lookup, with the result
        page.goto(f"{base}/portal/status")
        page.fill("#f-receipt_no", done)
        page.fill("#f-mobile_last4", "0000")
        page.click("button:has-text('查询')")
        page.wait_for_load_state()
        if check:
            check(page, "portal-status-result")
        page.screenshot(path=str(out / f"portal-status-result{suffix}.png"), full_page=True)
        shots.append(out / f"portal-status-result{suffix}.png")
        # the form with errors
        page.goto(f"{base}/portal/status")
        page.fill("#f-receipt_no", "2026-FGJ-99999")
        page.fill("#f-mobile_last4", "12")
        page.click("button:has-text('查询')")
        page.wait_for_load_state()
        page.screenshot(path=str(out / f"portal-status-errors{suffix}.png"), full_page=True)
        shots.append(out / f"portal-status-errors{suffix}.png")
        # elderly-friendly mode
        page.goto(f"{base}/portal/items/FGJ-001")
        page.click("button:has-text('长辈模式')")
        page.wait_for_load_state()
        if check:
            check(page, "portal-item-elderly")
        page.screenshot(path=str(out / f"portal-item-elderly{suffix}.png"), full_page=True)
        shots.append(out / f"portal-item-elderly{suffix}.png")
        ctx.close()
        for user in ("clerk", "clerk2"):
            ctx = browser.new_context(viewport=size, locale="zh-CN")
            page = ctx.new_page()
            sign_in(page, base, user)
            for name, path in staff_pages(user):
                shoot(page, name, path, size, suffix)
            if user == "clerk":
                page.goto(f"{base}/desk/new?item=FGJ-001")
                page.fill("#f-applicant-name", "张晓明")
                page.fill("#f-applicant-mobile", "1381234")
                page.click("button:has-text('收件')")
                page.wait_for_load_state()
                if check:
                    check(page, "desk-new-errors")
                page.screenshot(path=str(out / f"desk-new-errors{suffix}.png"), full_page=True)
                shots.append(out / f"desk-new-errors{suffix}.png")
            ctx.close()
    ctx = browser.new_context(viewport=HALL, locale="zh-CN")
    page = ctx.new_page()
    sign_in(page, base, "supervisor")
    shoot(page, "hall", "/hall", HALL, "-hall")
    ctx.close()
    from tools.console_shots import take_all

    shots.extend(take_all(browser, base, out, check))
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8100")
    parser.add_argument("--out", type=Path, default=Path("docs/console"))
    args = parser.parse_args()
    for p in take_screenshots(args.url.rstrip("/"), args.out):
        print(p)


if __name__ == "__main__":
    main()
