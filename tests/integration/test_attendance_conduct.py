"""Issue 22 in attendance, end to end on the real Kafka broker (SQLite, and PostgreSQL when
configured), the service behind uvicorn: weekday AB posts raise the weekend's duty gap; staff
violations come from the terminals' punches, from a rating and an inspection finding consumed
over Kafka and from a supervisor, are replied to and withdrawn, go out as
StaffViolationRecorded / StaffViolationWithdrawn and are counted per unit; the year-end
assessment is decided, appealed once and decided again, each decision a StaffAssessmentDecided."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from contracts.attendance import DutyGapDetected, StaffAssessmentDecided, StaffViolationRecorded, StaffViolationWithdrawn
from contracts.common import Role
from contracts.deadline import InspectionRecorded, InspectionResult
from contracts.envelope import Envelope
from contracts.intake import RatingLevel, RatingSubmitted
from services.attendance.usecases.duty import check_duty
from tests.attendance.conftest import STAFF

from .test_attendance_terminals import SH, Reader, _admin, _produce, _service, _setup, _upload, served

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _as(svc, base: str, sub: str, role: Role, unit: str) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    token = svc.auth.issue(sub, role, unit, name=sub)
    return httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _day(d: int, times=("08:25", "12:02", "14:25", "17:32")) -> list[datetime]:  # type: ignore[no-untyped-def]
    return [datetime.fromisoformat(f"2025-06-{d:02d}T{t}") for t in times]


async def test_weekday_ab_gap_goes_out_on_kafka(tmp_path: Path, database_url: str, kafka_bootstrap: str) -> None:
    sn = f"IT{uuid.uuid4().hex[:10].upper()}"
    svc = _service(tmp_path, database_url, kafka_bootstrap)
    async with Reader(kafka_bootstrap, "attendance.duty") as reader, served(svc) as base:
        await _setup(svc, base, sn)
        async with _admin(svc, base, Role.SUPERVISOR) as sup:
            r = await sup.post("/attendance/leaves", json={"staff_id": "S05", "kind": "annual",
                                                           "start": "2025-06-10T00:00", "end": "2025-06-11T00:00"})
            assert r.status_code == 201
        # Tuesday 10 June: every window's A or B is in, except 03 (A on leave, B not in).
        await _upload(base, sn, {"S01": [datetime(2025, 6, 10, 8, 20)], "S04": [datetime(2025, 6, 10, 8, 40)],
                                 "S08": [datetime(2025, 6, 10, 8, 29)]})
        assert await check_duty(svc, datetime(2025, 6, 10, 8, 44, tzinfo=SH)) == []
        found = await check_duty(svc, datetime(2025, 6, 10, 8, 46, tzinfo=SH))
        assert [e.window_no for e in found] == ["03"]
        gaps = await reader.wait(lambda e: isinstance(e.data, DutyGapDetected) and e.data.day == date(2025, 6, 10),
                                 count=1, settle=2)
        gap = gaps[0].data
        assert gaps[0].subject == "03" and gap.weekday and gap.on_leave == ["S05"]
        assert (gap.post_a.staff_id, gap.post_b.staff_id, gap.opening_time.isoformat("minutes")) == ("S05", "S06", "08:30")


async def test_violations_and_the_assessment_on_kafka(tmp_path: Path, database_url: str, kafka_bootstrap: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEWINDOW_CLOCK", "2025-06-04T10:00:00+08:00")
    sn = f"IT{uuid.uuid4().hex[:10].upper()}"
    tag = uuid.uuid4().hex[:6].upper()
    svc = _service(tmp_path, database_url, kafka_bootstrap)
    facts = [
        Envelope.wrap(InspectionRecorded(
            sample_id=f"CC-{tag}", unit_code="SCJ", receipt_no=f"SCJ-{tag}-001", inspector="督查科",
            result=InspectionResult.VIOLATION, violation=True, notes="超范围收取材料",
            recorded_at=datetime(2025, 6, 3, 7, tzinfo=UTC))),
        Envelope.wrap(RatingSubmitted(
            receipt_no=f"FGJ-{tag}-001", unit_code="FGJ", item_code="ITEM-01", level=RatingLevel.VERY_DISSATISFIED,
            score=1, has_comment=True, accepted_by="S02", rated_at=datetime(2025, 6, 3, 6, tzinfo=UTC))),
    ]
    async with Reader(kafka_bootstrap, "attendance.violations", "attendance.assessments") as reader, \
            served(svc) as base:
        await _setup(svc, base, sn)
        everyone = {s.staff_id: _day(3) for s in STAFF}
        everyone["S01"] = _day(3, ("08:47", "12:02", "14:25", "17:32"))   # late
        everyone["S04"] = _day(3, ("08:25", "11:30", "14:25", "17:32"))   # left 30 minutes early
        await _upload(base, sn, everyone)
        await _produce(kafka_bootstrap, facts + facts[:1])  # one redelivered

        async with _admin(svc, base, Role.SUPERVISOR) as sup:
            r = await sup.post("/attendance/violations/sweep/2025-06-03")
            assert r.status_code == 200, r.text
            assert sorted((v["staff_id"], v["kind"]) for v in r.json()["recorded"]) == [
                ("S01", "late"), ("S04", "left_post")]
            late_id = next(v["violation_id"] for v in r.json()["recorded"] if v["staff_id"] == "S01")

            # The inspection finding arrives over Kafka; then a supervisor attributes it by its reference.
            ref = {"sample_id": f"CC-{tag}", "receipt_no": f"SCJ-{tag}-001"}
            body = {"staff_id": "S03", "kind": "inspection", "occurred_on": "2025-06-03",
                    "evidence": "抽查发现超范围收取材料", "inspection": ref}
            end = asyncio.get_running_loop().time() + 60
            while (r := await sup.post("/attendance/violations", json=body)).status_code == 422:
                assert r.json()["errors"][0]["field"] == "inspection.sample_id"
                assert asyncio.get_running_loop().time() < end, "inspection finding not consumed"
                await asyncio.sleep(0.5)
            assert r.status_code == 201, r.text
            inspection_id = r.json()["violation_id"]

            r = await sup.post(f"/attendance/violations/{late_id}/withdraw", json={"reason": "道路封闭，情况属实"})
            assert r.status_code == 200

            # The rating at the complaint level became a conduct complaint against S02.
            end = asyncio.get_running_loop().time() + 60
            while True:
                listed = (await sup.get("/attendance/violations", params={"month": "2025-06"})).json()
                complaint = [v for v in listed if v["origin"] == "rating"]
                if complaint:
                    break
                assert asyncio.get_running_loop().time() < end, "rating not consumed"
                await asyncio.sleep(0.5)
            assert (complaint[0]["staff_id"], complaint[0]["kind"]) == ("S02", "conduct")
        async with _as(svc, base, "S02", Role.CLERK, "FGJ") as s02:
            r = await s02.post(f"/attendance/violations/{complaint[0]['violation_id']}/reply",
                               json={"reply": "当日系统故障，已向申请人致歉"})
            assert r.status_code == 200

        recorded = await reader.wait(lambda e: isinstance(e.data, StaffViolationRecorded)
                                     and e.data.occurred_on == date(2025, 6, 3), count=4, settle=2)
        assert sorted((e.data.staff_id, e.data.violation_kind.value, e.data.origin.value) for e in recorded) == [
            ("S01", "late", "attendance"), ("S02", "conduct", "rating"), ("S03", "inspection", "inspection"),
            ("S04", "left_post", "attendance")]
        assert {e.subject for e in recorded} == {"S01", "S02", "S03", "S04"}  # keyed by staff id
        assert next(e.data for e in recorded if e.data.violation_id == inspection_id).inspection_ref == \
            f"CC-{tag}/SCJ-{tag}-001"
        withdrawn = await reader.wait(lambda e: isinstance(e.data, StaffViolationWithdrawn), count=1, settle=1)
        assert (withdrawn[0].data.violation_id, withdrawn[0].data.reason) == (late_id, "道路封闭，情况属实")

        async with _admin(svc, base) as admin:
            counts = (await admin.get("/attendance/violations/counts/2025-06")).json()
            units = {u["unit_code"]: (u["total"], u["withdrawn"]) for u in counts["units"]}
            assert units == {"FGJ": (1, 1), "SCJ": (2, 0)}

            # The year end: the center decides, S01 appeals once, the center decides the appeal.
            monkeypatch.setenv("ONEWINDOW_CLOCK", "2026-01-12T10:00:00+08:00")
            year = {a["staff_id"]: a for a in (await admin.get("/attendance/assessments/2025")).json()}
            assert year["S04"]["parts"]["violations"] == 1 and year["S01"]["parts"]["violations"] == 0
            r = await admin.post("/attendance/assessments/2025/S04/decision", json={"grade": "basically_competent"})
            assert r.status_code == 200, r.text
            async with _as(svc, base, "S04", Role.CLERK, "SCJ") as s04:
                r = await s04.post("/attendance/assessments/2025/S04/appeal", json={"reason": "早退系公务外出"})
                assert r.status_code == 200
            r = await admin.post("/attendance/assessments/2025/S04/decision", json={"grade": "competent",
                                                                                    "note": "申诉成立"})
            assert r.status_code == 200 and r.json()["final"]
        decided = await reader.wait(lambda e: isinstance(e.data, StaffAssessmentDecided) and e.data.year == 2025
                                    and e.data.staff_id == "S04", count=2, settle=1)
        first, appeal = sorted((e.data for e in decided), key=lambda d: d.on_appeal)
        assert (first.grade.value, first.on_appeal, first.unit_code, first.decided_by) == (
            "basically_competent", False, "SCJ", "admin01")
        assert (appeal.grade.value, appeal.previous_grade.value, appeal.appeal_reason) == (
            "competent", "basically_competent", "早退系公务外出")
        assert first.parts.violations == 1 and "考核得分" in first.formula
