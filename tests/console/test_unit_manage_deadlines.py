"""Fast tests of the deadline board, the calendar page and oversight (issue 18, areas 1 and 2)
against a stand-in for the services (httpx.MockTransport), without a browser."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from services.console.app import create_service
from services.console.config import ConsoleSettings
from services.console.routers.manage.board import cards_per_week

from .test_console_unit import SECRET, Stand, csrf_of, sign_in

TODAY = date.today()


def clock(no: str, unit: str = "FGJ", *, state: str = "running", days_left: int | None = 5, overdue: bool = False,
          stops: list[dict[str, Any]] | None = None, extensions: list[dict[str, Any]] | None = None,
          due: date | None = None) -> dict[str, Any]:
    return {"receipt_no": no, "unit_code": unit, "item_code": f"{unit}-001", "case_kind": "promised",
            "accepted_at": "2026-12-01T02:00:00Z", "promised_days": 5, "statutory_days": 20,
            "due_date": (due or TODAY + timedelta(days=3)).isoformat(), "statutory_due_date": "2027-01-05",
            "provisional": False, "state": state, "overdue": overdue, "days_left": days_left, "next_warning_at": None,
            "due_at": None, "stops": stops or [], "extensions": extensions or [], "decided_at": None, "outcome": None,
            "on_time": None, "working_days_used": None, "calendar_version": 0}


RUNNING = [
    clock("2026-FGJ-00001", days_left=1),
    clock("2026-FGJ-00002", days_left=6, extensions=[{"extension_id": "e1", "days": 5, "approved_by": "赵志强",
                                                      "reason": "需现场核查", "granted_at": "2026-12-02T02:00:00Z"}]),
    clock("2026-GAJ-00003", "GAJ", days_left=0, overdue=True, due=TODAY - timedelta(days=2)),
]
STOPPED = [clock("2026-FGJ-00004", state="stopped", stops=[
    {"stop_id": "s1", "reason": "hearing", "started_at": "2026-12-03T02:00:00Z", "ended_at": None, "note": "召开听证会"}])]
SUMMARY = {"today": TODAY.isoformat(), "yellow_days": 2, "units": [
    {"unit_code": "FGJ", "unit_name": "青山县发展和改革局", "open": 3, "yellow": 1, "red": 0, "overdue": 0},
    {"unit_code": "GAJ", "unit_name": None, "open": 1, "yellow": 0, "red": 1, "overdue": 1}],
    "total": {"unit_code": "*", "unit_name": None, "open": 4, "yellow": 1, "red": 1, "overdue": 1}}
NOTICE = {"notice_no": "DB-2026-0001", "unit_code": "FGJ", "receipt_no": "2026-FGJ-00001", "raised_by": "孙敏",
          "raised_at": "2026-12-07T02:00:00Z", "reason": "案件临近期限，请加快办理", "reply_due": "2026-12-14",
          "origin": "manual", "status": "open", "replied_by": None, "replied_at": None, "reply": None}
BULLETIN = {"bulletin_no": "TB-2026-11", "period": "2026-11", "overdue_cases": [], "unit_stats": [
    {"unit_code": "FGJ", "cases_decided": 4, "on_time": 3, "on_time_rate": 0.75, "average_working_days_used": 3.5,
     "immediate_share": 0.25, "overdue_cases": 1, "notices": 0, "violations": 0}],
    "total": {"unit_code": "*", "cases": 4, "on_time": 3, "on_time_rate": 0.75, "working_days_used": 14,
              "average_working_days_used": 3.5, "immediate": 1, "immediate_share": 0.25},
    "notices": [], "violations": [], "published": False}
SAMPLE = {"sample_id": "CC-2026-11-FGJ", "unit_code": "FGJ", "period": "2026-11", "seed": "qs2026", "share": 0.5,
          "population": 4, "receipt_nos": ["2026-FGJ-00009", "2026-FGJ-00010"], "sampled_by": "孙敏",
          "sampled_at": "2026-12-07T02:00:00Z"}


def ok(body: Any, status: int = 200) -> Any:
    return lambda req: httpx.Response(status, json=body)


def problem(status: int, detail: str, field: str | None = None, reason: str | None = None) -> Any:
    body: dict[str, Any] = {"status": status, "title": "提交的信息有误", "detail": detail}
    if field:
        body["errors"] = [{"field": field, "reason": reason or detail}]
    return lambda req: httpx.Response(status, headers={"content-type": "application/problem+json"}, json=body)


class BoardStand(Stand):
    def handler(self, request: httpx.Request) -> httpx.Response:
        path, q = request.url.path, request.url.params
        if request.method == "GET" and path == "/deadline/clocks" and (request.method, path) not in self.answers:
            self.calls.append((request.method, path, {}))
            return httpx.Response(200, json={"running": RUNNING, "stopped": STOPPED, "ended": []}[q.get("state", "running")])
        if request.method == "GET" and path == "/deadline/calendar/days" and (request.method, path) not in self.answers:
            start, end = date.fromisoformat(q["start"]), date.fromisoformat(q["end"])
            days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
            return httpx.Response(200, json=[
                {"day": d.isoformat(), "working": d.weekday() < 5, "weekend": d.weekday() >= 5,
                 "source": "weekdays", "official": True, "override_reason": None} for d in days])
        if request.method == "GET" and path == "/deadline/statistics":
            return httpx.Response(200, json={"first": "2026-11-01", "last": "2026-11-30", "units": [
                {"unit_code": "*", "unit_name": None, "cases": 4, "on_time": 3, "on_time_rate": 0.75,
                 "average_working_days_used": 3.5, "immediate": 1, "immediate_share": 0.25}]})
        return super().handler(request)


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, BoardStand]]:
    stand = BoardStand()
    stand.answers[("GET", "/deadline/clocks/summary")] = ok(SUMMARY)
    stand.answers[("GET", "/deadline/calendar/changes")] = ok([])
    stand.answers[("GET", "/deadline/bulletins/2026-11")] = ok(BULLETIN)
    stand.answers[("GET", "/deadline/notices")] = ok([NOTICE])
    stand.answers[("GET", "/deadline/notices/DB-2026-0001")] = ok(NOTICE)
    stand.answers[("GET", "/deadline/inspections")] = ok([SAMPLE])
    stand.answers[("GET", "/deadline/inspections/CC-2026-11-FGJ")] = ok({**SAMPLE, "results": []})
    settings = ConsoleSettings(data_dir=tmp_path, auth_secret=SECRET, console_demo_accounts=True)
    svc = create_service(settings, transport=httpx.MockTransport(stand.handler))
    async with LifespanManager(svc.api):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://console") as client:
            yield client, stand


def near(html: str, marker: str, text: str, span: int = 300) -> bool:
    i = html.find(marker)
    return i >= 0 and text in html[i:i + span]


# ------------------------------------------------------------------------------ the board


@pytest.mark.timeout(30)
async def test_board_shows_cards_per_unit_stops_extensions_and_charts_with_tables(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    await sign_in(client, "supervisor", "Ducha2026")
    r = await client.get("/manage/deadlines")
    assert r.status_code == 200, r.text
    html = r.text
    units = html[html.index('id="units"'):html.index("</table>", html.index('id="units"'))]
    assert "/manage/deadlines/units/FGJ" in units and "青山县发展和改革局" in units
    assert "黄牌 1" in units and "红牌 1" in units
    stops = html[html.index('id="stops"'):]
    assert "2026-FGJ-00004" in stops[:1500] and "听证" in stops[:1500] and "召开听证会" in stops[:1500]
    ext = html[html.index('id="extensions"'):]
    assert "赵志强" in ext[:1500] and "5个工作日" in ext[:1500]
    assert html.count('role="img"') == 3  # cards per unit, per week, on-time rate: each with its table
    assert 'id="weeks"' in html and 'id="rates"' in html and "75.0%" in html
    opened = html[html.index('id="open-notices"'):]
    assert 'href="/manage/oversight/notices/DB-2026-0001"' in opened[:1500] and "2026年12月14日" in opened[:1500]
    summary_calls = [c for m, p, c in stand.calls if p == "/deadline/clocks/summary"]
    assert summary_calls and summary_calls[0]["role"] == "supervisor"


@pytest.mark.timeout(30)
async def test_unit_drill_down_links_each_case_to_the_desk(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    await sign_in(client, "head", "Fuzeren2026")
    r = await client.get("/manage/deadlines/units/FGJ")
    assert r.status_code == 200
    assert 'href="/desk/cases/2026-FGJ-00001"' in r.text and "黄牌·剩1个工作日" in r.text
    assert "延期5个工作日，批准人：赵志强" in r.text
    asked = [p for m, p, c in stand.calls if p == "/deadline/clocks"]
    assert asked
    other = await client.get("/manage/deadlines/units/GAJ")
    assert other.status_code == 403 and "无权访问" in other.text and "Traceback" not in other.text


@pytest.mark.timeout(30)
async def test_clerks_get_the_refusal_page(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    await sign_in(client)
    for path in ("/manage/deadlines", "/manage/deadlines/calendar", "/manage/oversight",
                 "/manage/oversight/inspections/CC-2026-11-FGJ"):
        r = await client.get(path)
        assert r.status_code == 403 and "无权访问" in r.text and "Traceback" not in r.text, path
    assert not [p for m, p, c in stand.calls if p.startswith("/deadline")]


@pytest.mark.timeout(30)
async def test_deadline_down_names_the_service(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    await sign_in(client, "supervisor", "Ducha2026")
    stand.down.add("deadline")
    for path in ("/manage/deadlines", "/manage/oversight"):
        r = await client.get(path)
        assert r.status_code == 503 and "时限监督服务（deadline）暂时无法访问" in r.text, path


@pytest.mark.timeout(10)
def test_cards_per_week_counts_red_after_the_due_date_and_yellow_in_the_last_working_days() -> None:
    today = date(2026, 12, 9)  # a Wednesday
    working = {date(2026, 10, 1) + timedelta(days=i) for i in range(80)}
    working = {d for d in working if d.weekday() < 5}
    clocks = [
        # Due Fri 4 Dec, still open: yellow on Wed 2 Dec (Thu and Fri left), red on Sat 5 Dec.
        {"due_date": "2026-12-04", "state": "running", "overdue": True, "promised_days": 5},
        # Due Tue 15 Dec: yellow on Fri 11 Dec, after today.
        {"due_date": "2026-12-15", "state": "running", "overdue": False, "promised_days": 5},
        # Due Wed 2 Dec, decided late on Mon 7 Dec: yellow on Mon 30 Nov, red on Thu 3 Dec.
        {"due_date": "2026-12-02", "state": "ended", "on_time": False, "decided_at": "2026-12-07T02:00:00Z",
         "promised_days": 5},
        # Due Tue 8 Dec, decided on Tue 1 Dec, before its yellow day (Fri 4 Dec): no card.
        {"due_date": "2026-12-08", "state": "ended", "on_time": True, "decided_at": "2026-12-01T02:00:00Z",
         "promised_days": 5},
        # A limit of 2 working days never gets the 2-day yellow card (the service's rule).
        {"due_date": "2026-12-03", "state": "running", "overdue": True, "promised_days": 2},
        # Due after the calendar known here: its yellow day is later still (not guessed early).
        {"due_date": "2026-12-28", "state": "running", "overdue": False, "promised_days": 10},
    ]
    weeks = cards_per_week(clocks, {d for d in working if d <= date(2026, 12, 14)}, date(2026, 12, 14), today, 2,
                           weeks=3)
    assert [w["week"] for w in weeks] == [date(2026, 11, 23), date(2026, 11, 30), date(2026, 12, 7)]
    assert [(w["yellow"], w["red"]) for w in weeks] == [(0, 0), (2, 3), (0, 0)]


# ------------------------------------------------------------------------------ the calendar


@pytest.mark.timeout(30)
async def test_calendar_change_is_previewed_then_saved(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    preview = {"day": "2026-12-31", "working": False, "calendar_version": 3, "total": 1, "truncated": False, "clocks": [
        {"receipt_no": "2026-FGJ-00001", "unit_code": "FGJ", "item_code": "FGJ-001", "due_date": "2027-01-04",
         "new_due_date": "2027-01-05", "statutory_due_date": "2027-01-20", "new_statutory_due_date": "2027-01-21"}]}
    posted: list[dict[str, Any]] = []

    def previewed(req: httpx.Request) -> httpx.Response:
        posted.append(json.loads(req.content))
        return httpx.Response(200, json=preview)

    stand.answers[("POST", "/deadline/calendar/preview")] = previewed
    stand.answers[("PUT", "/deadline/calendar/days/2026-12-31")] = ok({}, 201)
    await sign_in(client, "admin", "Guanli2026")
    page = await client.get("/manage/deadlines/calendar")
    assert page.status_code == 200 and 'action="/manage/deadlines/calendar/preview"' in page.text
    form = {"csrf": csrf_of(page.text), "day": "2026-12-31", "action": "off", "reason": "县政府通知（青政发〔2026〕9号）"}
    r = await client.post("/manage/deadlines/calendar/preview", data=form)
    assert r.status_code == 200
    assert posted == [{"day": "2026-12-31", "working": False, "reason": "县政府通知（青政发〔2026〕9号）"}]
    table = r.text[r.text.index('id="preview-clocks"'):]
    assert "2026-FGJ-00001" in table and "2027年1月4日" in table and "2027年1月5日" in table
    assert not [c for c in stand.calls if c[0] == "PUT"]  # nothing saved by the preview
    saved = await client.post("/manage/deadlines/calendar", data=form)
    assert saved.status_code == 303 and saved.headers["location"].startswith("/manage/deadlines/calendar?done=1")
    assert [c for c in stand.calls if c[0] == "PUT" and c[1] == "/deadline/calendar/days/2026-12-31"]


@pytest.mark.timeout(30)
async def test_calendar_refusal_next_to_its_field_and_typed_values_kept(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    stand.answers[("POST", "/deadline/calendar/preview")] = problem(422, "2026-12-30 没有本县的调整记录", "day",
                                                                     "2026-12-30 没有本县的调整记录")
    await sign_in(client, "admin", "Guanli2026")
    page = await client.get("/manage/deadlines/calendar")
    r = await client.post("/manage/deadlines/calendar/preview", data={
        "csrf": csrf_of(page.text), "day": "2026-12-30", "action": "remove", "reason": "撤销临时放假"})
    assert r.status_code == 422
    assert near(r.text, 'id="f-day-error"', "没有本县的调整记录")
    assert 'value="2026-12-30"' in r.text and "撤销临时放假</textarea>" in r.text
    assert re.search(r'value="remove"\s+selected', r.text)
    blank = await client.post("/manage/deadlines/calendar/preview", data={"csrf": csrf_of(page.text), "day": "",
                                                                          "action": "off", "reason": ""})
    assert blank.status_code == 422 and near(blank.text, 'id="f-reason-error"', "请写明调整原因")


@pytest.mark.timeout(30)
async def test_only_the_center_admin_changes_the_calendar(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    await sign_in(client, "supervisor", "Ducha2026")
    page = await client.get("/manage/deadlines/calendar")
    assert page.status_code == 200 and "预览影响" not in page.text
    r = await client.post("/manage/deadlines/calendar/preview", data={"csrf": csrf_of(page.text), "day": "2026-12-31",
                                                                      "action": "off", "reason": "临时放假"})
    assert r.status_code == 403 and "无权访问" in r.text


# ------------------------------------------------------------------------------ oversight


@pytest.mark.timeout(30)
async def test_oversight_page_bulletin_notices_samples_and_downloads(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    stand.answers[("GET", "/deadline/bulletins/2026-11/document")] = lambda req: httpx.Response(
        200, text="# 2026年11月审批服务办理情况通报\n", headers={"content-type": "text/markdown; charset=utf-8"})
    await sign_in(client, "supervisor", "Ducha2026")
    r = await client.get("/manage/oversight?period=2026-11")
    assert r.status_code == 200
    html = r.text
    assert "TB-2026-11" in html and "草稿" in html and "75.0%" in html
    assert near(html, 'href="/manage/oversight/notices/DB-2026-0001"', "DB-2026-0001")
    assert "2026年12月14日" in html and "待回复" in html
    assert "<code>qs2026</code>" in html and "2 / 4 件" in html
    doc = await client.get("/manage/oversight/bulletins/2026-11/document")
    assert doc.status_code == 200 and doc.headers["content-type"].startswith("text/markdown")
    assert "attachment" in doc.headers["content-disposition"] and "通报" in doc.text
    js = await client.get("/manage/oversight/bulletins/2026-11/json")
    assert js.json()["bulletin_no"] == "TB-2026-11"


@pytest.mark.timeout(30)
async def test_issuing_a_notice_refused_next_to_the_field_then_issued(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    stand.answers[("POST", "/deadline/notices")] = problem(422, "回复期限应为1至30个工作日", "reply_days")
    await sign_in(client, "supervisor", "Ducha2026")
    page = await client.get("/manage/oversight?period=2026-11")
    form = {"csrf": csrf_of(page.text), "period": "2026-11", "unit_code": "FGJ", "receipt_no": "2026-FGJ-00001",
            "reason": "请说明超期原因", "reply_days": "45", "origin": "manual"}
    r = await client.post("/manage/oversight/notices", data=form)
    assert r.status_code == 422
    assert near(r.text, 'id="n-f-reply_days-error"', "回复期限应为1至30个工作日")
    assert 'value="45"' in r.text and "请说明超期原因</textarea>" in r.text
    stand.answers[("POST", "/deadline/notices")] = ok(NOTICE, 201)
    done = await client.post("/manage/oversight/notices", data={**form, "reply_days": "5"})
    assert done.status_code == 303 and done.headers["location"] == "/manage/oversight/notices/DB-2026-0001?done=notice"


@pytest.mark.timeout(30)
async def test_the_unit_head_replies_to_the_notice(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    replies: list[dict[str, Any]] = []

    def replied(req: httpx.Request) -> httpx.Response:
        replies.append(json.loads(req.content))
        return httpx.Response(200, json={**NOTICE, "status": "replied", "reply": replies[-1]["reply"]})

    stand.answers[("POST", "/deadline/notices/DB-2026-0001/reply")] = replied
    await sign_in(client, "head", "Fuzeren2026")
    page = await client.get("/manage/oversight/notices/DB-2026-0001")
    assert page.status_code == 200 and "回复督办" in page.text
    blank = await client.post("/manage/oversight/notices/DB-2026-0001/reply", data={"csrf": csrf_of(page.text), "reply": " "})
    assert blank.status_code == 422 and near(blank.text, 'id="f-reply-error"', "请填写整改情况")
    r = await client.post("/manage/oversight/notices/DB-2026-0001/reply",
                          data={"csrf": csrf_of(page.text), "reply": "已于当日办结，并对窗口人员进行提醒"})
    assert r.status_code == 303 and replies == [{"reply": "已于当日办结，并对窗口人员进行提醒"}]
    assert (await client.get("/manage/oversight")).status_code == 403  # the rest of oversight is not a unit head's


@pytest.mark.timeout(30)
async def test_drawing_a_sample_refused_next_to_the_field_and_recording_a_finding(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    stand.answers[("POST", "/deadline/inspections")] = problem(409, "单位 FGJ 2026年11月的抽查样本已经抽取", "period")
    recorded: list[dict[str, Any]] = []

    def record(req: httpx.Request) -> httpx.Response:
        recorded.append(json.loads(req.content))
        return httpx.Response(201, json={})

    stand.answers[("POST", "/deadline/inspections/CC-2026-11-FGJ/results")] = record
    await sign_in(client, "supervisor", "Ducha2026")
    page = await client.get("/manage/oversight?period=2026-11")
    r = await client.post("/manage/oversight/inspections", data={
        "csrf": csrf_of(page.text), "page_period": "2026-11", "unit_code": "FGJ", "period": "2026-11", "share": "50",
        "seed": "qs2026"})
    assert r.status_code == 422 and near(r.text, 'id="s-f-period-error"', "抽查样本已经抽取")
    assert 'value="qs2026"' in r.text and 'value="50"' in r.text
    sample = await client.get("/manage/oversight/inspections/CC-2026-11-FGJ")
    assert sample.status_code == 200 and 'id="seed">qs2026' in sample.text
    done = await client.post("/manage/oversight/inspections/CC-2026-11-FGJ/results", data={
        "csrf": csrf_of(sample.text), "receipt_no": "2026-FGJ-00009", "result": "violation", "notes": "未一次性告知",
        "raise_notice": "1", "reply_days": ""})
    assert done.status_code == 303
    assert recorded == [{"receipt_no": "2026-FGJ-00009", "result": "violation", "notes": "未一次性告知",
                         "raise_notice": True, "reply_days": None}]
