"""The relay's own producer is replaced after a fatal producer error (a broker that lost the
idempotent producer's sequence, a fenced producer), and only then; the failed batch is raised so
that its rows stay unsent and go out again through the new producer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import errors

from services.runtime import outbox
from services.runtime.outbox import ProducerSender


class FakeProducer:
    """Stands in for AIOKafkaProducer: records what it sent; fails as told."""

    made: list["FakeProducer"] = []
    fail_with: list[BaseException] = []

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.sent: list[tuple[str, bytes]] = []
        self.stopped = False
        FakeProducer.made.append(self)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, topic: str, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]) -> asyncio.Future:
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        if FakeProducer.fail_with:
            fut.set_exception(FakeProducer.fail_with.pop(0))
        else:
            self.sent.append((topic, value))
            fut.set_result(None)
        return fut


@pytest.fixture(autouse=True)
def fake(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeProducer.made, FakeProducer.fail_with = [], []
    monkeypatch.setattr(outbox, "AIOKafkaProducer", FakeProducer)


RECORD = [("t", b"k", b"v", [("ce_id", b"1")])]


@pytest.mark.parametrize("fatal", [errors.OutOfOrderSequenceNumber(), errors.ProducerFenced(), errors.UnknownProducerId()])
async def test_a_fatal_error_replaces_the_producer(fatal: BaseException) -> None:
    sender = ProducerSender(lambda: {"bootstrap_servers": "x:1"}, "svc-relay")
    await sender.send_batch(RECORD)
    FakeProducer.fail_with = [fatal]
    with pytest.raises(type(fatal)):
        await sender.send_batch(RECORD)
    first, = FakeProducer.made
    assert first.stopped and sender.restarts == 1
    await sender.send_batch(RECORD)  # the rows go out again through a new producer
    assert len(FakeProducer.made) == 2 and FakeProducer.made[1].sent == [("t", b"v")]
    assert FakeProducer.made[1].options["enable_idempotence"] is True and FakeProducer.made[1].options["acks"] == "all"


async def test_a_passing_error_keeps_the_producer() -> None:
    sender = ProducerSender(lambda: {"bootstrap_servers": "x:1"}, "svc-relay")
    FakeProducer.fail_with = [errors.KafkaTimeoutError()]
    with pytest.raises(errors.KafkaTimeoutError):
        await sender.send_batch(RECORD)
    await sender.send_batch(RECORD)
    assert len(FakeProducer.made) == 1 and not FakeProducer.made[0].stopped and sender.restarts == 0
    await sender.close()
    assert FakeProducer.made[0].stopped
