"""Helpers for tests of a service: run it on FastStream's in-memory broker (unit tests only) or
against the real Kafka broker (integration tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from faststream.kafka import TestKafkaBroker

from contracts.base import Event
from contracts.envelope import Envelope

from .app import Service
from .outbox import BrokerSender


@asynccontextmanager
async def in_memory(service: Service) -> AsyncIterator[Service]:
    """Start ``service`` with its broker patched by ``TestKafkaBroker``: publishing an event
    reaches the service's own subscribers synchronously."""
    real_sender = service.relay.sender
    service.relay.sender = BrokerSender(service.broker)  # the relay publishes into the test broker
    # Plain Kafka clients of the service (the calendar follower) stay away from any real broker.
    service.state.in_memory_broker = True
    try:
        async with TestKafkaBroker(service.broker):
            await service.start()
            try:
                yield service
            finally:
                await service.stop()
    finally:
        service.relay.sender = real_sender


@asynccontextmanager
async def running(service: Service) -> AsyncIterator[Service]:
    """Start ``service`` for real (its settings name the Kafka broker and database)."""
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


async def publish(service: Service, event: Event, *, id: str | None = None, **kwargs: object) -> Envelope:
    """Publish ``event`` as another service would (CloudEvents headers, JSON body)."""
    env = Envelope.wrap(event, id=id, **kwargs)  # type: ignore[arg-type]
    await service.broker.publish(env.body(), topic=env.topic, key=env.key, headers=env.headers())
    return env


async def drain(service: Service) -> int:
    """Publish everything in the outbox now; returns how many rows went out."""
    total = 0
    while n := await service.relay.publish_once():
        total += n
    return total
