"""The deadline service on the real Kafka broker (SQLite, and PostgreSQL in CI): intake's events
start, stop, resume and end a clock; its events reach deadline.clocks; a redelivered event
changes nothing; the watcher's cards reach the topic once; a broken event is dead-lettered."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts.deadline import CLOCKS
from contracts.envelope import Envelope
from contracts.intake import APPLICATIONS
from services.deadline import store
from services.deadline.app import create_service
from services.deadline.config import DeadlineSettings
from services.deadline.usecases import watch
from services.runtime import deadletters
from services.runtime.app import Service
from services.runtime.testing import running
from tests.deadline.helpers import local
from tests.deadline.intake_events import accepted, decided, supplement_provided, supplement_requested

pytestmark = pytest.mark.integration


def _svc(tmp: Path, database_url: str, bootstrap: str) -> Service:
    settings = DeadlineSettings(
        data_dir=tmp, database_url=database_url, kafka_bootstrap_servers=bootstrap,
        auth_secret="deadline-integration-secret-0123456789", consumer_retry_backoff=0.01, consumer_max_retries=1,
        deadline_workers=False,
    )
    return create_service(settings, name=f"dl{uuid.uuid4().hex[:8]}")


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 60.0) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


async def _produce(bootstrap: str, envs: list[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for env in envs:
            await producer.send_and_wait(env.topic, env.body(), key=env.key, headers=env.kafka_headers())
    finally:
        await producer.stop()


async def _published(bootstrap: str, topic: str, key: str) -> list[tuple[str, str, dict]]:
    """(ce_type name, ce_id, body) of every record of ``topic`` with ``key``, oldest first."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    parts = [p["partition"] for t in described if t.get("topic") == topic for p in t.get("partitions", [])]
    assert parts, f"topic {topic} is missing"
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out = []
        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in tps])

        while await behind():
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    if r.key == key.encode():
                        headers = {k: v.decode() for k, v in r.headers}
                        out.append((headers["ce_type"].split(".")[2], headers["ce_id"], json.loads(r.value)))
        return out
    finally:
        await consumer.stop()


async def _row(svc: Service, receipt_no: str) -> store.ClockRow | None:
    async with svc.uow() as uow:
        return await store.get_clock(uow.session, receipt_no)


async def test_clock_life_on_the_real_broker(tmp_path: Path, database_url: str, kafka_bootstrap: str) -> None:
    receipt = f"2025-IT{uuid.uuid4().hex[:6].upper()}-00001"
    svc = _svc(tmp_path, database_url, kafka_bootstrap)
    start = Envelope.wrap(accepted(receipt, local(2025, 9, 26, 10)))
    async with running(svc):
        # The same acceptance twice (a redelivery), then the supplement stop and its end.
        await _produce(kafka_bootstrap, [
            start, start,
            Envelope.wrap(supplement_requested(receipt, local(2025, 9, 29, 15))),
            Envelope.wrap(supplement_provided(receipt, local(2025, 10, 10, 9))),
        ])

        async def resumed() -> bool:
            row = await _row(svc, receipt)
            return row is not None and row.state == "running" and row.stops and row.stops[0]["ended_at"] is not None

        await eventually(resumed)
        row = await _row(svc, receipt)
        assert row is not None and row.due_date.isoformat() == "2025-10-21"

        # The yellow card, issued by the watcher at 00:00 on Fri 17 Oct (2 working days left).
        tick = await watch.watch_once(svc, local(2025, 10, 17, 0, 0))
        assert tick.warnings == 1
        await _produce(kafka_bootstrap, [Envelope.wrap(decided(receipt, local(2025, 10, 20, 16)))])

        async def ended() -> bool:
            row = await _row(svc, receipt)
            return row is not None and row.state == "ended"

        await eventually(ended)

        async def all_out() -> bool:
            kinds = [k for k, _, _ in await _published(kafka_bootstrap, CLOCKS.name, receipt)]
            return "ClockEnded" in kinds

        await eventually(all_out)
        published = await _published(kafka_bootstrap, CLOCKS.name, receipt)
        kinds = [k for k, _, _ in published]
        assert kinds == ["ClockStarted", "ClockStopped", "ClockResumed", "DueDateChanged", "DeadlineWarned", "ClockEnded"]
        body = dict((k, b) for k, _, b in published)
        assert body["ClockStarted"]["due_date"] == "2025-10-16"
        assert body["DueDateChanged"]["new_due_date"] == "2025-10-21"
        assert body["ClockEnded"]["on_time"] is True and body["ClockEnded"]["working_days_used"] == 9
        # The deadline service consumed the duplicate once.
        assert svc.metrics.messages_duplicate.labels("cases")._value.get() >= 1


async def test_an_event_for_an_unknown_case_is_dead_lettered(tmp_path: Path, database_url: str, kafka_bootstrap: str) -> None:
    receipt = f"2025-IT{uuid.uuid4().hex[:6].upper()}-00002"
    svc = _svc(tmp_path, database_url, kafka_bootstrap)
    orphan = Envelope.wrap(decided(receipt, local(2025, 10, 20, 16)))
    async with running(svc):
        await _produce(kafka_bootstrap, [orphan])

        async def lettered() -> bool:
            return any(d.event_id == orphan.id for d in await deadletters.read(APPLICATIONS.name, bootstrap=kafka_bootstrap))

        await eventually(lettered)
        (letter,) = [d for d in await deadletters.read(APPLICATIONS.name, bootstrap=kafka_bootstrap) if d.event_id == orphan.id]
        assert letter.headers["dlq_reason"] == "rejected"
        assert "no clock for case" in letter.headers["dlq_error"]
        assert await _row(svc, receipt) is None
