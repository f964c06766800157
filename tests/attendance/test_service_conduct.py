"""Staff violations, weekday AB posts and the year-end assessment through the service (in-memory
broker): the API, the consumed facts, the events in the outbox, refusals naming the field with
nothing written (issue 22 items 2, 3 and 8)."""

import json
from datetime import UTC, date, datetime

import httpx
import pytest

from contracts.common import Role
from contracts.deadline import InspectionRecorded, InspectionResult
from services.attendance.usecases.duty import check_duty
from services.runtime.testing import publish
from tools.terminal_simulator import Terminal

from .conftest import STAFF
from .service_fixture import SN, attendance_service, client, outbox, setup_center
from .test_service_reports import SH, rating

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
async def svc(tmp_path, monkeypatch):
    monkeypatch.setenv("ONEWINDOW_CLOCK", "2025-06-04T10:00:00+08:00")
    async with attendance_service(tmp_path) as service:
        await setup_center(service)
        yield service


def as_(svc, sub: str, role: Role, unit: str | None = None) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    token = svc.auth.issue(sub, role, unit, name=sub)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://attendance",
                             headers={"Authorization": f"Bearer {token}"})


def refused(r: httpx.Response, field: str, status: int = 422) -> str:
    body = r.json()
    assert r.status_code == status and body["errors"][0]["field"] == field, (r.status_code, body)
    return body["errors"][0]["reason"]


async def upload(svc, punches: dict[str, list[datetime]]) -> None:  # type: ignore[no-untyped-def]
    pins = {s.staff_id: s.pin for s in STAFF}
    async with client(svc, role=None) as c:
        t = Terminal(c, SN)
        for sid, times in punches.items():
            for p in times:
                t.punch(pins[sid], p)
        assert (await t.flush()).text == "OK"


def _day(d: int, times=("08:25", "12:02", "14:25", "17:32")) -> list[datetime]:  # type: ignore[no-untyped-def]
    return [datetime.fromisoformat(f"2025-06-{d:02d}T{t}") for t in times]


async def events(svc, topic: str) -> list[tuple[str, dict]]:  # type: ignore[no-untyped-def]
    return [(t.split(".")[2], json.loads(p)) for t, _, p in await outbox(svc, topic)]


async def test_weekday_a_absent_b_expected_neither_is_a_gap(svc):
    """Tuesday 3 June: 01's A on leave, its B comes; 02's A comes; nobody of 03; 04's B stands in."""
    async with client(svc, Role.SUPERVISOR) as sup:
        r = await sup.post("/attendance/leaves", json={"staff_id": "S01", "kind": "annual",
                                                       "start": "2025-06-03T00:00", "end": "2025-06-04T00:00"})
        assert r.status_code == 201
    await upload(svc, {"S02": [datetime(2025, 6, 3, 8, 40)], "S03": [datetime(2025, 6, 3, 8, 20)],
                       "S08": [datetime(2025, 6, 3, 8, 44)]})
    assert await check_duty(svc, datetime(2025, 6, 3, 8, 44, tzinfo=SH)) == []
    found = await check_duty(svc, datetime(2025, 6, 3, 8, 46, tzinfo=SH))
    assert [(type(e).__name__, e.window_no, e.weekday) for e in found] == [("DutyGapDetected", "03", True)]
    assert await check_duty(svc, datetime(2025, 6, 3, 9, 0, tzinfo=SH)) == []  # once
    await upload(svc, {"S06": [datetime(2025, 6, 3, 9, 5)]})
    resolved = await check_duty(svc, datetime(2025, 6, 3, 9, 6, tzinfo=SH))
    assert [(type(e).__name__, e.staff.staff_id, e.minutes_late) for e in resolved] == [("DutyGapResolved", "S06", 35)]
    async with client(svc) as admin:
        slots = (await admin.get("/attendance/duty/2025-06-03")).json()
    w1 = next(s for s in slots if s["window_no"] == "01" and s["opening"] == "08:30:00")
    assert w1["weekday"] and w1["on_leave"] == ["S01"] and w1["first_arrival"] == "S02" and w1["covered_in_grace"]
    duty = await events(svc, "attendance.duty")
    assert [(n, e["window_no"], e.get("weekday")) for n, e in duty] == [
        ("DutyGapDetected", "03", True), ("DutyGapResolved", "03", None)]


async def test_violations_recorded_replied_withdrawn_and_counted(svc):
    everyone = {s.staff_id: _day(3) for s in STAFF}
    everyone["S01"] = _day(3, ("08:47", "12:02", "14:25", "17:32"))   # late
    everyone["S04"] = _day(3, ("08:25", "12:02"))                      # absent in the afternoon
    everyone["S05"] = _day(3, ("08:25", "12:02"))                      # ... leave comes later
    await upload(svc, everyone)
    async with client(svc, Role.SUPERVISOR) as sup:
        refused(await sup.post("/attendance/violations/sweep/2025-06-04"), "day")  # today: not over
        r = await sup.post("/attendance/violations/sweep/2025-06-03")
        assert r.status_code == 200, r.text
        rec = r.json()["recorded"]
        assert sorted((v["staff_id"], v["kind"]) for v in rec) == [
            ("S01", "late"), ("S04", "absent"), ("S05", "absent")]
        assert (await sup.post("/attendance/violations/sweep/2025-06-03")).json()["recorded"] == []  # once
        r = await sup.post("/attendance/leaves", json={"staff_id": "S05", "kind": "sick",
                                                       "start": "2025-06-03T14:00", "end": "2025-06-03T18:00"})
        assert r.status_code == 201
        again = (await sup.post("/attendance/violations/sweep/2025-06-03")).json()
        assert again["recorded"] == [] and [v["staff_id"] for v in again["withdrawn"]] == ["S05"]
        assert "请假" in again["withdrawn"][0]["withdraw_reason"]

        # A supervisor's conduct finding; an inspection finding by its reference.
        r = await sup.post("/attendance/violations", json={
            "staff_id": "S02", "kind": "conduct", "occurred_on": "2025-06-03",
            "evidence": "窗口前与申请人争吵，有监控录像为证", "receipt_no": "FGJ-2025-0009"})
        assert r.status_code == 201, r.text
        conduct = r.json()
        assert (conduct["origin"], conduct["kind_label"], conduct["recorded_by"]) == ("supervisor", "服务投诉", "admin01")

    await publish(svc, InspectionRecorded(
        sample_id="CC-2025-06-SCJ", unit_code="SCJ", receipt_no="SCJ-2025-0042", inspector="督查科",
        result=InspectionResult.VIOLATION, violation=True, notes="超范围收取材料",
        recorded_at=datetime(2025, 6, 3, 7, tzinfo=UTC)))
    await publish(svc, rating("FGJ-2025-0001", "FGJ", 1, by="S02"))  # 非常不满意: a conduct complaint
    await publish(svc, rating("FGJ-2025-0002", "FGJ", 2, by="S02"))  # 不满意: not at the level

    async with client(svc, Role.SUPERVISOR) as sup:
        before = len(await outbox(svc))
        body = {"staff_id": "S03", "kind": "inspection", "occurred_on": "2025-06-03", "evidence": "抽查发现超范围收取材料"}
        refused(await sup.post("/attendance/violations", json=body), "inspection")
        refused(await sup.post("/attendance/violations", json={
            **body, "inspection": {"sample_id": "NOPE", "receipt_no": "SCJ-2025-0042"}}), "inspection.sample_id")
        ref = {"sample_id": "CC-2025-06-SCJ", "receipt_no": "SCJ-2025-0042"}
        refused(await sup.post("/attendance/violations", json={**body, "staff_id": "S01", "inspection": ref}), "staff_id")
        refused(await sup.post("/attendance/violations", json={**body, "staff_id": "NOBODY", "inspection": ref}),
                "staff_id")
        refused(await sup.post("/attendance/violations", json={**body, "kind": "conduct", "inspection": ref}),
                "inspection")
        refused(await sup.post("/attendance/violations", json={**body, "kind": "gossip"}), "kind")
        refused(await sup.post("/attendance/violations", json={**body, "evidence": "  "}), "evidence")
        refused(await sup.post("/attendance/violations", json={**body, "occurred_on": "2025-06-05",
                                                               "inspection": ref}), "occurred_on")
        assert len(await outbox(svc)) == before  # nothing half-written
        r = await sup.post("/attendance/violations", json={**body, "inspection": ref})
        assert r.status_code == 201, r.text
        assert (r.json()["origin"], r.json()["inspection_ref"]) == ("inspection", "CC-2025-06-SCJ/SCJ-2025-0042")
        refused(await sup.post("/attendance/violations", json={**body, "inspection": ref}), "inspection", 409)

        listed = (await sup.get("/attendance/violations", params={"month": "2025-06"})).json()
        complaint = next(v for v in listed if v["origin"] == "rating")
        assert (complaint["staff_id"], complaint["kind"], complaint["receipt_no"]) == ("S02", "conduct", "FGJ-2025-0001")
        late = next(v for v in listed if v["staff_id"] == "S01")

    # The staff member replies (once); somebody else may not.
    async with as_(svc, "S02", Role.CLERK, "FGJ") as other:
        refused(await other.post(f"/attendance/violations/{late['violation_id']}/reply", json={"reply": "x"}),
                "violation_id", 403)
        mine = (await other.get("/attendance/violations", params={"month": "2025-06"})).json()
        assert {v["staff_id"] for v in mine} == {"S02"}
    async with as_(svc, "S01", Role.CLERK, "FGJ") as s01:
        r = await s01.post(f"/attendance/violations/{late['violation_id']}/reply", json={"reply": "路上堵车，已说明"})
        assert r.status_code == 200 and r.json()["reply"] == "路上堵车，已说明"
        refused(await s01.post(f"/attendance/violations/{late['violation_id']}/reply", json={"reply": "再说"}),
                "reply", 409)
    async with client(svc, Role.SUPERVISOR) as sup:
        refused(await sup.post(f"/attendance/violations/{late['violation_id']}/withdraw", json={"reason": ""}), "reason")
        r = await sup.post(f"/attendance/violations/{late['violation_id']}/withdraw", json={"reason": "道路封闭，情况属实"})
        assert r.status_code == 200 and r.json()["withdrawn"]
        refused(await sup.post(f"/attendance/violations/{late['violation_id']}/withdraw", json={"reason": "再撤"}),
                "violation_id", 409)
        assert (await sup.get("/attendance/violations/unknown-id")).status_code == 404

    async with as_(svc, "S09", Role.CLERK, "ZXB") as anyone:
        counts = (await anyone.get("/attendance/violations/counts/2025-06")).json()
        refused(await anyone.get("/attendance/violations/counts/2025-13"), "month")
    units = {u["unit_code"]: u for u in counts["units"]}
    # FGJ: S02's conduct (supervisor) and complaint (rating); S01's lateness withdrawn.
    assert (units["FGJ"]["total"], units["FGJ"]["by_kind"]["conduct"], units["FGJ"]["withdrawn"]) == (2, 2, 1)
    assert (units["SCJ"]["total"], units["SCJ"]["by_kind"]["absent"], units["SCJ"]["by_kind"]["inspection"]) == (2, 1, 1)
    assert (units["ZJJ"]["total"], units["ZJJ"]["withdrawn"]) == (0, 1)
    assert counts["total"] == 4 and counts["kinds"]["left_post"] == "早退/脱岗"
    assert units["FGJ"]["unit_name"] == "发展和改革局"

    out = await events(svc, "attendance.violations")
    assert [n for n, _ in out].count("StaffViolationRecorded") == 6
    withdrawn = [e for n, e in out if n == "StaffViolationWithdrawn"]
    assert sorted((e["staff_id"], e["withdrawn_by"]) for e in withdrawn) == [("S01", "admin01"), ("S05", "system")]
    assert all(e["period"] == "2025-06" for _, e in out)


async def test_year_end_assessment_decided_appealed_once_final(svc, monkeypatch):
    await upload(svc, {s.staff_id: _day(3) for s in STAFF})
    async with client(svc, Role.SUPERVISOR) as sup:
        await sup.post("/attendance/violations/sweep/2025-06-03")
        r = await sup.post("/attendance/violations", json={"staff_id": "S02", "kind": "left_post",
                                                           "occurred_on": "2025-06-03", "evidence": "上班时间离岗30分钟"})
        assert r.status_code == 201
    await publish(svc, rating("FGJ-2025-0001", "FGJ", 5, by="S01"))
    monkeypatch.setenv("ONEWINDOW_CLOCK", "2026-01-10T10:00:00+08:00")
    async with client(svc) as admin:
        refused(await admin.get("/attendance/assessments/2027"), "year")
        year = (await admin.get("/attendance/assessments/2025")).json()
        by = {a["staff_id"]: a for a in year}
        assert set(by) == {s.staff_id for s in STAFF}
        s01, s02 = by["S01"], by["S02"]
        assert s01["parts"]["satisfaction_index"] == 100 and s01["parts"]["violations"] == 0
        assert s02["parts"]["violations"] == 1 and "考核得分" in s02["formula"] and s02["decision"] is None
        assert s01["proposed_grade"] is not None and s01["score"] is not None

        before = len(await outbox(svc))
        refused(await admin.post("/attendance/assessments/2025/S01/decision", json={"grade": "great"}), "grade")
        refused(await admin.post("/attendance/assessments/2025/NOBODY/decision", json={"grade": "competent"}),
                "staff_id", 404)
        async with as_(svc, "S01", Role.CLERK, "FGJ") as s01c:
            refused(await s01c.post("/attendance/assessments/2025/S01/appeal", json={"reason": "不服"}), "reason", 409)
        assert len(await outbox(svc)) == before

        r = await admin.post("/attendance/assessments/2025/S01/decision", json={"grade": "competent", "note": "中心评定"})
        assert r.status_code == 200, r.text
        assert (r.json()["grade_label"], r.json()["decided_by"], r.json()["final"]) == ("称职", "admin01", False)
        refused(await admin.post("/attendance/assessments/2025/S01/decision", json={"grade": "excellent"}), "grade", 409)

    async with as_(svc, "S02", Role.CLERK, "FGJ") as s02c:
        refused(await s02c.post("/attendance/assessments/2025/S01/appeal", json={"reason": "替他申诉"}), "staff_id", 403)
        mine = (await s02c.get("/attendance/assessments/2025")).json()
        assert [a["staff_id"] for a in mine] == ["S02"]
    async with as_(svc, "S01", Role.CLERK, "FGJ") as s01c:
        refused(await s01c.post("/attendance/assessments/2025/S01/appeal", json={"reason": " "}), "reason")
        r = await s01c.post("/attendance/assessments/2025/S01/appeal", json={"reason": "全年无违规，满意度100%"})
        assert r.status_code == 200 and r.json()["appealed_by"] == "S01"
        refused(await s01c.post("/attendance/assessments/2025/S01/appeal", json={"reason": "再申诉"}), "reason", 409)
    async with client(svc) as admin:
        r = await admin.post("/attendance/assessments/2025/S01/decision", json={"grade": "excellent", "note": "申诉成立"})
        assert r.status_code == 200 and r.json()["final"] and r.json()["first_grade"] == "competent"
        refused(await admin.post("/attendance/assessments/2025/S01/decision", json={"grade": "competent"}), "grade", 409)
        one = (await admin.get("/attendance/assessments/2025/S01")).json()
        assert one["decision"]["grade"] == "excellent"

    out = await events(svc, "attendance.assessments")
    assert [(e["staff_id"], e["grade"], e["on_appeal"], e["previous_grade"]) for _, e in out] == [
        ("S01", "competent", False, None), ("S01", "excellent", True, "competent")]
    first = out[0][1]
    assert first["decided_by"] == "admin01" and first["unit_code"] == "FGJ" and first["assessment_id"] == "2025/S01"
    assert first["formula"] == s01["formula"] and first["proposed_grade"] == s01["proposed_grade"]
    assert out[1][1]["appeal_reason"] == "全年无违规，满意度100%"


async def test_a_day_without_any_punch_is_not_everybody_absent(svc):
    async with client(svc, Role.SUPERVISOR) as sup:
        r = await sup.post("/attendance/violations/sweep/2025-06-03")
        assert r.status_code == 200 and r.json()["recorded"] == []
        refused(await sup.post("/attendance/violations/sweep/9999-12-31"), "day")
    assert await outbox(svc, "attendance.violations") == []


async def test_the_worker_sweeps_the_last_finished_days_once(svc):
    from services.attendance.usecases.violations import sweep_due

    everyone = {s.staff_id: _day(3) for s in STAFF}
    everyone["S07"] = _day(3, ("08:25", "12:02", "15:05", "17:32"))  # 35 minutes late after lunch
    await upload(svc, everyone)
    results = await sweep_due(svc, datetime(2025, 6, 4, 9, tzinfo=SH))
    assert [r.day for r in results][-1] == date(2025, 6, 3) and len(results) == 7
    assert [(v.staff_id, v.kind) for r in results for v in r.recorded] == [("S07", "late")]
    again = await sweep_due(svc, datetime(2025, 6, 4, 10, tzinfo=SH))
    assert not any(r.recorded or r.withdrawn for r in again)
    out = await events(svc, "attendance.violations")
    assert [(n, e["staff_id"], e["recorded_by"]) for n, e in out] == [("StaffViolationRecorded", "S07", "system")]


async def test_bad_violation_input_is_refused_with_the_field(svc):
    ok = {"staff_id": "S01", "kind": "conduct", "occurred_on": "2025-06-03", "evidence": "态度生硬"}
    async with client(svc, Role.SUPERVISOR) as sup:
        refused(await sup.post("/attendance/violations", json={**ok, "evidence": "长" * 2001}), "evidence")
        refused(await sup.post("/attendance/violations", json={**ok, "evidence": "a\x00b"}), "evidence")
        refused(await sup.post("/attendance/violations", json={**ok, "occurred_on": "0001-01-01"}), "occurred_on")
        refused(await sup.post("/attendance/violations", json={**ok, "occurred_on": "2024-12-31"}), "occurred_on")
        refused(await sup.post("/attendance/violations", json={**ok, "receipt_no": "bad no"}), "receipt_no")
        refused(await sup.post("/attendance/violations", json={**ok, "staff_id": "S 01"}), "staff_id")
        refused(await sup.get("/attendance/violations", params={"month": "2025-6"}), "month")
    async with client(svc, Role.CLERK, unit="FGJ") as clerk:
        assert (await clerk.post("/attendance/violations", json=ok)).status_code == 403
    async with client(svc) as admin:
        refused(await admin.get("/attendance/assessments/1"), "year")
        refused(await admin.post("/attendance/assessments/2025/S01/decision", json={"grade": "competent",
                                                                                    "note": "x" * 1001}), "note")
    assert await outbox(svc, "attendance.violations") == []


async def test_an_early_year_is_assessed_not_a_server_error(svc):
    """Years below 1000 are written with four digits wherever the assessment names its period
    (the fuzzer found /assessments/2 answering 500)."""
    async with client(svc) as admin:
        for year in (2, 999):
            r = await admin.get(f"/attendance/assessments/{year}")
            assert r.status_code == 200, r.text
            assert r.json() == [] or all(a["year"] == year for a in r.json())
