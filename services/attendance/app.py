"""Wiring of the attendance service: settings, the terminals' endpoints and the staff API, the
subscribers for on-time, rating and supervision facts, the weekend duty watcher and the
month-end publication."""

from __future__ import annotations

from pathlib import Path

from services.runtime.app import Service
from contracts.deadline import CalendarChanged
from services.runtime.calendar_follower import follow_calendar

from . import api, handlers, workers
from .config import DECLARATION, AttendanceSettings
from .store import metadata
from .usecases.shared import Attendance, AttendanceMetrics

MIGRATIONS = Path(__file__).parent / "migrations"


def create_service(settings: AttendanceSettings | None = None) -> Service:
    service = Service(
        DECLARATION, settings or AttendanceSettings(), metadata, MIGRATIONS,
        title="OneWindow attendance (考勤与评价)",
        description="Fingerprint terminals (ZKTeco push protocol), AB posts and weekend duty, training, "
        "leave, monthly attendance, evaluation and the red-flag window / service star awards, staff violations "
        "and the year-end assessment.",
    )
    m = service.metrics
    calendar = follow_calendar(service, CalendarChanged)  # the county's calendar, from its events
    service.state.attendance = Attendance(
        settings=service.settings,  # type: ignore[arg-type]
        calendar_of=lambda: calendar.calendar,
        metrics=AttendanceMetrics(
            punches=m.counter("punches", "Punches received from terminals, new or resent.", ("kind",)),
            lines_rejected=m.counter("lines_rejected", "Upload lines that could not be read.", ("table",)),
            upload_failed=m.counter("uploads_failed", "Terminal uploads answered with an error (resent later).",
                                    ("table",)),
            unknown_device=m.counter("unknown_device_requests", "Requests refused for an unknown serial number."),
            clock_suspect=m.counter("clock_suspect_punches", "Punches whose terminal time looks wrong."),
            duty_gaps=m.counter("duty_gaps", "Weekend shifts found uncovered.", ("window",)),
        ),
    )
    for router in api.ROUTERS:
        service.include_router(router)
    # One consumer group per fact, named as they always were (deployed offsets and ACLs).
    service.subscribe("on_clock_ended", handlers.on_clock_ended)
    service.subscribe("on_rating", handlers.on_rating)
    service.subscribe("on_supervision_notice", handlers.on_supervision_notice, handlers.on_inspection)
    if service.settings.attendance_background_jobs:  # type: ignore[attr-defined]
        workers.register(service)
    return service
