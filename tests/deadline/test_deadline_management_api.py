"""The routes the management pages need besides the service's own: the preview of a county
calendar change (what it would move, nothing saved) and the list of inspection samples."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from contracts.common import Role
from services.deadline import store
from services.deadline.app import create_service
from services.deadline.config import DeadlineSettings
from services.deadline.usecases import watch
from services.runtime.app import Service
from services.runtime.testing import in_memory, publish

from .helpers import local
from .intake_events import UNIT, accepted, decided

R1 = "2025-SCJG-00001"
R2 = "2025-SCJG-00002"
R3 = "2025-SCJG-00003"


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


def client(svc: Service, role: Role, unit: str | None = None, name: str = "赵管理") -> httpx.AsyncClient:
    token = svc.auth.issue(f"{role.value}-1", role, unit, name)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=svc.api), base_url="http://deadline", headers={"Authorization": f"Bearer {token}"}
    )


async def due(svc: Service, receipt_no: str) -> date:
    async with svc.uow() as uow:
        row = await store.get_clock(uow.session, receipt_no)
    assert row is not None
    return row.due_date


@pytest.mark.timeout(30)
async def test_preview_lists_the_due_dates_a_day_off_would_move_and_saves_nothing(svc: Service) -> None:
    # R1: accepted Fri 26 Sep 2025, 10 working days: due Thu 16 Oct (14 Oct is inside its count).
    await publish(svc, accepted(R1, local(2025, 9, 26, 10)))
    # R2: accepted 3 Nov, after the day: untouched. R3: decided: ended clocks never move.
    await publish(svc, accepted(R2, local(2025, 11, 3, 10)))
    await publish(svc, accepted(R3, local(2025, 10, 9, 10), promised=3))
    await publish(svc, decided(R3, local(2025, 10, 10, 16)))
    body = {"day": "2025-10-14", "working": False, "reason": "县级临时放假"}

    async with client(svc, Role.SUPERVISOR) as sup:
        r = await sup.post("/deadline/calendar/preview", json=body)
        assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    async with client(svc, Role.CENTER_ADMIN) as admin:
        r = await admin.post("/deadline/calendar/preview", json=body)
        assert r.status_code == 200, r.text
        p = r.json()
        assert (p["day"], p["working"], p["total"], p["truncated"], p["calendar_version"]) == (
            "2025-10-14", False, 1, False, 0)
        (moved,) = p["clocks"]
        assert (moved["receipt_no"], moved["unit_code"], moved["due_date"], moved["new_due_date"]) == (
            R1, UNIT, "2025-10-16", "2025-10-17")
        assert moved["new_statutory_due_date"] > moved["statutory_due_date"]
        # Nothing saved: no change in the history, no job, the clock as it was.
        assert (await admin.get("/deadline/calendar/changes")).json() == []
        assert await due(svc, R1) == date(2025, 10, 16)
        assert not await watch.recompute_once(svc)

        # The change itself then moves exactly what the preview listed.
        assert (await admin.put("/deadline/calendar/days/2025-10-14",
                                json={"working": False, "reason": "县级临时放假"})).status_code == 201
        while await watch.recompute_once(svc):
            pass
        assert await due(svc, R1) == date(2025, 10, 17) and await due(svc, R2) == date(2025, 11, 17)

        # Removing the override again would move R1 back; a weekend made a working day too.
        r = await admin.post("/deadline/calendar/preview", json={**body, "working": None})
        assert r.status_code == 200 and [(c["due_date"], c["new_due_date"]) for c in r.json()["clocks"]] == [
            ("2025-10-17", "2025-10-16")]
        assert r.json()["calendar_version"] == 1
        r = await admin.post("/deadline/calendar/preview", json={"day": "2025-11-08", "working": True, "reason": "县级调休"})
        assert [(c["receipt_no"], c["new_due_date"]) for c in r.json()["clocks"]] == [(R2, "2025-11-14")]


@pytest.mark.timeout(30)
async def test_preview_refuses_what_the_change_would_refuse(svc: Service) -> None:
    async with client(svc, Role.CENTER_ADMIN) as admin:
        r = await admin.post("/deadline/calendar/preview", json={"day": "2025-10-15", "working": None, "reason": "撤销"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "day"
        r = await admin.post("/deadline/calendar/preview", json={"day": "2025-10-15", "working": True, "reason": "x"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
        r = await admin.post("/deadline/calendar/preview", json={"day": "2025-13-01", "working": True, "reason": "县级调休"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "day"


@pytest.mark.timeout(30)
async def test_samples_are_listed_newest_first_and_by_unit(svc: Service) -> None:
    for i, (unit, day) in enumerate([(UNIT, 9), (UNIT, 10), ("GAJ", 10)]):
        no = f"2025-{unit}-0000{i}"
        await publish(svc, accepted(no, local(2025, 9, 1, 10), unit=unit))
        await publish(svc, decided(no, local(2025, 9 if day == 9 else 10, 15, 10), unit=unit))
    async with client(svc, Role.SUPERVISOR, name="李督查") as sup:
        for unit, period in [(UNIT, "2025-09"), (UNIT, "2025-10"), ("GAJ", "2025-10")]:
            r = await sup.post("/deadline/inspections", json={"unit_code": unit, "period": period, "share": 1, "seed": "s1"})
            assert r.status_code == 201, r.text
        every = (await sup.get("/deadline/inspections")).json()
        assert [(s["period"], s["unit_code"]) for s in every] == [("2025-10", "GAJ"), ("2025-10", UNIT), ("2025-09", UNIT)]
        assert every[0]["seed"] == "s1" and every[0]["population"] == 1
        october = (await sup.get("/deadline/inspections", params={"period": "2025-10", "unit_code": UNIT})).json()
        assert [s["sample_id"] for s in october] == [f"CC-2025-10-{UNIT}"]
        r = await sup.get("/deadline/inspections", params={"period": "2025-1"})
        assert r.status_code == 422
    async with client(svc, Role.UNIT_HEAD, unit=UNIT) as head:
        assert {s["unit_code"] for s in (await head.get("/deadline/inspections")).json()} == {UNIT}
        r = await head.get("/deadline/inspections", params={"unit_code": "GAJ"})
        assert r.status_code == 403
