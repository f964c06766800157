"""Overdue follow-ups in deadline (issue 22, item 7): a supervision notice unanswered after its
reply date emits SupervisionReplyOverdueDetected once — not before, not twice, not when answered in time
— and the gauge the alert reads counts the unanswered ones (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from contracts.common import Role
from services.deadline.usecases import followups
from services.deadline.app import create_service
from services.deadline.config import DeadlineSettings
from services.runtime.app import Service
from services.runtime.testing import in_memory

from .helpers import local

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def svc(tmp_path: Path, database_url: str) -> AsyncIterator[Service]:
    service = create_service(DeadlineSettings(
        data_dir=tmp_path, database_url=database_url, auth_secret="deadline-test-secret-0123456789abcdef",
        deadline_workers=False))
    async with in_memory(service):
        yield service


def _client(svc: Service, role: Role, unit: str | None) -> httpx.AsyncClient:
    token = svc.auth.issue(f"{role.value}-1", role, unit, "李督查")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://deadline",
                             headers={"Authorization": f"Bearer {token}"})


async def _overdue_events(svc: Service) -> list[tuple[str, dict]]:
    ob = svc.db.tables.outbox
    async with svc.uow() as uow:
        rows = (await uow.session.execute(select(ob.c.headers, ob.c.payload).order_by(ob.c.id))).all()
    return [(h["ce_id"], json.loads(p)) for h, p in rows if ".SupervisionReplyOverdueDetected." in h["ce_type"]]


def _gauge(svc: Service) -> float:
    return svc.metrics.registry.get_sample_value("onewindow_deadline_supervision_replies_overdue")


async def test_an_unanswered_notice_past_its_reply_date_is_followed_up_once(
        svc: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEWINDOW_CLOCK", local(2025, 10, 13, 9).isoformat())  # a Monday
    async with _client(svc, Role.SUPERVISOR, None) as sup:
        late = (await sup.post("/deadline/notices", json={"unit_code": "SCJG", "reason": "窗口人员离岗未挂牌",
                                                          "reply_days": 3, "origin": "manual"})).json()
        answered = (await sup.post("/deadline/notices", json={"unit_code": "ZRJ", "reason": "一次性告知不完整",
                                                              "reply_days": 3, "origin": "inspection"})).json()
    assert late["reply_due"] == "2025-10-16"  # three working days
    async with _client(svc, Role.UNIT_HEAD, "ZRJ") as head:
        r = await head.post(f"/deadline/notices/{answered['notice_no']}/reply", json={"reply": "已整改并组织培训"})
        assert r.status_code == 200, r.text

    assert await followups.follow_up_once(svc, local(2025, 10, 16, 23, 59)) == []  # the reply date itself
    assert _gauge(svc) == 0
    assert await followups.follow_up_once(svc, local(2025, 10, 17, 0, 1)) == [late["notice_no"]]
    assert _gauge(svc) == 1
    assert await followups.follow_up_once(svc, local(2025, 10, 20, 9)) == []  # once
    [(ce_id, ev)] = await _overdue_events(svc)
    assert ce_id == followups.event_id(late["notice_no"])
    assert (ev["notice_no"], ev["unit_code"], ev["reply_due"], ev["receipt_no"]) == (
        late["notice_no"], "SCJG", "2025-10-16", None)

    # Answered late: no longer counted by the gauge, and still no second event.
    monkeypatch.setenv("ONEWINDOW_CLOCK", local(2025, 10, 20, 10).isoformat())
    async with _client(svc, Role.UNIT_HEAD, "SCJG") as head:
        r = await head.post(f"/deadline/notices/{late['notice_no']}/reply", json={"reply": "已整改"})
        assert r.status_code == 200
    assert await followups.follow_up_once(svc, local(2025, 10, 21, 9)) == []
    assert _gauge(svc) == 0 and len(await _overdue_events(svc)) == 1
