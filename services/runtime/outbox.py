"""The transactional outbox and its relay.

A handler or an API route adds events to the outbox in the SAME database transaction as the state
change that caused them (:meth:`UnitOfWork.emit`). The relay publishes unsent rows to Kafka in
batches with an idempotent producer (acks=all), then marks them sent. A crash between commit and
publish loses nothing (the row is still unsent); a crash after publish and before marking yields a
duplicate with the same ``ce_id``, which consumers absorb through their inbox.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka import errors as aiokafka_errors
from sqlalchemy import ARRAY, any_, bindparam, func, insert, select, update
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from contracts.base import Event
from contracts.envelope import Envelope

from .db import inline_sqlite
from .tables import RuntimeTables

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from .db import Database
    from .metrics import RuntimeMetrics

log = logging.getLogger(__name__)


async def add_to_outbox(session: "AsyncSession", tables: RuntimeTables, envelopes: list[Envelope]) -> None:
    if not envelopes:
        return
    now = datetime.now(UTC)
    await session.execute(
        insert(tables.outbox),
        [
            {
                "event_id": env.id,
                "topic": env.topic,
                "key": env.data.key(),
                "headers": env.headers(),
                "payload": env.body(),
                "created_at": now,
            }
            for env in envelopes
        ],
    )


class Sender(Protocol):
    """What the relay publishes through: returns once every record is acknowledged."""

    async def send_batch(self, records: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]) -> None: ...


class BrokerSender:
    """Publishes through the FastStream broker's producer (configured acks=all, idempotent).

    All records of a batch are handed to the producer first and awaited together, so aiokafka
    packs them into as few requests as it can; per-key order is kept by the idempotent producer.
    """

    def __init__(self, broker: Any) -> None:
        self.broker = broker

    async def send_batch(self, records: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]) -> None:
        futures = []
        for topic, key, payload, headers in records:
            fut = await self.broker.publish(
                payload,
                topic=topic,
                key=key,
                headers={k: v.decode() for k, v in headers},
                no_confirm=True,
            )
            futures.append(fut)
        # TestKafkaBroker returns plain values; the real producer returns futures.
        pending = [f for f in futures if isinstance(f, asyncio.Future)]
        if pending:
            await asyncio.gather(*pending)


#: Errors after which an idempotent producer cannot go on: its sequence numbers no longer match
#: the broker's (e.g. the broker lost the producer's state in a restart) or another producer took
#: its id. Only a new producer (a new producer id) can publish again.
FATAL_PRODUCER_ERRORS: tuple[type[BaseException], ...] = (
    aiokafka_errors.OutOfOrderSequenceNumber,
    aiokafka_errors.ProducerFenced,
    aiokafka_errors.UnknownProducerId,
    aiokafka_errors.InvalidProducerEpoch,
)


class ProducerSender:
    """Publishes through an aiokafka producer of the relay's own (acks=all, idempotent).

    Owning it lets the relay replace it: after a fatal producer error (see
    :data:`FATAL_PRODUCER_ERRORS`, or its sender task having died) the producer is closed and the
    next batch starts a new one. The rows of the failed batch are still unsent in the outbox, so
    they go out again; anything the broker had already taken is a duplicate with the same
    ``ce_id``, which consumers absorb through their inbox.
    """

    def __init__(self, options: Callable[[], dict[str, Any]], client_id: str,
                 metrics: "RuntimeMetrics | None" = None, linger_ms: int = 0) -> None:
        # linger 0: the relay hands the producer a whole batch before it awaits any of it, so the
        # records go out together anyway; lingering would only delay every event by as much
        self._options = options
        self.client_id = client_id
        self.metrics = metrics
        self.linger_ms = linger_ms
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self.restarts = 0

    async def _ensure(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    client_id=self.client_id, acks="all", enable_idempotence=True, linger_ms=self.linger_ms,
                    **self._options(),
                )
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    def _dead(self, producer: AIOKafkaProducer, exc: BaseException) -> bool:
        task = getattr(getattr(producer, "_sender", None), "sender_task", None)
        return isinstance(exc, FATAL_PRODUCER_ERRORS) or (task is not None and task.done())

    async def send_batch(self, records: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]) -> None:
        producer = await self._ensure()
        try:
            futures = [
                await producer.send(topic, value=payload, key=key, headers=headers)
                for topic, key, payload, headers in records
            ]
            await asyncio.gather(*futures)
        except Exception as exc:
            if self._dead(producer, exc):
                log.warning("kafka producer failed for good (%r); replacing it", exc)
                await self._discard(producer)
                self.restarts += 1
                if self.metrics is not None:
                    self.metrics.producer_restarts.inc()
            raise

    async def _discard(self, producer: AIOKafkaProducer) -> None:
        async with self._lock:
            if self._producer is producer:
                self._producer = None
        try:
            await asyncio.wait_for(producer.stop(), timeout=10)
        except Exception:  # noqa: BLE001 - a broken producer may fail to close; it is dropped anyway
            log.debug("closing the failed producer failed", exc_info=True)

    async def close(self) -> None:
        if self._producer is not None:
            await self._discard(self._producer)


class OutboxRelay:
    def __init__(
        self,
        db: "Database",
        sender: Sender,
        metrics: "RuntimeMetrics | None" = None,
        batch_size: int = 500,
        idle_seconds: float = 0.5,
    ) -> None:
        self.db = db
        self.sender = sender
        self.metrics = metrics
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.last_error: str | None = None
        #: When the relay began failing without a success since (monotonic), for readiness.
        self.failing_since: float | None = None
        self._mark_sent_stmt: Any = None

    def failing_for(self) -> float:
        """Seconds the relay has been failing without a single success (0 when healthy)."""
        return 0.0 if self.failing_since is None else time.monotonic() - self.failing_since

    def wake(self) -> None:
        """Called after a commit that added outbox rows: publish now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self, flush: bool = True) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._task.cancel()
        if flush:
            try:
                while await self.publish_once():
                    pass
            except Exception:  # noqa: BLE001 - a flush failure leaves rows for the next start
                log.warning("outbox flush on shutdown failed; rows stay unsent", exc_info=True)
        close = getattr(self.sender, "close", None)
        if close is not None:
            await close()

    async def _run(self) -> None:
        while not self._stopping:
            sent = await self._publish_until_it_works()
            if sent < self.batch_size:
                self._wake.clear()
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that
                # arrives as the event fires, and the relay would outlive its stop.
                try:
                    async with asyncio.timeout(self.idle_seconds):
                        await self._wake.wait()
                except TimeoutError:
                    pass

    async def _publish_until_it_works(self) -> int:
        """One batch, retried through broker and database outages (0.5 s, doubling, at most 10 s
        between tries); the failure is kept for /readyz meanwhile."""

        def failed(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            self.last_error = repr(exc)
            if self.failing_since is None:
                self.failing_since = time.monotonic()
            delay = state.next_action.sleep if state.next_action else 0
            log.warning("outbox relay failed, retrying in %.1fs: %r", delay, exc, extra={"throttle": True})

        async for attempt in AsyncRetrying(
            wait=wait_exponential(multiplier=0.5, max=10),
            retry=retry_if_exception_type(Exception),  # the relay must survive broker/db outages
            before_sleep=failed,
            reraise=True,
        ):
            with attempt:
                sent = await self.publish_once()
        self.last_error = None
        self.failing_since = None
        return sent

    def _mark_sent(self) -> Any:
        if self._mark_sent_stmt is None:
            ob = self.db.tables.outbox
            if self.db.dialect == "postgresql":  # one array parameter: a short, prepared statement
                ids = ob.c.id == any_(bindparam("ids", type_=ARRAY(ob.c.id.type)))
            else:
                ids = ob.c.id.in_(bindparam("ids", expanding=True))
            self._mark_sent_stmt = update(ob).where(ids).values(sent_at=bindparam("sent_at"))
        return self._mark_sent_stmt

    async def publish_once(self) -> int:
        """Publish one batch of unsent rows; returns how many were sent."""
        with inline_sqlite():  # SQLite: no hand-off to aiosqlite's thread per statement
            return await self._publish_once()

    async def _publish_once(self) -> int:
        ob = self.db.tables.outbox
        async with self.db.session() as session:
            stmt = select(ob.c.id, ob.c.topic, ob.c.key, ob.c.headers, ob.c.payload).where(ob.c.sent_at.is_(None))
            stmt = stmt.order_by(ob.c.id).limit(self.batch_size)
            if self.db.dialect == "postgresql":
                # Several replicas of a service may relay at once; each takes its own rows.
                stmt = stmt.with_for_update(skip_locked=True)
            rows = (await session.execute(stmt)).all()
            if not rows:
                await session.rollback()
                return 0
            records = [
                (r.topic, r.key.encode() if r.key is not None else None, r.payload, [(k, v.encode()) for k, v in r.headers.items()])
                for r in rows
            ]
            started = time.perf_counter()
            await self.sender.send_batch(records)
            await session.execute(self._mark_sent(), {"ids": [r.id for r in rows], "sent_at": datetime.now(UTC)})
            await session.commit()
        if self.metrics is not None:
            self.metrics.outbox_published.inc(len(rows))
            self.metrics.outbox_publish_seconds.observe(time.perf_counter() - started)
        return len(rows)

    async def refresh_backlog_metrics(self) -> None:
        if self.metrics is None:
            return
        ob = self.db.tables.outbox
        async with self.db.session() as session:
            row = (
                await session.execute(select(func.count(), func.min(ob.c.created_at)).where(ob.c.sent_at.is_(None)))
            ).one()
        count, oldest = row
        self.metrics.outbox_backlog.set(count or 0)
        if oldest is not None:
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=UTC)
            self.metrics.outbox_oldest_age.set(max(0.0, (datetime.now(UTC) - oldest).total_seconds()))
        else:
            self.metrics.outbox_oldest_age.set(0)


__all__ = ["BrokerSender", "Event", "OutboxRelay", "ProducerSender", "add_to_outbox"]
