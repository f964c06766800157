"""The background loops of the deadline service (registered with ``service.worker`` in
``app.py``; the steps they repeat are use cases, ``usecases/watch.py``).

- The watcher issues the yellow and red cards due now, then sleeps until the earliest pending
  instant, or until a handler or the API gives a clock an earlier one (``alarm.wake``), or at most
  ``deadline_watch_max_sleep_seconds`` (for clocks changed by another replica). At start it checks
  whether the national calendar (the ``holidays`` library) changed.
- The recomputation worker moves the due dates of open clocks after a calendar change, in
  chunks, woken by ``alarm.recompute``.
- The gauges worker refreshes the open / overdue clock gauges.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from services.runtime import clock as suite_clock

from .usecases import watch
from .usecases.shared import state_of

if TYPE_CHECKING:
    from services.runtime.app import Service

log = logging.getLogger(__name__)


async def watch_forever(service: "Service") -> None:
    st = state_of(service)
    max_sleep = st.settings.deadline_watch_max_sleep_seconds
    while True:
        st.alarm.wake.clear()
        started = time.perf_counter()
        now = suite_clock.now()  # a simulation's compressed time cards clocks by its own days
        result = await watch.watch_once(service, now)
        if result.clocks:
            st.metrics.tick.observe(time.perf_counter() - started)
            log.info(
                "watcher issued %d yellow and %d red cards for %d clocks", result.warnings, result.overdue, result.clocks
            )
        nxt = await watch.next_wake(service, now)
        st.alarm.planned_wake = nxt
        st.metrics.next_alert.set(nxt.timestamp() if nxt else 0)
        delay = max_sleep if nxt is None else min(max_sleep, max(0.0, (nxt - suite_clock.now()).total_seconds()))
        try:
            await asyncio.wait_for(st.alarm.wake.wait(), timeout=delay)
        except asyncio.TimeoutError:
            pass


async def watcher(service: "Service") -> None:
    """The ``deadline-watcher`` worker: the library check, then the watcher."""
    await watch.check_library(service)
    await watch_forever(service)


async def recompute_forever(service: "Service") -> None:
    """The ``deadline-recompute`` worker."""
    st = state_of(service)
    idle = st.settings.deadline_watch_max_sleep_seconds
    while True:
        while await watch.recompute_once(service):
            pass
        await watch.pending_recomputations(service)
        st.alarm.recompute.clear()
        try:
            await asyncio.wait_for(st.alarm.recompute.wait(), timeout=idle)
        except asyncio.TimeoutError:
            pass


async def gauges_forever(service: "Service") -> None:
    """The ``deadline-gauges`` worker."""
    every = state_of(service).settings.deadline_gauge_seconds
    while True:
        await watch.refresh_gauges(service)
        await asyncio.sleep(every)
