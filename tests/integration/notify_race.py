"""What the notify race tests on PostgreSQL share (test_notify_contact_race.py,
test_notify_duty_gap_race.py): notify on a database of its own with no broker, and the consumer's
transaction played by hand, so that two handlers' transactions interleave the same way every time."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from contracts.base import Event
from contracts.envelope import Envelope
from services.notify.app import create_service
from services.notify.config import NotifySettings
from services.runtime.app import Service
from services.runtime.consumer import HandlerContext
from tests.pg import fresh_database

POSTGRES_URL = os.environ.get("ONEWINDOW_TEST_POSTGRES_URL")

MARKS = [
    pytest.mark.integration,
    pytest.mark.skipif(not POSTGRES_URL, reason="the race needs PostgreSQL: set ONEWINDOW_TEST_POSTGRES_URL "
                       "(CI does; .ci/run starts one)"),
]


@pytest.fixture
def pg_url() -> Iterator[str]:
    assert POSTGRES_URL
    with fresh_database(POSTGRES_URL, "t_race") as url:
        yield url


class NoBroker:
    """The relay's sender in these tests: the outbox rows stay to be read."""

    async def send_batch(self, records: list) -> None:
        raise ConnectionError("no broker in this test")


def notify_service(tmp_path: Path, url: str, **extra: Any) -> Service:
    svc = create_service(NotifySettings(data_dir=tmp_path, database_url=url, auth_secret="k" * 32,
                                        notify_quiet_hours="off", log_json=False, **extra), deliver=False)
    svc.relay.sender = NoBroker()
    return svc


@pytest.fixture
async def notify(tmp_path: Path, pg_url: str) -> AsyncIterator[Service]:
    """notify on its PostgreSQL database with its background workers running (no Kafka: the test
    plays the consumers). The periodic sweep is set to an hour, so only what the commits
    themselves trigger can release anything within the test."""
    svc = notify_service(tmp_path, pg_url, notify_contact_sweep_seconds=3600)
    await svc.start(kafka=False)
    try:
        yield svc
    finally:
        await svc.stop()


async def handle(svc: Service, handler: str, event: Event | Envelope, uow: Any) -> None:
    """What the consumer does inside its transaction for one record (the commit is the caller's)."""
    env = event if isinstance(event, Envelope) else Envelope.wrap(event)
    spec = next(h for h in svc.handlers if h.name == handler)
    await spec.handler_for(env.type)(env.data, HandlerContext(env, uow, svc))


async def handle_and_commit(svc: Service, handler: str, event: Event | Envelope) -> None:
    async with svc.uow() as uow:
        await handle(svc, handler, event, uow)
        await uow.commit()


async def done_or_waiting_on_a_lock(svc: Service, task: asyncio.Task) -> None:
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
