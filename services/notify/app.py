"""Wiring of the notify service: settings, the SMS provider and its rate limit, the delivery
worker, the seal-timeout watcher, the release of notices left waiting for a contact and of duty
gaps left waiting for a duty manager, the handlers, the routes, migrations."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from services.runtime import Service

from . import api, handlers, store
from .config import NotifySettings
from .delivery import DeliveryWorker
from .duty import DutyGaps
from .messaging import SmsMetrics
from .notices import Notices
from .providers import RateLimiter, SmsProvider, build_provider
from .store import metadata
from dataclasses import replace
from .config import DECLARATION

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class NotifyState:
    settings: NotifySettings
    provider: SmsProvider
    worker: DeliveryWorker
    notices: Notices
    metrics: SmsMetrics
    duty_gaps: DutyGaps


async def sweep_timeouts(service: Service, notices: Notices, now: datetime | None = None) -> int:
    """Fail notices whose seal did not come in time (visibly: NoticeFailed, staff alerted)."""
    now = now or datetime.now(UTC)
    async with service.uow() as uow:
        rows = await store.overdue_notices(uow.session, now - notices.settings.seal_timeout)
        for row in rows:
            await notices.time_out(uow, row, now)
        await uow.commit()
    return len(rows)


async def release_waiting(service: Service, notices: Notices, now: datetime | None = None) -> int:
    """Release every notice (and survey) left waiting for a contact that has arrived; returns how
    many notices went to the seal."""
    total, more = 0, True
    while more:
        released, more = await notices.release_waiting(service.uow, now)
        total += released
    return total


async def release_duty_gaps(service: Service, duty_gaps: DutyGaps, now: datetime | None = None) -> int:
    """Settle every duty gap left waiting for a duty manager who is known now (alerted, or expired
    when too old), and refresh the gauge of those still waiting; returns how many were settled."""
    total, more = 0, True
    while more:
        settled, more = await duty_gaps.release_waiting(service.uow, now)
        total += settled
    await duty_gaps.refresh_gauge(service.uow)
    return total


async def release_waiting_forever(service: Service, notices: Notices, duty_gaps: DutyGaps | None = None) -> None:
    """Run :func:`release_waiting` (and :func:`release_duty_gaps`) whenever a commit asks for it
    (``notices.rendezvous``) and every ``notify_contact_sweep_seconds`` besides; after a failure
    (the database away) again soon, backing off."""
    period = notices.settings.notify_contact_sweep_seconds
    retry = 1.0
    while True:
        notices.rendezvous.clear()  # before looking: a commit during the look asks for another
        try:
            await release_waiting(service, notices)
            if duty_gaps is not None:
                await release_duty_gaps(service, duty_gaps)
            wait, retry = period, 1.0
        except Exception as exc:  # noqa: BLE001 - the next look retries; nothing is lost meanwhile
            log.warning("releasing notices (or duty gaps) left waiting failed (retry in %.0fs): %r", retry, exc)
            wait, retry = retry, min(retry * 2, period)
        try:
            await asyncio.wait_for(notices.rendezvous.wait(), timeout=wait)
        except TimeoutError:
            pass


def create_service(settings: NotifySettings | None = None, provider: SmsProvider | None = None,
                   *, deliver: bool = True, release: bool = True) -> Service:
    """``provider`` overrides the one the settings name (tests); ``deliver=False`` leaves the
    delivery worker to the caller, ``release=False`` the release of notices left waiting for a
    contact (:func:`release_waiting`) and of duty gaps waiting for a duty manager
    (:func:`release_duty_gaps`): tests drive them step by step."""
    settings = settings or NotifySettings()
    service = Service(
        replace(DECLARATION, name=settings.notify_instance), settings, metadata, MIGRATIONS,
        title="OneWindow notify (通知书与短信)",
        description="Sealed notices for the six kinds of cases and SMS to applicants and staff.",
    )
    s: NotifySettings = service.settings  # type: ignore[assignment]
    metrics = SmsMetrics(service.metrics)
    provider = provider or build_provider(s)
    limiter = RateLimiter(s.notify_rate_per_second, s.notify_rate_burst)
    worker = DeliveryWorker(service, provider, limiter, metrics)
    notices = Notices(s, metrics)
    duty_gaps = DutyGaps(s, metrics, notices.wake_after_commit)  # one rendezvous, one release worker
    service.api.state.notify = NotifyState(s, provider, worker, notices, metrics, duty_gaps)
    service.include_router(api.router)
    handlers.register(service, notices, metrics, duty_gaps)

    if deliver:
        @service.worker(name="notify-delivery")
        async def delivery(svc: Service) -> None:
            await worker.run(svc)

    if release:
        @service.worker(name="notify-contact-rendezvous")
        async def contact_rendezvous(svc: Service) -> None:
            await release_waiting_forever(svc, notices, duty_gaps)

    @service.worker(name="notify-seal-timeouts")
    async def seal_timeouts(svc: Service) -> None:
        while True:
            await sweep_timeouts(svc, notices)
            await asyncio.sleep(min(30.0, s.notify_seal_timeout_seconds / 4))

    return service
