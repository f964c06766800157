"""Staff violations (违规违章, issue 22 item 2) counted per unit in the monthly bulletin: deadline
reads attendance's internal ``attendance.violations`` topic, keeps only unit, kind and month, and
withdrawn violations are not counted — in the JSON, the document and a published bulletin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from contracts.attendance import StaffViolationRecorded, StaffViolationWithdrawn, ViolationKind, ViolationOrigin
from contracts.common import Role
from services.deadline import store
from services.deadline.app import create_service
from services.deadline.config import DECLARATION, DeadlineSettings
from services.deadline.domain.oversight import Period, build_bulletin, bulletin_from_json, render_bulletin
from services.runtime.app import Service
from services.runtime.testing import in_memory, publish
from services.runtime.workdays import WorkCalendar

from .helpers import local

MARKET, BUILD = "SCJG", "ZJJ"


def recorded(vid: str, unit: str, kind: ViolationKind, day: date) -> StaffViolationRecorded:
    return StaffViolationRecorded(
        violation_id=vid, staff_id=f"s-{vid}", unit_code=unit, violation_kind=kind, origin=ViolationOrigin.ATTENDANCE,
        occurred_on=day, period=f"{day:%Y-%m}", evidence="打卡记录 09:12", recorded_by="system",
        recorded_at=local(day.year, day.month, day.day, 18),
    )


def withdrawn(vid: str, unit: str, kind: ViolationKind, day: date) -> StaffViolationWithdrawn:
    return StaffViolationWithdrawn(
        violation_id=vid, staff_id=f"s-{vid}", unit_code=unit, violation_kind=kind, occurred_on=day,
        period=f"{day:%Y-%m}", reason="补登请假", withdrawn_by="sup-1", withdrawn_at=local(day.year, day.month, 28, 9),
    )


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[Service]:
    service = create_service(
        DeadlineSettings(data_dir=tmp_path, auth_secret="deadline-test-secret-0123456789abcdef",
                         consumer_retry_backoff=0.0, consumer_max_retries=0, deadline_workers=False)
    )
    async with in_memory(service):
        yield service


def supervisor(svc: Service) -> httpx.AsyncClient:
    token = svc.auth.issue("sup-1", Role.SUPERVISOR, None, "李督查")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://deadline",
                             headers={"Authorization": f"Bearer {token}"})


def test_deadline_reads_the_violations_topic(svc: Service) -> None:
    assert "attendance.violations" in DECLARATION.consumes
    (spec,) = [s for s in svc.handlers if s.group.endswith(".violations")]
    assert spec.topics == ["attendance.violations"]
    assert sorted(t.__name__ for t in spec.types.values()) == ["StaffViolationRecorded", "StaffViolationWithdrawn"]


def test_build_bulletin_counts_staff_violations_per_unit(cal: WorkCalendar) -> None:
    b = build_bulletin(cal, bulletin_no="TB-2025-08", period=Period.parse("2025-08"), cases=[], closed=[],
                       staff_violations=[(BUILD, "late", 2), (BUILD, "absent", 1), (MARKET, "conduct", 1), ("X", "late", 0)])
    assert b.staff_violations == [  # by unit code
        {"unit_code": MARKET, "total": 1, "by_kind": {"conduct": 1}},
        {"unit_code": BUILD, "total": 3, "by_kind": {"absent": 1, "late": 2}},
    ]
    # a unit with violations only still has its row in the table; a zero count is no unit
    assert {u.unit_code for u in b.units} == {BUILD, MARKET}
    again = bulletin_from_json(b.as_json())
    assert again.staff_violations == b.staff_violations
    text = render_bulletin(b, center_name="中心", unit_names={BUILD: "县住房和城乡建设局"})
    assert "本月记录工作人员违规违章 4 起" in text
    assert "县住房和城乡建设局：3 起（旷工 1 起，迟到 2 起）" in text
    assert "| 人员违规违章 |" in text
    assert "| 县住房和城乡建设局 | 0 | — | — | — | 0 | 0 | 0 | 3 |" in text
    # a bulletin published before they were counted renders without them
    old = b.as_json()
    del old["staff_violations"]
    assert "本月未记录工作人员违规违章" in render_bulletin(bulletin_from_json(old), center_name="中心")


async def test_the_bulletin_counts_them_and_not_the_withdrawn(svc: Service) -> None:
    aug = date(2025, 8, 12)
    await publish(svc, recorded("v1", BUILD, ViolationKind.LATE, aug))
    await publish(svc, recorded("v2", BUILD, ViolationKind.LATE, aug))
    await publish(svc, recorded("v3", BUILD, ViolationKind.ABSENT, aug))
    await publish(svc, recorded("v4", MARKET, ViolationKind.CONDUCT, aug))
    await publish(svc, recorded("v5", MARKET, ViolationKind.LATE, date(2025, 9, 2)))  # another month
    await publish(svc, withdrawn("v2", BUILD, ViolationKind.LATE, aug))
    await publish(svc, withdrawn("v2", BUILD, ViolationKind.LATE, aug))  # a repeat changes nothing
    await publish(svc, recorded("v1", BUILD, ViolationKind.LATE, aug))   # nor does a repeated record
    # a withdrawal seen before its record: the record then stays withdrawn
    await publish(svc, withdrawn("v6", MARKET, ViolationKind.LEFT_POST, aug))
    await publish(svc, recorded("v6", MARKET, ViolationKind.LEFT_POST, aug))

    async with svc.uow() as uow:
        counts = {(u, k): n for u, k, n in await store.staff_violation_counts(uow.session, "2025-08")}
    assert counts == {(BUILD, "late"): 1, (BUILD, "absent"): 1, (MARKET, "conduct"): 1}

    async with supervisor(svc) as sup:
        draft = (await sup.get("/deadline/bulletins/2025-08")).json()
        assert draft["published"] is False
        by_unit = {v["unit_code"]: v for v in draft["staff_violations"]}
        assert by_unit == {BUILD: {"unit_code": BUILD, "total": 2, "by_kind": {"absent": 1, "late": 1}},
                           MARKET: {"unit_code": MARKET, "total": 1, "by_kind": {"conduct": 1}}}
        r = await sup.post("/deadline/bulletins", json={"period": "2025-08"})
        assert r.status_code == 201, r.text
        assert {v["unit_code"]: v["total"] for v in r.json()["staff_violations"]} == {BUILD: 2, MARKET: 1}
        # withdrawn after publication: the published bulletin keeps what it said
        await publish(svc, withdrawn("v3", BUILD, ViolationKind.ABSENT, aug))
        again = (await sup.get("/deadline/bulletins/2025-08")).json()
        assert {v["unit_code"]: v["total"] for v in again["staff_violations"]} == {BUILD: 2, MARKET: 1}
        doc = (await sup.get("/deadline/bulletins/2025-08/document")).text
        assert "本月记录工作人员违规违章 3 起" in doc and "迟到 1 起" in doc
        sep = (await sup.get("/deadline/bulletins/2025-09")).json()
        assert [(v["unit_code"], v["total"]) for v in sep["staff_violations"]] == [(MARKET, 1)]
