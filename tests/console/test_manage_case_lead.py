"""领办代办 and the joint case's current holder on the console's case page, in a browser against
the real suite (issue #22, item 4): a joint case of JTJ with GAJ as the joint unit; GAJ's clerk
takes charge of it for an elderly applicant (intake's API, with that clerk's token); the case
page names who leads it, why and since when, and the unit holding it now. axe-core on the page;
the picture for docs/console.md (ONEWINDOW_CONSOLE_SCREENSHOTS when set)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from contracts.common import Role
from tests.console.a11y import assert_accessible
from tests.e2e.harness import Suite, issue_seals, mandatory_materials, unit_names
from tools.console_screenshots import DESKTOP, sign_in

ITEM = "JTJ-012"  # a joint item (联办件) of JTJ with GAJ (the demo catalog)


@pytest.mark.timeout(600)
def test_the_case_page_shows_who_leads_the_case_and_which_unit_holds_it(
        browser: Any, suite: Suite, console_url: str, tmp_path: Path) -> None:
    s = suite
    names = unit_names(s)
    issue_seals(s, ["JTJ"])
    jtj = s.headers("clerk-jtj", Role.CLERK, "JTJ", "交通窗口")
    intake = s.client("intake")
    r = intake.post("/intake/applications", headers=jtj, json={
        "item_code": ITEM, "materials": mandatory_materials(s, ITEM), "accept_if_complete": True,
        "applicant": {"type": "person", "name": "赵大爷", "mobile": "13900007501", "resident_id": "11010519491231002X"}})
    assert r.status_code == 201 and r.json()["status"] == "joint_review", r.text
    no = r.json()["receipt_no"]
    gaj = s.headers("clerk2", Role.CLERK, "GAJ", "李建国")  # the demo's GAJ clerk (console: clerk2)
    r = intake.post(f"/intake/applications/{no}/lead", headers=gaj, json={"reason": "elderly", "note": "行动不便，代为跑办"})
    assert r.status_code == 201, r.text

    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    try:
        sign_in(page, console_url, "clerk2")
        page.goto(f"{console_url}/desk/cases/{no}")
        facts = page.inner_text("#status .facts")
        assert f"李建国（{names['GAJ']}）领办，老年人：行动不便，代为跑办" in facts, facts
        assert f"{names['GAJ']}（联办会签中）" in facts, facts
        assert "Traceback" not in page.content()
        assert_accessible(page, "case page with its lead")
        shots = Path(os.environ.get("ONEWINDOW_CONSOLE_SCREENSHOTS") or tmp_path)
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "desk-case-lead.png"), full_page=False)

        # Released: the case page no longer names a lead.
        r = intake.post(f"/intake/applications/{no}/lead/release", headers=gaj, json={})
        assert r.status_code == 200, r.text
        page.goto(f"{console_url}/desk/cases/{no}")
        assert "领办代办" not in page.inner_text("#status .facts")
    finally:
        ctx.close()
