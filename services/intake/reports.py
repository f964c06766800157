"""Monthly unit reports (volume, "should enter but don't" flags) and the case gauges."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from contracts.base import Event
from contracts.common import CaseKind
from contracts.intake import UnitVolumeReported

from .store import Store
from .volume import inactive_units, monthly_volume
from .workdays import local_date

if TYPE_CHECKING:
    from services.runtime import Service

log = logging.getLogger(__name__)


def previous_period(now: datetime) -> str:
    d = local_date(now)
    year, month = (d.year, d.month - 1) if d.month > 1 else (d.year - 1, 12)
    return f"{year:04d}-{month:02d}"


async def volume_for(store: Store, period: str, unit_code: str | None = None) -> list[UnitVolumeReported]:
    """The month's volume of every unit (or one), computed now (not emitted)."""
    from datetime import UTC

    facts = await store.case_facts(period)
    consultations = await store.consultation_counts(period)
    now = datetime.now(UTC)
    return [monthly_volume(u, period, facts, sum(consultations.get(u.code, {}).values()), now)
            for u in await store.units() if unit_code is None or u.code == unit_code]


async def make_monthly_reports(store: Store, period: str, at: datetime, threshold: int) -> list[Event]:
    """Volume of every unit and inactivity flags for `period`, each made once (a second call for
    the same period returns only what was not made yet)."""
    events: list[Event] = []
    facts = await store.case_facts(period)
    consultations = await store.consultation_counts(period)
    units = await store.units()
    for unit in units:
        if await store.report_made(unit.code, period, "volume"):
            continue
        events.append(monthly_volume(unit, period, facts, sum(consultations.get(unit.code, {}).values()), at))
        await store.mark_report(unit.code, period, "volume", at)
    last = await store.last_business()
    for flag in inactive_units(units, dict(last), period, threshold, at):
        if await store.report_made(flag.unit_code, period, "inactivity"):
            continue
        events.append(flag)
        await store.mark_report(flag.unit_code, period, "inactivity", at)
    return events


async def monthly_reports(service: "Service", ctx, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """Worker step: report last month once (the 1st of the month, or at the first start after)."""
    period = previous_period(now)
    async with service.uow() as uow:
        store = Store(uow.session)
        if not await store.units():
            return
        events = await make_monthly_reports(store, period, now, ctx.settings.intake_inactivity_months)
        for e in events:
            await uow.emit(e)
        await uow.commit()
    if events:
        log.info("monthly unit reports for %s: %d events", period, len(events))


async def refresh_gauges(service: "Service", ctx) -> None:  # type: ignore[no-untyped-def]
    async with service.uow() as uow:
        store = Store(uow.session)
        rows = await store.counts_by_kind_and_status()
        weekends = await store.weekend_counts()
    ctx.metrics.cases.clear()
    for kind, status, n in rows:
        ctx.metrics.cases.labels(CaseKind(kind).value, status).set(n)
    ctx.metrics.weekend_received.set(sum(n for _, n in weekends))
