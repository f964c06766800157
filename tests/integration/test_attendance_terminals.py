"""The attendance service end to end on the real Kafka broker (SQLite, and PostgreSQL when
configured), served by uvicorn as in production: the terminal simulator drives it over HTTP
(handshake, ATTLOG uploads with resends, OPERLOG, command polling and results); punches, the
weekend AB-post duty gap and a simulated month's report and rankings come out on Kafka; the
on-time, rating and supervision facts come in over Kafka."""

from __future__ import annotations

import asyncio
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.attendance import DutyGapDetected, MonthlyAttendanceReported, PunchRecorded, RankingPublished
from contracts.common import CaseKind, Role
from contracts.deadline import ClockEnded, NoticeSource, SupervisionNoticeIssued
from contracts.envelope import Envelope, parse
from contracts.intake import RatingLevel, RatingSubmitted
from services.attendance.app import create_service
from services.attendance.config import AttendanceSettings
from services.attendance.usecases.duty import check_duty
from services.runtime.workdays import national_calendar
from tests.attendance.conftest import POSTS, STAFF
from tests.attendance.month_fixture import FRIDAY_TRAININGS, june_punches
from tools.terminal_simulator import Terminal

pytestmark = pytest.mark.integration

SH = ZoneInfo("Asia/Shanghai")
SECRET = "integration-secret-attendance-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _service(tmp: Path, database_url: str, bootstrap: str):  # type: ignore[no-untyped-def]
    return create_service(AttendanceSettings(
        data_dir=tmp, database_url=database_url, kafka_bootstrap_servers=bootstrap, auth_secret=SECRET,
        log_json=False, attendance_background_jobs=False,
    ))


@asynccontextmanager
async def served(svc) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    """The service behind a real uvicorn server (its lifespan starts and stops the service)."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(svc.api, host="127.0.0.1", port=port, lifespan="on",
                                           log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    end = asyncio.get_running_loop().time() + 60
    while not server.started:
        if task.done():
            task.result()
            raise AssertionError("uvicorn stopped before it started")
        if asyncio.get_running_loop().time() > end:
            raise AssertionError("uvicorn did not start")
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class Reader:
    """Reads the given topics from their end (as of entering) and keeps every event."""

    def __init__(self, bootstrap: str, *topics: str) -> None:
        self.consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap,
                                         group_id=f"test-att-{uuid.uuid4().hex[:8]}",
                                         auto_offset_reset="latest", enable_auto_commit=False)
        self.events: list[Envelope] = []

    async def __aenter__(self) -> "Reader":
        await self.consumer.start()
        while not self.consumer.assignment():
            await self.consumer.getmany(timeout_ms=100)
        for tp in self.consumer.assignment():
            await self.consumer.position(tp)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def wait(self, match: Callable[[Envelope], bool], count: int = 1, timeout: float = 60,
                   settle: float = 0.0) -> list[Envelope]:
        """Events matching ``match`` once there are ``count``; ``settle`` seconds more are read
        to catch any that should not be there (duplicates)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        settled_at: float | None = None
        while True:
            found = [e for e in self.events if match(e)]
            if len(found) >= count:
                settled_at = settled_at or loop.time()
                if loop.time() - settled_at >= settle:
                    return found
            elif loop.time() > end:
                raise AssertionError(f"{len(found)} of {count} events after {timeout}s")
            for records in (await self.consumer.getmany(timeout_ms=300)).values():
                self.events.extend(parse(r.headers, r.value) for r in records)


async def _produce(bootstrap: str, envs: list[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for env in envs:
            await producer.send_and_wait(env.topic, env.body(), key=env.key, headers=env.kafka_headers())
    finally:
        await producer.stop()


def _admin(svc, base: str, role: Role = Role.CENTER_ADMIN) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    token = svc.auth.issue("admin01", role, None, name="管理员")
    return httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)


async def _setup(svc, base: str, sn: str) -> None:  # type: ignore[no-untyped-def]
    async with _admin(svc, base) as c:
        assert (await c.put(f"/attendance/devices/{sn}", json={"sn": sn, "location": "一楼大厅"})).status_code == 200
        for s in STAFF:
            r = await c.put(f"/attendance/staff/{s.staff_id}", json={
                "name": s.name, "unit_code": s.unit_code, "unit_name": s.unit_name, "window_no": s.window_no,
                "pin": s.pin, "mobile": s.mobile, "active_from": "2025-01-01"})
            assert r.status_code == 200, r.text
        for p in POSTS:
            r = await c.put(f"/attendance/posts/{p.window_no}", json={
                "unit_code": p.unit_code, "unit_name": p.unit_name, "post_a": p.post_a, "post_b": p.post_b,
                "weekend_service": p.weekend_service})
            assert r.status_code == 200, r.text


async def _upload(base: str, sn: str, punches: dict[str, list[datetime]]) -> None:
    pins = {s.staff_id: s.pin for s in STAFF}
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        t = Terminal(c, sn)
        for sid, times in punches.items():
            for p in times:
                t.punch(pins[sid], p)
        assert (await t.flush()).text == "OK"


async def test_terminal_traffic_end_to_end(tmp_path: Path, database_url: str, kafka_bootstrap: str) -> None:
    sn = f"IT{uuid.uuid4().hex[:10].upper()}"
    svc = _service(tmp_path, database_url, kafka_bootstrap)
    async with Reader(kafka_bootstrap, "attendance.punches", "attendance.staff") as reader, served(svc) as base:
        await _setup(svc, base, sn)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            t = Terminal(http, sn)
            opts = await t.handshake()
            hello = await http.get("/iclock/cdata", params={"SN": sn, "options": "all", "pushver": "2.4.1"})
            # Terminals set their clocks from the Date header: exactly one, correct to the second.
            dates = hello.headers.get_list("date")
            assert len(dates) == 1
            assert abs(parsedate_to_datetime(dates[0]) - datetime.now(UTC)) < timedelta(seconds=30)
            assert opts["TimeZone"] == "8" and opts["Delay"] == "10"
            assert hello.headers["content-type"].startswith("text/plain")

            day = datetime(2025, 6, 3)
            for i, s in enumerate(STAFF):
                t.punch(s.pin, day.replace(hour=8, minute=20 + i), status=0, verify=1)
            assert (await t.flush()).text == "OK"
            assert (await t.resend()).text == "OK"
            assert (await t.resend()).text == "OK"
            t.punch("1001", day.replace(hour=12, minute=3), status=1)
            assert (await t.flush()).text == "OK"
            assert (await t.upload_user("1001", "张伟")).text == "OK"

            punches = await reader.wait(lambda e: isinstance(e.data, PunchRecorded) and e.data.device_sn == sn,
                                        count=len(STAFF) + 1, settle=3)
            assert len(punches) == len(STAFF) + 1  # resends published nothing again
            first = next(e.data for e in punches if e.data.staff_id == "S01" and e.data.local_time.hour == 8)
            assert first.punched_at == datetime(2025, 6, 3, 0, 20, tzinfo=UTC) and first.time_zone == "Asia/Shanghai"

            # Registering staff queued their PINs for the terminal; a reboot on top.
            async with _admin(svc, base) as admin:
                r = await admin.post(f"/attendance/devices/{sn}/commands", json={"kind": "reboot"})
                assert r.status_code == 201
            done = []
            while batch := await t.poll_and_run():
                done += batch
            assert len(done) == len(STAFF) + 1 and all(code == 0 for _, _, code in done)
            assert t.users["1005"] == "陈静"
            async with _admin(svc, base) as admin:
                cmds = (await admin.get(f"/attendance/devices/{sn}/commands")).json()
            assert {c["status"] for c in cmds} == {"succeeded"}

            rogue = await http.get("/iclock/getrequest", params={"SN": "ROGUE" + sn})
            assert rogue.status_code == 403

        # The simulator as a command: a morning and a noon batch (the first one resent), a poll.
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tools.terminal_simulator", "demo", "--base-url", base, "--sn", sn,
            "--pin", "1006", "--pin", "1007", "--day", "2025-06-05",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        assert "handshake" in out.decode() and "ATTLOG resend -> 200" in out.decode()
        demo = await reader.wait(lambda e: isinstance(e.data, PunchRecorded) and e.data.device_sn == sn
                                 and e.data.local_time.date() == date(2025, 6, 5), count=4, settle=3)
        assert sorted((e.data.staff_id, e.data.punch_kind.value) for e in demo) == [
            ("S06", "check_in"), ("S06", "check_out"), ("S07", "check_in"), ("S07", "check_out")]

        staff_events = await reader.wait(lambda e: e.type.endswith("StaffRegistered.v1"), count=len(STAFF))
        assert {e.data.staff_id for e in staff_events} >= {s.staff_id for s in STAFF}


async def test_weekend_ab_gap_goes_out_on_kafka(tmp_path: Path, database_url: str, kafka_bootstrap: str) -> None:
    sn = f"IT{uuid.uuid4().hex[:10].upper()}"
    svc = _service(tmp_path, database_url, kafka_bootstrap)
    async with Reader(kafka_bootstrap, "attendance.duty") as reader, served(svc) as base:
        await _setup(svc, base, sn)
        # Saturday 7 June 2025: window 01's A person and window 02's B person come; nobody of 03.
        await _upload(base, sn, {"S01": [datetime(2025, 6, 7, 8, 52)], "S04": [datetime(2025, 6, 7, 9, 11)]})
        assert await check_duty(svc, datetime(2025, 6, 7, 9, 10, tzinfo=SH)) == []
        found = await check_duty(svc, datetime(2025, 6, 7, 9, 16, tzinfo=SH))
        assert [e.window_no for e in found] == ["03"]
        gaps = await reader.wait(lambda e: isinstance(e.data, DutyGapDetected) and e.data.day == date(2025, 6, 7),
                                 count=1, settle=2)
        gap = gaps[0].data
        assert gaps[0].subject == "03"  # keyed by window (ce_subject)
        assert (gap.window_no, gap.post_a.staff_id, gap.post_b.staff_id) == ("03", "S05", "S06")
        assert gap.grace_minutes == 15 and len(gaps) == 1


async def test_a_simulated_month_report_and_rankings(tmp_path: Path, database_url: str, kafka_bootstrap: str) -> None:
    sn = f"IT{uuid.uuid4().hex[:10].upper()}"
    svc = _service(tmp_path, database_url, kafka_bootstrap)
    tag = uuid.uuid4().hex[:6].upper()
    facts = []
    for i in range(8):
        receipt = f"GTJ-{tag}-{i:03d}"
        facts.append(Envelope.wrap(ClockEnded(
            receipt_no=receipt, unit_code="GTJ", item_code="ITEM-01", case_kind=CaseKind.PROMISED,
            decided_at=datetime(2025, 6, 10, 3, tzinfo=UTC), outcome="approved", due_date=date(2025, 6, 12),
            on_time=True, within_statutory=True, working_days_used=2, working_days_stopped=0, late_working_days=0)))
        facts.append(Envelope.wrap(RatingSubmitted(
            receipt_no=receipt, unit_code="GTJ", item_code="ITEM-01", level=RatingLevel.VERY_SATISFIED, score=5,
            has_comment=False, accepted_by="S07", rated_at=datetime(2025, 6, 11, 3, tzinfo=UTC))))
    for i in range(4):
        facts.append(Envelope.wrap(ClockEnded(
            receipt_no=f"FGJ-{tag}-{i:03d}", unit_code="FGJ", item_code="ITEM-02", case_kind=CaseKind.PROMISED,
            decided_at=datetime(2025, 6, 16, 3, tzinfo=UTC), outcome="approved", due_date=date(2025, 6, 16),
            on_time=i > 0, within_statutory=True, working_days_used=5, working_days_stopped=0,
            late_working_days=0 if i else 1)))
    facts.append(Envelope.wrap(SupervisionNoticeIssued(
        notice_no=f"DB-{tag}", unit_code="SCJ", raised_by="督查科", raised_at=datetime(2025, 6, 20, 2, tzinfo=UTC),
        reason="超期未办结", reply_due=date(2025, 6, 27), origin=NoticeSource.OVERDUE)))

    async with Reader(kafka_bootstrap, "attendance.evaluation") as reader, served(svc) as base:
        await _setup(svc, base, sn)
        await _upload(base, sn, june_punches(national_calendar()))
        async with _admin(svc, base, Role.SUPERVISOR) as sup:
            for t in FRIDAY_TRAININGS:
                r = await sup.put(f"/attendance/trainings/{t.session_id}", json={
                    "session_id": t.session_id, "day": t.day.isoformat(), "start": "15:00", "end": "17:00",
                    "topic": t.topic})
                assert r.status_code == 200
            r = await sup.post("/attendance/leaves", json={"staff_id": "S03", "kind": "sick",
                                                           "start": "2025-06-11T00:00", "end": "2025-06-12T00:00"})
            assert r.status_code == 201
        await _produce(kafka_bootstrap, facts + facts[:3])  # a few redeliveries as well

        async with _admin(svc, base) as admin:
            async def consumed() -> dict:
                return (await admin.get("/attendance/evaluation/2025-06")).json()

            end = asyncio.get_running_loop().time() + 60
            while True:
                ev = await consumed()
                w = {x["window_no"]: x for x in ev["windows"]}
                if (w["04"]["parts"]["cases"], w["04"]["parts"]["ratings"], w["01"]["parts"]["cases"],
                        w["02"]["parts"]["supervision_notices"]) == (8, 8, 4, 1):
                    break
                assert asyncio.get_running_loop().time() < end, "facts not consumed in time"
                await asyncio.sleep(0.5)
            assert w["01"]["parts"]["on_time_rate"] == 0.75

            report = (await admin.get("/attendance/reports/monthly/2025-06")).json()
            people = {p["staff_id"]: p for p in report["people"]}
            assert report["working_days"] == 20
            assert (people["S02"]["late"], people["S04"]["absent_sessions"], people["S03"]["leave_sessions"]) == (1, 2, 2)
            assert (people["S01"]["training_due"], people["S01"]["training_attended"]) == (4, 3)
            assert {(g["window_no"], g["day"]) for g in report["duty_gaps"]} == {("02", "2025-06-07")}
            xlsx = await admin.get("/attendance/reports/monthly/2025-06/xlsx")
            assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"

            r = await admin.post("/attendance/rankings/2025-06/publish")
            assert r.json()["events"] == ["MonthlyAttendanceReported", "RankingPublished"]

        out = await reader.wait(lambda e: e.data.period == "2025-06", count=2)
        monthly = next(e.data for e in out if isinstance(e.data, MonthlyAttendanceReported))
        ranking = next(e.data for e in out if isinstance(e.data, RankingPublished))
        assert {p.staff_id for p in monthly.people} == {s.staff_id for s in STAFF}
        assert ranking.red_flag_windows[0].window_no == "04"  # all on time, all 非常满意, no gaps
        assert "02" not in [w.window_no for w in ranking.red_flag_windows]  # supervised and left uncovered
        assert ranking.service_stars[0].staff_id == "S07"  # own ratings: 8 x 非常满意
        assert "按时办结率" in ranking.formula and ranking.weights.on_time == 0.4
        assert {e.subject for e in out} == {"2025-06"}
