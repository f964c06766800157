"""Background loops: the AB-post duty watcher, the month-end publication and the violation sweep.

Each step is a use case of (service, now) (``usecases.duty.check_duty``,
``usecases.reports.publish_due``) so tests can run it at any chosen moment; these loops call
it with the suite's clock. Both are idempotent (deterministic event ids, one publication per
period), so several replicas running them do no harm. ``app.py`` registers them unless
``ATTENDANCE_BACKGROUND_JOBS`` is off.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from services.runtime import clock
from services.runtime.app import Service

from .usecases.duty import check_duty
from .usecases.reports import publish_due
from .usecases.shared import attendance
from .usecases.violations import sweep_due


def now() -> datetime:
    """The suite's clock (a name of its own, so a test can stand the loops' time still)."""
    return clock.now()


async def duty_watcher(service: Service) -> None:
    """Check weekend coverage every ``ATTENDANCE_DUTY_CHECK_SECONDS``."""
    settings = attendance(service).settings
    while True:
        await check_duty(service, now())
        await asyncio.sleep(settings.attendance_duty_check_seconds)


async def month_end(service: Service) -> None:
    """Publish last month's report and rankings when due, every ``ATTENDANCE_PUBLISH_CHECK_SECONDS``."""
    settings = attendance(service).settings
    while True:
        await publish_due(service, now())
        await asyncio.sleep(settings.attendance_publish_check_seconds)


async def violation_sweeper(service: Service) -> None:
    """Judge the last finished days for lateness, absence and leaving the post, every
    ``ATTENDANCE_VIOLATION_CHECK_SECONDS``."""
    settings = attendance(service).settings
    while True:
        await sweep_due(service, now())
        await asyncio.sleep(settings.attendance_violation_check_seconds)


def register(service: Service) -> None:
    service.worker(duty_watcher, name="attendance-duty-watcher")
    service.worker(violation_sweeper, name="attendance-violation-sweeper")
    service.worker(month_end, name="attendance-month-end")
