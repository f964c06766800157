"""Input the API fuzzer (and its kind) found answering 500: months and periods off the calendar,
ids beyond the database's integers, impossible staff date ranges, wall times mixed with instants,
and terminal records with numbers the database cannot hold. Each is refused with problem+json
naming the field (or, from a terminal, as a bad line), and nothing is half-written."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from services.attendance import domain, store
from services.attendance.domain import iclock

from .service_fixture import SN, attendance_service, client, outbox, setup_center

SH = ZoneInfo("Asia/Shanghai")
HUGE = 10**20  # beyond 64 bits: SQLite's driver cannot even send it


@pytest.fixture
async def svc(tmp_path):
    async with attendance_service(tmp_path) as service:
        await setup_center(service)
        yield service


def refused(r, field: str) -> str:  # type: ignore[no-untyped-def]
    """The reason of a 422 problem+json naming `field`."""
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 422 and body["errors"][0]["field"] == field, body
    return body["errors"][0]["reason"]


BAD_MONTHS = ["0000-01", "9999-12", "0001-01", "٢٠٢٥-٠١"]


async def test_months_off_the_calendar_are_refused_where_a_month_is_asked(svc):
    async with client(svc) as admin:
        for month in BAD_MONTHS:
            assert "月份" in refused(await admin.get("/attendance/trainings", params={"month": month}), "month") \
                or month == "٢٠٢٥-٠١"
            refused(await admin.get("/attendance/leaves", params={"month": month}), "month")
            refused(await admin.post("/attendance/trainings/fridays", json={"month": month}), "month")
        assert refused(await admin.get("/attendance/trainings", params={"month": "0000-01"}), "month") == \
            "月份应为 YYYY-MM，在 0001-02 至 9999-11 之间"
        # the first and last months the rules can compute still answer
        for month in ("0001-02", "9999-11"):
            assert (await admin.get("/attendance/trainings", params={"month": month})).status_code == 200
            assert (await admin.get("/attendance/leaves", params={"month": month})).status_code == 200
            r = await admin.post("/attendance/trainings/fridays", json={"month": month})
            assert r.status_code == 201 and len(r.json()) >= 3, r.text


@pytest.mark.parametrize("path", ["/attendance/reports/monthly/{}", "/attendance/reports/monthly/{}/xlsx",
                                  "/attendance/evaluation/{}", "/attendance/rankings/{}"])
async def test_report_periods_off_the_calendar_are_refused(svc, path):
    async with client(svc) as admin:
        for period in ("0000", "0000-01", "0001", "9999", "9999-12", "2025-13"):
            refused(await admin.get(path.format(period)), "period")


async def test_a_year_before_1000_is_reported_not_failed(svc):
    # The year's months were named '300-01' (no zero padding) and refused by the report itself.
    async with client(svc) as admin:
        r = await admin.get("/attendance/evaluation/0300")
        assert r.status_code == 200 and r.json()["period"] == "0300"
        r = await admin.post("/attendance/rankings/0300/publish")
        assert r.status_code == 200 and r.json()["events"] == ["RankingPublished"]
        refused(await admin.post("/attendance/rankings/0000/publish"), "period")


async def test_ids_beyond_the_database_integers_are_refused_and_unknown_ones_not_found(svc):
    async with client(svc) as admin:
        for path in ("/attendance/leaves/{}", "/attendance/roster/{}"):
            field = "leave_id" if "leaves" in path else "entry_id"
            refused(await admin.delete(path.format(HUGE)), field)
            refused(await admin.delete(path.format(2**31)), field)
            refused(await admin.delete(path.format(0)), field)
            r = await admin.delete(path.format(2**31 - 1))
            assert r.status_code == 404 and r.json()["errors"][0]["field"] == field


async def test_duty_of_the_calendar_s_last_day_is_refused(svc):
    async with client(svc) as admin:
        assert "日期超出可处理的范围" in refused(await admin.get("/attendance/duty/9999-12-31"), "day")
        refused(await admin.get("/attendance/duty/0001-01-01"), "day")
        assert (await admin.get("/attendance/duty/9999-12-30")).status_code == 200


async def _staff(svc) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    async with client(svc) as admin:
        return {s["staff_id"]: s for s in (await admin.get("/attendance/staff")).json()}


async def test_an_impossible_staff_range_is_refused_and_nothing_is_written(svc):
    today = domain.to_local(datetime.now(UTC), SH).date()
    events_before = len(await outbox(svc, "attendance.staff"))
    base = {"name": "钱七", "unit_code": "TAX", "unit_name": "税务局"}
    async with client(svc) as admin:
        # both given, in the wrong order
        r = await admin.put("/attendance/staff/S20", json={**base, "active_from": "2025-06-10",
                                                           "active_until": "2025-06-01"})
        assert refused(r, "active_until") == "离岗日期不能早于到岗日期"
        # a new member's first day defaults to today: a last day before it is impossible
        r = await admin.put("/attendance/staff/S20", json={**base, "active_until": "2020-01-01"})
        assert "离岗日期 2020-01-01" in refused(r, "active_until")
        # an existing member's stored first day counts too (S01 came on 2025-01-01)
        r = await admin.put("/attendance/staff/S01", json={"name": "改名", "unit_code": "FGJ",
                                                           "unit_name": "发展和改革局", "pin": "1001",
                                                           "active_until": "2024-12-31"})
        assert "不能早于到岗日期 2025-01-01" in refused(r, "active_until")
        # a future joiner set inactive today would end before starting
        later = (today + timedelta(days=30)).isoformat()
        r = await admin.put("/attendance/staff/S21", json={**base, "active_from": later})
        assert r.status_code == 200
        r = await admin.put("/attendance/staff/S21", json={**base, "active_from": later, "active": False})
        assert "今天" in refused(r, "active_until")
        # a member who left may be recorded with a past range
        r = await admin.put("/attendance/staff/S22", json={**base, "active_from": "2020-01-01",
                                                           "active_until": "2020-12-31", "active": False})
        assert r.status_code == 200 and r.json()["active_until"] == "2020-12-31"
    staff = await _staff(svc)
    assert "S20" not in staff
    assert staff["S01"]["name"] == "张伟" and staff["S01"]["active_until"] is None
    assert staff["S21"]["active"] is True and staff["S21"]["active_until"] is None
    # only the two accepted writes emitted events
    assert len(await outbox(svc, "attendance.staff")) == events_before + 2


async def test_wall_times_and_instants_are_not_mixed(svc):
    async with client(svc) as admin:
        r = await admin.post("/attendance/leaves", json={"staff_id": "S05", "kind": "annual",
                                                         "start": "2025-06-16T08:30", "end": "2025-06-16T18:00+08:00"})
        assert refused(r, "end") == "开始和结束时间应同为本地时间，或同带时区"
        r = await admin.post("/attendance/leaves", json={"staff_id": "S05", "kind": "annual",
                                                         "start": "2025-06-16T00:30Z", "end": "2025-06-16T18:00+08:00"})
        assert r.status_code == 201 and r.json()["start"] == "2025-06-16T08:30:00"
        r = await admin.post("/attendance/leaves", json={"staff_id": "S05", "kind": "annual",
                                                         "start": "9999-12-31T10:00-12:00",
                                                         "end": "9999-12-31T20:00-12:00"})
        assert "超出可处理的范围" in refused(r, "start")
        r = await admin.post("/attendance/roster", json=[{"day": "2025-06-14", "window_no": "03", "staff_id": "S09",
                                                          "start": "08:30", "end": "12:00+08:00"}])
        assert refused(r, "0.end") == "时间应为本地时间（如 08:30），不带时区"
        r = await admin.put("/attendance/trainings/T1", json={"session_id": "T1", "day": "2025-06-13",
                                                              "start": "15:00Z", "end": "17:00", "topic": "学习"})
        refused(r, "start")
        r = await admin.post("/attendance/trainings/fridays", json={"month": "2025-10", "start": "15:00+08:00"})
        refused(r, "start")
        r = await admin.post(f"/attendance/devices/{SN}/commands", json={
            "kind": "query_attlog", "start": "2025-06-01T00:00", "end": "2025-06-02T00:00Z"})
        refused(r, "end")


async def _punches(svc) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    async with svc.uow() as uow:
        rows = (await uow.session.execute(select(store.Punch.pin, store.Punch.status))).all()
    return sorted((p, s) for p, s in rows)


async def test_a_terminal_record_the_database_cannot_hold_is_a_bad_line_not_a_failed_upload(svc):
    body = "\n".join([
        "1001\t2025-06-03 08:25:11\t99999999999999999999\t1",  # status beyond any integer column
        "1002\t2025-06-03 08:26:00\t2147483648\t1",             # beyond PostgreSQL's INTEGER
        "1003\t0001-01-01 00:10:00\t0\t1",                      # before the calendar in UTC
        "1004\t2025-06-03 08:27:00\t0\t1",
    ]) + "\n"
    async with client(svc, role=None) as c:
        r = await c.post("/iclock/cdata", params={"SN": SN, "table": "ATTLOG"}, content=body)
        # OK: a 503 would make the terminal resend the same lines for ever
        assert r.status_code == 200 and r.text == "OK"
        assert await _punches(svc) == [("1004", 0)]
        r = await c.post("/iclock/devicecmd", params={"SN": SN},
                         content=f"ID={HUGE}&Return=0&CMD=INFO\nID=1&Return={HUGE}&CMD=DATA\n")
        assert r.status_code == 200 and r.text == "OK"
        r = await c.post("/iclock/cdata", params={"SN": SN, "table": "OPERLOG"},
                         content=f"OPLOG {HUGE}\t0\t2025-06-03 08:00:00\t0\t0\t0\t0\n")
        assert r.status_code == 200 and r.text == "OK"
    async with svc.uow() as uow:
        assert (await uow.session.execute(select(func.count()).select_from(store.OperationLog))).scalar_one() == 0


def test_protocol_numbers_are_ascii_and_within_the_integer_columns():
    assert iclock.parse_int(" -1001 ") == -1001 and iclock.parse_int(str(2**31 - 1)) == 2**31 - 1
    assert iclock.parse_int("0" * 20 + "7") == 7 and iclock.parse_int(str(-(2**31))) == -(2**31)
    for bad in (str(2**31), str(-(2**31) - 1), "9" * 5000, "١", "1_000", "1e3", "", "x"):
        with pytest.raises(ValueError):
            iclock.parse_int(bad)
    assert iclock.push_version("9" * 5000) == (999_999_999,) * 3


async def test_the_spreadsheet_is_made_whatever_a_name_holds(svc):
    # A name with a control character made openpyxl refuse the cell (500); one starting with "="
    # would have become a formula the spreadsheet runs on opening. The API refuses the first at
    # the door; a name stored another way (an older release, a restore) is cleaned in the sheet.
    async with client(svc) as admin:
        r = await admin.put("/attendance/staff/S30", json={"name": "张三\x07", "unit_code": "TAX", "unit_name": "税务局",
                                                           "active_from": "2025-06-01"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "name"
        r = await admin.put("/attendance/staff/S30", json={"name": '=HYPERLINK("http://x")', "unit_code": "TAX",
                                                           "unit_name": "税务局", "active_from": "2025-06-01"})
        assert r.status_code == 200
        async with svc.uow() as uow:
            row = await uow.session.get(store.StaffRow, "S30")
            row.unit_name = "税务\x01局"
            await uow.commit()
        r = await admin.get("/attendance/reports/monthly/2025-06/xlsx")
    assert r.status_code == 200, r.text
    sheet = load_workbook(io.BytesIO(r.content))["个人考勤"]
    cells = {c.value: c.data_type for row in sheet.iter_rows() for c in row if isinstance(c.value, str)}
    assert cells['=HYPERLINK("http://x")'] == "s" and "税务局" in cells
