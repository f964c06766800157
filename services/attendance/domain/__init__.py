"""The attendance rules, pure Python, no I/O (the service's ``domain`` room, one module per concern):

- :mod:`.rules` — office hours by season, sessions, late/early/missing/absent, leave, training,
  periods, terminal codes (re-exported here: ``domain.AttendanceRules``, ``domain.judge_day``, ...);
- :mod:`.duty` — weekend duty coverage of the AB posts and the gap events;
- :mod:`.monthly` — monthly (and year) attendance per person and per window;
- :mod:`.evaluation` — scores, awards and the published events;
- :mod:`.iclock` — the ZKTeco ADMS ("iclock") push protocol codec.

Working days come from the suite's calendar (``services.runtime.workdays.WorkCalendar``).
"""

from .rules import (
    CLOCK_FLOOR,
    DEFAULT_SEASONS,
    DEFAULT_ZONE,
    LEAVE_LABELS,
    MAX_PERIOD,
    MIN_PERIOD,
    SESSION_LABELS,
    STATUS_LABELS,
    AttendanceRules,
    Hours,
    Leave,
    LeaveKind,
    PlannedSession,
    RosterEntry,
    SeasonHours,
    SessionKind,
    SessionResult,
    SessionStatus,
    StaffMember,
    TrainingSession,
    WindowPosts,
    clock_suspect,
    computable_day,
    dedupe_punches,
    friday_trainings,
    is_statutory_holiday,
    judge_day,
    judge_session,
    minutes,
    month_days,
    parse_period,
    period_bounds,
    planned_sessions,
    punch_kind,
    read_terminal_time,
    to_local,
    verify_method,
    working_days,
)

__all__ = [
    "CLOCK_FLOOR", "DEFAULT_SEASONS", "DEFAULT_ZONE", "LEAVE_LABELS", "MAX_PERIOD", "MIN_PERIOD",
    "SESSION_LABELS", "STATUS_LABELS", "AttendanceRules", "Hours", "Leave", "LeaveKind",
    "PlannedSession", "RosterEntry", "SeasonHours", "SessionKind", "SessionResult", "SessionStatus",
    "StaffMember", "TrainingSession", "WindowPosts", "clock_suspect", "computable_day",
    "dedupe_punches", "friday_trainings", "is_statutory_holiday", "judge_day", "judge_session",
    "minutes", "month_days", "parse_period", "period_bounds", "planned_sessions", "punch_kind",
    "read_terminal_time", "to_local", "verify_method", "working_days",
]
