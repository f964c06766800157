"""intake's background loops (registered with ``service.worker`` in ``app.py``): the case
gauges and last month's unit reports."""

from __future__ import annotations

import asyncio

from services.runtime import Service

from . import usecases
from .usecases import IntakeState


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
