"""The usage log (用印登记) for supervisors: its hash chain checked, its entries in order, and the
supervision queries (uses per unit per month, uses outside the hall's hours, refusals)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from services.runtime import clock
from services.runtime.uow import UnitOfWork

from .. import domain, store
from ..domain.usagelog import ChainReport, verify_chain

if TYPE_CHECKING:
    from services.runtime.app import Service

#: Entries read per query while walking the whole chain.
CHAIN_BATCH = 5000


async def verify_log(uow: UnitOfWork) -> ChainReport:
    """Walk the whole log: ok, or the first entry that does not fit, and the head hash."""
    entries = []
    after = 0
    while batch := await store.log_entries(uow.session, after=after, limit=CHAIN_BATCH):
        entries.extend(r.entry() for r in batch)
        after = batch[-1].seq
    return verify_chain(entries)


async def read_log(uow: UnitOfWork, after: int, limit: int) -> list[store.UsageLogRow]:
    return list(await store.log_entries(uow.session, after=after, limit=limit))


def period(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    """The instants of a query's local days; default from the first of this month to today."""
    today = clock.today()
    return domain.query_window(start or today.replace(day=1), end or today)


async def usage_per_month(uow: UnitOfWork, start: date | None, end: date | None) -> list[domain.MonthlyUse]:
    lo, hi = period(start, end)
    rows = await store.log_between(uow.session, lo, hi, actions=("sealed", "refused"))
    return domain.monthly_use((r.unit_code, store.aware(r.at), r.action) for r in rows)


async def after_hours(
    svc: "Service", uow: UnitOfWork, start: date | None, end: date | None, unit_code: str | None,
) -> list[store.UsageLogRow]:
    """Documents sealed outside the hall's working hours (``service.state.hours``, local time)."""
    lo, hi = period(start, end)
    hours: domain.WorkingHours = svc.state.hours
    rows = await store.log_between(uow.session, lo, hi, actions=("sealed",), unit_code=unit_code)
    return [r for r in rows if hours.outside(store.aware(r.at))]


async def refusals(
    uow: UnitOfWork, start: date | None, end: date | None, unit_code: str | None,
) -> list[store.UsageLogRow]:
    lo, hi = period(start, end)
    return await store.log_between(uow.session, lo, hi, actions=("refused",), unit_code=unit_code)
