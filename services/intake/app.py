"""Wiring of the intake service: settings, the service house, routes, handlers, metrics and the
background work (demo catalog at start, monthly unit reports, case gauges)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import limits
import limits.storage
import limits.strategies
from pydantic import Field

from services.runtime import Service, ServiceSettings, clock

from . import api, handlers, pages
from .catalog import CatalogRules
from .store import metadata
from .config import DECLARATION

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


class IntakeSettings(ServiceSettings):
    intake_promise_cap_days: int = Field(
        10, ge=1, le=60, description="The center's cap on promised limits, in working days (承诺时限上限).")
    intake_rectification_days: int = Field(
        5, ge=1, le=60, description="Working days a unit has to answer a low rating (整改期限).")
    intake_inactivity_months: int = Field(
        3, ge=1, le=24, description="Months without business after which an entered unit is flagged (应进不进).")
    intake_demo_catalog: bool = Field(
        False, description="Load the demo catalog of 青山县 (27 units, 246 items) at start when the catalog is empty.")
    intake_lookup_rate_limit: str = Field(
        "20/minute", description="Public status lookups and ratings allowed per client (limits syntax, e.g. '20/minute').")
    intake_trust_forwarded_for: bool = Field(
        False, description="Take the client address from X-Forwarded-For (only behind the county's own ingress).")
    intake_monthly_reports: bool = Field(
        True, description="Report last month's volume per unit and flag idle units on the 1st of each month.")
    intake_gauge_seconds: float = Field(30.0, gt=0, description="How often the case gauges are refreshed.")

    def catalog_rules(self) -> CatalogRules:
        return CatalogRules(promise_cap_days=self.intake_promise_cap_days)


@dataclass
class IntakeMetrics:
    received: object
    transitions: object
    cases: object
    weekend_received: object
    lookups: object

    @classmethod
    def create(cls, service: Service) -> "IntakeMetrics":
        m = service.metrics
        return cls(
            received=m.counter("applications_received", "Applications received, by item kind and weekend.",
                               ("kind", "weekend")),
            transitions=m.counter("case_events", "Case events emitted, by event type.", ("event",)),
            cases=m.gauge("cases", "Cases in the store, by the kind they count under and status.",
                          ("kind", "status")),
            weekend_received=m.gauge("weekend_applications", "Applications received on Saturdays and Sundays (all time)."),
            lookups=m.counter("public_lookups", "Public status lookups, by result (found, unknown, limited).",
                              ("result",)),
        )


@dataclass
class IntakeContext:
    """What the routes need besides the unit of work."""

    settings: IntakeSettings
    metrics: IntakeMetrics
    limiter: limits.strategies.MovingWindowRateLimiter
    rate: limits.RateLimitItem
    # The runtime's clock: the system's, or a simulation's (ONEWINDOW_CLOCK).
    now: Callable[[], datetime] = field(default=clock.now)

    @property
    def rules(self) -> CatalogRules:
        return self.settings.catalog_rules()


def create_service(settings: IntakeSettings | None = None) -> Service:
    settings = settings or IntakeSettings()
    service = Service(
        DECLARATION, settings, metadata, MIGRATIONS, title="OneWindow intake (一窗受理·收件受理)",
        description="The item catalog and guide (办事指南), consultations, applications through the six kinds "
                    "(六件管理), the one-time notice (一次性告知), public status lookup and satisfaction ratings.",
    )
    s: IntakeSettings = service.settings  # type: ignore[assignment]
    ctx = IntakeContext(
        settings=s, metrics=IntakeMetrics.create(service),
        limiter=limits.strategies.MovingWindowRateLimiter(limits.storage.MemoryStorage()),
        rate=limits.parse(s.intake_lookup_rate_limit),
    )
    service.api.state.intake = ctx
    service.include_router(api.router)
    service.include_router(pages.router)
    api.install_errors(service.api)
    handlers.register(service)

    from .reports import monthly_reports, refresh_gauges
    from .demo.loader import load_demo_catalog

    if s.intake_demo_catalog:
        @service.worker(name="demo-catalog")
        async def _demo(svc: Service) -> None:
            await load_demo_catalog(svc, ctx.now())

    @service.worker(name="case-gauges")
    async def _gauges(svc: Service) -> None:
        while True:
            await refresh_gauges(svc, ctx)
            await asyncio.sleep(s.intake_gauge_seconds)

    if s.intake_monthly_reports:
        @service.worker(name="monthly-reports")
        async def _monthly(svc: Service) -> None:
            while True:
                await monthly_reports(svc, ctx, ctx.now())
                await asyncio.sleep(3600)

    return service
