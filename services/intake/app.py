"""Wiring of the intake service: the service house, its state, routes, handlers and workers."""

from __future__ import annotations

from pathlib import Path

from services.runtime import Service

from . import api, handlers, workers
from .usecases import followups
from .usecases import outside
from .config import DECLARATION, IntakeSettings
from .store import metadata
from .usecases import IntakeState

MIGRATIONS = Path(__file__).parent / "migrations"

__all__ = ["IntakeSettings", "create_service"]


def create_service(settings: IntakeSettings | None = None) -> Service:
    service = Service(
        DECLARATION, settings or IntakeSettings(), metadata, MIGRATIONS, title="OneWindow intake (一窗受理·收件受理)",
        description="The item catalog and guide (办事指南), consultations, applications through the six kinds "
                    "(六件管理), the one-time notice (一次性告知), public status lookup and satisfaction ratings.",
    )
    s: IntakeSettings = service.settings  # type: ignore[assignment]
    service.state.intake = IntakeState.create(service)
    service.include_router(api.router)
    service.include_router(api.pages_router)
    for group, fns in handlers.GROUPS.items():
        service.subscribe(group, *fns)
    service.worker(workers.case_gauges, name="case-gauges")
    service.worker(workers.retention, name="retention")
    followups.install(service)  # overdue rectification tasks: an event once, a gauge
    outside.install(service)  # 两头受理: its counter
    if s.intake_monthly_reports:
        service.worker(workers.monthly_reports, name="monthly-reports")
    return service
