"""The delivery worker while its database is away (tests/faults/test_database_outage.py does it for
real on PostgreSQL): a message claimed but never handed to the provider goes back to the queue,
the provider's answer to one that was handed over is stored once the database is back, and the
worker keeps running — none of them ends 'unknown', none is sent twice."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from contracts.attendance import DutyGapDetected
from contracts.notify import SmsUnconfirmed
from services.notify.store import MessageRow
from services.runtime.app import Service

from .conftest import UNIT, Harness, seed_directory

#: The release worker is not what these tests look at, and its own units of work would take the
#: numbered ones ``database_away_on`` counts (a busy machine lets it run in between).
RELEASE_WORKER = False


class _Away:
    async def __aenter__(self):
        raise OperationalError("SELECT 1", {}, ConnectionError("the database is away"))

    async def __aexit__(self, *exc) -> bool:
        return False


def database_away_on(h: Harness, calls: set[int]) -> None:
    """The service's units of work from now on: the ``calls``-th ones (1-based) find the database away."""
    real = Service.uow.__get__(h.service)
    counter = itertools.count(1)
    h.service.uow = lambda: _Away() if next(counter) in calls else real()  # type: ignore[method-assign]


class _CommitAnswerLost:
    """A unit of work whose commit is done but whose answer never comes back (the connection cut
    right after COMMIT): the caller cannot tell whether it committed."""

    def __init__(self, real) -> None:
        self.real = real

    async def __aenter__(self):
        uow = await self.real.__aenter__()
        commit = uow.commit

        async def committed_but_lost() -> None:
            await commit()
            raise OperationalError("COMMIT", {}, ConnectionError("the answer to the commit was lost"))

        uow.commit = committed_but_lost
        return uow

    async def __aexit__(self, *exc) -> bool:
        return await self.real.__aexit__(*exc)


def commit_answer_lost_on(h: Harness, calls: set[int]) -> None:
    """The service's units of work from now on: the ``calls``-th ones commit, but the answer is lost."""
    real = Service.uow.__get__(h.service)
    counter = itertools.count(1)
    h.service.uow = lambda: _CommitAnswerLost(real()) if next(counter) in calls else real()  # type: ignore[method-assign]


def database_back(h: Harness) -> None:
    del h.service.uow


async def queue_one_alert(h: Harness) -> None:
    await seed_directory(h)
    await h.publish(DutyGapDetected(window_no="12", unit_code=UNIT, unit_name="示范县市场监督管理局", day=date(2025, 3, 8),
                                    opening_time=datetime(2025, 3, 8, 9, 0).time(),
                                    closing_time=datetime(2025, 3, 8, 17, 0).time(), time_zone="Asia/Shanghai",
                                    grace_minutes=15, detected_at=datetime.now(UTC)))


async def the_message(h: Harness) -> MessageRow:
    async with h.service.uow() as uow:
        [row] = (await uow.session.execute(select(MessageRow))).scalars().all()
        return row


async def test_claimed_but_not_handed_over_goes_back_to_the_queue(harness: Harness):
    h = harness
    await queue_one_alert(h)
    worker = h.state.worker
    # 1: the claim of the due messages (and the read: one statement), committed but the answer
    # lost before the send
    commit_answer_lost_on(h, {1})
    assert await worker.run_once() == 0
    database_back(h)
    msg = await the_message(h)
    assert msg.state == "sending" and worker.unsent == {msg.id} and h.provider.sent == []

    assert await worker.run_once() == 1
    msg = await the_message(h)
    assert msg.state == "sent" and msg.attempts == 1 and worker.unsent == set()
    assert [s.message_id for s in h.provider.sent] == [msg.id]
    assert await h.events(SmsUnconfirmed) == []


async def test_the_providers_answer_is_stored_once_the_database_is_back(harness: Harness):
    h = harness
    await queue_one_alert(h)
    worker = h.state.worker
    worker.retry_seconds = (0.01, 0.01)
    database_away_on(h, {2, 3})  # 1: the claim and the read, 2 and 3: storing the answer, twice
    assert await worker.run_once() == 1
    database_back(h)
    msg = await the_message(h)
    assert msg.state == "sent" and msg.attempts == 1 and msg.code == "OK"
    assert len(h.provider.sent) == 1
    assert await h.events(SmsUnconfirmed) == []


async def test_the_worker_keeps_running_while_the_database_is_away(harness: Harness):
    h = harness
    await queue_one_alert(h)
    worker = h.state.worker
    worker.retry_seconds = (0.01, 0.01)
    database_away_on(h, {1, 2, 3, 4})  # recovering at start, then claiming due messages
    task = asyncio.create_task(worker.run())

    async def stored_state() -> str:
        # Through the service's own unit of work, not the patched one (that would use up the
        # numbered calls meant for the worker).
        async with Service.uow(h.service) as uow:
            return (await uow.session.execute(select(MessageRow.state))).scalar_one()

    try:
        # Wait for what the test is about, the answer stored, not for the send alone: the
        # worker may be cancelled between handing the message over and storing "sent".
        async with asyncio.timeout(60):
            while await stored_state() != "sent":
                assert not task.done(), task.exception() if task.done() else None
                await asyncio.sleep(0.02)
        assert not task.done(), task.exception() if task.done() else None
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        database_back(h)
    msg = await the_message(h)
    assert msg.state == "sent" and len(h.provider.sent) == 1
