"""Wiring of the attendance service: settings, the terminals' endpoints and the staff API, the
subscribers for on-time, rating and supervision facts, the weekend duty watcher and the
month-end publication."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.runtime.app import Service

from . import api, api_iclock, handlers, jobs
from .config import AttendanceSettings
from .store import metadata
from .config import DECLARATION

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class AttendanceMetrics:
    punches: Any
    lines_rejected: Any
    upload_failed: Any
    unknown_device: Any
    clock_suspect: Any
    duty_gaps: Any


def create_service(settings: AttendanceSettings | None = None) -> Service:
    service = Service(
        DECLARATION, settings or AttendanceSettings(), metadata, MIGRATIONS,
        title="OneWindow attendance (考勤与评价)",
        description="Fingerprint terminals (ZKTeco push protocol), AB posts and weekend duty, training, "
        "leave, monthly attendance, evaluation and the red-flag window / service star awards.",
    )
    m = service.metrics
    service.attendance_metrics = AttendanceMetrics(  # type: ignore[attr-defined]
        punches=m.counter("punches", "Punches received from terminals, new or resent.", ("kind",)),
        lines_rejected=m.counter("lines_rejected", "Upload lines that could not be read.", ("table",)),
        upload_failed=m.counter("uploads_failed", "Terminal uploads answered with an error (resent later).", ("table",)),
        unknown_device=m.counter("unknown_device_requests", "Requests refused for an unknown serial number."),
        clock_suspect=m.counter("clock_suspect_punches", "Punches whose terminal time looks wrong."),
        duty_gaps=m.counter("duty_gaps", "Weekend shifts found uncovered.", ("window",)),
    )
    service.include_router(api_iclock.router)
    service.include_router(api.router)
    handlers.register(service)
    s: AttendanceSettings = service.settings  # type: ignore[assignment]
    if not s.attendance_background_jobs:
        return service

    @service.worker(name="attendance-duty-watcher")
    async def duty_watcher(svc: Service) -> None:
        while True:
            await jobs.check_duty(svc, jobs.utcnow())
            await asyncio.sleep(s.attendance_duty_check_seconds)

    @service.worker(name="attendance-month-end")
    async def month_end(svc: Service) -> None:
        while True:
            await jobs.publish_due(svc, jobs.utcnow())
            await asyncio.sleep(s.attendance_publish_check_seconds)

    return service
