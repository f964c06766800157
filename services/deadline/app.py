"""Wiring of the deadline service: settings, the keeper, routes, the intake subscribers, the
watcher, the recomputation and gauge workers, migrations."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from services.runtime.app import Service
from services.runtime.settings import ServiceSettings

from . import api, handlers, watcher
from .keeper import Keeper
from .store import metadata
from dataclasses import replace
from .config import DECLARATION

MIGRATIONS = Path(__file__).parent / "migrations"


class DeadlineSettings(ServiceSettings):
    deadline_warning_days: list[int] = Field(
        default_factory=lambda: [2],
        description="Yellow-card thresholds in working days left (JSON list, e.g. [3, 1]); each fires once per case.",
    )
    deadline_watch_max_sleep_seconds: float = Field(
        60.0, gt=0, description="Longest the watcher sleeps between looks (it wakes earlier for a due card)."
    )
    deadline_watch_batch_size: int = Field(500, ge=1, description="Clocks handled per watcher transaction.")
    deadline_recompute_chunk: int = Field(1000, ge=1, description="Clocks recomputed per transaction after a calendar change.")
    deadline_gauge_seconds: float = Field(30.0, gt=0, description="How often the open/overdue clock gauges are refreshed.")
    deadline_reply_days: int = Field(5, ge=1, description="Working days a unit has to reply to a supervision notice.")
    deadline_inspection_share: float = Field(0.05, gt=0, le=1, description="Default share of a unit's decided cases drawn for inspection.")
    deadline_workers: bool = Field(
        True, description="Run the watcher, recomputation and gauge workers (tests drive them by hand)."
    )
    deadline_center_unit_code: str = Field("CENTER", description="The center's own unit code (issuer of the bulletin).")
    deadline_center_name: str = Field("县行政审批服务中心", description="The center's name, printed on the bulletin.")

    @field_validator("deadline_warning_days")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(k < 1 for k in v):
            raise ValueError("warning thresholds are working days left, at least 1")
        return sorted(set(v), reverse=True)


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
    keeper = Keeper(service)
    service.keeper = keeper  # type: ignore[attr-defined]
    service.api.state.deadline_keeper = keeper
    service.include_router(api.router)
    handlers.register(service, keeper)

    if service.settings.deadline_workers:  # type: ignore[attr-defined]

        @service.worker(name="deadline-watcher")
        async def watch(svc: Service) -> None:
            await watcher.check_library(svc, keeper)
            await watcher.watch_forever(svc, keeper)

        @service.worker(name="deadline-recompute")
        async def recompute(svc: Service) -> None:
            await watcher.recompute_forever(svc, keeper)

        @service.worker(name="deadline-gauges")
        async def gauges(svc: Service) -> None:
            await watcher.gauges_forever(svc, keeper)

    return service
