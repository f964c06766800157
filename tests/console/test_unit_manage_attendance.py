"""The attendance pages (/manage/attendance) against a stand-in for the attendance service: the
monthly report with its chart and table, the XLSX passed through, the awards with the formula,
registering a person (errors next to the field, what was typed kept), who may open them."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.console.test_console_unit import console, csrf_of, sign_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.timeout(60)

WINDOW = {"window_no": "01", "unit_code": "FGJ", "unit_name": "发改局", "post_a": "s1", "post_b": "s2",
          "staff_count": 2, "required_sessions": 40, "late": 3, "early_leave": 1, "missing_punches": 2,
          "absent_sessions": 0, "leave_sessions": 2, "duty_slots": 4, "duty_gaps": 1, "attendance_score": 96.5}
PERSON = {"staff_id": "s1", "name": "王小丽", "unit_code": "FGJ", "unit_name": "发改局", "window_no": "01",
          "required_sessions": 20, "on_time_sessions": 17, "irregular_sessions": 3, "late": 3, "late_minutes": 25,
          "early_leave": 1, "early_minutes": 10, "missing_punches": 2, "absent_sessions": 0, "leave_sessions": 2,
          "leave_by_kind": {"sick": 2}, "training_due": 4, "training_attended": 3, "training_late": 1,
          "duty_shifts": 2, "duty_shifts_missed": 1, "attendance_rate": 0.85, "attendance_score": 93.0}
REPORT = {"period": "2026-11", "working_days": 20, "as_of": "2026-11-20T15:30:00", "people": [PERSON],
          "windows": [WINDOW], "duty_gaps": [{"window_no": "01", "unit_name": "发改局", "day": "2026-11-14",
                                               "opening": "09:00:00", "closing": "12:00:00", "arrived_staff": None,
                                               "arrived_at": None}]}
PARTS = {"on_time_rate": 0.98, "satisfaction_index": 99.0, "attendance_score": 96.5, "supervision_notices": 0,
         "cases": 120, "cases_on_time": 118, "ratings": 80}
EVALUATION = {"period": "2026-11", "formula": "综合得分 = 按时办结率×40 + 满意度×40 + 考勤得分×20 − 督办通知书×5",
              "weights": {"on_time": 40, "satisfaction": 40, "attendance": 20, "supervision_penalty": 5},
              "windows": [{**{k: WINDOW[k] for k in ("window_no", "unit_code", "unit_name")}, "score": 97.2,
                           "parts": PARTS, "duty_gaps": 1, "eligible": False, "reasons": ["duty_gap"]}],
              "people": [{**{k: PERSON[k] for k in ("staff_id", "name", "unit_code", "unit_name", "window_no")},
                          "score": 95.1, "parts": PARTS, "eligible": True, "reasons": []}],
              "red_flag_windows": [], "service_stars": [{**{k: PERSON[k] for k in
                                                            ("staff_id", "name", "unit_code", "unit_name", "window_no")},
                                                         "score": 95.1, "parts": PARTS, "eligible": True, "reasons": [],
                                                         "rank": 1}]}


def _attendance(stand: Any) -> None:
    stand.answers[("GET", "/attendance/reports/monthly/2026-11")] = lambda req: httpx.Response(200, json=REPORT)
    stand.answers[("GET", "/attendance/reports/monthly/2026-11/xlsx")] = lambda req: httpx.Response(
        200, content=b"PK\x03\x04fake", headers={
            "content-type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    stand.answers[("GET", "/attendance/evaluation/2026-11")] = lambda req: httpx.Response(200, json=EVALUATION)
    stand.answers[("GET", "/attendance/rankings/2026-11")] = lambda req: httpx.Response(
        200, json={**{k: EVALUATION[k] for k in ("period", "formula", "weights", "red_flag_windows", "service_stars")},
                   "published": True})
    stand.answers[("GET", "/attendance/staff")] = lambda req: httpx.Response(200, json=[])
    stand.answers[("GET", "/attendance/posts")] = lambda req: httpx.Response(200, json=[
        {"window_no": "01", "unit_code": "FGJ", "unit_name": "发改局", "post_a": "s1", "post_b": None,
         "weekend_service": True, "post_a_name": "王小丽", "post_b_name": None}])
    stand.answers[("GET", "/attendance/roster")] = lambda req: httpx.Response(200, json=[])
    stand.answers[("GET", "/attendance/devices")] = lambda req: httpx.Response(200, json=[])
    stand.answers[("GET", "/attendance/devices-unknown")] = lambda req: httpx.Response(200, json=[
        {"sn": "CQZ7224460001", "first_seen_at": "2026-12-01T01:00:00Z", "last_seen_at": "2026-12-07T01:00:00Z",
         "last_ip": "10.0.0.9", "attempts": 42}])
    stand.answers[("GET", "/attendance/trainings")] = lambda req: httpx.Response(200, json=[
        {"session_id": "fri-2026-11-06", "day": "2026-11-06", "start": "15:00:00", "end": "17:00:00",
         "topic": "集中学习培训", "staff_ids": None}])
    stand.answers[("GET", "/attendance/leaves")] = lambda req: httpx.Response(200, json=[
        {"id": 1, "staff_id": "s1", "kind": "sick", "start": "2026-11-10T08:30:00", "end": "2026-11-10T17:30:00",
         "reason": "", "approved": True, "approved_by": "head-fgj"}])
    stand.answers[("GET", "/attendance/duty/2026-11-14")] = lambda req: httpx.Response(200, json=[
        {"window_no": "01", "unit_name": "发改局", "day": "2026-11-14", "opening": "09:00:00", "closing": "12:00:00",
         "expected": ["s1", "s2"], "covered_in_grace": False, "first_arrival": None, "arrived_at": None,
         "alerted": True, "weekday": False, "on_leave": []}])


async def test_a_clerk_is_refused_and_a_supervisor_reads_the_report(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    _attendance(stand)
    await sign_in(client, "clerk", "Chuangkou2026")
    r = await client.get("/manage/attendance?month=2026-11")
    assert r.status_code == 403 and "此页面仅供" in r.text
    assert not [p for _, p, _ in stand.calls if p.startswith("/attendance/")]

    client.cookies.clear()
    await sign_in(client, "supervisor", "Ducha2026")
    r = await client.get("/manage/attendance?month=2026-11")
    assert r.status_code == 200
    assert "<svg" in r.text and 'role="img"' in r.text  # the chart (H2's charts), inline, no script
    assert "各窗口考勤异常" in r.text and "迟到" in r.text
    assert "王小丽" in r.text and "85.0%" in r.text and "4 / 3 / 1" in r.text  # the training sign-ins
    assert "无人到岗" in r.text  # the duty gap
    assert "统计截至 2026年11月20日 15:30" in r.text  # the service's wall time, not read as UTC
    assert 'href="/manage/attendance/report.xlsx?month=2026-11"' in r.text
    # A month that is not one falls back to this month (the service is asked about a real one only).
    r = await client.get("/manage/attendance?month=2026-13")
    assert [p for _, p, _ in stand.calls if p.startswith("/attendance/reports/")][-1].endswith(tuple("0123456789"))


async def test_the_xlsx_is_the_services_own(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    _attendance(stand)
    await sign_in(client, "admin", "Guanli2026")
    r = await client.get("/manage/attendance/report.xlsx?month=2026-11")
    assert r.status_code == 200 and r.content == b"PK\x03\x04fake"
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r.headers["content-disposition"] and "2026-11" in r.headers["content-disposition"]


async def test_awards_show_the_formula_and_the_stars(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    _attendance(stand)
    await sign_in(client, "supervisor", "Ducha2026")
    r = await client.get("/manage/attendance/awards?period=2026-11")
    assert r.status_code == 200
    assert EVALUATION["formula"] in r.text and "已公布" in r.text
    assert "服务之星" in r.text and "王小丽" in r.text and "95.1" in r.text
    assert "有值守空岗" in r.text  # why the window is not eligible
    assert "<svg" in r.text


async def test_other_tabs_render(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    _attendance(stand)
    await sign_in(client, "supervisor", "Ducha2026")
    r = await client.get("/manage/attendance/terminals")
    assert r.status_code == 200 and "CQZ7224460001" in r.text and "42" in r.text
    r = await client.get("/manage/attendance/duty?day=2026-11-14")
    assert r.status_code == 200 and "空岗" in r.text and "已提醒值班负责人" in r.text
    assert "集中学习培训" in r.text and "病假" in r.text and "2026-11-10 08:30" in r.text
    r = await client.get("/manage/attendance/staff")
    assert r.status_code == 200 and "王小丽" in r.text
    assert 'action="/manage/attendance/staff"' not in r.text  # registering is the center admin's


async def test_registering_a_person_refuses_what_the_service_refuses(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    _attendance(stand)
    sent: list[tuple[str, dict[str, Any]]] = []

    def put(req: httpx.Request) -> httpx.Response:
        body = json.loads(req.content)
        sent.append((req.url.path, body))
        if body.get("mobile") == "12345":
            return httpx.Response(422, json={"status": 422, "detail": "提交的信息有误",
                                             "errors": [{"field": "mobile", "reason": "手机号码应为11位数字"}]})
        return httpx.Response(200, json={**body, "staff_id": "s9", "active": True, "updated_at": "2026-12-07T00:00:00Z"})

    stand.answers[("PUT", "/attendance/staff/s9")] = put
    await sign_in(client, "admin", "Guanli2026")
    page = await client.get("/manage/attendance/staff")
    csrf = csrf_of(page.text)
    r = await client.post("/manage/attendance/staff", data={"csrf": csrf, "staff_id": "s 9", "name": "",
                                                            "role": "window_clerk"})
    assert r.status_code == 422 and sent == []
    assert "工号只能由字母" in r.text and "请填写姓名" in r.text and 'value="s 9"' in r.text
    form = {"csrf": csrf, "staff_id": "s9", "name": "赵六", "unit_code": "FGJ", "unit_name": "发改局",
            "window_no": "01", "role": "window_clerk", "pin": "9", "mobile": "12345"}
    r = await client.post("/manage/attendance/staff", data=form)
    assert r.status_code == 422 and "手机号码应为11位数字" in r.text and 'value="赵六"' in r.text
    assert 'id="f-mobile-error"' in r.text
    r = await client.post("/manage/attendance/staff", data={**form, "mobile": "13800001111"})
    assert r.status_code == 303 and r.headers["location"] == "/manage/attendance/staff?done=staff"
    assert sent[-1] == ("/attendance/staff/s9", {"name": "赵六", "unit_code": "FGJ", "unit_name": "发改局",
                                                 "window_no": "01", "pin": "9", "mobile": "13800001111",
                                                 "role": "window_clerk"})
