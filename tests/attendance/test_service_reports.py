"""The service on the in-memory broker: consumed facts, the weekend duty watcher, the monthly
report (JSON and XLSX), the evaluation and the published rankings for a simulated month."""

import io
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from contracts.common import CaseKind, Role
from contracts.deadline import ClockEnded, NoticeSource, SupervisionNoticeIssued
from contracts.intake import RatingLevel, RatingSubmitted
from services.attendance import domain, store, workers
from services.attendance.domain import monthly
from services.attendance.schemas import report_json
from services.attendance.usecases.duty import check_duty
from services.attendance.usecases.reports import publish_due
from services.runtime.testing import publish
from services.runtime.workdays import national_calendar
from tools.terminal_simulator import Terminal

from .conftest import POSTS, STAFF
from .month_fixture import FRIDAY_TRAININGS, june_punches
from .service_fixture import SN, attendance_service, client, outbox, setup_center

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def svc(tmp_path):
    async with attendance_service(tmp_path) as service:
        await setup_center(service)
        yield service


def clock_ended(receipt: str, unit: str, on_time: bool, day: int = 10) -> ClockEnded:
    return ClockEnded(receipt_no=receipt, unit_code=unit, item_code="ITEM-01", case_kind=CaseKind.PROMISED,
                      decided_at=datetime(2025, 6, day, 3, tzinfo=UTC), outcome="approved",
                      due_date=date(2025, 6, day), on_time=on_time, within_statutory=True, working_days_used=3,
                      working_days_stopped=0, late_working_days=0 if on_time else 2)


def rating(receipt: str, unit: str, score: int, by: str | None = None) -> RatingSubmitted:
    levels = {5: RatingLevel.VERY_SATISFIED, 4: RatingLevel.SATISFIED, 3: RatingLevel.BASICALLY_SATISFIED,
              2: RatingLevel.DISSATISFIED, 1: RatingLevel.VERY_DISSATISFIED}
    return RatingSubmitted(receipt_no=receipt, unit_code=unit, item_code="ITEM-01", level=levels[score],
                           score=score, has_comment=False, accepted_by=by,
                           rated_at=datetime(2025, 6, 12, 6, tzinfo=UTC))


async def test_facts_from_the_other_services_are_kept(svc):
    await publish(svc, clock_ended("FGJ-2025-0001", "FGJ", True))
    env = await publish(svc, clock_ended("FGJ-2025-0002", "FGJ", False))
    await publish(svc, clock_ended("FGJ-2025-0002", "FGJ", False), id=env.id)  # redelivered: no effect
    await publish(svc, rating("FGJ-2025-0001", "FGJ", 4, by="S01"))
    await publish(svc, SupervisionNoticeIssued(
        notice_no="DB-2025-017", unit_code="SCJ", raised_by="督查科", raised_at=datetime(2025, 6, 20, 2, tzinfo=UTC),
        reason="超期未办结", reply_due=date(2025, 6, 27), origin=NoticeSource.OVERDUE))
    async with svc.uow() as uow:
        outs, rates, notes = await store.facts_between(uow.session, datetime(2025, 6, 1, tzinfo=SH),
                                                       datetime(2025, 7, 1, tzinfo=SH), {"S01"})
    assert sorted((o.receipt_no, o.on_time) for o in outs) == [("FGJ-2025-0001", True), ("FGJ-2025-0002", False)]
    assert [(r.score, r.staff_id) for r in rates] == [(4, "S01")]
    assert [(n.notice_no, n.unit_code) for n in notes] == [("DB-2025-017", "SCJ")]


async def _upload(svc, punches: dict[str, list[datetime]]) -> None:
    pins = {s.staff_id: s.pin for s in STAFF}
    async with client(svc, role=None) as c:
        t = Terminal(c, SN)
        for sid, times in punches.items():
            for p in times:
                t.punch(pins[sid], p)
        r = await t.flush()
        assert r.text == "OK"


async def test_weekend_ab_gap_fires_once_and_resolves(svc):
    """Saturday 7 June: 01's A and 02's B arrive; nobody of window 03 does until 09:40."""
    await _upload(svc, {"S01": [datetime(2025, 6, 7, 8, 52)], "S04": [datetime(2025, 6, 7, 9, 11)]})
    before = await check_duty(svc, datetime(2025, 6, 7, 9, 14, tzinfo=SH))
    assert before == []  # still within the 15-minute grace
    events = await check_duty(svc, datetime(2025, 6, 7, 9, 16, tzinfo=SH))
    assert [(type(e).__name__, e.window_no) for e in events] == [("DutyGapDetected", "03")]
    gap = events[0]
    assert (gap.post_a.name, gap.post_b.name, gap.opening_time) == ("陈静", "杨磊", time(9))
    assert await check_duty(svc, datetime(2025, 6, 7, 9, 20, tzinfo=SH)) == []  # once only
    await _upload(svc, {"S06": [datetime(2025, 6, 7, 9, 40)]})
    resolved = await check_duty(svc, datetime(2025, 6, 7, 9, 45, tzinfo=SH))
    assert [(type(e).__name__, e.staff.name, e.minutes_late) for e in resolved] == [("DutyGapResolved", "杨磊", 40)]
    duty = await outbox(svc, "attendance.duty")
    assert [(t.split(".")[2], k) for t, k, _ in duty] == [("DutyGapDetected", "03"), ("DutyGapResolved", "03")]
    async with client(svc) as admin:
        slots = (await admin.get("/attendance/duty/2025-06-07")).json()
    w3 = next(s for s in slots if s["window_no"] == "03" and s["opening"] == "09:00:00")
    assert w3["alerted"] and not w3["covered_in_grace"] and w3["first_arrival"] == "S06"
    assert not any(s["window_no"] == "04" for s in slots)  # no weekend service there


async def test_a_simulated_month_report_rankings_and_publication(svc):
    cal = national_calendar()
    await _upload(svc, june_punches(cal))
    async with client(svc, role=Role.SUPERVISOR) as sup:
        for t in FRIDAY_TRAININGS:
            r = await sup.put(f"/attendance/trainings/{t.session_id}", json={
                "session_id": t.session_id, "day": t.day.isoformat(), "start": "15:00", "end": "17:00",
                "topic": t.topic})
            assert r.status_code == 200, r.text
    async with client(svc, role=Role.UNIT_HEAD, unit="SCJ") as head:
        r = await head.post("/attendance/leaves", json={"staff_id": "S03", "kind": "sick",
                                                        "start": "2025-06-11T00:00", "end": "2025-06-12T00:00"})
        assert r.status_code == 201, r.text
        r = await head.post("/attendance/leaves", json={"staff_id": "S01", "kind": "sick",
                                                        "start": "2025-06-11T00:00", "end": "2025-06-12T00:00"})
        assert r.status_code == 403  # another unit's staff
    for i in range(10):
        await publish(svc, clock_ended(f"GTJ-2025-{i:04d}", "GTJ", True))
        await publish(svc, rating(f"GTJ-2025-{i:04d}", "GTJ", 5))
    for i in range(10):
        await publish(svc, clock_ended(f"FGJ-2025-{i:04d}", "FGJ", i < 9))
        await publish(svc, rating(f"FGJ-2025-{i:04d}", "FGJ", 4, by="S02"))
    await publish(svc, clock_ended("SCJ-2025-0001", "SCJ", True))
    await publish(svc, SupervisionNoticeIssued(
        notice_no="DB-2025-017", unit_code="SCJ", raised_by="督查科", raised_at=datetime(2025, 6, 20, 2, tzinfo=UTC),
        reason="超期未办结", reply_due=date(2025, 6, 27), origin=NoticeSource.OVERDUE))

    async with client(svc) as admin:
        data = (await admin.get("/attendance/reports/monthly/2025-06")).json()
        ev = (await admin.get("/attendance/evaluation/2025-06")).json()
        xlsx = await admin.get("/attendance/reports/monthly/2025-06/xlsx")
        ranks = (await admin.get("/attendance/rankings/2025-06")).json()

    # The service's figures are the rules' figures on the same month.
    expected = monthly.monthly_report("2025-06", STAFF, june_punches(cal), domain.AttendanceRules(), cal, posts=POSTS,
                                     trainings=FRIDAY_TRAININGS, leaves=[domain.Leave(
                                         "S03", domain.LeaveKind.SICK, datetime(2025, 6, 11), datetime(2025, 6, 12))])
    assert data["people"] == report_json(expected)["people"]
    assert data["windows"] == report_json(expected)["windows"]
    people = {p["staff_id"]: p for p in data["people"]}
    assert people["S04"]["absent_sessions"] == 2 and people["S03"]["leave_by_kind"] == {"sick": 2}
    assert {(g["window_no"], g["day"]) for g in data["duty_gaps"]} == {("02", "2025-06-07")}

    windows = {w["window_no"]: w for w in ev["windows"]}
    assert windows["04"]["parts"]["on_time_rate"] == 1.0 and windows["04"]["parts"]["satisfaction_index"] == 100.0
    assert windows["02"]["parts"]["supervision_notices"] == 1 and not windows["02"]["eligible"]
    assert "0.4×按时办结率" in ev["formula"]
    # Window 04 does not serve on weekends, so it has no duty gaps; 01: 9 of 10 on time.
    assert [w["window_no"] for w in ranks["red_flag_windows"]] == ["04", "01"]
    assert ranks["service_stars"][0]["staff_id"] in ("S07", "S08") and not ranks["published"]
    s02 = next(p for p in ev["people"] if p["staff_id"] == "S02")
    assert s02["parts"]["ratings"] == 10  # own ratings (accepted_by)

    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert 'filename="attendance-2025-06.xlsx"' in xlsx.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert "红旗窗口" in wb.sheetnames and wb["红旗窗口"]["B4"].value == "04"

    # Publication: once per period, with the formula and no mobile numbers.
    async with client(svc) as admin:
        r = await admin.post("/attendance/rankings/2025-06/publish")
        assert r.json()["events"] == ["MonthlyAttendanceReported", "RankingPublished"]
        again = await admin.post("/attendance/rankings/2025-06/publish")
        assert again.json()["events"] == []
        assert (await admin.get("/attendance/rankings/2025-06")).json()["published"]
    evaluation_events = await outbox(svc, "attendance.evaluation")
    assert [(t.split(".")[2], k) for t, k, _ in evaluation_events] == [
        ("MonthlyAttendanceReported", "2025-06"), ("RankingPublished", "2025-06")]
    body = evaluation_events[1][2].decode()
    assert "13800000001" not in body and "按时办结率" in body and '"window_no":"04"' in body

    # The month-end job publishes the month before on the configured day, and in January the year.
    assert await publish_due(svc, datetime(2025, 7, 1, 9, tzinfo=SH)) == []
    assert await publish_due(svc, datetime(2025, 7, 2, 9, tzinfo=SH)) == []  # June already out
    done = await publish_due(svc, datetime(2026, 1, 2, 9, tzinfo=SH))
    assert [(type(e).__name__, e.period) for e in done] == [
        ("MonthlyAttendanceReported", "2025-12"), ("RankingPublished", "2025-12"), ("RankingPublished", "2025")]


async def test_unit_heads_see_their_own_unit(svc):
    await _upload(svc, {"S03": [datetime(2025, 6, 3, 8, 20)], "S01": [datetime(2025, 6, 3, 8, 20)]})
    async with client(svc, role=Role.UNIT_HEAD, unit="SCJ") as head:
        data = (await head.get("/attendance/reports/monthly/2025-06?details=true")).json()
        staff = (await head.get("/attendance/staff")).json()
        assert (await head.post("/attendance/rankings/2025-06/publish")).status_code == 403
    assert {p["unit_code"] for p in data["people"]} == {"SCJ"}
    assert {w["window_no"] for w in data["windows"]} == {"02"}
    assert {d["staff_id"] for d in data["details"]} == {"S03", "S04"}
    assert {s["staff_id"] for s in staff} == {"S03", "S04"}
    async with client(svc, role=Role.CLERK, unit="SCJ") as clerk:
        assert (await clerk.get("/attendance/reports/monthly/2025-06")).status_code == 403
        assert (await clerk.get("/attendance/rankings/2025-06")).status_code == 200


async def test_bad_input_is_named(svc):
    async with client(svc) as admin:
        r = await admin.get("/attendance/reports/monthly/2025-13")
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "period"
        r = await admin.put("/attendance/posts/05", json={"unit_code": "TAX", "unit_name": "税务局",
                                                          "post_a": "S01", "post_b": "S01"})
        assert r.status_code == 422 and "A岗和B岗不能是同一人" in r.text
        r = await admin.put("/attendance/staff/S20", json={"name": "钱七", "unit_code": "TAX", "unit_name": "税务局",
                                                           "pin": "1001"})
        assert r.status_code == 409 and r.json()["errors"][0]["field"] == "pin"
        r = await admin.put("/attendance/staff/S20", json={"name": "钱七", "unit_code": "TAX", "unit_name": "税务局",
                                                           "mobile": "12345"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "mobile"
        r = await admin.put("/attendance/devices/X1", json={"sn": "X1", "time_zone": "Mars/Olympus"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "time_zone"


async def test_staff_events_and_terminal_sync(svc):
    staff_events = await outbox(svc, "attendance.staff")
    assert len(staff_events) == len(STAFF)
    assert all(t == "onewindow.attendance.StaffRegistered.v1" for t, _, _ in staff_events)
    assert b'"mobile":"13800000001"' in staff_events[0][2]  # internal topic: notify sends staff alerts
    async with client(svc) as admin:
        r = await admin.put("/attendance/staff/S01", json={"name": "张伟", "unit_code": "FGJ", "unit_name": "发展和改革局",
                                                           "window_no": "01", "pin": "2001"})
        assert r.status_code == 200
        cmds = (await admin.get(f"/attendance/devices/{SN}/commands")).json()
    assert cmds[0]["text"].startswith("DATA UPDATE USERINFO PIN=2001\tName=张伟")
    assert cmds[1]["text"] == "DATA DELETE USERINFO PIN=1001"
    staff_events = await outbox(svc, "attendance.staff")
    assert staff_events[-1][0] == "onewindow.attendance.StaffUpdated.v1"


async def test_the_workers_watch_duty_and_publish_month_end(tmp_path, monkeypatch):
    import asyncio

    saturday = datetime(2025, 6, 7, 9, 30, tzinfo=SH)  # the 7th is also past the publication day
    monkeypatch.setattr(workers, "now", lambda: saturday.astimezone(UTC))
    async with attendance_service(tmp_path, attendance_background_jobs=True, attendance_duty_check_seconds=0.05,
                                  attendance_publish_check_seconds=0.05, attendance_publish_on_day=5) as svc:
        await setup_center(svc)
        for _ in range(200):
            duty = await outbox(svc, "attendance.duty")
            published = await outbox(svc, "attendance.evaluation")
            if len(duty) >= 3 and len(published) >= 2:
                break
            await asyncio.sleep(0.05)
    # Nobody punched in on Saturday: windows 01, 02 and 03 (weekend service) are uncovered.
    assert sorted(k for _, k, _ in duty) == ["01", "02", "03"]
    assert [(t.split(".")[2], k) for t, k, _ in published] == [("MonthlyAttendanceReported", "2025-05"),
                                                               ("RankingPublished", "2025-05")]


async def test_roster_training_and_leave_endpoints(svc):
    async with client(svc, role=Role.SUPERVISOR) as sup:
        r = await sup.post("/attendance/trainings/fridays", json={"month": "2025-10", "topic": "窗口服务礼仪"})
        assert [t["day"] for t in r.json()] == ["2025-10-10", "2025-10-17", "2025-10-24", "2025-10-31"]
        again = await sup.post("/attendance/trainings/fridays", json={"month": "2025-10"})
        assert again.json() == []  # already scheduled
        assert len((await sup.get("/attendance/trainings", params={"month": "2025-10"})).json()) == 4
        assert (await sup.get("/attendance/trainings", params={"month": "2025-13"})).status_code == 422

        r = await sup.post("/attendance/roster", json=[
            {"day": "2025-06-14", "window_no": "03", "staff_id": "S09", "start": "08:30", "end": "12:00"}])
        assert r.status_code == 201
        entry = r.json()[0]["id"]
        dup = await sup.post("/attendance/roster", json=[
            {"day": "2025-06-14", "window_no": "03", "staff_id": "S09", "start": "08:30", "end": "12:00"}])
        assert dup.status_code == 409
        bad = await sup.post("/attendance/roster", json=[
            {"day": "2025-06-14", "window_no": "99", "staff_id": "S09", "start": "08:30", "end": "12:00"}])
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "0.window_no"
        listed = (await sup.get("/attendance/roster", params={"from": "2025-06-14", "to": "2025-06-15"})).json()
        assert [(x["staff_id"], x["name"]) for x in listed] == [("S09", "周杰")]
        slots = (await sup.get("/attendance/duty/2025-06-14")).json()
        w3 = [s for s in slots if s["window_no"] == "03"]
        assert [(s["opening"], s["expected"]) for s in w3] == [("08:30:00", ["S05", "S06", "S09"])]
        assert (await sup.delete(f"/attendance/roster/{entry}")).status_code == 204

        r = await sup.post("/attendance/leaves", json={"staff_id": "S05", "kind": "annual",
                                                       "start": "2025-06-16T08:30", "end": "2025-06-16T18:00"})
        leave = r.json()
        assert r.status_code == 201 and leave["approved_by"] == "admin01"
        assert [x["id"] for x in (await sup.get("/attendance/leaves", params={"month": "2025-06"})).json()] == [leave["id"]]
    async with client(svc, role=Role.UNIT_HEAD, unit="SCJ") as head:
        assert (await head.get("/attendance/leaves", params={"month": "2025-06"})).json() == []  # not their unit
        assert (await head.delete(f"/attendance/leaves/{leave['id']}")).status_code == 403
    async with client(svc, role=Role.UNIT_HEAD, unit="ZJJ") as head:
        assert (await head.delete(f"/attendance/leaves/{leave['id']}")).status_code == 204


async def test_staff_active_range_defaults_and_empty_periods_are_not_auto_published(tmp_path):
    async with attendance_service(tmp_path) as svc:
        async with client(svc) as admin:
            r = await admin.put("/attendance/staff/S01", json={"name": "张伟", "unit_code": "FGJ",
                                                               "unit_name": "发展和改革局", "pin": "1001"})
            today = domain.to_local(datetime.now(UTC), SH).date().isoformat()
            assert r.json()["active_from"] == today and r.json()["active_until"] is None
            r = await admin.put("/attendance/staff/S01", json={"name": "张伟", "unit_code": "FGJ",
                                                               "unit_name": "发展和改革局", "pin": "1001",
                                                               "active": False})
            assert (r.json()["active_from"], r.json()["active_until"]) == (today, today)
            cmds = (await admin.get(f"/attendance/devices/{SN}/commands")).status_code
            assert cmds == 200
            bad = await admin.put("/attendance/staff/S02", json={"name": "王芳", "unit_code": "FGJ",
                                                                 "unit_name": "发展和改革局",
                                                                 "active_from": "2025-06-10", "active_until": "2025-06-01"})
            assert bad.status_code == 422 and "离岗日期" in bad.text
        # Nobody was at the center in May 2025: the month-end job leaves it alone.
        assert await publish_due(svc, datetime(2025, 6, 3, 9, tzinfo=SH)) == []
        assert await outbox(svc, "attendance.evaluation") == []
