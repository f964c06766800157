"""The deadline service on FastStream's in-memory broker: intake's events drive the clocks, the
watcher issues the cards once, the API stops and extends, the calendar recomputes, the bulletin,
notices and inspections come out as events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from contracts.common import CaseKind, Role
from contracts.deadline import DeadlineWarned
from contracts.intake import SupplementStage
from services.deadline import store, workers
from services.deadline.app import create_service
from services.deadline.config import DeadlineSettings
from services.deadline.usecases import watch
from services.runtime.app import Service
from services.runtime.testing import in_memory, publish

from .helpers import local
from .intake_events import (
    UNIT,
    accepted,
    answered,
    decided,
    forwarded,
    not_accepted,
    supplement_provided,
    supplement_requested,
)

R1 = "2025-SCJG-00001"


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[Service]:
    service = create_service(
        DeadlineSettings(
            data_dir=tmp_path, auth_secret="deadline-test-secret-0123456789abcdef", consumer_retry_backoff=0.0,
            consumer_max_retries=0, deadline_workers=False, deadline_warning_days=[2],
        )
    )
    async with in_memory(service):
        yield service


def client(svc: Service, role: Role = Role.CLERK, unit: str | None = UNIT, name: str = "李明") -> httpx.AsyncClient:
    token = svc.auth.issue(f"{role.value}-1", role, unit, name)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=svc.api), base_url="http://deadline", headers={"Authorization": f"Bearer {token}"}
    )


async def outbox(svc: Service, kind: str | None = None) -> list[dict]:
    ob = svc.db.tables.outbox
    async with svc.uow() as uow:
        rows = (await uow.session.execute(select(ob.c.headers, ob.c.payload).order_by(ob.c.id))).all()
    out = []
    for headers, payload in rows:
        name = headers["ce_type"].split(".")[2]
        if kind is None or name == kind:
            out.append({"type": name, "id": headers["ce_id"], **json.loads(payload)})
    return out


async def clock_row(svc: Service, receipt_no: str = R1) -> store.ClockRow:
    async with svc.uow() as uow:
        row = await store.get_clock(uow.session, receipt_no)
    assert row is not None
    return row


async def test_case_life_through_intake_events_and_the_api(svc: Service) -> None:
    # Accepted on Friday 26 September 2025 (the Friday before National Day): due Thu 16 Oct.
    env = await publish(svc, accepted(R1, local(2025, 9, 26, 10)))
    row = await clock_row(svc)
    assert (row.due_date, row.statutory_due_date, row.state) == (date(2025, 10, 16), date(2025, 10, 30), "running")
    (started,) = await outbox(svc, "ClockStarted")
    assert started["due_date"] == "2025-10-16" and started["unit_code"] == UNIT

    # A redelivery (same ce_id) and a repeat under a new id change nothing.
    await publish(svc, accepted(R1, local(2025, 9, 26, 10)), id=env.id)
    await publish(svc, accepted(R1, local(2025, 9, 26, 10)))
    assert len(await outbox(svc, "ClockStarted")) == 1

    # Supplement asked in review on Mon 29 Sep, provided Fri 10 Oct: 3 working days stopped.
    await publish(svc, supplement_requested(R1, local(2025, 9, 29, 15)))
    assert (await clock_row(svc)).state == "stopped"
    await publish(svc, supplement_provided(R1, local(2025, 10, 10, 9)))
    row = await clock_row(svc)
    assert row.state == "running" and row.due_date == date(2025, 10, 21)
    (moved,) = await outbox(svc, "DueDateChanged")
    assert moved["reason"] == "stop" and moved["new_due_date"] == "2025-10-21"

    # A clerk may not extend; the unit head may (named as the approver): +5 -> Tue 28 Oct.
    async with client(svc) as clerk:
        r = await clerk.post(f"/deadline/clocks/{R1}/extensions", json={"days": 5, "reason": "需现场核查"})
        assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    async with client(svc, Role.UNIT_HEAD, name="王建国") as head:
        r = await head.post(f"/deadline/clocks/{R1}/extensions", json={"days": 5, "reason": "需现场核查"})
        assert r.status_code == 201, r.text
        assert r.json()["due_date"] == "2025-10-28"
    (granted,) = await outbox(svc, "ExtensionGranted")
    assert granted["approved_by"] == "王建国" and granted["new_due_date"] == "2025-10-28"

    # Yellow card on Fri 24 Oct (2 working days left), once; red card on Wed 29 Oct, once.
    assert (await watch.watch_once(svc, local(2025, 10, 23, 23, 59))).clocks == 0
    tick = await watch.watch_once(svc, local(2025, 10, 24, 0, 0))
    assert (tick.warnings, tick.overdue) == (1, 0)
    assert (await watch.watch_once(svc, local(2025, 10, 27, 9))).clocks == 0
    assert await watch.next_wake(svc, local(2025, 10, 27)) == local(2025, 10, 29, 0, 0)
    tick = await watch.watch_once(svc, local(2025, 10, 29, 0, 0))
    assert (tick.warnings, tick.overdue) == (0, 1)
    assert (await watch.watch_once(svc, local(2025, 10, 30, 0, 0))).clocks == 0
    assert [e["threshold_days"] for e in await outbox(svc, "DeadlineWarned")] == [2]
    assert len(await outbox(svc, "DeadlineMissed")) == 1
    assert await watch.next_wake(svc, local(2025, 10, 30)) is None

    # Decided late on Thu 30 Oct.
    await publish(svc, decided(R1, local(2025, 10, 30, 16)))
    row = await clock_row(svc)
    assert row.state == "ended" and row.on_time is False and row.working_days_used == 17  # 20 working days minus 3 stopped
    (ended,) = await outbox(svc, "ClockEnded")
    assert ended["late_working_days"] == 2 and ended["working_days_stopped"] == 3

    async with client(svc) as clerk:
        r = await clerk.get(f"/deadline/clocks/{R1}")
        assert r.status_code == 200 and r.json()["state"] == "ended"
        stats = (await clerk.get("/deadline/statistics", params={"period": "2025-10"})).json()
        (unit,) = [u for u in stats["units"] if u["unit_code"] == UNIT]
        assert (unit["cases"], unit["on_time"], unit["average_working_days_used"]) == (1, 0, 17.0)
        assert unit["unit_name"] == "县市场监督管理局"


async def test_the_watcher_keeps_the_suites_clock(svc: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a simulation's clock (ONEWINDOW_CLOCK) the watcher cards by simulated days: a case
    accepted on 26 Sep 2025 is due 16 Oct; its yellow card comes on 14 Oct and its red one after
    the 16th, when the suite's clock says so, whatever the machine's clock reads."""
    monkeypatch.setenv("ONEWINDOW_CLOCK", local(2025, 10, 14, 9).isoformat())
    await publish(svc, accepted(R1, local(2025, 9, 26, 10)))
    task = asyncio.create_task(workers.watch_forever(svc))
    try:
        for _ in range(200):
            if await outbox(svc, "DeadlineWarned"):
                break
            await asyncio.sleep(0.02)
        assert len(await outbox(svc, "DeadlineWarned")) == 1
        assert await outbox(svc, "DeadlineMissed") == []  # the machine's clock (2026) would say overdue
        monkeypatch.setenv("ONEWINDOW_CLOCK", local(2025, 10, 17, 9).isoformat())
        svc.state.deadline.alarm.wake.set()
        for _ in range(200):
            if await outbox(svc, "DeadlineMissed"):
                break
            await asyncio.sleep(0.02)
        assert len(await outbox(svc, "DeadlineMissed")) == 1
    finally:
        task.cancel()


async def test_cards_are_issued_once_under_the_same_ids(svc: Service) -> None:
    await publish(svc, accepted(R1, local(2025, 9, 26, 10)))
    await watch.watch_once(svc, local(2025, 10, 14, 0, 0))
    (first,) = await outbox(svc, "DeadlineWarned")
    # A second watcher (or a restart) reading a stale row would build the same card: same id.
    assert first["id"] == watch.card_id(
        DeadlineWarned.model_validate({k: v for k, v in first.items() if k not in ("type", "id")})
    )
    assert (await watch.watch_once(svc, local(2025, 10, 15, 0, 0))).clocks == 0


async def test_reported_up_case(svc: Service) -> None:
    await publish(svc, accepted(R1, local(2025, 11, 3), promised=5, statutory=20, kind=CaseKind.REPORTED_UP))
    await publish(svc, forwarded(R1, local(2025, 11, 4)))
    row = await clock_row(svc)
    assert row.state == "stopped" and row.due_at is None and row.next_warning_at is None
    await publish(svc, answered(R1, local(2025, 11, 18)))
    row = await clock_row(svc)
    assert row.state == "running" and row.due_date == date(2025, 11, 24)
    (resumed,) = await outbox(svc, "ClockResumed")
    assert resumed["reason"] == "higher_authority" and resumed["working_days_stopped"] == 10


async def test_events_without_a_clock(svc: Service) -> None:
    # Not accepted, and a supplement at the window: normal, no clock.
    await publish(svc, supplement_requested("2025-SCJG-00009", local(2025, 11, 3), stage=SupplementStage.AT_WINDOW))
    await publish(svc, not_accepted("2025-SCJG-00009", local(2025, 11, 3)))
    # A decision for a case never accepted is rejected to the dead-letter topic.
    await publish(svc, decided("2025-SCJG-00010", local(2025, 11, 3)))
    async with svc.uow() as uow:
        assert (await uow.session.exec(select(store.ClockRow))).all() == []
    rejected = svc.metrics.dead_letters.labels("cases", "intake.applications", "rejected")._value.get()
    assert rejected == 1


async def test_immediate_item_decided_on_the_spot(svc: Service) -> None:
    await publish(svc, accepted(R1, local(2025, 11, 3, 9), promised=0, statutory=0, kind=CaseKind.IMMEDIATE))
    row = await clock_row(svc)
    assert row.due_date == date(2025, 11, 3) and row.next_warning_at is None
    await publish(svc, decided(R1, local(2025, 11, 3, 9, 20), kind=CaseKind.IMMEDIATE))
    row = await clock_row(svc)
    assert row.on_time is True and row.working_days_used == 0 and row.due_at is None


async def test_api_stop_for_a_hearing(svc: Service) -> None:
    await publish(svc, accepted(R1, local(2025, 9, 26, 10)))
    async with client(svc) as clerk:
        r = await clerk.post(f"/deadline/clocks/{R1}/stops", json={
            "reason": "hearing", "started_at": "2025-10-13T09:00:00+08:00", "note": "听证会", "stop_id": "hearing-1"})
        assert r.status_code == 201 and r.json()["state"] == "stopped"
        r = await clerk.post(f"/deadline/clocks/{R1}/stops/hearing-1/end", json={"ended_at": "2025-10-15T17:00:00+08:00"})
        assert r.status_code == 200
        assert r.json()["due_date"] == "2025-10-20"  # Thu 16 Oct + 2 (14, 15 Oct stopped): Fri 17, Mon 20
        r = await clerk.post(f"/deadline/clocks/{R1}/stops/nope/end", json={})
        assert r.status_code == 404 and r.json()["errors"][0]["field"] == "stop_id"
    async with client(svc, unit="OTHER") as stranger:
        r = await stranger.get(f"/deadline/clocks/{R1}")
        assert r.status_code == 403


async def test_calendar_change_recomputes_open_clocks(svc: Service) -> None:
    await publish(svc, accepted(R1, local(2025, 9, 26, 10)))
    await publish(svc, accepted("2025-SCJG-00002", local(2025, 11, 3, 10)))  # after the change: untouched
    async with client(svc) as clerk:
        r = await clerk.put("/deadline/calendar/days/2025-10-14", json={"working": False, "reason": "县级临时放假"})
        assert r.status_code == 403
    async with client(svc, Role.CENTER_ADMIN, unit=None, name="赵管理") as admin:
        r = await admin.put("/deadline/calendar/days/2025-10-14", json={"working": False, "reason": "县级临时放假"})
        assert r.status_code == 201, r.text
        assert r.json()["version"] == 1 and r.json()["changed_by"] == "赵管理"
        while await watch.recompute_once(svc):
            pass
        assert (await clock_row(svc)).due_date == date(2025, 10, 17)
        assert (await clock_row(svc, "2025-SCJG-00002")).due_date == date(2025, 11, 17)
        (moved,) = await outbox(svc, "DueDateChanged")
        assert moved["reason"] == "calendar" and moved["receipt_no"] == R1 and moved["calendar_version"] == 1
        (changed,) = await outbox(svc, "CalendarChanged")
        assert changed["clocks_moved"] == 1 and changed["action"] == "add_holiday" and changed["day"] == "2025-10-14"
        history = (await admin.get("/deadline/calendar/changes")).json()
        assert history[0]["recomputed"] is True and history[0]["clocks_moved"] == 1
        r = await admin.delete("/deadline/calendar/days/2025-10-15", params={"reason": "无此调整"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "day"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://deadline") as public:
        r = await public.get("/deadline/calendar/due-date", params={"accepted_on": "2025-09-26", "days": 10})
        assert r.json()["due_date"] == "2025-10-17" and r.json()["provisional"] is False
        days = (await public.get("/deadline/calendar/days", params={"start": "2025-10-11", "end": "2025-10-14"})).json()
        assert [(d["working"], d["source"]) for d in days] == [
            (True, "national"), (False, "national"), (True, "national"), (False, "county")]


async def test_library_change_schedules_a_full_recompute(svc: Service) -> None:
    assert await watch.check_library(svc) is False  # first start: remembered
    assert await watch.check_library(svc) is False  # unchanged
    async with svc.uow() as uow:
        await store.kv_set(uow.session, watch.LIBRARY_KEY, "older-release")
        await uow.commit()
    assert await watch.check_library(svc) is True


async def test_bulletin_notices_and_inspections(svc: Service) -> None:
    await publish(svc, accepted(R1, local(2025, 9, 26, 10)))
    await publish(svc, accepted("2025-SCJG-00002", local(2025, 10, 9, 10), promised=3))
    await publish(svc, accepted("2025-SCJG-00003", local(2025, 10, 13, 10), promised=0, statutory=0, kind=CaseKind.IMMEDIATE))
    await publish(svc, decided("2025-SCJG-00003", local(2025, 10, 13, 10, 30), kind=CaseKind.IMMEDIATE))
    # Due Mon 13 Oct: Fri 10, Sat 11 (a make-up working day), Mon 13. Decided that day: on time.
    await publish(svc, decided("2025-SCJG-00002", local(2025, 10, 13, 16)))
    await watch.watch_once(svc, local(2025, 10, 17, 0, 0))  # R1 overdue

    async with client(svc, Role.SUPERVISOR, unit=None, name="李督查") as sup:
        r = await sup.post("/deadline/notices", json={"unit_code": UNIT, "receipt_no": R1, "reason": "案件超过承诺时限未办结",
                                                      "reply_days": 3, "origin": "overdue"})
        assert r.status_code == 201, r.text
        notice = r.json()
        assert notice["notice_no"].startswith("DB-") and notice["status"] == "open"
        r = await sup.post("/deadline/notices", json={"unit_code": "OTHER", "receipt_no": R1, "reason": "x"*5})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "unit_code"

        draft = (await sup.get("/deadline/bulletins/2025-10")).json()
        assert draft["published"] is False
        assert [o["receipt_no"] for o in draft["overdue_cases"]] == [R1]
        r = await sup.post("/deadline/bulletins", json={"period": "2025-10"})
        assert r.status_code == 201, r.text
        body = r.json()
        (u,) = body["unit_stats"]
        assert (u["cases_decided"], u["on_time"], u["immediate_share"], u["overdue_cases"]) == (2, 2, 0.5, 1)
        assert (await sup.post("/deadline/bulletins", json={"period": "2025-10"})).status_code == 409
        doc = await sup.get("/deadline/bulletins/2025-10/document")
        assert doc.headers["content-type"].startswith("text/markdown")
        assert "2025年10月审批服务办理情况通报" in doc.text and "县市场监督管理局" in doc.text and R1 in doc.text

        r = await sup.post("/deadline/inspections", json={"unit_code": UNIT, "period": "2025-10", "share": 0.5, "seed": "abc"})
        assert r.status_code == 201, r.text
        sample = r.json()
        assert sample["population"] == 2 and len(sample["receipt_nos"]) == 1 and sample["seed"] == "abc"
        chosen = sample["receipt_nos"][0]
        r = await sup.post(f"/deadline/inspections/{sample['sample_id']}/results",
                           json={"receipt_no": chosen, "result": "violation", "notes": "未一次性告知", "raise_notice": True})
        assert r.status_code == 201, r.text
        assert r.json()["violation"] is True and r.json()["notice_no"]
        assert (await sup.post("/deadline/inspections", json={"unit_code": UNIT, "period": "2025-10"})).status_code == 409

    async with client(svc) as clerk:
        r = await clerk.post(f"/deadline/notices/{notice['notice_no']}/reply", json={"reply": "已整改"})
        assert r.status_code == 403
    async with client(svc, Role.UNIT_HEAD, name="王建国") as head:
        r = await head.post(f"/deadline/notices/{notice['notice_no']}/reply", json={"reply": "已于当日办结并整改"})
        assert r.status_code == 200 and r.json()["status"] == "replied"
        r = await head.post(f"/deadline/notices/{notice['notice_no']}/reply", json={"reply": "再次回复"})
        assert r.status_code == 409

    assert len(await outbox(svc, "SupervisionNoticeIssued")) == 2
    (replied,) = await outbox(svc, "SupervisionReplied")
    assert replied["replied_by"] == "王建国"
    (published,) = await outbox(svc, "BulletinPublished")
    assert published["unit_code"] == "CENTER" and published["period"] == "2025-10"
    (sampled,) = await outbox(svc, "InspectionSampled")
    assert sampled["receipt_nos"] == [chosen]
    (recorded,) = await outbox(svc, "InspectionRecorded")
    assert recorded["violation"] is True


async def test_gauges(svc: Service) -> None:
    await publish(svc, accepted(R1, local(2025, 9, 26, 10)))
    await publish(svc, accepted("2025-SCJG-00002", local(2025, 10, 9, 10)))
    await publish(svc, supplement_requested("2025-SCJG-00002", local(2025, 10, 10)))
    await watch.watch_once(svc, local(2025, 10, 17, 0, 0))
    await watch.refresh_gauges(svc)
    text = svc.metrics.render()[0].decode()
    assert 'onewindow_deadline_open_clocks{state="running"} 1.0' in text
    assert 'onewindow_deadline_open_clocks{state="stopped"} 1.0' in text
    assert "onewindow_deadline_overdue_open_clocks 1.0" in text
    assert "onewindow_deadline_overdue_total 1.0" in text
