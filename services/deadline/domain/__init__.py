"""The deadline service's rules, pure Python, no I/O.

- ``clock.py``: a case's clock (limits, stops, extensions, yellow and red cards).
- ``calendar.py``: the county's calendar book (loaded schedules, county overrides, history) over
  the suite's working-day calendar (``services.runtime.workdays``).
- ``oversight.py``: statistics, the monthly bulletin (and its zh-CN document), supervision notices
  and random inspections.
- ``errors.py``: the service's refusals (runtime ``DomainError`` subclasses).
"""

from .calendar import CalendarBook, CalendarChange, CalendarError, WorkCalendar
from .clock import (
    OVERDUE,
    Clock,
    Extension,
    Stop,
    local_date,
    merged_intervals,
    recompute_all,
    start_of_day,
    warn_key,
)
from .errors import CalendarRefused, DeadlineConflict, DeadlineError

__all__ = [
    "OVERDUE", "CalendarBook", "CalendarChange", "CalendarError", "CalendarRefused", "Clock", "DeadlineConflict",
    "DeadlineError", "Extension", "Stop", "WorkCalendar", "local_date", "merged_intervals", "recompute_all",
    "start_of_day", "warn_key",
]
