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
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from contracts.attendance import DutyGapDetected, DutyPerson, StaffRegistered, StaffRole
from contracts.envelope import Envelope
from services.notify.app import create_service, release_duty_gaps
from services.notify.config import NotifySettings
from services.notify.store import DutyGapRow, MessageRow, StaffRow
from services.runtime.app import Service
from services.runtime.consumer import HandlerContext

POSTGRES_URL = os.environ.get("ONEWINDOW_TEST_POSTGRES_URL")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not POSTGRES_URL, reason="the race needs PostgreSQL: set ONEWINDOW_TEST_POSTGRES_URL "
                       "(CI does; .ci/run starts one)"),
]

MANAGER_MOBILE = "13900139003"
OTHER_MANAGER_MOBILE = "13900139004"


@pytest.fixture
def pg_url() -> Iterator[str]:
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(POSTGRES_URL)
    name = f"t_duty_{uuid.uuid4().hex[:10]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _Discard:
    """The relay's sender in these tests (no broker): the outbox rows stay to be read."""

    async def send_batch(self, records: list) -> None:
        raise ConnectionError("no broker in this test")


def _settings(tmp_path: Path, url: str, **extra: object) -> NotifySettings:
    return NotifySettings(data_dir=tmp_path, database_url=url, auth_secret="k" * 32, notify_quiet_hours="off",
                          log_json=False, **extra)


@pytest.fixture
async def notify(tmp_path: Path, pg_url: str) -> AsyncIterator[Service]:
    """notify on its PostgreSQL database with its background workers running (no Kafka: the test
    plays the consumers). The periodic sweep is set to an hour, so only what the commits
    themselves trigger can release a gap within the test."""
    svc = create_service(_settings(tmp_path, pg_url, notify_contact_sweep_seconds=3600), deliver=False)
    svc.relay.sender = _Discard()
    await svc.start(kafka=False)
    try:
        yield svc
    finally:
        await svc.stop()


def _gap(window_no: str = "12") -> DutyGapDetected:
    return DutyGapDetected(window_no=window_no, unit_code="SJJ", unit_name="示范县市场监督管理局", day=date(2025, 3, 8),
                           opening_time=time(9, 0), closing_time=time(17, 0), time_zone="Asia/Shanghai",
                           grace_minutes=15, post_a=DutyPerson(staff_id="S-A", name="李四"), post_b=None,
                           detected_at=datetime.now(UTC))


def _manager(staff_id: str = "S-DUTY", mobile: str = MANAGER_MOBILE) -> StaffRegistered:
    return StaffRegistered(staff_id=staff_id, name="赵六", unit_code="ZX", unit_name="示范县行政审批服务中心",
                           role=StaffRole.DUTY_MANAGER, mobile=mobile)


def _spec(svc: Service, name: str):
    return next(h for h in svc.handlers if h.name == name)


async def _handle(svc: Service, handler: str, env: Envelope, uow) -> None:
    """What the consumer does inside its transaction for one record (the commit is the caller's)."""
    await _spec(svc, handler).fn(env.data, HandlerContext(env, uow))


async def _handle_and_commit(svc: Service, handler: str, env: Envelope) -> None:
    async with svc.uow() as uow:
        await _handle(svc, handler, env, uow)
        await uow.commit()


async def _done_or_waiting_on_a_lock(svc: Service, task: asyncio.Task) -> None:
    """Wait until ``task`` finished, or blocks on a lock the first transaction holds (a fix that
    serialises the two paths would make it wait there: committing the first one releases it)."""
    async with svc.db.engine.connect() as conn:
        for _ in range(600):
            if task.done():
                task.result()
                return
            waiting = (await conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"))).scalar_one()
            await conn.rollback()
            if waiting:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the second handler neither finished nor waited on a lock")


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
        await _handle(svc, handler_first, env_first, uow_first)
        second = asyncio.create_task(_handle_and_commit(svc, handler_second, env_second))
        await _done_or_waiting_on_a_lock(svc, second)
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
    replicas = [create_service(_settings(tmp_path / f"r{i}", pg_url), deliver=False) for i in range(2)]
    for svc in replicas:
        svc.relay.sender = _Discard()
    first = replicas[0]
    await first.db.migrate()
    try:
        gaps = [Envelope.wrap(_gap(str(10 + i))) for i in range(12)]
        for env in gaps:  # held: no duty manager yet
            await _handle_and_commit(first, "duty", env)
        async with first.uow() as uow:  # the manager written behind their back
            uow.session.add(StaffRow(staff_id="S-DUTY", name="赵六", unit_code="ZX", unit_name="示范县行政审批服务中心",
                                     role="duty_manager", mobile=MANAGER_MOBILE, active=True))
            await uow.commit()

        settled = await asyncio.gather(*(release_duty_gaps(svc, svc.api.state.notify.duty_gaps) for svc in replicas))

        assert sum(settled) == len(gaps), settled
        states, sms = await _state(first)
        assert states == {env.id: "alerted" for env in gaps}
        assert len(sms) == len(gaps) and set(sms.values()) == {1}, sms
    finally:
        for svc in replicas:
            await svc.db.dispose()


async def test_a_sweep_while_the_staff_handler_settles_the_same_gaps_alerts_each_once(tmp_path: Path,
                                                                                       pg_url: str) -> None:
    svc = create_service(_settings(tmp_path, pg_url), deliver=False)
    svc.relay.sender = _Discard()
    await svc.db.migrate()
    try:
        await _handle_and_commit(svc, "staff", Envelope.wrap(_manager()))
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
            await _handle(svc, "staff", Envelope.wrap(_manager("S-DUTY2", OTHER_MANAGER_MOBILE)), uow_staff)
            sweep = asyncio.create_task(release_duty_gaps(svc, svc.api.state.notify.duty_gaps))
            await _done_or_waiting_on_a_lock(svc, sweep)
            await uow_staff.commit()
        assert await sweep == 0  # every gap was the staff handler's

        states, sms = await _state(svc)
        assert set(states.values()) == {"alerted"}, states
        assert sorted(Counter(mobile for mobile, _key in sms).items()) == [(MANAGER_MOBILE, 3), (OTHER_MANAGER_MOBILE, 3)]
        assert set(sms.values()) == {1}, sms
    finally:
        await svc.db.dispose()
