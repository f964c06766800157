"""Wiring of the notify service: settings, the SMS provider and its rate limit, the shared state
(``service.state``), the routers, the consumer groups, the background workers, migrations."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from services.runtime import Service

from . import handlers, workers
from .api import ROUTERS
from .config import DECLARATION, NotifySettings
from .providers import RateLimiter, SmsProvider, build_provider
from .store import metadata
from .usecases import assessments
from .usecases.duty_gaps import DutyGaps
from .usecases.messages import SmsMetrics
from .usecases.notices import Notices

MIGRATIONS = Path(__file__).parent / "migrations"


def create_service(settings: NotifySettings | None = None, provider: SmsProvider | None = None,
                   *, deliver: bool = True, release: bool = True) -> Service:
    """``provider`` overrides the one the settings name (tests); ``deliver=False`` leaves the
    delivery worker to the caller, ``release=False`` the release of notices left waiting for a
    contact (``usecases.notices.release_waiting``) and of duty gaps waiting for a duty manager
    (``usecases.duty_gaps.release_duty_gaps``): tests drive them step by step."""
    settings = settings or NotifySettings()
    service = Service(
        replace(DECLARATION, name=settings.notify_instance), settings, metadata, MIGRATIONS,
        title="OneWindow notify (通知书与短信)",
        description="Sealed notices for the six kinds of cases and SMS to applicants and staff.",
    )
    s: NotifySettings = service.settings  # type: ignore[assignment]
    metrics = SmsMetrics(service.metrics)
    provider = provider or build_provider(s)
    notices = Notices(s, metrics)
    state = service.state
    state.settings = s
    state.metrics = metrics
    state.provider = provider
    state.notices = notices
    state.duty_gaps = DutyGaps(s, metrics, notices.wake_duty_gaps_after_commit)  # one rendezvous, one release worker
    state.worker = workers.DeliveryWorker(service, provider, RateLimiter(s.notify_rate_per_second, s.notify_rate_burst),
                                          metrics)

    for router in ROUTERS:
        service.include_router(router)
    for group, fns in handlers.GROUPS.items():
        service.subscribe(group, *fns)

    if deliver:
        @service.worker(name="notify-delivery")
        async def delivery(svc: Service) -> None:
            await state.worker.run(svc)

    if release:
        @service.worker(name="notify-contact-rendezvous")
        async def contact_rendezvous(svc: Service) -> None:
            await workers.release_waiting_forever(svc, notices, state.duty_gaps)

        @service.worker(name="notify-render")
        async def render(svc: Service) -> None:
            await workers.render_waiting_forever(svc, notices)

    @service.worker(name="notify-seal-timeouts")
    async def seal_timeouts(svc: Service) -> None:
        await workers.seal_timeouts_forever(svc, notices)

    # the year-end assessment notices (usecases/assessments.py): the same timeout, their own table
    service.worker(assessments.timeouts_forever, name="notify-assessment-seal-timeouts")

    return service
