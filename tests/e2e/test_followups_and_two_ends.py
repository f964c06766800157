"""Issue 22, items 5 and 7, through the real broker, read as a county bureau would (a Kafka
client on the public topics):

- 两头受理: a unit reports, by API and by CSV import, decisions it made outside the center on an
  item of the center's catalog with no case received there; intake publishes
  OutsideHandlingDetected (codes only, the unit's own record numbers stay in intake) and the
  supervisors' summary counts them per unit.
- Overdue follow-ups: a rectification task (整改) and a supervision notice are created on a day
  two weeks back (the services run on a shifted wall clock); intake and deadline are then
  restarted on the real clock, where both are past due: each emits its overdue event once —
  once still after another restart — and the gauges the alerts read count them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts.common import Role
from contracts.envelope import parse
from contracts.topics import get_topic

from .harness import SHANGHAI, Suite, eventually, guide_items, mandatory_materials, running_suite, suite_broker
from .test_six_kinds import Window

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

TOPICS = ("intake.units", "intake.ratings", "deadline.supervision")


def _working_morning_back(days: int) -> datetime:
    """10:00 (Asia/Shanghai) of the latest working day at least ``days`` days back."""
    cal = holidays.country_holidays("CN")
    day: date = (datetime.now(UTC) - timedelta(days=days)).astimezone(SHANGHAI).date()
    while not cal.is_working_day(day):
        day -= timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=SHANGHAI)


START = _working_morning_back(14)


@pytest.fixture(scope="module")
def past(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    with suite_broker(tmp_path_factory.mktemp("followups-kafka")) as bootstrap:
        with running_suite(bootstrap, tmp_path_factory.mktemp("followups"), clock=START,
                           env={"ONEWINDOW_INTAKE_RECTIFICATION_DAYS": "1",
                                "ONEWINDOW_INTAKE_GAUGE_SECONDS": "1"}) as s:
            yield s


def read_public(bootstrap: str, ce_type: str, timeout: float = 90.0, settle: float = 0.0) -> list[tuple[dict, bytes]]:
    """Every event of ``ce_type`` (e.g. 'OutsideHandlingDetected') on the public topics, from the
    beginning, waiting until at least one has come (and ``settle`` seconds more for late ones)."""

    async def read() -> list[tuple[dict, bytes]]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            parts = [TopicPartition(t, p) for t in TOPICS for p in range(get_topic(t).partitions)]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            found: list[tuple[dict, bytes]] = []
            loop = asyncio.get_running_loop()
            end = loop.time() + timeout
            quiet_until: float | None = None
            while loop.time() < end:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for r in records:
                        env = parse(list(r.headers), r.value)
                        if type(env.data).__name__ == ce_type:
                            found.append((json.loads(r.value), r.value))
                if found:
                    quiet_until = quiet_until or loop.time() + settle
                    if loop.time() >= quiet_until:
                        break
            return found
        finally:
            await consumer.stop()

    return asyncio.run(read())


def test_decisions_made_outside_the_center_are_flagged_published_and_counted(past: Suite) -> None:
    s = past
    item = guide_items(s, "immediate")[0]
    unit = item["unit_code"]
    clerk = s.headers(f"e2e-{unit.lower()}-a", Role.CLERK, unit, "窗口工作人员")
    intake = s.client("intake")
    decided = (s.now().astimezone(SHANGHAI).date() - timedelta(days=1)).isoformat()
    r = intake.post(f"/intake/units/{unit}/outside-decisions", headers=clerk, json={
        "external_no": "DW〔2026〕0101号", "item_code": item["code"], "decided_on": decided, "outcome": "approved"})
    assert r.status_code == 201 and r.json()["flagged"] == 1, r.text
    bad = intake.post(f"/intake/units/{unit}/outside-decisions", headers=clerk, json={
        "external_no": "DW-2", "item_code": item["code"], "decided_on": "2999-01-01", "outcome": "approved"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "decided_on"
    csv = f"external_no,item_code,decided_on,outcome,receipt_no\nDW-0102,{item['code']},{decided},不予,\n"
    r = intake.post(f"/intake/units/{unit}/outside-decisions/import", headers={**clerk, "Content-Type": "text/csv"},
                    content=csv.encode())
    assert r.status_code == 201 and r.json()["flagged"] == 1, r.text

    events = read_public(s.bootstrap, "OutsideHandlingDetected", settle=2.0)
    assert sorted((e["unit_code"], e["item_code"], e["period_count"]) for e, _ in events) == [
        (unit, item["code"], 1), (unit, item["code"], 2)]
    assert not any(b"DW" in raw for _, raw in events)  # the unit's own numbers stay in intake
    summary = intake.get("/intake/outside-decisions/summary", headers=s.supervisor()).json()
    assert {"unit_code": unit, "unit_name": summary[0]["unit_name"], "reported": 2, "flagged": 2} in summary
    assert s.metric("intake", "onewindow_intake_outside_handling_detected_total", unit=unit) == 2


def test_an_overdue_rectification_and_an_unanswered_notice_are_followed_up_once(past: Suite) -> None:
    s = past
    items = guide_items(s, "immediate")
    item = items[1] if len(items) > 1 else items[0]
    unit = item["unit_code"]
    w = Window(s, unit)
    case = w.receive(item["code"], "13911112222", mandatory_materials(s, item["code"]))
    rn = case["receipt_no"]
    w.post(f"/applications/{rn}/decision", {"outcome": "approved", "decision_text": "准予行政许可。"})
    rated = s.client("intake").post("/intake/public/ratings", json={
        "receipt_no": rn, "mobile_last4": "2222", "level": "dissatisfied"})
    assert rated.status_code == 201 and rated.json()["rectification_opened"] is True, rated.text
    notice = s.client("deadline").post("/deadline/notices", headers=s.supervisor(), json={
        "unit_code": unit, "reason": "窗口人员离岗未挂牌", "reply_days": 1, "origin": "manual"})
    assert notice.status_code == 201, notice.text
    notice_no = notice.json()["notice_no"]
    # On the suite's (shifted) day, nothing is overdue yet.
    assert s.metric("intake", "onewindow_intake_rectifications_overdue") == 0
    assert s.metric("deadline", "onewindow_deadline_supervision_replies_overdue") == 0

    # Two weeks later: intake and deadline on the real clock.
    for name in ("intake", "deadline"):
        s.service_env[name] = {"ONEWINDOW_E2E_CLOCK_OFFSET": ""}
    s.stop("intake", "deadline")
    s.start("intake", "deadline")
    eventually(lambda: s.metric("intake", "onewindow_intake_rectifications_overdue") == 1, timeout=60,
               what="intake's overdue gauge")
    eventually(lambda: s.metric("deadline", "onewindow_deadline_supervision_replies_overdue") == 1, timeout=90,
               what="deadline's overdue gauge")
    rect = read_public(s.bootstrap, "RectificationOverdueDetected", settle=3.0)
    assert [(e["receipt_no"], e["unit_code"]) for e, _ in rect] == [(rn, unit)]
    late = read_public(s.bootstrap, "SupervisionReplyOverdueDetected", settle=3.0)
    assert [(e["notice_no"], e["unit_code"]) for e, _ in late] == [(notice_no, unit)]

    # Once: another restart finds them followed up already.
    s.stop("intake", "deadline")
    s.start("intake", "deadline")
    eventually(lambda: s.metric("deadline", "onewindow_deadline_supervision_replies_overdue") == 1, timeout=90,
               what="deadline's gauge after the restart")
    eventually(lambda: s.metric("intake", "onewindow_intake_rectifications_overdue") == 1, timeout=60,
               what="intake's gauge after the restart")
    assert len(read_public(s.bootstrap, "RectificationOverdueDetected", settle=5.0)) == 1
    assert len(read_public(s.bootstrap, "SupervisionReplyOverdueDetected", settle=1.0)) == 1
