"""Wiring of the deadline service: the house, its shared state, routes, the intake subscribers,
the watcher, recomputation and gauge workers, migrations."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from services.runtime.app import Service

from . import handlers, workers
from .api import router
from .config import DECLARATION, DeadlineSettings
from .usecases import followups
from .store import metadata
from .usecases.shared import DeadlineState

MIGRATIONS = Path(__file__).parent / "migrations"

__all__ = ["MIGRATIONS", "DeadlineSettings", "create_service"]


def create_service(settings: DeadlineSettings | None = None, *, name: str = "deadline") -> Service:
    """``name`` is "deadline" in production; tests give unique names (unique consumer groups)."""
    service = Service(
        replace(DECLARATION, name=name),
        settings or DeadlineSettings(),
        metadata,
        MIGRATIONS,
        title="OneWindow deadline (限时办结)",
        description="Working-day clocks of accepted cases, yellow and red cards, the monthly bulletin, "
        "supervision notices and random inspections.",
    )
    service.state.deadline = DeadlineState.create(service)
    service.include_router(router)
    service.subscribe("cases", *handlers.CASES)
    service.subscribe("units", *handlers.UNITS)
    service.subscribe("violations", *handlers.VIOLATIONS)

    if service.settings.deadline_workers:  # type: ignore[attr-defined]
        service.worker(workers.watcher, name="deadline-watcher")
        service.worker(workers.recompute_forever, name="deadline-recompute")
        service.worker(workers.gauges_forever, name="deadline-gauges")
    # unanswered supervision notices past their reply date: an event once, a gauge
    followups.install(service, worker=service.settings.deadline_workers)  # type: ignore[attr-defined]

    return service
