"""notify on PostgreSQL: a weekend duty gap and the duty manager's registration handled at the same
moment, by the two consumers in two concurrent transactions, still reach the duty manager — once.

The lost alert this guards against: under READ COMMITTED the duty handler looks for duty managers
(the one being registered is not committed yet) and holds the gap ``awaiting_manager``, while the
staff handler looks for held gaps (not committed yet) and finds none. SQLite serialises writers,
so only PostgreSQL shows it; the test drives both handlers by hand to make the interleaving happen
every time, in both orders.

Two more tests: two replicas' sweeps at once over held gaps, and a sweep running while the staff
handler is settling the same gaps: each manager gets one SMS per gap.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import select

from contracts.attendance import DutyGapDetected, DutyPerson, StaffRegistered, StaffRole
from contracts.envelope import Envelope
from services.notify.usecases.duty_gaps import release_duty_gaps
from services.notify.store import DutyGapRow, MessageRow, StaffRow
from services.runtime.app import Service
from tests.integration.notify_race import (  # noqa: F401 - notify and pg_url are fixtures
    MARKS, done_or_waiting_on_a_lock, handle, handle_and_commit, notify, notify_service, pg_url,
)

pytestmark = MARKS

MANAGER_MOBILE = "13900139003"
OTHER_MANAGER_MOBILE = "13900139004"


def _gap(window_no: str = "12") -> DutyGapDetected:
    return DutyGapDetected(window_no=window_no, unit_code="SJJ", unit_name="示范县市场监督管理局", day=date(2025, 3, 8),
                           opening_time=time(9, 0), closing_time=time(17, 0), time_zone="Asia/Shanghai",
                           grace_minutes=15, post_a=DutyPerson(staff_id="S-A", name="李四"), post_b=None,
                           detected_at=datetime.now(UTC))


def _manager(staff_id: str = "S-DUTY", mobile: str = MANAGER_MOBILE) -> StaffRegistered:
    return StaffRegistered(staff_id=staff_id, name="赵六", unit_code="ZX", unit_name="示范县行政审批服务中心",
                           role=StaffRole.DUTY_MANAGER, mobile=mobile)


async def _state(svc: Service) -> tuple[dict[str, str], Counter[tuple[str, str]]]:
    """(gap states by event id, duty-gap SMS counted by (mobile, idempotency key))."""
    async with svc.uow() as uow:
        gaps = {g.event_id: g.state for g in (await uow.session.execute(select(DutyGapRow))).scalars()}
        sms = Counter((m.mobile, m.idempotency_key) for m in (await uow.session.execute(
            select(MessageRow).where(MessageRow.template == "staff_duty_gap"))).scalars())
    return gaps, sms


@pytest.mark.parametrize("first", ["gap", "manager"])
async def test_gap_and_duty_manager_handled_at_once_the_manager_is_still_alerted(notify: Service, first: str) -> None:
    svc = notify
    gap, manager = Envelope.wrap(_gap()), Envelope.wrap(_manager())
    (handler_first, env_first), (handler_second, env_second) = ("duty", gap), ("staff", manager)
    if first == "manager":
        (handler_first, env_first), (handler_second, env_second) = (handler_second, env_second), (handler_first, env_first)

    # The first handler runs and its transaction stays open; meanwhile the second runs in its own
    # transaction and commits (or waits for the first); then the first commits.
    async with svc.uow() as uow_first:
        await handle(svc, handler_first, env_first, uow_first)
        second = asyncio.create_task(handle_and_commit(svc, handler_second, env_second))
        await done_or_waiting_on_a_lock(svc, second)
        second_finished_first = second.done()
        await uow_first.commit()
    await second

    if second_finished_first:
        # Each transaction ran without seeing the other: exactly the lost alert.
        async with svc.uow() as uow:
            assert await uow.session.get(StaffRow, "S-DUTY") is not None
    for _ in range(300):  # both committed: whatever settles the gap runs now, not in an hour
        gaps, sms = await _state(svc)
        if gaps == {gap.id: "alerted"} and sms:
            break
        await asyncio.sleep(0.1)
    assert gaps == {gap.id: "alerted"}, f"the gap stayed {gaps} although a duty manager is known"
    assert [mobile for mobile, _key in sms] == [MANAGER_MOBILE] and set(sms.values()) == {1}, sms


async def test_two_replicas_sweeping_at_once_alert_each_held_gap_once(tmp_path: Path, pg_url: str) -> None:
    replicas = [notify_service(tmp_path / f"r{i}", pg_url) for i in range(2)]
    first = replicas[0]
    await first.db.migrate()
    try:
        gaps = [Envelope.wrap(_gap(str(10 + i))) for i in range(12)]
        for env in gaps:  # held: no duty manager yet
            await handle_and_commit(first, "duty", env)
        async with first.uow() as uow:  # the manager written behind their back
            uow.session.add(StaffRow(staff_id="S-DUTY", name="赵六", unit_code="ZX", unit_name="示范县行政审批服务中心",
                                     role="duty_manager", mobile=MANAGER_MOBILE, active=True))
            await uow.commit()

        settled = await asyncio.gather(*(release_duty_gaps(svc, svc.state.duty_gaps) for svc in replicas))

        assert sum(settled) == len(gaps), settled
        states, sms = await _state(first)
        assert states == {env.id: "alerted" for env in gaps}
        assert len(sms) == len(gaps) and set(sms.values()) == {1}, sms
    finally:
        for svc in replicas:
            await svc.db.dispose()


async def test_a_sweep_while_the_staff_handler_settles_the_same_gaps_alerts_each_once(tmp_path: Path,
                                                                                       pg_url: str) -> None:
    svc = notify_service(tmp_path, pg_url)
    await svc.db.migrate()
    try:
        await handle_and_commit(svc, "staff", Envelope.wrap(_manager()))
        async with svc.uow() as uow:  # gaps held behind the first manager's back
            for w in ("12", "13", "14"):
                uow.session.add(DutyGapRow(event_id=uuid.uuid4().hex, window_no=w, unit_code="SJJ",
                                           unit_name="示范县市场监督管理局", day=date(2025, 3, 8), posts="A",
                                           opening_time=time(9, 0), detected_at=datetime.now(UTC),
                                           state="awaiting_manager"))
            await uow.commit()

        # A second manager registers: the staff handler takes the held gaps and alerts both
        # managers; a sweep (another replica's, woken by anything) runs before it commits.
        async with svc.uow() as uow_staff:
            await handle(svc, "staff", Envelope.wrap(_manager("S-DUTY2", OTHER_MANAGER_MOBILE)), uow_staff)
            sweep = asyncio.create_task(release_duty_gaps(svc, svc.state.duty_gaps))
            await done_or_waiting_on_a_lock(svc, sweep)
            await uow_staff.commit()
        assert await sweep == 0  # every gap was the staff handler's

        states, sms = await _state(svc)
        assert set(states.values()) == {"alerted"}, states
        assert sorted(Counter(mobile for mobile, _key in sms).items()) == [(MANAGER_MOBILE, 3), (OTHER_MANAGER_MOBILE, 3)]
        assert set(sms.values()) == {1}, sms
    finally:
        await svc.db.dispose()
