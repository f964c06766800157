"""What the use cases share, kept on ``service.state.attendance`` (:class:`Attendance`): the
settings, the working-day calendar and the service's business metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from services.runtime.workdays import WorkCalendar

from .. import domain
from ..config import AttendanceSettings

if TYPE_CHECKING:
    from services.runtime.app import Service


@dataclass
class AttendanceMetrics:
    punches: Any
    lines_rejected: Any
    upload_failed: Any
    unknown_device: Any
    clock_suspect: Any
    duty_gaps: Any


@dataclass
class Attendance:
    """What the use cases read besides the database (``service.state.attendance``)."""

    settings: AttendanceSettings
    #: The county's working-day calendar as this process follows it (read anew on every use:
    #: a county override published on the calendar's topic applies at once).
    calendar_of: Callable[[], WorkCalendar]
    metrics: AttendanceMetrics

    @property
    def calendar(self) -> WorkCalendar:
        return self.calendar_of()

    @property
    def rules(self) -> domain.AttendanceRules:
        return self.settings.attendance_rules


def attendance(service: "Service") -> Attendance:
    return service.state.attendance  # type: ignore[no-any-return]
