"""One county calendar everywhere (issue #22, item 1), through the real broker.

The center admin changes the county's calendar in deadline's calendar API: a weekday closed
(an extra day off) and a Saturday made a working day. deadline publishes both on
``deadline.calendar``; intake and attendance follow that topic (services/runtime/
calendar_follower.py), so:

- intake's rectification task (整改) opened by a low rating is due five working days later on
  the COUNTY's calendar: one day later than on the national one;
- attendance expects no office session on the closed weekday, and on the Saturday it expects
  the weekday sessions instead of the weekend duty shifts;
- an attendance process started after the changes were published replays them from the topic.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from contracts.common import Role
from contracts.deadline import CalendarAction
from services.runtime.workdays import CountyCalendar, is_statutory_holiday, national_calendar

from .harness import SHANGHAI, Suite, eventually, guide_items, issue_seals, mandatory_materials, unit_names

pytestmark = pytest.mark.timeout(900)

CLERK = "e2e-cal-clerk"
REASON = "县政府办公室通知（2026）12号"


def _duty(s: Suite, day: date) -> list[dict[str, Any]]:
    r = s.client("attendance").get(f"/attendance/duty/{day.isoformat()}", headers=s.supervisor())
    assert r.status_code == 200, r.text
    return [slot for slot in r.json() if slot["window_no"] == _duty.window]  # type: ignore[attr-defined]


def test_a_county_override_moves_a_rectification_due_date_and_attendance_expectations(suite: Suite) -> None:
    s = suite
    admin = s.admin()
    today = s.now().astimezone(SHANGHAI).date()
    nat = national_calendar()
    closed = nat.next_working_day(today)  # a weekday the county closes: within any 5-day limit
    # A Saturday past the rectification's five working days (else the two changes cancel out there).
    saturday = next(d for d in (today + timedelta(days=i) for i in range(14, 120))
                    if d.weekday() == 5 and not nat.is_working_day(d) and not is_statutory_holiday(d))

    # --- a window with its A post, serving on weekends ----------------------------------------------
    # The suite is shared: a unit the six kinds' test does not pick first (its rating would count
    # twice in that window's evaluation, its complaint in another test's bulletin).
    immediate = guide_items(s, "immediate")
    first_units = {i["unit_code"] for i in immediate[:3]}
    item = next((i for i in reversed(immediate) if i["unit_code"] not in first_units), immediate[-1])
    unit = item["unit_code"]
    names = unit_names(s)
    window = next(u["window_numbers"][0] for u in s.client("intake").get("/intake/guide/units").json()
                  if u["code"] == unit)
    _duty.window = window  # type: ignore[attr-defined]
    a = s.client("attendance")
    r = a.put(f"/attendance/staff/{CLERK}", headers=admin, json={
        "name": "日历窗口", "unit_code": unit, "unit_name": names[unit], "window_no": window,
        "role": "window_clerk", "pin": "7301", "mobile": "13700007301"})
    assert r.status_code == 200, r.text
    r = a.put(f"/attendance/posts/{window}", headers=admin, json={
        "unit_code": unit, "unit_name": names[unit], "post_a": CLERK, "weekend_service": True})
    assert r.status_code == 200, r.text
    before_closed, before_saturday = _duty(s, closed), _duty(s, saturday)
    assert before_closed and all(slot["weekday"] for slot in before_closed), before_closed
    assert before_saturday and not any(slot["weekday"] for slot in before_saturday), before_saturday

    # --- the county's two overrides, in deadline's calendar API -------------------------------------
    d = s.client("deadline")
    versions: list[int] = []
    try:
        for day, working in ((closed, False), (saturday, True)):
            r = d.put(f"/deadline/calendar/days/{day.isoformat()}", headers=admin, json={"working": working, "reason": REASON})
            assert r.status_code == 201, r.text
            versions.append(r.json()["version"])
        _follows_the_county(s, versions, closed, saturday, item, unit, names, window)
    finally:
        # The suite is shared: the other tests count on the national calendar again.
        undone = []
        for day in (closed, saturday):
            r = d.delete(f"/deadline/calendar/days/{day.isoformat()}", headers=admin,
                         params={"reason": "测试结束，恢复国家日历"})
            if r.status_code == 200:
                undone.append(r.json()["version"])
        if undone:
            for service in ("intake", "attendance"):
                eventually(lambda: s.metric(service, f"onewindow_{service}_calendar_version") >= max(undone),
                           timeout=120, what=f"{service} follows the calendar back")


def _follows_the_county(s: Suite, versions: list[int], closed: date, saturday: date, item: dict[str, Any],
                        unit: str, names: dict[str, str], window: str) -> None:
    nat = national_calendar()
    for service in ("intake", "attendance"):
        eventually(lambda: s.metric(service, f"onewindow_{service}_calendar_version") >= versions[-1],
                   timeout=60, what=f"{service} follows the county calendar")

    # --- attendance: no session on the closed weekday, weekday sessions on the working Saturday ----
    assert _duty(s, closed) == []
    after_saturday = _duty(s, saturday)
    assert after_saturday and all(slot["weekday"] for slot in after_saturday), after_saturday

    # --- intake: a low rating's rectification task is due on the county's calendar ------------------
    issue_seals(s, [unit])
    h = s.headers(CLERK, Role.CLERK, unit, "日历窗口")
    intake = s.client("intake")
    r = intake.post("/intake/applications", headers=h, json={
        "item_code": item["code"], "materials": mandatory_materials(s, item["code"]), "accept_if_complete": True,
        "applicant": {"type": "person", "name": "王小明", "mobile": "13900007301", "resident_id": "11010519491231002X"}})
    assert r.status_code == 201, r.text
    rn = r.json()["receipt_no"]
    r = intake.post(f"/intake/applications/{rn}/decision", headers=h, json={
        "outcome": "approved", "decision_text": "经审查，申请材料齐全、符合法定形式，准予行政许可。"})
    assert r.status_code == 200, r.text
    r = intake.post("/intake/public/ratings", json={"receipt_no": rn, "mobile_last4": "7301", "level": "very_dissatisfied"})
    assert r.status_code == 201 and r.json()["rectification_opened"], r.text
    rated_on = s.now().astimezone(SHANGHAI).date()
    tasks = intake.get("/intake/rectifications", headers=s.supervisor(), params={"unit": unit}).json()
    task = next(t for t in tasks if t["receipt_no"] == rn)
    county = CountyCalendar()
    for v, (day, working) in zip(versions, ((closed, False), (saturday, True))):
        county.apply(_Change(v, CalendarAction.ADD_WORKING_DAY if working else CalendarAction.ADD_HOLIDAY, day))
    expected = county.calendar().add_working_days(rated_on, 5)
    assert date.fromisoformat(task["due_on"]) == expected
    if rated_on < closed:  # (a rating after midnight before the closed day would not cross it)
        assert expected != nat.add_working_days(rated_on, 5)

    # --- a process that starts after the changes replays them from the topic ------------------------
    s.stop("attendance")
    s.start("attendance")
    assert s.metric("attendance", "onewindow_attendance_calendar_version") >= versions[-1]
    assert _duty(s, closed) == []
    assert all(slot["weekday"] for slot in _duty(s, saturday))


class _Change:
    """The two overrides as the followers see them (the fold only reads these attributes)."""

    def __init__(self, version: int, action: CalendarAction, day: date) -> None:
        self.calendar_version, self.action, self.day, self.year = version, action, day, day.year
        self.holidays: list[date] = []
        self.working_days: list[date] = []
