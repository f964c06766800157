"""The background work of the deadline service.

- The watcher issues yellow and red cards. It asks the two indexed columns for the clocks whose
  card is due (``due_at <= now``, ``next_warning_at <= now``), issues them in batches (one
  transaction each), then sleeps until the earliest pending instant (two ``min()`` index
  lookups), or until a handler or the API gives a clock an earlier one, or at most
  ``deadline_watch_max_sleep_seconds`` (for clocks changed by another replica). No scans.
- The recomputation worker moves the due dates of open clocks after a calendar change, in
  chunks (resumable after a crash), and publishes ``CalendarChanged`` when done.
- The gauges worker refreshes the open / overdue clock gauges.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlmodel import select

from contracts.base import Event
from contracts.deadline import CalendarChanged, DeadlineMissed, DeadlineWarned
from services.runtime import clock
from services.runtime.app import Service

from . import store
from .calendar import CalendarBook
from .domain import OVERDUE, warn_key
from .keeper import Keeper, derived_id

log = logging.getLogger(__name__)


def card_id(event: Event) -> str:
    """The same card of the same case always has the same id (two watchers, a restart
    mid-batch): the outbox's unique event id and the consumers' inboxes absorb a repeat."""
    if isinstance(event, DeadlineWarned):
        return derived_id("card", event.receipt_no, warn_key(event.threshold_days))
    return derived_id("card", event.receipt_no, OVERDUE)  # type: ignore[attr-defined]


@dataclass
class TickResult:
    clocks: int = 0
    warnings: int = 0
    overdue: int = 0
    batches: int = 0


async def watch_once(service: Service, keeper: Keeper, now: datetime, *, batch_size: int | None = None) -> TickResult:
    """Issue every card due at ``now``. Returns what was done."""
    batch_size = batch_size or service.settings.deadline_watch_batch_size  # type: ignore[attr-defined]
    result = TickResult()
    handled: set[str] = set()
    while True:
        issued: list[Event] = []
        async with service.uow() as uow:
            cal = await keeper.calendar.current(uow.session)
            receipts = [r for r in await store.due_receipts(uow.session, now, batch_size) if r not in handled]
            if not receipts:
                break
            rows = await store.clocks_for_update(uow.session, receipts)
            for row in rows:
                clock = store.clock_from_row(row)
                events = clock.check_alerts(cal, now=now, thresholds=keeper.thresholds)
                await keeper.save(uow, clock, cal, events, row, ids=[card_id(e) for e in events], count=False, flush=False)
                issued.extend(events)
            handled.update(receipts)
            await uow.commit()
        keeper.metrics.count(issued)
        result.batches += 1
        result.clocks += len(receipts)
        result.warnings += sum(isinstance(e, DeadlineWarned) for e in issued)
        result.overdue += sum(isinstance(e, DeadlineMissed) for e in issued)
        if len(receipts) < batch_size:
            break
    return result


async def next_wake(service: Service, now: datetime) -> datetime | None:
    async with service.uow() as uow:
        return await store.next_alert_at(uow.session)


async def watch_forever(service: Service, keeper: Keeper) -> None:
    max_sleep = service.settings.deadline_watch_max_sleep_seconds  # type: ignore[attr-defined]
    while True:
        keeper.wake.clear()
        started = time.perf_counter()
        now = clock.now()  # a simulation's compressed time cards clocks by its own days
        result = await watch_once(service, keeper, now)
        if result.clocks:
            keeper.metrics.tick.observe(time.perf_counter() - started)
            log.info(
                "watcher issued %d yellow and %d red cards for %d clocks", result.warnings, result.overdue, result.clocks
            )
        nxt = await next_wake(service, now)
        keeper.planned_wake = nxt
        keeper.metrics.next_alert.set(nxt.timestamp() if nxt else 0)
        delay = max_sleep if nxt is None else min(max_sleep, max(0.0, (nxt - clock.now()).total_seconds()))
        try:
            await asyncio.wait_for(keeper.wake.wait(), timeout=delay)
        except asyncio.TimeoutError:
            pass


# ---------------------------------------------------------------------------------------------
# Recomputation after a calendar change


async def recompute_once(service: Service, keeper: Keeper, *, chunk: int | None = None) -> bool:
    """One chunk of the oldest unfinished recomputation job. Returns False when none is left."""
    chunk = chunk or service.settings.deadline_recompute_chunk  # type: ignore[attr-defined]
    async with service.uow() as uow:
        session = uow.session
        job = (
            await session.exec(select(store.RecomputeJob).where(store.RecomputeJob.done == False).order_by(store.RecomputeJob.id).limit(1))  # noqa: E712
        ).first()
        if job is None:
            return False
        cal = await keeper.calendar.current(session)
        rows = await store.open_clocks_between(session, job.first_day, job.last_day, after=job.cursor, limit=chunk)
        for row in rows:
            clock = store.clock_from_row(row)
            events = clock.recompute(cal)
            if events:
                job.moved += 1
            await keeper.save(
                uow, clock, cal, events, row, cause=derived_id("recompute", job.id, row.receipt_no, cal.version), flush=False
            )
        if rows:
            job.cursor = rows[-1].receipt_no
        if len(rows) < chunk:
            job.done = True
            job.finished_at = datetime.now(UTC)
            if job.calendar_version > 0:
                change = await session.get(store.CalendarChangeRow, job.calendar_version)
                if change is not None:
                    await uow.emit(
                        CalendarChanged(
                            year=change.year,
                            calendar_version=change.version,
                            action=change.action,
                            day=change.day,
                            holidays=[date.fromisoformat(d) for d in change.holidays],
                            working_days=[date.fromisoformat(d) for d in change.working_days],
                            changed_by=change.changed_by,
                            changed_at=store.aware(change.changed_at),
                            reason=change.reason,
                            clocks_moved=job.moved,
                        ),
                        id=derived_id("calendar", change.version),
                    )
            log.info("calendar recomputation %s done: %d clocks moved", job.id, job.moved)
        session.add(job)
        await uow.commit()
    return True


async def recompute_forever(service: Service, keeper: Keeper) -> None:
    idle = service.settings.deadline_watch_max_sleep_seconds  # type: ignore[attr-defined]
    while True:
        while await recompute_once(service, keeper):
            pass
        async with service.uow() as uow:
            pending = len((await uow.session.exec(select(store.RecomputeJob.id).where(store.RecomputeJob.done == False))).all())  # noqa: E712
        keeper.metrics.recompute_pending.set(pending)
        keeper.recompute.clear()
        try:
            await asyncio.wait_for(keeper.recompute.wait(), timeout=idle)
        except asyncio.TimeoutError:
            pass


LIBRARY_KEY = "library_fingerprint"


async def check_library(service: Service, keeper: Keeper) -> bool:
    """When the national calendar itself changed (a newer ``holidays`` release with the next
    year's State Council schedule), schedule a recomputation of every open clock. Returns True
    when one was scheduled."""
    fingerprint = CalendarBook(library_official=keeper.calendar.library_official).calendar().fingerprint
    async with service.uow() as uow:
        stored = await store.kv_get(uow.session, LIBRARY_KEY)
        if stored == fingerprint:
            return False
        scheduled = stored is not None
        if scheduled:
            uow.session.add(
                store.RecomputeJob(
                    calendar_version=0, first_day=date.min, last_day=date.max, created_at=datetime.now(UTC)
                )
            )
            log.warning("the national calendar changed (library update): recomputing open clocks")
        await store.kv_set(uow.session, LIBRARY_KEY, fingerprint)
        await uow.commit()
    if scheduled:
        keeper.recompute.set()
    return scheduled


async def refresh_gauges(service: Service, keeper: Keeper) -> None:
    async with service.uow() as uow:
        counts = await store.clock_counts(uow.session)
    for state in ("running", "stopped"):
        keeper.metrics.open.labels(state).set(counts.get((state, False), 0) + counts.get((state, True), 0))
    keeper.metrics.open_overdue.set(counts.get(("running", True), 0) + counts.get(("stopped", True), 0))


async def gauges_forever(service: Service, keeper: Keeper) -> None:
    every = service.settings.deadline_gauge_seconds  # type: ignore[attr-defined]
    while True:
        await refresh_gauges(service, keeper)
        await asyncio.sleep(every)
