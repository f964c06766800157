"""``GET /attendance/presence``: which windows are open now and who is on duty at each — the A
post if punched in, else the B post — on a weekday as on a weekend."""

from datetime import datetime

import pytest

from contracts.common import Role

from .service_fixture import attendance_service, client, setup_center
from .test_service_conduct import upload

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def svc(tmp_path, monkeypatch):
    monkeypatch.setenv("ONEWINDOW_CLOCK", "2025-06-03T09:10:00+08:00")  # Tuesday, the morning session
    async with attendance_service(tmp_path) as service:
        await setup_center(service)
        yield service


async def test_weekday_windows_open_with_a_or_b_on_duty(svc, monkeypatch):
    async with client(svc, Role.SUPERVISOR) as sup:
        r = await sup.post("/attendance/leaves", json={"staff_id": "S01", "kind": "annual",
                                                       "start": "2025-06-03T00:00", "end": "2025-06-04T00:00"})
        assert r.status_code == 201, r.text
    # 01: A on leave, B came; 02: A and B came (A is on duty); 03: nobody; 04: B only, and A's
    # punch of yesterday does not count.
    await upload(svc, {"S02": [datetime(2025, 6, 3, 8, 40)], "S03": [datetime(2025, 6, 3, 8, 20)],
                       "S04": [datetime(2025, 6, 3, 8, 10)], "S08": [datetime(2025, 6, 3, 8, 44)],
                       "S07": [datetime(2025, 6, 2, 8, 20)]})
    async with client(svc, Role.CLERK, "FGJ") as clerk:
        r = await clerk.get("/attendance/presence")
        assert r.status_code == 200, r.text
        body = r.json()
    w = {x["window_no"]: x for x in body["windows"]}
    assert all(x["open_now"] and x["weekday"] and x["opening"] == "08:30:00" for x in w.values())
    assert (w["01"]["on_duty"], w["01"]["on_duty_post"], w["01"]["on_leave"]) == (
        {"staff_id": "S02", "name": "王芳"}, "B", ["S01"])
    assert w["01"]["post_a"] == {"staff_id": "S01", "name": "张伟"}
    assert (w["02"]["on_duty"]["staff_id"], w["02"]["on_duty_post"], w["02"]["present"]) == ("S03", "A", ["S04", "S03"])
    assert w["03"]["on_duty"] is None and w["03"]["present"] == []
    assert (w["04"]["on_duty"]["staff_id"], w["04"]["on_duty_post"]) == ("S08", "B")
    assert w["04"]["arrived_at"].startswith("2025-06-03T08:44:00")
    assert (body["open_count"], body["staffed_count"]) == (4, 3)

    # At lunch no window is open; the afternoon session is the one shown, nobody on duty yet.
    monkeypatch.setenv("ONEWINDOW_CLOCK", "2025-06-03T12:30:00+08:00")
    async with client(svc, Role.SUPERVISOR) as sup:
        lunch = (await sup.get("/attendance/presence")).json()
    assert lunch["open_count"] == 0 and all(x["opening"] == "14:30:00" and x["on_duty"] is None for x in lunch["windows"])


async def test_weekend_shows_only_weekend_windows_open(svc, monkeypatch):
    monkeypatch.setenv("ONEWINDOW_CLOCK", "2025-06-07T10:00:00+08:00")  # Saturday
    await upload(svc, {"S05": [datetime(2025, 6, 7, 8, 50)]})
    async with client(svc, Role.SUPERVISOR) as sup:
        body = (await sup.get("/attendance/presence")).json()
    w = {x["window_no"]: x for x in body["windows"]}
    assert not w["04"]["open_now"] and w["04"]["opening"] is None and not w["04"]["weekend_service"]
    assert w["03"]["open_now"] and not w["03"]["weekday"] and w["03"]["on_duty"]["staff_id"] == "S05"
    assert w["01"]["open_now"] and w["01"]["on_duty"] is None


async def test_presence_needs_a_staff_token(svc):
    async with client(svc, role=None) as anon:
        r = await anon.get("/attendance/presence")
        assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
