"""Runtime consumer semantics on FastStream's in-memory broker (unit level)."""

from __future__ import annotations

from pathlib import Path

import pytest
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy import func, select

from contracts.envelope import Envelope
from services.runtime.testing import drain, in_memory, publish

from .example import FIXED, Counter, WidgetArrived, make


async def _count(svc, widget: str) -> int:
    async with svc.uow() as uow:
        row = await uow.session.get(Counter, widget)
        return row.count if row else 0


async def test_event_changes_state_and_emits_through_outbox(tmp_path: Path) -> None:
    svc = make(tmp_path)
    async with in_memory(svc):
        await publish(svc, WidgetArrived(widget="a"))
        assert await _count(svc, "a") == 1
        ob = svc.db.tables.outbox
        async with svc.uow() as uow:
            rows = (await uow.session.execute(select(ob.c.topic, ob.c.sent_at))).all()
        assert [r.topic for r in rows] == ["test.runtime.out"]
        assert await drain(svc) in (0, 1)  # the relay may have sent it already
        async with svc.uow() as uow:
            unsent = (await uow.session.execute(select(func.count()).where(ob.c.sent_at.is_(None)))).scalar_one()
        assert unsent == 0


async def test_redelivered_event_changes_nothing(tmp_path: Path) -> None:
    svc = make(tmp_path)
    async with in_memory(svc):
        env = await publish(svc, WidgetArrived(widget="b"), id="fixed-id-1")
        await publish(svc, WidgetArrived(widget="b"), id=env.id)
        await publish(svc, WidgetArrived(widget="b"), id=env.id)
        assert await _count(svc, "b") == 1
        assert svc.metrics.messages_duplicate.labels("count_widget")._value.get() == 2


async def test_bad_messages_go_to_the_dead_letter_topic(tmp_path: Path) -> None:
    svc = make(tmp_path)
    dead: list[dict[str, str]] = []

    @svc.broker.subscriber("test.runtime.in.dlq", group_id="dlq-watch")
    async def watch(msg: KafkaMessage) -> None:
        dead.append(dict(msg.headers))
    async with in_memory(svc):
        # not JSON, unknown type, handler failure, explicit rejection; then a good one
        await svc.broker.publish(b"not json", topic="test.runtime.in", headers={"ce_id": "x1"})
        env = Envelope.wrap(WidgetArrived(widget="c"))
        headers = env.headers() | {"ce_type": "onewindow.nobody.Unknown.v1"}
        await svc.broker.publish(env.body(), topic="test.runtime.in", headers=headers)
        await publish(svc, WidgetArrived(widget="p", poison=True))
        await publish(svc, WidgetArrived(widget="reject-me"))
        await publish(svc, WidgetArrived(widget="good"))
        assert await _count(svc, "good") == 1
        assert await _count(svc, "p") == 0
    reasons = sorted(d["dlq_reason"] for d in dead)
    assert reasons == ["handler_failed", "invalid", "invalid", "rejected"]
    failed = next(d for d in dead if d["dlq_reason"] == "handler_failed")
    assert "poisoned widget p" in failed["dlq_error"]
    assert failed["dlq_consumer"] == "exampletest.count_widget"
    assert failed["ce_type"] == WidgetArrived.ce_type()  # original headers kept
    assert any("missing CloudEvents headers" in d["dlq_error"] for d in dead)
    assert any("unknown ce_type" in d["dlq_error"] for d in dead)


async def test_batch_with_one_failure_still_processes_the_rest(tmp_path: Path) -> None:
    svc = make(tmp_path)
    FIXED["poison"] = False
    async with in_memory(svc):
        from services.runtime.consumer import Consumer, Record

        consumer = Consumer(svc, svc.handlers[0])
        recs = []
        for i, w in enumerate(["x", "p", "y"]):
            env = Envelope.wrap(WidgetArrived(widget=w, poison=(w == "p")))
            recs.append(Record("test.runtime.in", 0, i, env.key, env.body(), env.kafka_headers()))
        await consumer.handle_records(recs)
        assert (await _count(svc, "x"), await _count(svc, "p"), await _count(svc, "y")) == (1, 0, 1)
        assert svc.metrics.dead_letters.labels("count_widget", "test.runtime.in", "handler_failed")._value.get() == 1
