"""``GET /deadline/clocks/summary`` and ``GET /deadline/bulletins/latest``: the counts a screen
shows (the hall, the boards), unit-scoped like the clocks, refusals as problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from contracts.common import Role
from services.deadline.app import create_service
from services.deadline.config import DeadlineSettings
from services.deadline.usecases import watch
from services.runtime.app import Service
from services.runtime.testing import in_memory, publish

from .helpers import local
from .intake_events import UNIT, accepted, supplement_requested


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


def client(svc: Service, role: Role = Role.CLERK, unit: str | None = UNIT) -> httpx.AsyncClient:
    token = svc.auth.issue(f"{role.value}-1", role, unit, "李明")
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=svc.api), base_url="http://deadline", headers={"Authorization": f"Bearer {token}"}
    )


async def _cases(svc: Service) -> None:
    """On Mon 20 Oct 2025 (simulated): SCJG has one overdue with its red card (due 16 Oct), one
    past due without it yet (the watcher not by), one with 2 working days left (yellow), one with
    plenty left, one stopped; ZJJ has one plain open clock."""
    await publish(svc, accepted("2025-SCJG-00001", local(2025, 9, 26, 10)))  # due 16 Oct
    await watch.watch_once(svc, local(2025, 10, 17, 0, 0))  # its red card
    await publish(svc, accepted("2025-SCJG-00002", local(2025, 10, 2, 10), promised=5))  # due Fri 17 Oct (holiday week)
    await publish(svc, accepted("2025-SCJG-00003", local(2025, 10, 14, 10), promised=6))  # due Wed 22 Oct
    await publish(svc, accepted("2025-SCJG-00004", local(2025, 10, 17, 10)))  # due 31 Oct
    await publish(svc, accepted("2025-SCJG-00005", local(2025, 10, 15, 10)))
    await publish(svc, supplement_requested("2025-SCJG-00005", local(2025, 10, 16, 10)))  # stopped
    await publish(svc, accepted("2025-ZJJ-00001", local(2025, 10, 17, 10), unit="ZJJ"))


@pytest.mark.timeout(60)
async def test_clock_summary_per_unit_and_scoped(svc: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    await _cases(svc)
    monkeypatch.setenv("ONEWINDOW_CLOCK", local(2025, 10, 20, 9).isoformat())
    async with client(svc, Role.SUPERVISOR, None) as sup:
        r = await sup.get("/deadline/clocks/summary")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["today"] == "2025-10-20" and body["yellow_days"] == 2
        units = {u["unit_code"]: u for u in body["units"]}
        scjg = units[UNIT]
        assert scjg["unit_name"] == "县市场监督管理局"
        assert (scjg["open"], scjg["yellow"], scjg["red"], scjg["overdue"]) == (5, 1, 1, 2)
        assert (units["ZJJ"]["open"], units["ZJJ"]["yellow"], units["ZJJ"]["overdue"]) == (1, 0, 0)
        assert body["total"]["unit_code"] == "*" and body["total"]["open"] == 6 and body["total"]["overdue"] == 2
        only = (await sup.get("/deadline/clocks/summary", params={"unit_code": "ZJJ"})).json()
        assert [u["unit_code"] for u in only["units"]] == ["ZJJ"]

    # A clerk sees their own unit's, without asking; another unit's is refused as problem+json.
    async with client(svc) as clerk:
        mine = (await clerk.get("/deadline/clocks/summary")).json()
        assert [u["unit_code"] for u in mine["units"]] == [UNIT] and mine["total"]["open"] == 5
        r = await clerk.get("/deadline/clocks/summary", params={"unit_code": "ZJJ"})
        assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    # A unit with no open clock answers zeros, not an empty list.
    async with client(svc, Role.UNIT_HEAD, "GTJ") as head:
        empty = (await head.get("/deadline/clocks/summary")).json()
        assert [(u["unit_code"], u["open"]) for u in empty["units"]] == [("GTJ", 0)]


@pytest.mark.timeout(60)
async def test_clock_summary_bad_input_and_no_token(svc: Service) -> None:
    async with client(svc, Role.SUPERVISOR, None) as sup:
        r = await sup.get("/deadline/clocks/summary", params={"unit_code": "x" * 200})
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        assert "unit_code" in r.text
        # The fixed path is not taken for a receipt number.
        assert (await sup.get("/deadline/clocks/summary")).status_code == 200
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://deadline") as anon:
        assert (await anon.get("/deadline/clocks/summary")).status_code == 401
        assert (await anon.get("/deadline/bulletins/latest")).status_code == 401


@pytest.mark.timeout(60)
async def test_latest_bulletin_headline(svc: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    async with client(svc) as clerk:
        r = await clerk.get("/deadline/bulletins/latest")
        assert r.status_code == 200 and r.json() is None
    await publish(svc, accepted("2025-SCJG-00001", local(2025, 9, 1, 10), promised=1))
    from .intake_events import decided
    await publish(svc, decided("2025-SCJG-00001", local(2025, 9, 2, 10)))
    monkeypatch.setenv("ONEWINDOW_CLOCK", local(2025, 10, 10, 9).isoformat())
    async with client(svc, Role.SUPERVISOR, None) as sup:
        assert (await sup.post("/deadline/bulletins", json={"period": "2025-08"})).status_code == 201
        monkeypatch.setenv("ONEWINDOW_CLOCK", local(2025, 10, 11, 9).isoformat())
        assert (await sup.post("/deadline/bulletins", json={"period": "2025-09"})).status_code == 201
    async with client(svc) as clerk:
        b = (await clerk.get("/deadline/bulletins/latest")).json()
        assert b["bulletin_no"] == "TB-2025-09" and b["period"] == "2025-09"
        assert (b["cases"], b["on_time"], b["on_time_rate"], b["overdue_cases"]) == (1, 1, 1.0, 0)
        # The month's own route still answers a month.
        assert (await clerk.get("/deadline/bulletins/2025-08")).json()["published"] is True
