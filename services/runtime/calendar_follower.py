"""Following the county's working-day calendar from its public change events.

The service that owns the calendar publishes every change (a county override, a State Council
schedule loaded) as an event on its calendar topic. Any other service that counts working days
wires one follower::

    service.state.calendar = follow_calendar(service, CalendarChanged)
    ...
    due = service.state.calendar.calendar.add_working_days(day, 5)

Each process keeps the calendar in memory and rebuilds it by reading the topic from the
beginning on every start, without a consumer group: the events are deltas (so the topic is not
compacted; its retention is ten years), a replica must know every change (a group would hand
each change to one replica only), and nothing about it needs a table or a migration. Until the
replay has reached the end of the topic the follower is not ready, and the service's
``/readyz`` says so (the national calendar alone would give wrong dates in a county that has
overrides). After a broken connection it reads the topic again from the beginning; changes it
already has are skipped by their version.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts.base import Event
from contracts.envelope import EnvelopeError, parse

from .workdays import CountyCalendar, WorkCalendar

if TYPE_CHECKING:
    from .app import Service

log = logging.getLogger(__name__)


class CalendarFollower:
    """The county calendar of one process, kept up to date from the change events."""

    def __init__(self, service: "Service", event_type: type[Event], *, poll_ms: int = 500) -> None:
        self.topic: str = event_type.topic  # type: ignore[attr-defined]
        self.ce_type = event_type.ce_type()
        self.state = CountyCalendar()
        self.ready = asyncio.Event()
        self.poll_ms = poll_ms
        self._options = service.settings.aiokafka_options()
        self._client_id = f"onewindow-{service.name}-calendar"
        self._version = service.metrics.gauge(
            "calendar_version", "Version of the county's working-day calendar this process follows."
        )
        self._ready_gauge = service.metrics.gauge(
            "calendar_ready", "1 once this process has read the calendar's change events to the end."
        )

    @property
    def calendar(self) -> WorkCalendar:
        return self.state.calendar()

    def readiness(self) -> str:
        return "ok" if self.ready.is_set() else "replaying the calendar's change events"

    def apply_record(self, headers: Any, value: bytes | None) -> bool:
        """Apply one record of the topic (other event types on it are ignored)."""
        try:
            env = parse(headers or [], value or b"")
        except EnvelopeError as exc:
            log.warning("calendar follower: unreadable record skipped: %s", exc.reason)
            return False
        if env.type != self.ce_type:
            return False
        gaps = self.state.gaps
        changed = self.state.apply(env.data)
        if self.state.gaps > gaps:
            log.warning("calendar follower: %d change(s) missing before version %d",
                        self.state.gaps - gaps, self.state.version)
        if changed:
            self._version.set(self.state.version)
            log.info("calendar follower: calendar at version %d", self.state.version)
        return changed

    async def run(self, service: "Service | None" = None) -> None:
        """The worker: replay, then follow; reconnect with a pause after any failure."""
        if service is not None and getattr(service.state, "in_memory_broker", False):
            # On the in-memory test broker there is no topic to read: tests feed ``state``.
            self._mark_ready()
            return
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the broker may be away; keep what we have and retry
                log.warning("calendar follower: connection failed; retrying in 5s", exc_info=True)
                await asyncio.sleep(5)

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            **self._options, client_id=self._client_id, group_id=None, enable_auto_commit=False,
            auto_offset_reset="earliest",
            # A topic created after this process started (the calendar's first change) is seen at
            # the next metadata refresh: every few seconds, not the client's default five minutes.
            metadata_max_age_ms=5000,
        )
        await consumer.start()
        try:
            # Without a group every partition of the topic is ours, read from the beginning.
            consumer.subscribe([self.topic])
            ends: dict[TopicPartition, int] | None = None
            while True:
                batches = await consumer.getmany(timeout_ms=self.poll_ms)
                for records in batches.values():
                    for rec in records:
                        self.apply_record(rec.headers, rec.value)
                if self.ready.is_set():
                    continue
                tps = consumer.assignment()
                if not tps:
                    # Not assigned yet, or no such topic (the deployment creates it; until then
                    # there is nothing to replay).
                    if self.topic not in await consumer.topics():
                        self._mark_ready()
                    continue
                if ends is None:
                    ends = await consumer.end_offsets(list(tps))
                positions: dict[TopicPartition, int] = {}
                for tp in tps:  # a plain loop: an await inside a comprehension failed in the services here
                    positions[tp] = await consumer.position(tp)
                if all(positions[tp] >= ends.get(tp, 0) for tp in tps):
                    self._mark_ready()
        finally:
            await consumer.stop()

    def _mark_ready(self) -> None:
        if not self.ready.is_set():
            self.ready.set()
            self._ready_gauge.set(1)
            log.info("calendar follower: caught up at version %d", self.state.version)


def follow_calendar(service: "Service", event_type: type[Event]) -> CalendarFollower:
    """Wire a follower into a service: its worker, and its line in ``/readyz``."""
    follower = CalendarFollower(service, event_type)
    service.state.calendar_follower = follower  # tests feed it changes directly
    if service.uses_kafka:
        service.worker(follower.run, name="calendar-follower")
        service.readiness_checks["calendar"] = follower.readiness
    return follower
