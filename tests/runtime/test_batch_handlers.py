"""Batch handlers (``Batch[...]``) and the consumer's SQLite path on the event loop's thread."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from faststream.kafka.annotations import KafkaMessage
from pydantic import Field
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Field as SQLField
from sqlmodel import select

from contracts.base import Event
from contracts.envelope import Envelope
from services.runtime.app import Service
from services.runtime.consumer import Batch, Consumer, HandlerContext, Record, Reject, event_types_of, takes_batch
from services.runtime.db import inline_sqlite, service_registry
from services.runtime.settings import ServiceSettings
from services.runtime.testing import in_memory

from .example import IN, WidgetCounted

Base, metadata = service_registry()


class Gadget(Base, table=True):
    name: str = SQLField(primary_key=True)
    count: int = 0


class GadgetArrived(Event, source="test_runtime", topic=IN.name, key_field="name"):
    name: str = Field(description="Gadget name.")


class GadgetRetired(Event, source="test_runtime", topic=IN.name, key_field="name"):
    name: str = Field(description="Gadget name.")


CALLS: list[object] = []


async def arrived(batch: Batch[GadgetArrived]) -> None:
    CALLS.append([e.name for e in batch.events])
    names = {event.name for event, _ in batch}
    rows = {r.name: r for r in (await batch.session.exec(select(Gadget).where(Gadget.name.in_(names)))).all()}
    for event, ctx in batch:
        if event.name == "reject-me":
            raise Reject("gadget name not allowed")
        row = rows.get(event.name)
        if row is None:
            row = rows[event.name] = Gadget(name=event.name, count=0)
            batch.session.add(row)
        row.count += 1
        await ctx.emit(WidgetCounted(widget=event.name, count=row.count), id=f"{ctx.event_id}-counted")


async def retired(event: GadgetRetired, ctx: HandlerContext) -> None:
    row = await ctx.session.get(Gadget, event.name)
    CALLS.append(("retired", event.name, row.count if row else None))


def make(tmp: Path) -> Service:
    settings = ServiceSettings(data_dir=tmp, auth_secret="test-secret-0123456789abcdef0123456789",
                               consumer_retry_backoff=0.01)
    svc = Service("batchtest", settings, metadata, None)
    svc.subscribe("gadgets", arrived, retired)
    return svc


def records(*events: Event, ids: list[str] | None = None) -> list[Record]:
    envs = [Envelope.wrap(e, id=ids[i] if ids else None) for i, e in enumerate(events)]
    return [Record(IN.name, 0, i, env.key, env.body(), env.kafka_headers()) for i, env in enumerate(envs)]


async def counts(svc: Service) -> dict[str, int]:
    async with svc.uow() as uow:
        return {g.name: g.count for g in (await uow.session.exec(select(Gadget))).all()}


async def outbox_size(svc: Service) -> int:
    ob = svc.db.tables.outbox
    async with svc.uow() as uow:
        return (await uow.session.execute(sa_select(func.count()).select_from(ob))).scalar_one()


def test_a_batch_annotation_names_the_event_types() -> None:
    async def both(batch: Batch[GadgetArrived | GadgetRetired]) -> None: ...

    assert takes_batch(arrived) and takes_batch(both)
    assert not takes_batch(retired)
    assert event_types_of(arrived) == [GadgetArrived]
    assert event_types_of(both) == [GadgetArrived, GadgetRetired]


async def test_consecutive_events_go_to_the_batch_handler_together_in_order(tmp_path: Path) -> None:
    svc = make(tmp_path)
    CALLS.clear()
    async with in_memory(svc):
        consumer = Consumer(svc, svc.handlers[0])
        batch = records(GadgetArrived(name="x"), GadgetArrived(name="y"), GadgetRetired(name="x"),
                        GadgetArrived(name="x"), GadgetArrived(name="z"))
        await consumer.handle_records(batch)
        # the per-event handler between the two runs sees the first run's (unflushed) rows
        assert CALLS == [["x", "y"], ("retired", "x", 1), ["x", "z"]]
        assert await counts(svc) == {"x": 2, "y": 1, "z": 1}
        assert await outbox_size(svc) == 4
        # the same records again (a redelivery): nothing handled, nothing changed
        await consumer.handle_records(batch)
        assert len(CALLS) == 3
        assert await counts(svc) == {"x": 2, "y": 1, "z": 1}
        assert await outbox_size(svc) == 4
        assert svc.metrics.messages_duplicate.labels("gadgets")._value.get() == 5
        assert svc.metrics.messages_processed.labels("gadgets", GadgetArrived.ce_type())._value.get() == 4


async def test_a_failing_batch_is_handled_again_event_by_event(tmp_path: Path) -> None:
    svc = make(tmp_path)
    CALLS.clear()
    dead: list[dict[str, str]] = []

    @svc.broker.subscriber(f"{IN.name}.dlq", group_id="dlq-watch")
    async def watch(msg: KafkaMessage) -> None:
        dead.append(dict(msg.headers))

    async with in_memory(svc):
        consumer = Consumer(svc, svc.handlers[0])
        await consumer.handle_records(records(GadgetArrived(name="a"), GadgetArrived(name="reject-me"),
                                              GadgetArrived(name="b")))
        assert CALLS == [["a", "reject-me", "b"], ["a"], ["reject-me"], ["b"]]
        assert await counts(svc) == {"a": 1, "b": 1}
        assert await outbox_size(svc) == 2  # the failed batch's emits were rolled back
        assert [d["dlq_reason"] for d in dead] == ["rejected"]
        assert dead[0]["dlq_error"] == "gadget name not allowed"


async def test_inline_sqlite_waits_for_another_writer_off_the_event_loop(tmp_path: Path) -> None:
    """A statement run inline that finds the database locked by another connection's open write
    transaction goes to aiosqlite's thread and waits there: the event loop keeps running (the
    other transaction can finish), and the statement succeeds afterwards."""
    svc = make(tmp_path)
    await svc.db.migrate()
    try:
        holder = svc.db.session()
        holder.add(Gadget(name="held", count=1))
        await holder.flush()  # holds SQLite's write lock until it commits

        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        async def release() -> None:
            await asyncio.sleep(0.3)
            await holder.commit()
            await holder.close()

        tick_task = asyncio.create_task(ticker())
        release_task = asyncio.create_task(release())
        started = time.monotonic()
        with inline_sqlite():
            async with svc.uow() as uow:
                uow.session.add(Gadget(name="waiter", count=1))
                await uow.commit()
        waited = time.monotonic() - started
        await release_task
        tick_task.cancel()
        assert waited >= 0.25  # it did wait for the holder ...
        assert ticks >= 10  # ... with the event loop free meanwhile
        assert await counts(svc) == {"held": 1, "waiter": 1}
    finally:
        await svc.db.dispose()


@pytest.mark.parametrize("inline", [True, False])
async def test_inline_and_threaded_statements_read_and_write_alike(tmp_path: Path, inline: bool) -> None:
    svc = make(tmp_path)
    await svc.db.migrate()
    try:
        async def work() -> list[tuple[str, int]]:
            async with svc.uow() as uow:
                uow.session.add_all([Gadget(name=f"g{i}", count=i) for i in range(5)])
                await uow.commit()
            async with svc.uow() as uow:
                rows = (await uow.session.exec(select(Gadget).order_by(Gadget.name))).all()
                return [(r.name, r.count) for r in rows]

        if inline:
            with inline_sqlite():
                got = await work()
        else:
            got = await work()
        assert got == [(f"g{i}", i) for i in range(5)]
    finally:
        await svc.db.dispose()
