"""Issue 22, staff practices through the real broker (the five services as separate processes):

- Staff violations (违规违章) counted in the monthly bulletin: a supervisor records violations in
  attendance and withdraws one; deadline reads them from attendance's internal
  ``attendance.violations`` topic and its bulletin lists them per unit, the withdrawn one not
  counted — in the JSON and the zh-CN document.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from .harness import SHANGHAI, Suite, eventually

pytestmark = pytest.mark.timeout(600)

UNIT, UNIT_NAME = "SCJG", "县市场监督管理局"


def _put_staff(suite: Suite, staff_id: str, name: str, window_no: str) -> None:
    r = suite.client("attendance").put(f"/attendance/staff/{staff_id}", headers=suite.admin(), json={
        "name": name, "unit_code": UNIT, "unit_name": UNIT_NAME, "window_no": window_no,
        "pin": staff_id[-4:], "mobile": "13800000099", "active_from": "2025-01-01"})
    assert r.status_code == 200, r.text


def test_staff_violations_are_counted_per_unit_in_the_bulletin(suite: Suite) -> None:
    today = datetime.now(SHANGHAI).date()
    month = f"{today:%Y-%m}"
    _put_staff(suite, "E2E7001", "钱多多", "71")
    _put_staff(suite, "E2E7002", "孙小美", "72")
    att = suite.client("attendance")
    ids = []
    for staff_id, kind in (("E2E7001", "late"), ("E2E7001", "conduct"), ("E2E7002", "left_post")):
        r = att.post("/attendance/violations", headers=suite.supervisor(), json={
            "staff_id": staff_id, "kind": kind, "occurred_on": today.isoformat(), "evidence": "督查科现场检查记录"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["violation_id"])
    r = att.post(f"/attendance/violations/{ids[1]}/withdraw", headers=suite.supervisor(), json={"reason": "投诉经核实不成立"})
    assert r.status_code == 200, r.text

    deadline = suite.client("deadline")

    def counted() -> dict | None:
        b = deadline.get(f"/deadline/bulletins/{month}", headers=suite.supervisor()).json()
        mine = [v for v in b["staff_violations"] if v["unit_code"] == UNIT]
        # the withdrawal is the last event: once it is in, the late and left-post ones are too
        if mine and mine[0]["by_kind"] == {"late": 1, "left_post": 1}:
            return mine[0]
        return None

    mine = eventually(counted, timeout=90, what="the bulletin counting the unit's violations")
    assert mine["total"] == 2
    row = next(u for u in deadline.get(f"/deadline/bulletins/{month}", headers=suite.supervisor()).json()["unit_stats"]
               if u["unit_code"] == UNIT)
    assert row["unit_code"] == UNIT
    doc = deadline.get(f"/deadline/bulletins/{month}/document", headers=suite.supervisor())
    assert doc.status_code == 200
    assert "工作人员违规违章" in doc.text and "迟到 1 起" in doc.text and "早退/脱岗 1 起" in doc.text
    # withdrawn: not counted (the suite is shared: other units' lines may name complaints)
    own_lines = [line for line in doc.text.splitlines() if (UNIT in line or UNIT_NAME in line) and "起" in line]
    assert own_lines and not any("服务投诉" in line for line in own_lines), own_lines
    # the evidence stays in attendance: the bulletin carries counts only
    assert "督查科现场检查记录" not in doc.text
