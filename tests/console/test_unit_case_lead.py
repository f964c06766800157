"""The console's case page shows who leads a case (领办代办) and, for a joint case (联办), the
unit(s) holding it now, from intake's case API (stand-in services, mocked transport)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .test_console_unit import ITEM, console, sign_in  # noqa: F401 - the fixture

pytestmark = pytest.mark.timeout(30)

NO = "2026-FGJ-K7M3Q9XP"


def _case(**over: Any) -> dict[str, Any]:
    case = {"receipt_no": NO, "unit_code": "FGJ", "unit_name": "青山县发展和改革局",
            "item": {"content": {"name": "企业投资项目核准", "materials": ITEM["materials"]}},
            "applicant": {"name": "张三", "mobile": "13812345678"}, "status": "accepted", "status_label": "已受理，审查中",
            "case_kind": "promised", "case_kind_label": "承诺件", "six_kind": "promised",
            "received_at": "2026-12-07T02:00:00Z", "timeline": [{"at": "2026-12-07T02:00:00Z", "label": "已收件"}],
            "joint_tasks": [], "requests": [], "leads": []}
    case.update(over)
    return case


async def test_the_case_page_shows_the_active_lead_and_not_a_released_one(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    lead = {"lead_id": "LB-1", "staff_id": "C0001", "staff_name": "王窗口", "staff_unit": "FGJ",
            "staff_unit_name": "青山县发展和改革局", "reason": "elderly", "note": "八十岁独居",
            "taken_at": "2026-12-07T03:00:00Z", "released_at": None}
    stand.answers[("GET", f"/intake/applications/{NO}")] = lambda req: httpx.Response(200, json=_case(leads=[lead]))
    await sign_in(client)
    page = await client.get(f"/desk/cases/{NO}")
    assert page.status_code == 200
    assert "领办代办" in page.text and "王窗口（青山县发展和改革局）领办，老年人：八十岁独居" in page.text
    released = {**lead, "released_at": "2026-12-07T05:00:00Z"}
    stand.answers[("GET", f"/intake/applications/{NO}")] = lambda req: httpx.Response(200, json=_case(leads=[released]))
    page = await client.get(f"/desk/cases/{NO}")
    assert page.status_code == 200 and "领办代办" not in page.text


async def test_a_joint_case_names_the_units_that_hold_it_now(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    tasks = [{"task_id": "T1", "unit_code": "ZRJ", "unit_name": "青山县自然资源局", "opened_at": "2026-12-07T02:00:00Z",
              "answer": "approve", "opinion": "同意", "answered_at": "2026-12-07T04:00:00Z"},
             {"task_id": "T2", "unit_code": "RFB", "unit_name": "青山县人民防空办公室", "opened_at": "2026-12-07T02:00:00Z",
              "answer": None, "opinion": None, "answered_at": None}]
    stand.answers[("GET", f"/intake/applications/{NO}")] = lambda req: httpx.Response(200, json=_case(
        status="joint_review", status_label="联办单位会签中", case_kind="joint", case_kind_label="联办件",
        six_kind="joint", joint_tasks=tasks))
    await sign_in(client, username="supervisor", password="Ducha2026")
    page = await client.get(f"/desk/cases/{NO}")
    assert page.status_code == 200, page.text[:500]
    assert "当前承办单位</dt><dd>青山县人民防空办公室（联办会签中）" in page.text
