"""领办代办 and consultations followed to closure (issue #22, items 4 and 6), through the real
broker: the five services as separate processes.

- A clerk takes charge of a joint (联办) case for an elderly applicant: the staff case view shows
  the lead (who, why, when) and the units holding the case now; the public status says only
  "有专人领办" and the unit (no name, no reason); the lead is released; the counts per staff
  member show it; CaseLeadTaken and CaseLeadReleased reach the public topic without the reason.
- A consultation referred to another unit stays open until that unit answers it (who, when);
  the first-inquiry counts per staff member show it closed; ConsultationAnswered reaches the
  broker.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from contracts.common import Role
from contracts.envelope import parse

from .harness import SHANGHAI, Suite, guide_items, issue_seals, mandatory_materials, unit_names

pytestmark = pytest.mark.timeout(600)


def events_on(suite: Suite, topic: str, types: set[str], *, timeout: float = 60) -> list[Any]:
    """The events of ``types`` on ``topic`` (read from the beginning, no consumer group)."""

    async def read() -> list[Any]:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=suite.bootstrap, group_id=None,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        found: list[Any] = []
        try:
            deadline = asyncio.get_running_loop().time() + timeout
            while asyncio.get_running_loop().time() < deadline:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for rec in records:
                        env = parse(rec.headers, rec.value or b"")
                        if type(env.data).__name__ in types:
                            found.append(env.data)
                if {type(e).__name__ for e in found} >= types:
                    return found
            return found
        finally:
            await consumer.stop()

    return asyncio.run(read())


def test_a_clerk_leads_a_joint_case_and_a_referred_consultation_is_followed_to_its_answer(suite: Suite) -> None:
    s = suite
    names = unit_names(s)
    item = next(i for i in guide_items(s, "joint")
                if s.client("intake").get(f"/intake/guide/items/{i['code']}").json()["joint_units"])
    detail = s.client("intake").get(f"/intake/guide/items/{item['code']}").json()
    unit, partners = detail["unit_code"], detail["joint_units"]
    issue_seals(s, [unit, *partners])
    clerk = s.headers("e2e-lead-clerk", Role.CLERK, unit, "领办员")
    intake = s.client("intake")
    period = s.now().astimezone(SHANGHAI).strftime("%Y-%m")

    # --- 领办代办 ------------------------------------------------------------------------------------
    r = intake.post("/intake/applications", headers=clerk, json={
        "item_code": item["code"], "materials": mandatory_materials(s, item["code"]), "accept_if_complete": True,
        "applicant": {"type": "person", "name": "王老汉", "mobile": "13900007401", "resident_id": "11010519491231002X"}})
    assert r.status_code == 201, r.text
    rn = r.json()["receipt_no"]
    assert r.json()["status"] == "joint_review"
    r = intake.post(f"/intake/applications/{rn}/lead", headers=clerk, json={"reason": "other"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "note"
    r = intake.post(f"/intake/applications/{rn}/lead", headers=clerk, json={"reason": "elderly", "note": "八十岁，行动不便"})
    assert r.status_code == 201, r.text
    lead = r.json()
    assert lead["current"]["staff_id"] == "e2e-lead-clerk" and lead["current"]["staff_name"] == "领办员"
    assert sorted(lead["holding_units"]) == sorted(names[p] for p in partners)
    case = intake.get(f"/intake/applications/{rn}", headers=clerk).json()
    assert case["leads"][0]["reason"] == "elderly" and case["leads"][0]["released_at"] is None
    public = intake.post("/intake/public/status", json={"receipt_no": rn, "mobile_last4": "7401"}).json()
    assert public["led_by_unit"] == names[unit]
    assert sorted(public["holding_units"]) == sorted(names[p] for p in partners)
    assert "领办员" not in json.dumps(public, ensure_ascii=False) and "八十岁" not in json.dumps(public, ensure_ascii=False)
    assert any("专人领办" in step["label"] for step in public["timeline"])
    # One partner answers: the case is now held by the other(s) only.
    first = partners[0]
    r = intake.post(f"/intake/applications/{rn}/joint-answer", headers=s.headers(f"e2e-{first}", Role.CLERK, first, "会签"),
                    json={"answer": "approve", "opinion": "同意。"})
    assert r.status_code == 200, r.text
    held = intake.get(f"/intake/applications/{rn}/leads", headers=clerk).json()["holding_units"]
    assert held == ([names[p] for p in partners[1:]] or [names[unit]])
    r = intake.post(f"/intake/applications/{rn}/lead/release", headers=clerk, json={"note": "申请人已取得结果"})
    assert r.status_code == 200 and r.json()["current"] is None, r.text
    report = intake.get("/intake/reports/leads", headers=s.supervisor(), params={"period": period}).json()
    mine = next(c for c in report if c["staff_id"] == "e2e-lead-clerk")
    assert (mine["taken"], mine["active"], mine["released"], mine["by_reason"]) == (1, 0, 1, {"elderly": 1})

    lead_events = events_on(s, "intake.applications", {"CaseLeadTaken", "CaseLeadReleased"})
    taken = next(e for e in lead_events if type(e).__name__ == "CaseLeadTaken" and e.receipt_no == rn)
    assert taken.staff_id == "e2e-lead-clerk" and "elderly" not in taken.model_dump_json()
    assert any(type(e).__name__ == "CaseLeadReleased" and e.receipt_no == rn for e in lead_events)

    # --- a referred consultation followed to its answer -----------------------------------------------
    other = partners[-1]
    r = intake.post("/intake/consultations", headers=clerk, json={
        "channel": "phone", "question": "人防手续能否与规划一并办理？", "outcome": "referred", "referred_to_unit": other})
    assert r.status_code == 201, r.text
    cid = r.json()["consultation_id"]
    answerer = s.headers(f"e2e-{other}-answer", Role.CLERK, other, "答复人")
    assert cid in [c["consultation_id"] for c in intake.get("/intake/consultations/open", headers=answerer).json()]
    r = intake.post(f"/intake/consultations/{cid}/answer", headers=answerer, json={"answer": "可以，一并提交。"})
    assert r.status_code == 200, r.text
    assert r.json()["answered_by"] == f"e2e-{other}-answer" and r.json()["answered_at"]
    assert cid not in [c["consultation_id"] for c in intake.get("/intake/consultations/open", headers=answerer).json()]
    counts = intake.get("/intake/reports/first-inquiry", headers=clerk, params={"period": period}).json()
    me = next(c for c in counts if c["staff_id"] == "e2e-lead-clerk")
    assert (me["referred"], me["closed_later"], me["still_open"]) == (1, 1, 0)
    answered = events_on(s, "intake.consultations", {"ConsultationAnswered"})
    assert any(e.consultation_id == cid and e.answered_by == f"e2e-{other}-answer" for e in answered)
