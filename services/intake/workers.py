"""intake's background loops (registered with ``service.worker`` in ``app.py``): the case
gauges, last month's unit reports, and the retention of personal data (with the public lookup's
housekeeping)."""

from __future__ import annotations

import asyncio
import logging

from services.runtime import Service

from . import usecases
from .usecases import IntakeState

log = logging.getLogger(__name__)


def _state(service: Service) -> IntakeState:
    return service.state.intake


async def refresh_gauges(service: Service) -> None:
    """One refresh of the case gauges (cases by kind and status, weekend receptions)."""
    async with service.uow() as uow:
        await usecases.refresh_gauges(uow, _state(service))


async def case_gauges(service: Service) -> None:
    while True:
        await refresh_gauges(service)
        await asyncio.sleep(_state(service).settings.intake_gauge_seconds)


async def monthly_reports(service: Service) -> None:
    """Report last month once (the 1st of the month, or at the first start after)."""
    st = _state(service)
    while True:
        async with service.uow() as uow:
            await usecases.last_month_reports(uow, st, st.now())
        await asyncio.sleep(3600)


async def erase_expired(service: Service) -> list[str]:
    """One pass of the retention job: every batch of cases past the retention period."""
    st = _state(service)
    done: list[str] = []
    while True:
        async with service.uow() as uow:
            batch = await usecases.erase_expired(uow, st, st.now())
        done += batch
        if not batch:
            return done


async def retention(service: Service) -> None:
    while True:
        try:
            await erase_expired(service)
        except Exception:  # noqa: BLE001 - the next pass tries again (a database away, a case being edited)
            log.exception("retention pass failed; next try in %ss", _state(service).settings.intake_retention_check_seconds)
        await asyncio.sleep(_state(service).settings.intake_retention_check_seconds)
