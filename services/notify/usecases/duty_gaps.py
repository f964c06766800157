"""Weekend duty-gap alerts (attendance's DutyGapDetected) as state changes in the caller's
transaction, and their rendezvous with the duty managers.

notify learns who the duty managers are from another topic (``attendance.staff``), through
another consumer. A gap handled before any duty manager is known (a fresh system catching up, the
staff consumer lagging) is therefore held (``awaiting_manager``) instead of going nowhere, and
alerted once a manager is known — unless by then it has waited longer than
``notify_duty_gap_alert_max_age_hours``: it is marked ``expired`` and logged, since an alert about
a shift long past is noise.

On PostgreSQL the two handlers can run at once, each missing what the other has not committed:
the gap's finds no manager, the staff's finds no held gap. As for notices and contacts
(usecases/notices.py), both wake the release worker after they commit; its sweep
(:meth:`DutyGaps.release_waiting`) starts after both commits, so sees both, and takes each gap
with a compare-and-set, so two replicas never both alert it. Each manager is alerted once per gap
anyway: the SMS's idempotency key is built on the gap's event id."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.attendance import DutyGapDetected, StaffRegistered, StaffRole, StaffUpdated
from contracts.notify import Recipient
from services.runtime import clock

from .. import domain, store
from ..config import NotifySettings
from ..domain import Category, DutyGapState
from ..store import DutyGapRow, StaffRow, aware
from .messages import Emitter, SmsMetrics, SmsRequest, queue_sms

log = logging.getLogger(__name__)

DUTY_MANAGER = StaffRole.DUTY_MANAGER.value
TEMPLATE = "staff_duty_gap"


class DutyGaps:
    def __init__(self, settings: NotifySettings, metrics: SmsMetrics, wake: Callable[[AsyncSession], None]) -> None:
        self.settings = settings
        self.metrics = metrics
        #: Wakes the release worker once the given session has committed (Notices.wake_after_commit).
        self.wake = wake

    async def on_gap(self, uow: Emitter, event: DutyGapDetected, event_id: str, now: datetime) -> DutyGapRow | None:
        """A gap was detected: alert the duty managers known, or hold it until one is. None when
        this event was handled already (a redelivery the inbox no longer remembers)."""
        if await uow.session.get(DutyGapRow, event_id) is not None:
            return None
        row = DutyGapRow(event_id=event_id, window_no=event.window_no, unit_code=event.unit_code,
                         unit_name=event.unit_name, day=event.day, opening_time=event.opening_time,
                         posts=domain.duty_gap_posts(event.post_a is not None, event.post_b is not None),
                         detected_at=event.detected_at, state=DutyGapState.AWAITING_MANAGER.value, updated_at=now)
        uow.session.add(row)
        await uow.session.flush()
        managers = await store.staff_by_role(uow.session, DUTY_MANAGER)
        if managers:
            await self._settle(uow, row, managers, now)  # a gap replayed days later is not news
        else:
            log.warning("duty gap at window %s (%s, %s %s): no duty manager known yet, the alert waits for one",
                        row.window_no, row.unit_name, row.day, row.opening_time.strftime("%H:%M"))
            self.wake(uow.session)  # a duty manager may be committing right now
        return row

    async def on_manager(self, uow: Emitter, now: datetime) -> int:
        """An active duty manager with a mobile was written in this transaction: the gaps held
        for one are settled now (alerted to every manager known, or expired). Those committed by
        a concurrent transaction after this one looked are the release worker's, woken by
        whichever commit comes last. Returns how many were settled."""
        self.wake(uow.session)
        rows = await store.claim_duty_gaps(uow.session)
        if not rows:
            return 0
        managers = await store.staff_by_role(uow.session, DUTY_MANAGER)
        if not managers:
            return 0  # nobody to alert after all (the caller checks): they wait on
        for row in rows:
            await self._settle(uow, row, managers, now)
        return len(rows)

    async def release_waiting(self, uow: Callable[[], AbstractAsyncContextManager[Any]],
                              now: datetime | None = None, limit: int = 100) -> tuple[int, bool]:
        """Settle the gaps still held although a duty manager is known, each in a transaction of
        its own (``uow`` makes one). Returns how many were settled and whether more may be left."""
        async with uow() as u:
            waiting = (await store.awaiting_duty_gaps(u.session, limit)
                       if await store.staff_by_role(u.session, DUTY_MANAGER) else [])
        settled = 0
        for event_id in waiting:
            async with uow() as u:
                at = now or clock.now()
                row = await store.claim_duty_gap(u.session, event_id, at)
                if row is None:
                    continue  # settled meanwhile (the staff handler, another replica)
                managers = await store.staff_by_role(u.session, DUTY_MANAGER)
                if not managers:
                    continue  # every manager left meanwhile: rolled back, it waits on
                await self._settle(u, row, managers, at)
                await u.commit()
                settled += 1
        if settled:
            log.info("settled %d duty gap(s) held for a duty manager who had become known "
                     "(a concurrent commit or an interrupted process)", settled)
        return settled, len(waiting) >= limit and bool(settled)

    async def refresh_gauge(self, uow: Callable[[], AbstractAsyncContextManager[Any]]) -> int:
        """Set the gauge of gaps waiting for a duty manager from the database (all replicas')."""
        async with uow() as u:
            n = await store.count_duty_gaps(u.session, DutyGapState.AWAITING_MANAGER)
        self.metrics.duty_gaps_waiting.set(n)
        return n

    async def _settle(self, uow: Emitter, row: DutyGapRow, managers: Sequence[StaffRow], now: datetime) -> None:
        detected = aware(row.detected_at) or now
        if domain.duty_gap_stale(detected, now, self.settings.duty_gap_alert_max_age):
            row.state, row.updated_at = DutyGapState.EXPIRED.value, now
            log.warning("duty gap at window %s (%s, %s %s) expired unsent: detected %s, handled %s "
                        "(more than %sh later)", row.window_no, row.unit_name, row.day,
                        row.opening_time.strftime("%H:%M"), detected.isoformat(), now.isoformat(),
                        f"{self.settings.notify_duty_gap_alert_max_age_hours:g}")
            return
        await self._alert(uow, row, managers, now)

    async def _alert(self, uow: Emitter, row: DutyGapRow, managers: Sequence[StaffRow], now: datetime) -> None:
        context = {"window_no": row.window_no, "unit_name": row.unit_name, "post": row.posts,
                   "since": row.opening_time.strftime("%H:%M")}
        for person in managers:
            await queue_sms(uow, self.settings, SmsRequest(
                cause_event_id=row.event_id, template=TEMPLATE, category=Category.STAFF_ALERT,
                recipient_kind=Recipient.STAFF, mobile=person.mobile or "", context=context,
                staff_id=person.staff_id), now, self.metrics)
        row.state, row.alerted_at, row.updated_at = DutyGapState.ALERTED.value, now, now


# --------------------------------------------------------------------------- events and sweeps


async def staff_written(uow: Emitter, duty_gaps: DutyGaps, event: StaffRegistered | StaffUpdated,
                        now: datetime) -> None:
    """attendance registered or changed a member of staff: notify's directory follows; an active
    duty manager with a mobile settles the gaps held for one (and wakes the release worker after
    the commit, for those a concurrent transaction is committing)."""
    await store.upsert(uow.session, StaffRow, {"staff_id": event.staff_id}, dict(
        name=event.name, unit_code=event.unit_code, unit_name=event.unit_name, window_no=event.window_no,
        role=event.role.value, mobile=event.mobile, active=event.active))
    if event.role is StaffRole.DUTY_MANAGER and event.active and event.mobile:
        await uow.session.flush()
        await duty_gaps.on_manager(uow, now)


async def duty_gap_detected(uow: Emitter, duty_gaps: DutyGaps, event: DutyGapDetected, event_id: str,
                            now: datetime) -> None:
    """A weekend duty gap: alerted to the duty managers known, held while none is."""
    await duty_gaps.on_gap(uow, event, event_id, now)


async def release_duty_gaps(service: Any, duty_gaps: DutyGaps, now: datetime | None = None) -> int:
    """Settle every duty gap left waiting for a duty manager who is known now (alerted, or expired
    when too old), and refresh the gauge of those still waiting; returns how many were settled
    (``service`` gives the units of work)."""
    total, more = 0, True
    while more:
        settled, more = await duty_gaps.release_waiting(service.uow, now)
        total += settled
    await duty_gaps.refresh_gauge(service.uow)
    return total
