"""Odd requests the API fuzzer sends (tests/fuzz), each answered with a refusal that names the
field, never a server error: months and days at the calendar's edges, instants that have not
happened, keys that cannot name a row, and free text with control characters (PostgreSQL refuses
NUL in text: run with ONEWINDOW_TEST_POSTGRES_URL to see the database side too)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from contracts.common import Role
from services.deadline.app import create_service
from services.deadline.config import DeadlineSettings
from services.deadline.domain import DeadlineError
from services.deadline.domain.oversight import Period
from services.runtime.app import Service
from services.runtime.testing import in_memory, publish

from .helpers import local
from .intake_events import UNIT, accepted

R1 = "2025-SCJG-00001"


@pytest.fixture
async def svc(tmp_path: Path, database_url: str) -> AsyncIterator[Service]:
    service = create_service(
        DeadlineSettings(
            data_dir=tmp_path, database_url=database_url, auth_secret="deadline-test-secret-0123456789abcdef",
            consumer_retry_backoff=0.0, consumer_max_retries=0, deadline_workers=False,
        )
    )
    async with in_memory(service):
        await publish(service, accepted(R1, local(2025, 9, 26, 10)))
        yield service


def admin(svc: Service) -> httpx.AsyncClient:
    token = svc.auth.issue("admin-1", Role.CENTER_ADMIN, None, "赵管理")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://deadline",
                             headers={"Authorization": f"Bearer {token}"})


def refused(r: httpx.Response, field: str, status: int = 422) -> str:
    """The reason given for ``field``, after checking the refusal's shape."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    (reason,) = [e["reason"] for e in r.json()["errors"] if e["field"] == field]
    return reason


def test_a_month_must_have_computable_bounds() -> None:
    # 9999-12 has no next month's first day, 0001-01 no UTC midnight; full-width digits are no month.
    for bad in ("9999-12", "0001-01", "0000-05", "２０２５-01", "2025-1_"):
        with pytest.raises(DeadlineError) as err:
            Period.parse(bad)
        assert err.value.field == "period" and "0001-02 至 9999-11" in str(err.value)
    assert (Period.parse("9999-11").last, str(Period.parse("0001-02"))) == (Period(9999, 11).last, "0001-02")


async def test_months_at_the_calendars_edges_are_refused_not_failed(svc: Service) -> None:
    async with admin(svc) as c:
        for period in ("9999-12", "0001-01"):
            for r in (
                await c.get(f"/deadline/bulletins/{period}"),
                await c.get(f"/deadline/bulletins/{period}/document"),
                await c.get("/deadline/statistics", params={"period": period}),
                await c.post("/deadline/bulletins", json={"period": period}),
                await c.post("/deadline/inspections", json={"unit_code": UNIT, "period": period}),
            ):
                assert "YYYY-MM" in refused(r, "period")
        # The months next to them are ordinary months.
        r = await c.get("/deadline/bulletins/9999-11")
        assert r.status_code == 200 and r.json()["period"] == "9999-11" and r.json()["published"] is False
        r = await c.get("/deadline/bulletins/0001-02/document")
        assert r.status_code == 200 and "1年2月" in r.text


async def test_the_calendar_lists_its_last_day(svc: Service) -> None:
    async with admin(svc) as c:
        r = await c.get("/deadline/calendar/days", params={"start": "9999-12-30", "end": "9999-12-31"})
        assert r.status_code == 200, r.text
        assert [d["day"] for d in r.json()] == ["9999-12-30", "9999-12-31"]
        r = await c.get("/deadline/calendar/due-date", params={"accepted_on": "9999-12-31", "days": 1})
        assert "9999" in refused(r, "days")


async def test_stops_cannot_start_or_end_in_the_future_or_before_year_one(svc: Service) -> None:
    async with admin(svc) as c:
        for started_at in ("9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59.999999+14:00", "2999-01-01T00:00:00+08:00"):
            r = await c.post(f"/deadline/clocks/{R1}/stops", json={"reason": "hearing", "started_at": started_at})
            assert "不能晚于当前时间" in refused(r, "started_at")
        r = await c.post(f"/deadline/clocks/{R1}/stops", json={"reason": "hearing", "started_at": "0001-01-01T00:00:00+14:00"})
        assert "受理日期" in refused(r, "started_at")
        assert (await c.get(f"/deadline/clocks/{R1}")).json()["state"] == "running"

        r = await c.post(f"/deadline/clocks/{R1}/stops", json={
            "reason": "hearing", "started_at": "2025-10-13T09:00:00+08:00", "stop_id": "h1"})
        assert r.status_code == 201 and r.json()["state"] == "stopped"
        # Ending it in year 2500 once moved the due date to 2501; at 9999-12-31 it failed.
        for ended_at in ("2500-12-31T12:00:00+00:00", "9999-12-31T12:00:00+00:00", "9999-12-31T23:59:59-12:00"):
            r = await c.post(f"/deadline/clocks/{R1}/stops/h1/end", json={"ended_at": ended_at})
            assert "不能晚于当前时间" in refused(r, "ended_at")
        clock = (await c.get(f"/deadline/clocks/{R1}")).json()
        assert clock["state"] == "stopped" and clock["due_date"] == "2025-10-16"
        r = await c.post(f"/deadline/clocks/{R1}/stops/h1/end", json={"ended_at": "2025-10-15T17:00:00+08:00"})
        assert r.status_code == 200 and r.json()["due_date"] == "2025-10-20"


async def test_keys_that_cannot_name_a_row_are_not_found(svc: Service) -> None:
    async with admin(svc) as c:
        for method, path, body, field in (
            ("GET", "/deadline/clocks/%00", None, "receipt_no"),
            ("GET", "/deadline/clocks/" + "9" * 300, None, "receipt_no"),
            ("POST", "/deadline/clocks/A%00B/stops", {"reason": "hearing"}, "receipt_no"),
            ("POST", "/deadline/clocks/%00/extensions", {"days": 1, "reason": "需现场核查"}, "receipt_no"),
            ("GET", "/deadline/notices/DB%00", None, "notice_no"),
            ("POST", "/deadline/notices/%00/reply", {"reply": "已整改完毕"}, "notice_no"),
            ("GET", "/deadline/inspections/CC%00", None, "sample_id"),
            ("POST", "/deadline/inspections/%00/results", {"receipt_no": R1, "result": "compliant"}, "sample_id"),
        ):
            r = await c.request(method, path, json=body)
            refused(r, field, 404)
        r = await c.get("/deadline/clocks", params={"after": "2025\x00"})
        assert "控制字符" in refused(r, "after")


async def test_free_text_with_control_characters_is_refused(svc: Service) -> None:
    async with admin(svc) as c:
        r = await c.post("/deadline/notices", json={"unit_code": UNIT, "reason": "超期\x00未办"})
        assert "控制字符" in refused(r, "reason")
        r = await c.post("/deadline/notices", json={"unit_code": UNIT, "reason": "超期未办，\n请于五个工作日内整改\t说明"})
        assert r.status_code == 201, r.text  # line breaks and tabs are text
        notice_no = r.json()["notice_no"]
        for method, path, body, params, field in (
            ("POST", f"/deadline/notices/{notice_no}/reply", {"reply": "已整改\x00"}, None, "reply"),
            ("POST", f"/deadline/clocks/{R1}/stops", {"reason": "hearing", "note": "听证\x1b[31m"}, None, "note"),
            ("POST", f"/deadline/clocks/{R1}/extensions", {"days": 5, "reason": "需现场\x00核查"}, None, "reason"),
            ("PUT", "/deadline/calendar/days/2030-01-02", {"working": False, "reason": "县级\x00放假"}, None, "reason"),
            ("DELETE", "/deadline/calendar/days/2030-01-02", None, {"reason": "撤销\x00"}, "reason"),
            ("PUT", "/deadline/calendar/schedules/2031", {"holidays": ["2031-01-01"], "reason": "国办\x00"}, None, "reason"),
            ("POST", "/deadline/inspections/CC-2025-09-SCJG/results",
             {"receipt_no": R1, "result": "violation", "notes": "超期\x00"}, None, "notes"),
        ):
            r = await c.request(method, path, json=body, params=params)
            assert "控制字符" in refused(r, field), (method, path)
        clock = (await c.get(f"/deadline/clocks/{R1}")).json()
        assert (clock["state"], clock["stops"], clock["extensions"]) == ("running", [], [])
        assert (await c.get("/deadline/calendar/changes")).json() == []


async def test_a_long_name_in_the_token_is_cut_to_what_events_and_columns_hold(svc: Service) -> None:
    # The token's issuer (the county's OIDC provider) chooses the name; events and columns hold 80.
    token = svc.auth.issue("sup-1", Role.SUPERVISOR, None, "督" * 100)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://deadline",
                                 headers={"Authorization": f"Bearer {token}"}) as sup:
        r = await sup.post("/deadline/notices", json={"unit_code": UNIT, "reason": "超期未办"})
        assert r.status_code == 201, r.text
        assert r.json()["raised_by"] == "督" * 80
        r = await sup.post(f"/deadline/clocks/{R1}/extensions", json={"days": 2, "reason": "需现场核查"})
        assert r.status_code == 201 and r.json()["extensions"][0]["approved_by"] == "督" * 80, r.text
