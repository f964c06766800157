"""The consumers' offset commits on the real broker (SQLite and PostgreSQL): committed in the
background while the service runs, up to the end of what was handled; a batch that failed is not
committed and comes again; a poison record is dead-lettered and committed past; on a rebalance
the member that loses its partitions commits what it had handled before letting them go."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlmodel import Field as SQLField

from contracts.envelope import Envelope
from services.runtime.app import Service
from services.runtime.consumer import HandlerContext, OffsetCommitter
from services.runtime.db import service_registry
from services.runtime.settings import ServiceSettings
from services.runtime.testing import running
from tests.runtime.example import FIXED, IN, OUT, Counter, WidgetArrived, make
from tools import kafka_local

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _topics(kafka_bootstrap: str):  # type: ignore[no-untyped-def]
    specs = kafka_local.topic_specs([IN, OUT])
    kafka_local.ensure_topics_sync(kafka_bootstrap, specs)
    yield
    kafka_local.run_sync(lambda: kafka_local.delete_topics(kafka_bootstrap, [s.name for s in specs]))


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 60.0, what: str = "") -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError(f"condition not met in time: {what}")
        await asyncio.sleep(0.2)


async def produce(bootstrap: str, envs: list[Envelope]) -> list[tuple[int, int]]:
    """Sends ``envs`` in order; returns each one's (partition, offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        out = []
        for env in envs:
            md = await producer.send_and_wait(env.topic, env.body(), key=env.key, headers=env.kafka_headers())
            out.append((md.partition, md.offset))
        return out
    finally:
        await producer.stop()


async def committed(bootstrap: str, group: str) -> dict[int, int]:
    """The group's committed offsets on IN, by partition."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: om.offset for tp, om in offsets.items() if tp.topic == IN.name and om.offset >= 0}


async def end_offsets(bootstrap: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(IN.name, p) for p in range(IN.partitions)]
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return {tp.partition: off for tp, off in ends.items() if off > 0}


async def count_of(svc: Service, widget: str) -> int:
    async with svc.uow() as uow:
        row = await uow.session.get(Counter, widget)
    return row.count if row else 0


def committer_of(svc: Service, group: str) -> OffsetCommitter:
    return next(c for c in svc._committers if c.name == f"{svc.name}.{group}")


async def test_offsets_are_committed_in_the_background_and_a_restart_redelivers_nothing(
    tmp_path: Path, database_url: str, kafka_bootstrap: str
) -> None:
    name = f"of{uuid.uuid4().hex[:8]}"
    run = uuid.uuid4().hex[:6]
    envs = [Envelope.wrap(WidgetArrived(widget=f"{run}-{i}")) for i in range(60)]
    svc = make(tmp_path, database_url=database_url, name=name, kafka_bootstrap_servers=kafka_bootstrap)
    group = f"{name}.count_widget"
    async with running(svc):
        await produce(kafka_bootstrap, envs)
        await eventually(lambda: _all_counted(svc, run, 60), what="all 60 counted")
        ends = await end_offsets(kafka_bootstrap)
        # While the service runs, the background commits reach the end of what it handled.
        await eventually(lambda: _equal(committed(kafka_bootstrap, group), ends), timeout=30,
                         what="committed offsets reach the partitions' ends")
        assert committer_of(svc, "count_widget").pending == {}
    # The same group again: nothing comes twice.
    again = make(tmp_path, database_url=database_url, name=name, kafka_bootstrap_servers=kafka_bootstrap)
    marker = Envelope.wrap(WidgetArrived(widget=f"{run}-marker"))
    async with running(again):
        await produce(kafka_bootstrap, [marker])
        await eventually(lambda: _is(count_of(again, marker.data.widget), 1), what="marker counted")
        assert again.metrics.messages_duplicate.labels("count_widget")._value.get() == 0
        assert await _all_counted(again, run, 60)


async def _equal(got: Awaitable[dict[int, int]], want: dict[int, int]) -> bool:
    return await got == want


async def _is(got: Awaitable[int], want: int) -> bool:
    return await got == want


async def _all_counted(svc: Service, run: str, n: int) -> bool:
    from sqlmodel import select

    async with svc.uow() as uow:
        rows = (await uow.session.exec(select(Counter).where(Counter.widget.startswith(f"{run}-")))).all()
    counts = {r.widget: r.count for r in rows if "marker" not in r.widget}
    assert all(c == 1 for c in counts.values()), {k: v for k, v in counts.items() if v != 1}
    return len(counts) == n


# A service whose handler meets a "database outage" while OUTAGE["on"].
Base, metadata = service_registry()


class Seen(Base, table=True):
    widget: str = SQLField(primary_key=True)
    times: int = 0


OUTAGE = {"on": False, "attempts": 0}


async def flaky(event: WidgetArrived, ctx: HandlerContext) -> None:
    OUTAGE["attempts"] += 1
    if OUTAGE["on"]:
        raise ConnectionError("the database went away")
    row = await ctx.session.get(Seen, event.widget) or Seen(widget=event.widget, times=0)
    row.times += 1
    ctx.session.add(row)


async def times_seen(svc: Service, widget: str) -> int:
    async with svc.uow() as uow:
        row = await uow.session.get(Seen, widget)
    return row.times if row else 0


async def test_a_failed_batch_is_not_committed_and_comes_again(
    tmp_path: Path, database_url: str, kafka_bootstrap: str
) -> None:
    settings = ServiceSettings(data_dir=tmp_path, database_url=database_url, kafka_bootstrap_servers=kafka_bootstrap,
                               auth_secret="test-secret-0123456789abcdef0123456789")
    svc = Service(f"of{uuid.uuid4().hex[:8]}", settings, metadata, None)
    svc.subscribe("flaky", flaky)
    group = f"{svc.name}.flaky"
    key = f"k-{uuid.uuid4().hex[:8]}"
    OUTAGE.update(on=False, attempts=0)
    try:
        async with running(svc):
            good = Envelope.wrap(WidgetArrived(widget=key))
            [(partition, good_offset)] = await produce(kafka_bootstrap, [good])
            await eventually(lambda: _is(times_seen(svc, key), 1), what="the good record handled")
            await eventually(lambda: _equal(committed(kafka_bootstrap, group), {partition: good_offset + 1}),
                             timeout=30, what="the good record committed")
            # The database goes away: the next record's batch fails, is nacked and comes again.
            OUTAGE["on"] = True
            bad = Envelope.wrap(WidgetArrived(widget=key))  # same key: same partition
            [(p2, bad_offset)] = await produce(kafka_bootstrap, [bad])
            assert p2 == partition and bad_offset == good_offset + 1
            before = OUTAGE["attempts"]
            await eventually(lambda: _true(OUTAGE["attempts"] >= before + 3), timeout=30,
                             what="the failed batch delivered again")
            # ... and never committed meanwhile.
            assert await committed(kafka_bootstrap, group) == {partition: good_offset + 1}
            assert committer_of(svc, "flaky").pending == {}
            assert await times_seen(svc, key) == 1
            assert svc.metrics.dead_letters.labels("flaky", IN.name, "handler_failed")._value.get() == 0
            # The database is back: handled once, then committed past.
            OUTAGE["on"] = False
            await eventually(lambda: _is(times_seen(svc, key), 2), what="the record handled after the outage")
            await eventually(lambda: _equal(committed(kafka_bootstrap, group), {partition: bad_offset + 1}),
                             timeout=30, what="committed past it")
            assert await times_seen(svc, key) == 2
    finally:
        OUTAGE.update(on=False)


async def _true(v: bool) -> bool:
    return v


async def test_a_poison_record_is_dead_lettered_then_committed_past(
    tmp_path: Path, database_url: str, kafka_bootstrap: str
) -> None:
    FIXED["poison"] = False
    svc = make(tmp_path, database_url=database_url, name=f"of{uuid.uuid4().hex[:8]}",
               kafka_bootstrap_servers=kafka_bootstrap)
    group = f"{svc.name}.count_widget"
    poison = Envelope.wrap(WidgetArrived(widget=f"p-{uuid.uuid4().hex[:8]}", poison=True))
    async with running(svc):
        [(partition, offset)] = await produce(kafka_bootstrap, [poison])
        letters = svc.metrics.dead_letters.labels("count_widget", IN.name, "handler_failed")
        await eventually(lambda: _true(letters._value.get() == 1), what="dead-lettered")
        await eventually(lambda: _equal(committed(kafka_bootstrap, group), {partition: offset + 1}), timeout=30,
                         what="committed past the poison")
        assert await count_of(svc, poison.data.widget) == 0


async def test_a_member_losing_its_partitions_commits_what_it_handled_first(
    tmp_path: Path, database_url: str, kafka_bootstrap: str
) -> None:
    name = f"of{uuid.uuid4().hex[:8]}"
    run = uuid.uuid4().hex[:6]
    group = f"{name}.count_widget"
    first = make(tmp_path, database_url=database_url, name=name, kafka_bootstrap_servers=kafka_bootstrap)
    held = committer_of(first, "count_widget")

    async def never() -> None:  # no background commits: only a revocation (or the stop) commits
        await asyncio.Event().wait()

    held._run = never  # type: ignore[method-assign]
    envs = [Envelope.wrap(WidgetArrived(widget=f"{run}-{i}")) for i in range(40)]
    async with running(first):
        await produce(kafka_bootstrap, envs)
        await eventually(lambda: _all_counted(first, run, 40), what="all 40 counted by the first member")
        ends = await end_offsets(kafka_bootstrap)
        assert held.pending and await committed(kafka_bootstrap, group) == {}
        # A second member joins the group: the first one's partitions are revoked.
        second = make(tmp_path, database_url=database_url, name=name, kafka_bootstrap_servers=kafka_bootstrap)
        async with running(second):
            await eventually(lambda: _equal(committed(kafka_bootstrap, group), ends), timeout=60,
                             what="the revoked partitions' offsets committed")
            assert held.pending == {}
            marker = [Envelope.wrap(WidgetArrived(widget=f"{run}-marker{i}")) for i in range(8)]
            await produce(kafka_bootstrap, marker)
            await eventually(lambda: _markers(first, run, 8), what="the markers counted")
            dups = (first.metrics.messages_duplicate.labels("count_widget")._value.get()
                    + second.metrics.messages_duplicate.labels("count_widget")._value.get())
            assert dups == 0
            assert await _all_counted(first, run, 40)


async def _markers(svc: Service, run: str, n: int) -> bool:
    return all([await count_of(svc, f"{run}-marker{i}") == 1 for i in range(n)])
