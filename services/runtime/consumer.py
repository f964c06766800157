"""Idempotent Kafka consumers with retries and dead letters.

A service subscribes module-level functions, one per event type, in a consumer group
(``Service.subscribe``); each function's first annotation names the type(s) it takes::

    async def accepted(event: ApplicationAccepted, ctx: HandlerContext) -> None:
        ...  # ctx.session, await ctx.emit(...)

    service.subscribe("cases", accepted, supplement_requested)

or, opting in to the batch (:class:`Batch`), one function for the consecutive events of a batch
that it takes, so that it can load their rows in one query and flush once::

    async def on_accepted(batch: Batch[ApplicationAccepted]) -> None:
        clocks = await load_clocks(batch.session, {e.receipt_no for e, _ in batch})
        for event, ctx in batch:
            ...  # as a per-event handler: ctx.emit(...), ctx.event_id

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
4. only after all that, hands the batch's next offsets (per partition, explicit) to the group's
   :class:`OffsetCommitter`, which commits them to Kafka in the background (see there).

An infrastructure failure (database unreachable) is not the record's fault: nothing is
dead-lettered; the batch is nacked (its partitions rewound to its first records, its offsets
never handed on) and redelivered after a pause.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from aiokafka import ConsumerRebalanceListener, TopicPartition
from sqlalchemy import ARRAY, any_, bindparam, insert, select
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from contracts.base import Event
from contracts.envelope import Envelope, EnvelopeError, decode_headers, parse

from .db import database_unavailable, inline_sqlite
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


E = TypeVar("E", bound=Event)


class Batch(Generic[E]):
    """The consecutive events of a batch that go to one batch handler, in their order, each with
    its own :class:`HandlerContext` (its ``emit``, ``event_id``); one transaction for all.

    A handler opts in by annotating its only parameter ``Batch[SomeEvent]`` (``Batch[A | B]``)::

        async def on_widgets(batch: Batch[WidgetArrived]) -> None:
            rows = {r.widget: r for r in (await batch.session.exec(
                select(Counter).where(Counter.widget.in_({e.widget for e, _ in batch})))).all()}
            for event, ctx in batch:
                ...

    Events already in the inbox are not in it. The same rules as for a per-event handler hold,
    and one more: a batch may be rolled back and handed again in smaller pieces (after a
    failure, each event alone, with retries and dead letters), so the function must not keep
    state of its own between calls. Queries inside it see what earlier handlers of the same
    batch wrote (autoflush), and nothing of the rows it has only added itself: keep those in a
    dict, as above.
    """

    __slots__ = ("items", "uow", "service")

    def __init__(self, items: list[tuple[E, HandlerContext]], uow: UnitOfWork, service: "Service | None" = None) -> None:
        self.items = items
        self.uow = uow
        self.service = service

    @property
    def session(self) -> "AsyncSession":
        return self.uow.session

    @property
    def events(self) -> list[E]:
        return [event for event, _ in self.items]

    def __iter__(self) -> Iterator[tuple[E, HandlerContext]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


HandlerFn = Callable[[Any, HandlerContext], Awaitable[None]]
BatchFn = Callable[[Batch[Any]], Awaitable[None]]


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


def _first_hint(fn: Callable[..., Any]) -> Any:
    import inspect
    import typing

    hints = typing.get_type_hints(fn)
    params = list(inspect.signature(fn).parameters)
    if not params or params[0] not in hints:
        raise TypeError(f"{fn.__qualname__}: annotate the first parameter with the event type(s)")
    return hints[params[0]]


def takes_batch(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` is a batch handler (its parameter annotated ``Batch[...]``)."""
    import typing

    try:
        hint = _first_hint(fn)
    except Exception:  # noqa: BLE001 - unresolvable or missing annotations: a per-event handler
        return False
    return hint is Batch or typing.get_origin(hint) is Batch


def event_types_of(fn: Callable[..., Any]) -> list[type[Event]]:
    """The event types a handler takes, from its first parameter's annotation (``A | B``, or
    ``Batch[A | B]`` for a batch handler)."""
    import types as pytypes
    import typing

    hint = _first_hint(fn)
    if typing.get_origin(hint) is Batch:
        hint = typing.get_args(hint)[0]
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
        #: ce_type -> (function, takes a Batch)
        self._routes: dict[str, tuple[Callable[..., Awaitable[None]], bool]] = {}
        for ce_type in spec.types:
            fn = spec.handler_for(ce_type)
            self._routes[ce_type] = (fn, takes_batch(fn))
        # Which of a batch's event ids this group has processed: one statement, built once. On
        # PostgreSQL the ids go as one array parameter (a short statement psycopg prepares once,
        # not one parameter per id parsed anew for every batch).
        inbox = service.db.tables.inbox
        if service.db.dialect == "postgresql":
            ids = inbox.c.event_id == any_(bindparam("ids", type_=ARRAY(inbox.c.event_id.type)))
        else:
            ids = inbox.c.event_id.in_(bindparam("ids", expanding=True))
        self._seen_stmt = select(inbox.c.event_id).where(inbox.c.consumer == spec.group, ids)
        self._inbox_insert = insert(inbox)

    # -- entry point --------------------------------------------------------------------------
    async def handle_records(self, raws: Iterable[Any]) -> None:
        started = time.perf_counter()
        records = [Record.of(r) for r in raws]
        todo: list[tuple[Record, Envelope]] = []
        received: dict[str, int] = {}
        for rec in records:
            received[rec.topic] = received.get(rec.topic, 0) + 1
        for topic, n in received.items():
            self.metrics.messages_received.labels(self.spec.name, topic).inc(n)
        types = self.spec.types
        for rec in records:
            try:
                env = parse(rec.headers, rec.value or b"")
            except EnvelopeError as exc:
                await self.dead_letter(rec, "invalid", exc.reason)
                continue
            if env.type in types:
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
        # SQLite: the batch's statements on the event loop's thread, no hand-off per statement.
        with inline_sqlite():
            done, duplicates = await self._handle_batch_in_transaction(todo)
        if duplicates:
            self.metrics.messages_duplicate.labels(self.spec.name).inc(duplicates)
        processed: dict[str, int] = {}
        for env in done:
            processed[env.type] = processed.get(env.type, 0) + 1
        for ce_type, count in processed.items():
            self.metrics.messages_processed.labels(self.spec.name, ce_type).inc(count)

    async def _handle_batch_in_transaction(self, todo: list[tuple[Record, Envelope]]) -> tuple[list[Envelope], int]:
        service = self.service
        async with service.uow() as uow:
            ids = [env.id for _, env in todo]
            seen = set((await uow.session.execute(self._seen_stmt, {"ids": ids})).scalars())
            done: list[Envelope] = []
            for _rec, env in todo:
                if env.id not in seen:
                    seen.add(env.id)
                    done.append(env)
            duplicates = len(todo) - len(done)
            routes = self._routes
            i, n = 0, len(done)
            while i < n:
                env = done[i]
                fn, batch = routes[env.type]
                if not batch:
                    with log_context(env.id, _receipt_no(env)):
                        await fn(env.data, HandlerContext(env, uow, service))
                    i += 1
                    continue
                # The consecutive events that go to the same batch handler, in one call.
                j = i + 1
                while j < n and routes[done[j].type][0] is fn:
                    j += 1
                await fn(Batch([(e.data, HandlerContext(e, uow, service)) for e in done[i:j]], uow, service))
                i = j
            await self._record(uow, done)
            await uow.commit()
        return done, duplicates

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
        group = self.spec.group
        await uow.session.execute(
            self._inbox_insert,
            [{"consumer": group, "event_id": e.id, "event_type": e.type, "processed_at": now} for e in envs],
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


class OffsetCommitter:
    """Commits one consumer group's Kafka offsets off the batches' critical path.

    Awaiting the offset commit after each batch (FastStream's ack) put a broker round trip
    (p50 13 ms, p90 30 ms under load) between one batch's transaction and the next fetch. Here a
    batch whose transaction has committed (state, outbox and inbox rows) only records its
    explicit next offsets, ``{TopicPartition: last offset + 1}`` (never the consumer's position,
    which may already include records fetched since), and one background task commits them: one
    commit in flight at a time, the offsets of the batches handled meanwhile coalesced into the
    next one.

    What a commit not yet made can cost is a redelivery after a crash, which the inbox absorbs
    (duplicates are skipped), exactly as a crash between a batch's transaction and its commit
    could before. A batch that failed never gets here (it is nacked and redelivered), so its
    offsets are never committed; the batches before it are. When partitions are revoked
    (rebalance) or the service stops, the batch in flight is let finish and what is pending is
    committed first (:meth:`drain`); offsets of partitions no longer assigned are dropped.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        #: The aiokafka consumer the offsets belong to (a restarted subscriber has a new one).
        self.consumer: Any = None
        self._pending: dict[TopicPartition, int] = {}
        self._lock = asyncio.Lock()  # one commit in flight at a time
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # no batch being handled
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        #: Set when the service stops: batches fetched from then on are left for the next start
        #: (FastStream skips them too once its own stop begins).
        self.closing = False

    # -- the consumer's side ------------------------------------------------------------------
    def begin_batch(self) -> None:
        self._idle.clear()

    def end_batch(self, consumer: Any = None, records: Iterable[Any] = ()) -> None:
        """The batch is over; ``records`` (given only if its transaction committed and nothing
        failed) are due for commit."""
        self._idle.set()
        if consumer is None:
            return
        if consumer is not self.consumer:  # a new consumer (restart): the old one's offsets are moot
            self.consumer = consumer
            self._pending.clear()
        pending = self._pending
        for rec in records:
            tp = TopicPartition(rec.topic, rec.partition)
            if rec.offset + 1 > pending.get(tp, -1):
                pending[tp] = rec.offset + 1
        if pending:
            if self._task is None or self._task.done():
                self._task = asyncio.create_task(self._run(), name=f"offsets-{self.name}")
            self._wake.set()

    @property
    def pending(self) -> dict[TopicPartition, int]:
        return dict(self._pending)

    # -- committing ---------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not await self.commit_pending():
                await asyncio.sleep(1.0)  # kept for the next attempt; no hot loop on a failing broker

    async def commit_pending(self) -> bool:
        """Commit what is pending now (after the commit in flight, if any). False if it failed:
        the offsets stay pending for the next attempt, unless newer ones came meanwhile."""
        async with self._lock:
            if not self._pending or self.consumer is None:
                return True
            offsets, self._pending = self._pending, {}
            try:
                assigned = self.consumer.assignment()
                due = {tp: off for tp, off in offsets.items() if tp in assigned}
                if due:
                    await self.consumer.commit(due)
            except BaseException as exc:
                for tp, off in offsets.items():
                    if off > self._pending.get(tp, -1):
                        self._pending[tp] = off
                if not isinstance(exc, Exception):
                    raise
                log.warning("offset commit of %s failed, kept for the next one: %r", self.name, exc,
                            extra={"throttle": True})
                return False
            return True

    async def drain(self, timeout: float) -> None:
        """Let the batch in flight finish, then commit everything pending (at most ``timeout``
        seconds; what is left is redelivered later and skipped by the inbox)."""
        try:
            await asyncio.wait_for(self._drain(), timeout)
        except asyncio.TimeoutError:
            log.warning("offsets of %s not committed within %.0fs: %s", self.name, timeout, self._pending)

    async def _drain(self) -> None:
        await self._idle.wait()
        await self.commit_pending()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._pending.clear()
        self.consumer = None

    def rebalance_listener(self, timeout: float) -> ConsumerRebalanceListener:
        """For the subscriber: on revocation, the batch in flight finishes and the pending
        offsets are committed while this member still owns the partitions."""
        committer = self

        class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
            async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
                if revoked:
                    await committer.drain(timeout)

            async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
                return None

        return _Listener()


def _receipt_no(env: Envelope) -> str | None:
    return getattr(env.data, "receipt_no", None) or env.subject
