"""Idempotent Kafka consumers with retries and dead letters.

A service declares a handler for one or more event types::

    @service.handler(ApplicationAccepted, SupplementRequested)
    async def on_application(event, ctx: HandlerContext) -> None:
        ...  # ctx.session, await ctx.emit(...)

The runtime subscribes (consumer group ``<service>.<handler>``) to the topics of those types and,
for each batch of records:

1. parses the CloudEvents envelope; a record that is not a valid event of a known type goes to
   ``<topic>.dlq`` with the reason;
2. handles the whole batch in ONE transaction: skips event ids already in the handler's inbox,
   runs the handler, records each id in the inbox, commits (state, outbox rows and inbox rows
   together);
3. if that fails, handles the records one by one, each in its own transaction, retrying with
   backoff; a record that still fails goes to the dead-letter topic with the error, and the
   consumer moves on;
4. commits the Kafka offsets only after all that (FastStream ``AckPolicy.NACK_ON_ERROR``).

An infrastructure failure (database unreachable) is not the record's fault: nothing is
dead-lettered; the batch is nacked and redelivered after a pause.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from contracts.base import Event
from contracts.envelope import Envelope, EnvelopeError, decode_headers, parse

from .db import database_unavailable
from .logs import log_context
from .uow import UnitOfWork

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from .app import Service

log = logging.getLogger(__name__)

DLQ_HEADERS = ("dlq_reason", "dlq_error", "dlq_consumer", "dlq_topic", "dlq_partition", "dlq_offset", "dlq_time")


class Reject(Exception):
    """Raised by a handler for an event that can never be processed (retrying cannot help): it
    goes straight to the dead-letter topic with this reason."""


@dataclass
class HandlerContext:
    envelope: Envelope
    uow: UnitOfWork
    service: "Service | None" = None

    @property
    def session(self) -> "AsyncSession":
        return self.uow.session

    @property
    def event_id(self) -> str:
        return self.envelope.id

    async def emit(self, event: Event, **kwargs: Any) -> Envelope:
        return await self.uow.emit(event, **kwargs)


HandlerFn = Callable[[Any, HandlerContext], Awaitable[None]]


@dataclass
class HandlerSpec:
    name: str
    fn: HandlerFn | None
    types: dict[str, type[Event]]
    group: str
    topics: list[str] = field(default_factory=list)
    #: ce_type -> handler (``Service.subscribe``); empty: ``fn`` takes every type.
    routes: dict[str, HandlerFn] = field(default_factory=dict)

    def handler_for(self, ce_type: str) -> HandlerFn:
        return self.routes.get(ce_type) or self.fn  # type: ignore[return-value]


def event_types_of(fn: Callable[..., Any]) -> list[type[Event]]:
    """The event types a handler takes, from its first parameter's annotation (``A | B``)."""
    import inspect
    import types as pytypes
    import typing

    hints = typing.get_type_hints(fn)
    params = list(inspect.signature(fn).parameters)
    if not params or params[0] not in hints:
        raise TypeError(f"{fn.__qualname__}: annotate the first parameter with the event type(s)")
    hint = hints[params[0]]
    members = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, pytypes.UnionType) else (hint,)
    bad = [m for m in members if not (isinstance(m, type) and issubclass(m, Event))]
    if bad:
        raise TypeError(f"{fn.__qualname__}: {bad} are not event types")
    return list(members)


@dataclass
class Record:
    """The parts of a Kafka record the runtime uses (aiokafka's and the test broker's alike)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    @classmethod
    def of(cls, raw: Any) -> "Record":
        return cls(raw.topic, raw.partition, raw.offset, raw.key, raw.value, list(raw.headers or []))


def _is_infrastructure(exc: BaseException) -> bool:
    return database_unavailable(exc) or isinstance(exc, (OSError, asyncio.TimeoutError))


class Consumer:
    """Runs one :class:`HandlerSpec` over batches of records."""

    def __init__(self, service: "Service", spec: HandlerSpec) -> None:
        self.service = service
        self.spec = spec
        self.metrics = service.metrics
        self.settings = service.settings

    # -- entry point --------------------------------------------------------------------------
    async def handle_records(self, raws: Iterable[Any]) -> None:
        started = time.perf_counter()
        records = [Record.of(r) for r in raws]
        todo: list[tuple[Record, Envelope]] = []
        for rec in records:
            self.metrics.messages_received.labels(self.spec.name, rec.topic).inc()
            try:
                env = parse(rec.headers, rec.value or b"")
            except EnvelopeError as exc:
                await self.dead_letter(rec, "invalid", exc.reason)
                continue
            if env.type in self.spec.types:
                todo.append((rec, env))
        if todo:
            try:
                await self._handle_batch(todo)
            except Exception as exc:  # noqa: BLE001
                if _is_infrastructure(exc):
                    await self._pause_for_infrastructure(exc)
                    raise
                for rec, env in todo:
                    await self._handle_one(rec, env)
        self.metrics.handler_seconds.labels(self.spec.name).observe(time.perf_counter() - started)

    # -- the fast path: one transaction per batch ---------------------------------------------
    async def _handle_batch(self, todo: list[tuple[Record, Envelope]]) -> None:
        inbox = self.service.db.tables.inbox
        async with self.service.uow() as uow:
            ids = [env.id for _, env in todo]
            seen = set(
                (
                    await uow.session.execute(
                        select(inbox.c.event_id).where(inbox.c.consumer == self.spec.group, inbox.c.event_id.in_(ids))
                    )
                ).scalars()
            )
            done: list[Envelope] = []
            for _rec, env in todo:
                if env.id in seen:
                    self.metrics.messages_duplicate.labels(self.spec.name).inc()
                    continue
                seen.add(env.id)
                with log_context(env.id, _receipt_no(env)):
                    await self.spec.handler_for(env.type)(env.data, HandlerContext(env, uow, self.service))
                done.append(env)
            await self._record(uow, done)
            await uow.commit()
        for env in done:
            self.metrics.messages_processed.labels(self.spec.name, env.type).inc()

    # -- the slow path: one record at a time, retries, dead letters --------------------------
    async def _handle_one(self, rec: Record, env: Envelope) -> None:
        attempts = self.settings.consumer_max_retries + 1
        retrying = AsyncRetrying(
            stop=stop_after_attempt(attempts),
            # backoff, 2 x backoff, 4 x backoff, ...
            wait=wait_exponential(multiplier=self.settings.consumer_retry_backoff, min=0),
            # A rejected record cannot succeed; an outage is not the record's fault (paused, nacked).
            retry=retry_if_exception(lambda exc: not isinstance(exc, Reject) and not _is_infrastructure(exc)),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    try:
                        await self._handle_batch([(rec, env)])
                    except Exception as exc:  # noqa: BLE001
                        kind = "Reject" if isinstance(exc, Reject) else type(exc).__name__
                        self.metrics.messages_failed.labels(self.spec.name, kind).inc()
                        if not isinstance(exc, Reject) and not _is_infrastructure(exc):
                            with log_context(env.id, _receipt_no(env)):
                                log.warning("handler %s failed (attempt %d/%d): %r", self.spec.name,
                                            attempt.retry_state.attempt_number, attempts, exc)
                        raise
        except Reject as exc:
            await self.dead_letter(rec, "rejected", str(exc), env)
        except Exception as exc:  # noqa: BLE001
            if _is_infrastructure(exc):
                await self._pause_for_infrastructure(exc)
                raise
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            await self.dead_letter(rec, "handler_failed", detail, env)

    async def _record(self, uow: UnitOfWork, envs: list[Envelope]) -> None:
        if not envs:
            return
        now = datetime.now(UTC)
        await uow.session.execute(
            insert(self.service.db.tables.inbox),
            [{"consumer": self.spec.group, "event_id": e.id, "event_type": e.type, "processed_at": now} for e in envs],
        )

    async def _pause_for_infrastructure(self, exc: BaseException) -> None:
        log.error("handler %s paused: infrastructure unavailable: %r", self.spec.name, exc, extra={"throttle": True})
        await asyncio.sleep(1.0)

    # -- dead letters -------------------------------------------------------------------------
    async def dead_letter(self, rec: Record, reason: str, error: str, env: Envelope | None = None) -> None:
        """Publish the record unchanged to ``<topic>.dlq`` with why, and wait for the broker to
        confirm; only then may the offset move on."""
        headers = {k: v for k, v in decode_headers(rec.headers).items() if k not in DLQ_HEADERS}
        headers.update(
            dlq_reason=reason,
            dlq_error=error[:4000],
            dlq_consumer=self.spec.group,
            dlq_topic=rec.topic,
            dlq_partition=str(rec.partition),
            dlq_offset=str(rec.offset),
            dlq_time=datetime.now(UTC).isoformat(),
        )
        with log_context(env.id if env else headers.get("ce_id"), _receipt_no(env) if env else headers.get("ce_subject")):
            log.error("dead-lettered a record of %s for %s: %s: %s", rec.topic, self.spec.name, reason, error[:500])
        # Through the relay's producer: the one that is replaced when it fails for good.
        await self.service.relay.sender.send_batch(
            [(f"{rec.topic}.dlq", rec.key, rec.value or b"", [(k, str(v).encode()) for k, v in headers.items()])]
        )
        self.metrics.dead_letters.labels(self.spec.name, rec.topic, reason).inc()


def _receipt_no(env: Envelope) -> str | None:
    return getattr(env.data, "receipt_no", None) or env.subject
