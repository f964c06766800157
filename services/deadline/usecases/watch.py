"""The steps of the deadline service's background work (``workers.py`` loops over them; tests
and benchmarks call them directly).

- :func:`watch_once` issues the yellow and red cards due at an instant: it asks the two indexed
  columns for the clocks whose card is due (``due_at <= now``, ``next_warning_at <= now``) and
  issues them in batches, one transaction each. :func:`next_wake` is the earliest pending
  instant (two ``min()`` index lookups). No scans.
- :func:`recompute_once` moves the due dates of open clocks after a calendar change, one chunk
  of the oldest unfinished job (resumable after a crash), and publishes ``CalendarChanged`` when
  the job is done.
- :func:`check_library` schedules a full recomputation when the national calendar itself
  changed (a newer ``holidays`` release).
- :func:`refresh_gauges` sets the open / overdue clock gauges.

They take the service (a source of units of work: one transaction per batch or chunk).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from contracts.base import Event, utcnow
from contracts.deadline import CalendarChanged, DeadlineMissed, DeadlineWarned
from services.runtime import clock as suite_clock

from .. import store
from ..domain.calendar import CalendarBook
from ..domain.clock import OVERDUE, warn_key
from .rollover import Rollover
from .shared import derived_id, save_clock, state_of

if TYPE_CHECKING:
    from services.runtime.app import Service

log = logging.getLogger(__name__)

#: The key under which the national calendar's fingerprint last applied to the clocks is kept.
LIBRARY_KEY = "library_fingerprint"


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


async def watch_once(service: "Service", now: datetime, *, batch_size: int | None = None) -> TickResult:
    """Issue every card due at ``now``. Returns what was done.

    One transaction per batch, without the ORM on this path (a day's rollover may issue cards
    for a tenth of the open clocks at one midnight): the batch's rows are read with Core SELECTs
    on the two indexes (locked on PostgreSQL); the domain decides each clock -- once per kind of
    clock in the tick, applied to the clocks of that kind (:mod:`.rollover`), a clock with a stop,
    an extension or a decision on its own; the alert columns that changed are written by one
    UPDATE per set of columns and the cards by one outbox INSERT, each statement taking the whole
    batch (SQLite: the driver's executemany; PostgreSQL: one ``jsonb`` parameter); the outbox rows
    are what ``uow.emit`` would write (:func:`store.outbox_row`).
    A crash mid-tick loses nothing and repeats nothing: each batch commits its rows and cards
    together, the next tick takes what is still due, and card ids derive from the case."""
    st = state_of(service)
    batch_size = batch_size or st.settings.deadline_watch_batch_size
    outbox = service.db.tables.outbox
    result = TickResult()
    # SQLite: the WAL's checkpoints beside the batches, not in their commits (store.WalCheckpoints)
    checkpoints = store.WalCheckpoints(service.db.engine.url)
    try:
        return await _watch_batches(service, st, now, batch_size, outbox, result, checkpoints)
    finally:
        await checkpoints.finish()


async def _watch_batches(
    service: "Service", st: Any, now: datetime, batch_size: int, outbox: Any, result: TickResult,
    checkpoints: store.WalCheckpoints,
) -> TickResult:
    handled: set[str] = set()
    rollover: Rollover | None = None
    conflicts = 0
    while True:
        issued: list[Event] = []
        try:
            async with service.uow() as uow:
                session = uow.session
                cal = await st.calendar.current(session)
                due, more = await store.due_clocks(session, now, batch_size, skip=handled)
                if not due:
                    break
                if rollover is None:
                    rollover = Rollover(now, st.thresholds, service.db.is_sqlite, uow.source or "deadline")
                wall = suite_clock.system_now()  # housekeeping (updated_at, the outbox's created_at): the wall clock
                batch = rollover.begin(cal, utcnow().isoformat(), wall)
                for values in due:
                    events = rollover.add(batch, values)
                    if events:
                        issued.extend(events)
                    handled.add(values[0])
                await store.write_alert_rows(session, batch.updates)
                await store.add_outbox_values(session, outbox, batch.cards)
                await uow.commit()
        except store.ClocksChanged:
            # SQLite: a clock was written by someone else between the batch's read and its write
            # (its SELECT runs before the write transaction begins); the batch was rolled back
            # whole. Take its clocks again, as they are now.
            conflicts += 1
            if conflicts > 10:
                raise
            handled.difference_update(values[0] for values in due)
            continue
        checkpoints.kick()
        if batch.cards and uow.relay is not None:
            uow.relay.wake()
        st.alarm.nudge(*batch.nudges)
        st.metrics.count(issued)
        for threshold, n in batch.warnings.items():
            st.metrics.warnings.labels(str(threshold)).inc(n)
        if batch.overdue:
            st.metrics.overdue.inc(batch.overdue)
        result.batches += 1
        result.clocks += len(due)
        result.warnings += sum(isinstance(e, DeadlineWarned) for e in issued) + sum(batch.warnings.values())
        result.overdue += sum(isinstance(e, DeadlineMissed) for e in issued) + batch.overdue
        if not more:
            break
    return result


async def next_wake(service: "Service", now: datetime) -> datetime | None:
    """The earliest instant a card is pending (None: none)."""
    async with service.uow() as uow:
        return await store.next_alert_at(uow.session)


async def recompute_once(service: "Service", *, chunk: int | None = None) -> bool:
    """One chunk of the oldest unfinished recomputation job. Returns False when none is left."""
    st = state_of(service)
    chunk = chunk or st.settings.deadline_recompute_chunk
    async with service.uow() as uow:
        session = uow.session
        job = await store.next_recompute_job(session)
        if job is None:
            return False
        cal = await st.calendar.current(session)
        rows = await store.open_clocks_between(session, job.first_day, job.last_day, after=job.cursor, limit=chunk)
        for row in rows:
            clock = store.clock_from_row(row)
            events = clock.recompute(cal)
            if events:
                job.moved += 1
            await save_clock(
                uow, st, clock, cal, events, row, cause=derived_id("recompute", job.id, row.receipt_no, cal.version), flush=False
            )
        if rows:
            job.cursor = rows[-1].receipt_no
        if len(rows) < chunk:
            job.done = True
            job.finished_at = suite_clock.system_now()  # bookkeeping: the wall clock
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


async def pending_recomputations(service: "Service") -> int:
    """Recomputation jobs not finished (sets the gauge too)."""
    async with service.uow() as uow:
        pending = await store.pending_recompute_jobs(uow.session)
    state_of(service).metrics.recompute_pending.set(pending)
    return pending


async def check_library(service: "Service") -> bool:
    """When the national calendar itself changed (a newer ``holidays`` release with the next
    year's State Council schedule), schedule a recomputation of every open clock. Returns True
    when one was scheduled."""
    st = state_of(service)
    fingerprint = CalendarBook(library_official=st.calendar.library_official).calendar().fingerprint
    async with service.uow() as uow:
        stored = await store.kv_get(uow.session, LIBRARY_KEY)
        if stored == fingerprint:
            return False
        scheduled = stored is not None
        if scheduled:
            uow.session.add(
                store.RecomputeJob(
                    calendar_version=0, first_day=date.min, last_day=date.max, created_at=suite_clock.system_now()
                )
            )
            log.warning("the national calendar changed (library update): recomputing open clocks")
        await store.kv_set(uow.session, LIBRARY_KEY, fingerprint)
        await uow.commit()
    if scheduled:
        st.alarm.recompute.set()
    return scheduled


async def refresh_gauges(service: "Service") -> None:
    metrics = state_of(service).metrics
    async with service.uow() as uow:
        counts = await store.clock_counts(uow.session)
    for state in ("running", "stopped"):
        metrics.open.labels(state).set(counts.get((state, False), 0) + counts.get((state, True), 0))
    metrics.open_overdue.set(counts.get(("running", True), 0) + counts.get(("stopped", True), 0))
