"""A weekend (双休日正常办理): the AB posts on duty, weekend applications accepted, a duty gap
alerted.

No service lets a caller choose "now", so the five services run, as separate processes, on a
shifted wall clock: time-machine, loaded at their start (tests/e2e/shifted_clock), sets it to
09:20 on the latest Saturday that is a real rest day, and it keeps running from there. Kafka and
this test stay on the real clock (a broker refuses record timestamps from more than an hour in
the future, hence a past Saturday).

- Window 1's A post punches in at 08:55 on the fingerprint terminal (iclock push protocol): the
  09:00 shift is covered. Nobody of window 2's A and B posts has come by 09:15: attendance's
  duty watcher raises DutyGapDetected, and notify sends the duty manager one SMS about it
  (exactly one, although the watcher looks every second). Window 2's B post then arrives: the
  gap is resolved.
- Two applications are received that Saturday at window 1: intake marks them weekend cases, the
  weekend report counts them, the notices are sealed and the SMS sent at once, and the deadline
  service counts the promised limit from the next working day (the Saturday is no working day).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import httpx
import pytest

from contracts.common import Role
from tools.terminal_simulator import Terminal

from .harness import (
    SHANGHAI, Suite, eventually, guide_items, issue_seals, last_weekend_morning, mandatory_materials,
    running_suite, suite_broker, unit_names,
)
from .test_six_kinds import due_date

pytestmark = pytest.mark.e2e

SATURDAY_0920 = last_weekend_morning()
SN = "CQZ7232460099"
DUTY_MANAGER_MOBILE = "13700009999"


@pytest.fixture(scope="module")
def weekend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    with suite_broker(tmp_path_factory.mktemp("weekend-kafka")) as bootstrap:
        with running_suite(bootstrap, tmp_path_factory.mktemp("weekend"), clock=SATURDAY_0920,
                           env={"ONEWINDOW_ATTENDANCE_DUTY_CHECK_SECONDS": "1"}) as s:
            yield s


def local(s: Suite) -> datetime:
    return s.now().astimezone(SHANGHAI)


async def test_a_weekend_ab_posts_on_duty_weekend_applications_and_a_duty_gap_alerted(weekend: Suite) -> None:
    s = weekend
    today: date = local(s).date()
    assert today == SATURDAY_0920.date() and today.weekday() == 5, local(s)
    admin = s.admin()
    a = s.client("attendance")

    # --- the two windows' AB posts and the duty manager ----------------------------------------
    immediate = guide_items(s, "immediate")[0]
    promised = next(i for i in guide_items(s, "promised") if i["unit_code"] != immediate["unit_code"])
    u1, u2 = immediate["unit_code"], promised["unit_code"]
    names = unit_names(s)
    units = {u["code"]: u["window_numbers"][0] for u in s.client("intake").get("/intake/guide/units").json()}
    w1, w2 = units[u1], units[u2]
    people = [
        ("wk-a1", "赵一", u1, w1, "window_clerk", "8101", "13700000001"),
        ("wk-b1", "钱二", u1, w1, "window_clerk", "8102", "13700000002"),
        ("wk-a2", "孙三", u2, w2, "window_clerk", "8201", "13700000003"),
        ("wk-b2", "李四", u2, w2, "window_clerk", "8202", "13700000004"),
        ("wk-duty", "周五", "ZX", None, "duty_manager", "8900", DUTY_MANAGER_MOBILE),
    ]
    for sid, name, unit, window, role, pin, mobile in people:
        r = a.put(f"/attendance/staff/{sid}", headers=admin, json={
            "name": name, "unit_code": unit, "unit_name": names.get(unit, "县行政审批服务中心"), "window_no": window,
            "role": role, "pin": pin, "mobile": mobile})
        assert r.status_code == 200, r.text
    r = a.put(f"/attendance/devices/{SN}", headers=admin, json={"sn": SN, "name": "大厅东侧考勤机", "location": "一楼大厅"})
    assert r.status_code == 200, r.text

    # notify must know the duty manager before a gap is raised (the staff directory and the duty
    # alerts are separate consumers): wait until it has taken in the five registrations.
    eventually(lambda: s.metric("notify", "onewindow_messages_processed_total", handler="staff") >= len(people),
               timeout=60, what="notify knows the staff")

    # Window 1's A post punches in at 08:55 on the terminal.
    async with httpx.AsyncClient(base_url=s.url("attendance"), timeout=30) as http:
        terminal = Terminal(http, SN)
        await terminal.handshake()
        terminal.punch("8101", datetime.combine(today, datetime.min.time()).replace(hour=8, minute=55))
        resp = await terminal.flush()
        assert resp is not None and resp.status_code == 200 and resp.text.startswith("OK"), resp and resp.text

        # Only now the windows serve on weekends: the watcher sees window 1 covered in grace and
        # window 2 uncovered 20 minutes after opening.
        for window, unit, pa, pb in ((w1, u1, "wk-a1", "wk-b1"), (w2, u2, "wk-a2", "wk-b2")):
            r = a.put(f"/attendance/posts/{window}", headers=admin, json={
                "unit_code": unit, "unit_name": names[unit], "post_a": pa, "post_b": pb, "weekend_service": True})
            assert r.status_code == 200, r.text
        posts = {p["window_no"]: p for p in a.get("/attendance/posts", headers=admin).json()}
        assert (posts[w1]["post_a_name"], posts[w1]["post_b_name"]) == ("赵一", "钱二")
        assert (posts[w2]["post_a_name"], posts[w2]["post_b_name"]) == ("孙三", "李四")

        def slots() -> dict[tuple[str, str], dict[str, Any]]:
            r = a.get(f"/attendance/duty/{today.isoformat()}", headers=s.supervisor())
            assert r.status_code == 200, r.text
            return {(x["window_no"], x["opening"][:5]): x for x in r.json()}

        def gap_alerted() -> dict[tuple[str, str], dict[str, Any]]:
            d = slots()
            assert d[(w2, "09:00")]["alerted"], d[(w2, "09:00")]
            return d

        duty = eventually(gap_alerted, timeout=60, what="window 2's gap detected")
        assert duty[(w1, "09:00")]["covered_in_grace"] and duty[(w1, "09:00")]["first_arrival"] == "wk-a1"
        assert not duty[(w1, "09:00")]["alerted"]
        assert duty[(w2, "09:00")]["expected"] == ["wk-a2", "wk-b2"] and duty[(w2, "09:00")]["first_arrival"] is None
        assert not duty[(w1, "14:00")]["alerted"] and not duty[(w2, "14:00")]["alerted"]  # not open yet

        # --- the duty manager's SMS, exactly once -----------------------------------------------
        notify = s.client("notify")

        def alert_sms() -> list[dict[str, Any]]:
            r = notify.get("/notify/messages", params={"template": "staff_duty_gap"}, headers=s.supervisor())
            assert r.status_code == 200, r.text
            page = r.json()
            assert page["total"] >= 1 and all(m["state"] == "delivered" for m in page["items"]), page
            return page["items"]

        sms = eventually(alert_sms, timeout=60, what="the duty manager's SMS")
        assert len(sms) == 1, sms
        assert sms[0]["mobile"] == "137****9999" and sms[0]["recipient_kind"] == "staff"
        assert w2 in sms[0]["text"] and names[u2] in sms[0]["text"], sms[0]["text"]
        outbox = [line for line in s.sms_lines() if line["template"] == "staff_duty_gap"]
        assert [(line["message_id"], line["mobile"]) for line in outbox] == [(sms[0]["id"], DUTY_MANAGER_MOBILE)]

        # Window 2's B post arrives: the gap is resolved (and not raised again).
        terminal.punch("8202", local(s).replace(tzinfo=None, microsecond=0))
        resp = await terminal.flush()
        assert resp is not None and resp.text.startswith("OK"), resp and resp.text
        resolved = eventually(lambda: (d := slots())[(w2, "09:00")]["first_arrival"] == "wk-b2" and d,
                              timeout=30, what="window 2 covered late")
        assert not resolved[(w2, "09:00")]["covered_in_grace"]
    eventually(lambda: s.metric("attendance", "onewindow_outbox_backlog_events") == 0, timeout=30,
               what="attendance's outbox drained")
    assert len(notify.get("/notify/messages", params={"template": "staff_duty_gap"},
                          headers=s.supervisor()).json()["items"]) == 1

    # --- weekend applications at window 1 and window 2 ----------------------------------------
    issue_seals(s, [u1, u2])
    person = {"type": "person", "name": "周末办", "resident_id": "11010519491231002X"}
    received: dict[str, dict[str, Any]] = {}
    for item, sid, mobile in ((immediate, "wk-a1", "13900008801"), (promised, "wk-b2", "13900008802")):
        clerk = s.headers(sid, Role.CLERK, item["unit_code"])
        r = s.client("intake").post("/intake/applications", headers=clerk, json={
            "item_code": item["code"], "materials": mandatory_materials(s, item["code"]),
            "applicant": {**person, "mobile": mobile}})
        assert r.status_code == 201, r.text
        case = r.json()
        assert case["weekend"] is True and case["status"] == "accepted", case
        assert datetime.fromisoformat(case["received_at"]).astimezone(SHANGHAI).date() == today
        received[item["case_kind"]] = {**case, "clerk": clerk, "mobile": mobile}
    imm = received["immediate"]
    decided = s.client("intake").post(f"/intake/applications/{imm['receipt_no']}/decision", headers=imm["clerk"],
                                      json={"outcome": "approved", "decision_text": "准予，当场办结。"})
    assert decided.status_code == 200 and decided.json()["status"] == "decided", decided.text

    weekends = s.client("intake").get("/intake/reports/weekends", headers=s.supervisor()).json()
    assert {"saturday": today.isoformat(), "received": 2} in weekends["weekends"], weekends
    assert s.metric("intake", "onewindow_intake_applications_received_total", weekend="true") == 2

    # The promised case's clock counts from the next working day.
    pro = received["promised"]
    clock = eventually(lambda: (c := s.client("deadline").get(f"/deadline/clocks/{pro['receipt_no']}",
                                                                headers=pro["clerk"])).status_code == 200 and c.json(),
                       timeout=60, what="the weekend case's clock")
    assert clock["due_date"] == due_date(today, promised["promised_days"]).isoformat(), clock
    assert clock["state"] == "running" and clock["overdue"] is False, clock

    # Served on the weekend: the notices sealed and the SMS sent the same Saturday.
    for case, expected in ((imm, {"notice_approval", "survey"}), (pro, {"notice_acceptance"})):
        def sent(case: dict[str, Any] = case, expected: set[str] = expected) -> list[dict[str, Any]]:
            r = s.client("notify").get("/notify/messages", params={"receipt_no": case["receipt_no"]}, headers=case["clerk"])
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            assert {m["template"] for m in items} == expected and len(items) == len(expected), items
            assert all(m["state"] == "delivered" for m in items), items
            return items

        for m in eventually(sent, timeout=60, what=f"SMS of {case['receipt_no']}"):
            assert datetime.fromisoformat(m["delivered_at"]).astimezone(SHANGHAI).date() == today
