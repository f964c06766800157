"""Issue #22 on the management pages, in a browser against the real suite: a unit reports a
decision it made outside the center on an item of the center's catalog with no case there (intake's
API, the unit's clerk's token); /manage/units counts it as 两头受理 for that unit. A staff member of
that unit has a violation recorded (attendance's API); /manage/oversight shows the unit's staff
violations in the month's bulletin (deadline reads them from attendance.violations). axe-core on
both pages; the pictures for docs/console.md (ONEWINDOW_CONSOLE_SCREENSHOTS when set)."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from contracts.common import Role
from tests.console.a11y import assert_accessible
from tests.e2e.harness import SHANGHAI, Suite, guide_items, unit_names
from tools.console_screenshots import DESKTOP, sign_in


def reload_until(page: Any, url: str, check: Any, timeout: float = 90, what: str = "") -> None:
    end = time.monotonic() + timeout
    while True:
        page.goto(url)
        if check(page):
            return
        if time.monotonic() > end:
            raise AssertionError(f"not within {timeout}s: {what}\n{page.inner_text('main')[-2000:]}")
        time.sleep(1.5)


@pytest.mark.timeout(600)
def test_units_show_two_ends_and_oversight_the_staff_violations(
        browser: Any, suite: Suite, console_url: str, tmp_path: Path) -> None:
    s = suite
    names = unit_names(s)
    item = next(i for i in guide_items(s, "promised") if i["unit_code"] not in ("FGJ", "GAJ", "JTJ"))
    unit = item["unit_code"]
    today = datetime.now(SHANGHAI).date()
    month = f"{today:%Y-%m}"
    clerk = s.headers(f"clerk-{unit.lower()}-out", Role.CLERK, unit, "窗口工作人员")
    r = s.client("intake").post(f"/intake/units/{unit}/outside-decisions", headers=clerk, json={
        "external_no": "DW〔2026〕0207号", "item_code": item["code"], "decided_on": today.isoformat(),
        "outcome": "approved"})
    assert r.status_code == 201 and r.json()["flagged"] == 1, r.text

    att = s.client("attendance")
    r = att.put("/attendance/staff/UI22001", headers=s.admin(), json={
        "name": "周晓梅", "unit_code": unit, "unit_name": names[unit], "window_no": "88", "pin": "22001",
        "mobile": "13800002201", "active_from": "2025-01-01"})
    assert r.status_code == 200, r.text
    r = att.post("/attendance/violations", headers=s.supervisor(), json={
        "staff_id": "UI22001", "kind": "late", "occurred_on": today.isoformat(), "evidence": "上午08:47打卡"})
    assert r.status_code == 201, r.text

    shots = Path(os.environ.get("ONEWINDOW_CONSOLE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    try:
        sign_in(page, console_url, "supervisor")
        page.goto(f"{console_url}/manage/units?period={month}")
        row = page.locator("#outside tr", has_text=names[unit])
        assert "两头受理 1" in row.inner_text(), page.inner_text("#outside")
        assert "Traceback" not in page.content()
        assert_accessible(page, "units with 两头受理")
        page.locator("#outside-title").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "manage-units-two-ends.png"), full_page=False)

        def counted(p: Any) -> bool:
            cells = p.locator("#bulletin-units tr", has_text=names[unit])
            return cells.count() == 1 and cells.locator('td[data-label="人员违规违章"]').inner_text().strip() == "1"

        reload_until(page, f"{console_url}/manage/oversight?period={month}", counted,
                     what="the bulletin counting the unit's staff violation")
        assert_accessible(page, "oversight with staff violations")
        page.screenshot(path=str(shots / "manage-oversight-staff-violations.png"), full_page=False)
    finally:
        ctx.close()
