"""The runtime's guarantees on the real Kafka broker, on SQLite and on PostgreSQL:
outbox (nothing lost, duplicates absorbed), inbox (one state change per event), dead letters and
replay, and a consumer that resumes from its committed offset."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import update

from contracts.envelope import Envelope
from services.runtime import deadletters
from tools import kafka_local
from services.runtime.testing import running
from tests.runtime.example import FIXED, IN, OUT, SLOW, Counter, Tally, WidgetArrived, WidgetCounted, make

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _topics(kafka_bootstrap: str):  # type: ignore[no-untyped-def]
    specs = kafka_local.topic_specs([IN, OUT])
    kafka_local.ensure_topics_sync(kafka_bootstrap, specs)
    yield
    # Each test uses its own consumer group, which reads from the start: leave nothing behind.
    kafka_local.run_sync(lambda: kafka_local.delete_topics(kafka_bootstrap, [s.name for s in specs]))


def _svc(tmp: Path, database_url: str, bootstrap: str, name: str):  # type: ignore[no-untyped-def]
    return make(tmp, database_url=database_url, name=name, kafka_bootstrap_servers=bootstrap)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 60.0) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


async def _get(svc, model, key):  # type: ignore[no-untyped-def]
    async with svc.uow() as uow:
        return await uow.session.get(model, key)


async def _produce(bootstrap: str, envs: list[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for env in envs:
            await producer.send_and_wait(env.topic, env.body(), key=env.key, headers=env.kafka_headers())
    finally:
        await producer.stop()


async def test_outbox_survives_a_crash_before_publish_and_duplicates_are_absorbed(
    tmp_path: Path, database_url: str, kafka_bootstrap: str
) -> None:
    name = f"rt{uuid.uuid4().hex[:8]}"
    widget = f"w-{uuid.uuid4().hex[:8]}"
    # 1. A state change and its event commit; the process dies before the relay publishes.
    crashed = _svc(tmp_path, database_url, kafka_bootstrap, name)
    await crashed.db.migrate()
    async with crashed.uow() as uow:
        await uow.emit(WidgetCounted(widget=widget, count=1))
        await uow.commit()
    await crashed.db.dispose()
    # 2. After the restart the relay publishes it, and the idempotent consumer sees it once.
    svc = _svc(tmp_path, database_url, kafka_bootstrap, name)
    async with running(svc):
        await eventually(lambda: _seen(svc, widget, 1))
        # 3. The relay published but "died" before marking the row sent: it publishes again.
        ob = svc.db.tables.outbox
        async with svc.uow() as uow:
            await uow.session.execute(update(ob).values(sent_at=None))
            await uow.commit()
        assert await svc.relay.publish_once() >= 1
        dup = svc.metrics.messages_duplicate.labels("tally")
        await eventually(lambda: _true(dup._value.get() >= 1))
        assert (await _get(svc, Tally, widget)).seen == 1


async def _true(v: bool) -> bool:
    return v


async def _seen(svc, widget: str, n: int) -> bool:  # type: ignore[no-untyped-def]
    row = await _get(svc, Tally, widget)
    return row is not None and row.seen == n


async def test_same_event_twice_changes_state_once(tmp_path: Path, database_url: str, kafka_bootstrap: str) -> None:
    svc = _svc(tmp_path, database_url, kafka_bootstrap, f"rt{uuid.uuid4().hex[:8]}")
    widget = f"w-{uuid.uuid4().hex[:8]}"
    env = Envelope.wrap(WidgetArrived(widget=widget))
    marker = Envelope.wrap(WidgetArrived(widget=widget + "-after"))
    async with running(svc):
        await _produce(kafka_bootstrap, [env, env, marker])
        await eventually(lambda: _counted(svc, widget + "-after", 1))
        assert (await _get(svc, Counter, widget)).count == 1


async def _counted(svc, widget: str, n: int) -> bool:  # type: ignore[no-untyped-def]
    row = await _get(svc, Counter, widget)
    return row is not None and row.count == n


async def test_poison_message_is_dead_lettered_then_replayed_once_fixed(
    tmp_path: Path, database_url: str, kafka_bootstrap: str
) -> None:
    FIXED["poison"] = False
    svc = _svc(tmp_path, database_url, kafka_bootstrap, f"rt{uuid.uuid4().hex[:8]}")
    poison = Envelope.wrap(WidgetArrived(widget=f"p-{uuid.uuid4().hex[:8]}", poison=True))
    good = Envelope.wrap(WidgetArrived(widget=f"g-{uuid.uuid4().hex[:8]}"))
    try:
        async with running(svc):
            await _produce(kafka_bootstrap, [poison, good])
            await eventually(lambda: _counted(svc, good.data.widget, 1))  # the consumer moved on
            assert await _get(svc, Counter, poison.data.widget) is None
            letters = [d for d in await deadletters.read(IN.name, bootstrap=kafka_bootstrap) if d.event_id == poison.id]
            assert len(letters) == 1
            assert letters[0].headers["dlq_reason"] == "handler_failed"
            assert "cannot count poisoned widget" in letters[0].headers["dlq_error"]
            assert letters[0].headers["ce_type"] == WidgetArrived.ce_type()
            assert svc.metrics.dead_letters.labels("count_widget", IN.name, "handler_failed")._value.get() == 1
            FIXED["poison"] = True  # the cause is fixed
            assert await deadletters.replay(IN.name, {poison.id}, bootstrap=kafka_bootstrap) == 1
            await eventually(lambda: _counted(svc, poison.data.widget, 1))
            # the good event, also seen again by nobody, stays counted once
            assert (await _get(svc, Counter, good.data.widget)).count == 1
    finally:
        FIXED["poison"] = False


async def test_consumer_restarted_mid_stream_resumes_without_loss(
    tmp_path: Path, database_url: str, kafka_bootstrap: str
) -> None:
    name = f"rt{uuid.uuid4().hex[:8]}"
    run = uuid.uuid4().hex[:6]
    first = [Envelope.wrap(WidgetArrived(widget=f"{run}-{i}")) for i in range(150)]
    second = [Envelope.wrap(WidgetArrived(widget=f"{run}-{i}")) for i in range(150, 300)]
    svc = _svc(tmp_path, database_url, kafka_bootstrap, name)
    async with running(svc):
        await _produce(kafka_bootstrap, first)
        await eventually(lambda: _counted(svc, f"{run}-20", 1))
    # stopped mid-stream (some of the first batch may still be unprocessed); more arrive meanwhile
    await _produce(kafka_bootstrap, second)
    svc2 = _svc(tmp_path, database_url, kafka_bootstrap, name)
    async with running(svc2):
        await eventually(lambda: _counted(svc2, f"{run}-299", 1))
        await eventually(lambda: _all_once(svc2, run, 300))


async def _all_once(svc, run: str, n: int) -> bool:  # type: ignore[no-untyped-def]
    from sqlmodel import select

    async with svc.uow() as uow:
        rows = (await uow.session.exec(select(Counter).where(Counter.widget.startswith(f"{run}-")))).all()
    counts = {r.widget: r.count for r in rows}
    assert all(c == 1 for c in counts.values()), {k: v for k, v in counts.items() if v != 1}
    return len(counts) == n


async def test_graceful_shutdown_finishes_the_handler_in_flight(
    tmp_path: Path, database_url: str, kafka_bootstrap: str
) -> None:
    name = f"rt{uuid.uuid4().hex[:8]}"
    slow = Envelope.wrap(WidgetArrived(widget=f"slow-{uuid.uuid4().hex[:8]}"))
    SLOW["started"] = asyncio.Event()
    svc = _svc(tmp_path, database_url, kafka_bootstrap, name)
    await svc.start()
    try:
        await _produce(kafka_bootstrap, [slow])
        await asyncio.wait_for(SLOW["started"].wait(), timeout=60)
    finally:
        await svc.stop()  # SIGTERM path: stop consuming, let the in-flight batch finish, flush
    # the handler's work committed, and so did the offset: a restart does not see it again
    again = _svc(tmp_path, database_url, kafka_bootstrap, name)
    marker = Envelope.wrap(WidgetArrived(widget=f"m-{uuid.uuid4().hex[:8]}"))
    async with running(again):
        assert (await _get(again, Counter, slow.data.widget)).count == 1
        await _produce(kafka_bootstrap, [marker])
        await eventually(lambda: _counted(again, marker.data.widget, 1))
        assert again.metrics.messages_duplicate.labels("count_widget")._value.get() == 0
