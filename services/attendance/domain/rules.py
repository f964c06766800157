"""Attendance rules: working hours by season, sessions, late/early/missing/absent, leave,
Friday-afternoon training, AB posts and weekend duty coverage, monthly summaries.

Pure Python, no I/O. Weekend duty coverage is in :mod:`.duty`, the monthly summaries in
:mod:`.monthly`. Times handed to the rules are wall-clock times in the center's zone
(``AttendanceRules.time_zone``); :func:`to_local` converts zone-aware instants.

A working day has two sessions (上午, 下午). Each session wants a punch in and a punch out; the
first punch of a session is its arrival and the last its departure (a lone punch counts as
whichever end it is nearer to). A scheduled training replaces the sessions it overlaps and wants
a sign-in only. Approved leave that overlaps a session excuses the whole session.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator, model_validator

from contracts.attendance import PunchKind, StaffRole, VerifyMethod
from services.runtime import workdays
from services.runtime.workdays import TZ, WorkCalendar

#: The zone of the rules and of a terminal unless set otherwise: the center's (``workdays.TZ``).
DEFAULT_ZONE = TZ.key


# --- settings -------------------------------------------------------------------------------


class Hours(BaseModel):
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> "Hours":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class SeasonHours(BaseModel):
    """Office hours from a month/day on until the next season starts (作息时间)."""

    name: str
    starts: tuple[int, int] = Field(description="(month, day) the season begins.")
    morning: Hours
    afternoon: Hours


def _h(a: str, b: str) -> Hours:
    return Hours(start=time.fromisoformat(a), end=time.fromisoformat(b))


#: A county's usual hours: a later afternoon in summer (May-September) for the midday heat.
DEFAULT_SEASONS = [
    SeasonHours(name="夏季作息", starts=(5, 1), morning=_h("08:30", "12:00"), afternoon=_h("14:30", "17:30")),
    SeasonHours(name="冬季作息", starts=(10, 1), morning=_h("08:30", "12:00"), afternoon=_h("14:00", "17:00")),
]


class AttendanceRules(BaseModel):
    """The rules in force; every figure is a setting."""

    time_zone: str = DEFAULT_ZONE
    seasons: list[SeasonHours] = Field(default_factory=lambda: list(DEFAULT_SEASONS))
    late_grace_minutes: int = Field(5, ge=0, description="Arrivals up to this late are on time.")
    early_grace_minutes: int = Field(0, ge=0, description="Departures up to this early are on time.")
    absent_after_minutes: int = Field(
        60, ge=1, description="Late or early by more than this counts as a half day absent (旷工)."
    )
    duplicate_punch_minutes: int = Field(3, ge=0, description="Repeated punches within this collapse into one.")
    training_grace_minutes: int = Field(5, ge=0)
    weekend_shifts: list[Hours] = Field(
        default_factory=lambda: [_h("09:00", "12:00"), _h("14:00", "17:00")],
        description="Weekend service hours of a window with weekend service and no explicit roster.",
    )
    duty_grace_minutes: int = Field(15, ge=0, description="Minutes after opening before a duty gap is raised.")
    duty_early_minutes: int = Field(60, ge=0, description="Punches this long before opening count as arrival.")
    serve_on_public_holidays: bool = Field(False, description="Weekend service also on statutory holidays.")
    weekday_ab_posts: bool = Field(
        True, description="Watch the AB posts in weekday office sessions too (A absent -> B expected)."
    )
    irregular_session_weight: float = Field(
        0.5, ge=0, le=1, description="Credit of a session attended but late/early/missing a punch."
    )

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone
        return value

    @field_validator("seasons")
    @classmethod
    def _seasons(cls, value: list[SeasonHours]) -> list[SeasonHours]:
        if not value:
            raise ValueError("at least one season")
        return sorted(value, key=lambda s: s.starts)

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def season(self, day: date) -> SeasonHours:
        current = self.seasons[-1]  # wraps around the new year
        for season in self.seasons:
            if (day.month, day.day) >= season.starts:
                current = season
        return current


# --- calendar -------------------------------------------------------------------------------
#
# Working days are the suite's one calendar (``services.runtime.workdays``: weekdays except the
# statutory holidays, plus the weekend make-up working days, 调休上班); the service is handed a
# :class:`WorkCalendar` (``national_calendar()``) and never reads the ``holidays`` package itself.


def is_statutory_holiday(day: date, calendar: WorkCalendar) -> bool:
    """A statutory holiday (a festival on a weekend included), or a weekday the calendar gives
    off (a day off in a holiday's place, a county closure)."""
    return workdays.is_statutory_holiday(day) or (day.weekday() < 5 and not calendar.is_working_day(day))


def working_days(year: int, month: int, calendar: WorkCalendar) -> list[date]:
    """The month's working days."""
    return [d for d in month_days(year, month) if calendar.is_working_day(d)]


def month_days(year: int, month: int) -> list[date]:
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return [first + timedelta(days=i) for i in range((nxt - first).days)]


def parse_period(period: str) -> tuple[int, int | None]:
    """``2025-06`` -> (2025, 6); ``2025`` -> (2025, None). Raises ValueError for anything else,
    and for a period at the very edge of the calendar (0001-01, 9999-12, the years 0001 and 9999):
    its bounds, the next month and a zone's offset either side would fall outside what ``date``
    and ``datetime`` can hold."""
    m = re.fullmatch(r"([0-9]{4})(?:-([0-9]{2}))?", period)
    if m is None:
        raise ValueError(f"a period is YYYY-MM or YYYY, not {period!r}")
    year, month = int(m.group(1)), int(m.group(2)) if m.group(2) else None
    if month is not None and not 1 <= month <= 12:
        raise ValueError(f"bad month in {period!r}")
    if not MIN_PERIOD <= (year, month or 1) or not (year, month or 12) <= MAX_PERIOD:
        raise ValueError(f"period {period!r} is outside the calendar the reports can compute")
    return year, month


#: The first and last (year, month) a period may reach: one month in from each end of ``date``.
MIN_PERIOD = (1, 2)
MAX_PERIOD = (9999, 11)


def computable_day(day: date) -> bool:
    """Whether a day's neighbours (the next day, a zone's offset either side) exist for ``date``."""
    return date.min < day < date.max


def period_bounds(period: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The aware [start, end) of a month or a year in the center's zone."""
    year, month = parse_period(period)
    if month is None:
        return datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return datetime(year, month, 1, tzinfo=zone), datetime(end.year, end.month, 1, tzinfo=zone)


# --- people, posts, roster, training, leave -------------------------------------------------


@dataclass(frozen=True)
class StaffMember:
    staff_id: str
    name: str
    unit_code: str
    unit_name: str
    window_no: str | None = None
    role: StaffRole = StaffRole.WINDOW_CLERK
    pin: str | None = None
    mobile: str | None = None
    active: bool = True
    active_from: date | None = None   # first day at the center (None: always)
    active_until: date | None = None  # last day (None: still here)

    def serves_on(self, day: date) -> bool:
        """Whether the person owes attendance that day: nobody is absent before joining."""
        return (self.active_from is None or day >= self.active_from) and (
            self.active_until is None or day <= self.active_until)


@dataclass(frozen=True)
class WindowPosts:
    """A window and its AB posts (AB岗): the A person serves, the B person stands in."""

    window_no: str
    unit_code: str
    unit_name: str
    post_a: str | None = None
    post_b: str | None = None
    weekend_service: bool = True


@dataclass(frozen=True)
class RosterEntry:
    """One person on weekend duty at a window (值班表)."""

    day: date
    window_no: str
    staff_id: str
    start: time
    end: time


@dataclass(frozen=True)
class TrainingSession:
    """Study and training (Friday afternoons, 周五下午学习培训). ``staff_ids`` None: everyone."""

    session_id: str
    day: date
    start: time
    end: time
    topic: str
    staff_ids: frozenset[str] | None = None

    def concerns(self, staff_id: str) -> bool:
        return self.staff_ids is None or staff_id in self.staff_ids


def friday_trainings(year: int, month: int, calendar: WorkCalendar, start: time, end: time,
                     topic: str = "集中学习培训") -> list[TrainingSession]:
    """The month's Friday-afternoon study sessions (working Fridays only), for scheduling in bulk."""
    return [TrainingSession(f"T{d:%Y%m%d}", d, start, end, topic)
            for d in month_days(year, month) if d.weekday() == 4 and calendar.is_working_day(d)]


class LeaveKind(StrEnum):
    PERSONAL = "personal"          # 事假
    SICK = "sick"                  # 病假
    ANNUAL = "annual"              # 年休假
    OFFICIAL = "official"          # 公出 (official business away from the hall)
    COMPENSATORY = "compensatory"  # 调休
    OTHER = "other"

    @property
    def label(self) -> str:
        return LEAVE_LABELS[self]


LEAVE_LABELS = {
    LeaveKind.PERSONAL: "事假",
    LeaveKind.SICK: "病假",
    LeaveKind.ANNUAL: "年休假",
    LeaveKind.OFFICIAL: "公出",
    LeaveKind.COMPENSATORY: "调休",
    LeaveKind.OTHER: "其他假",
}


@dataclass(frozen=True)
class Leave:
    """Approved leave, wall-clock times in the center's zone, [start, end)."""

    staff_id: str
    kind: LeaveKind
    start: datetime
    end: datetime
    approved: bool = True

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.approved and self.start < end and self.end > start


# --- terminal codes -------------------------------------------------------------------------

_PUNCH_KINDS = {
    0: PunchKind.CHECK_IN,
    1: PunchKind.CHECK_OUT,
    2: PunchKind.BREAK_OUT,
    3: PunchKind.BREAK_IN,
    4: PunchKind.OVERTIME_IN,
    5: PunchKind.OVERTIME_OUT,
}
_VERIFY = {0: VerifyMethod.PASSWORD, 1: VerifyMethod.FINGERPRINT, 2: VerifyMethod.CARD,
           4: VerifyMethod.CARD, 15: VerifyMethod.FACE, 25: VerifyMethod.PALM}


def punch_kind(status: int) -> PunchKind:
    return _PUNCH_KINDS.get(status, PunchKind.OTHER)


def verify_method(code: int) -> VerifyMethod:
    return _VERIFY.get(code, VerifyMethod.OTHER)


def read_terminal_time(local: datetime, zone_name: str | None) -> datetime:
    """A terminal's zoneless wall time as an aware instant in the device's zone. At a DST fold
    the earlier reading is taken (fold=0); China has no DST, other zones are rare here."""
    zone = ZoneInfo(zone_name) if zone_name else TZ
    return local.replace(tzinfo=zone)


#: Terminals whose clock battery died restart at their factory date (2000-01-01 and the like).
CLOCK_FLOOR = datetime(2010, 1, 1)


def clock_suspect(local: datetime, now_local: datetime, *, max_ahead: timedelta = timedelta(hours=2)) -> bool:
    """A terminal time before any plausible date, or ahead of now: the device clock is wrong.
    (Old punches are fine: a terminal may upload its whole history again.)"""
    return local > now_local + max_ahead or local < CLOCK_FLOOR


def to_local(instant: datetime, zone: ZoneInfo) -> datetime:
    """An aware instant as naive wall time in ``zone`` (the rules' frame)."""
    if instant.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return instant.astimezone(zone).replace(tzinfo=None)


# --- sessions -------------------------------------------------------------------------------


class SessionKind(StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    TRAINING = "training"
    DUTY = "duty"

    @property
    def label(self) -> str:
        return SESSION_LABELS[self]


SESSION_LABELS = {
    SessionKind.MORNING: "上午",
    SessionKind.AFTERNOON: "下午",
    SessionKind.TRAINING: "学习培训",
    SessionKind.DUTY: "周末值班",
}


class SessionStatus(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    EARLY_LEAVE = "early_leave"
    LATE_AND_EARLY = "late_and_early"
    MISSING_PUNCH = "missing_punch"
    ABSENT = "absent"
    LEAVE = "leave"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    SessionStatus.ON_TIME: "正常",
    SessionStatus.LATE: "迟到",
    SessionStatus.EARLY_LEAVE: "早退",
    SessionStatus.LATE_AND_EARLY: "迟到且早退",
    SessionStatus.MISSING_PUNCH: "缺卡",
    SessionStatus.ABSENT: "旷工",
    SessionStatus.LEAVE: "请假",
}


@dataclass(frozen=True)
class PlannedSession:
    kind: SessionKind
    day: date
    start: time
    end: time
    ref: str = ""  # training session id / duty window number

    @property
    def start_dt(self) -> datetime:
        return datetime.combine(self.day, self.start)

    @property
    def end_dt(self) -> datetime:
        return datetime.combine(self.day, self.end)

    @property
    def wants_sign_out(self) -> bool:
        return self.kind is not SessionKind.TRAINING


@dataclass(frozen=True)
class SessionResult:
    session: PlannedSession
    arrived: datetime | None = None
    left: datetime | None = None
    late_minutes: int = 0
    early_minutes: int = 0
    missing_in: bool = False
    missing_out: bool = False
    absent: bool = False
    leave: LeaveKind | None = None

    @property
    def status(self) -> SessionStatus:
        if self.leave is not None:
            return SessionStatus.LEAVE
        if self.absent:
            return SessionStatus.ABSENT
        if self.missing_in or self.missing_out:
            return SessionStatus.MISSING_PUNCH
        if self.late_minutes and self.early_minutes:
            return SessionStatus.LATE_AND_EARLY
        if self.late_minutes:
            return SessionStatus.LATE
        if self.early_minutes:
            return SessionStatus.EARLY_LEAVE
        return SessionStatus.ON_TIME

    @property
    def on_time(self) -> bool:
        return self.status is SessionStatus.ON_TIME

    @property
    def attended(self) -> bool:
        return self.leave is None and not self.absent

    @property
    def note(self) -> str:
        """The status in words for the report (zh-CN)."""
        s = self.status
        if s is SessionStatus.LEAVE and self.leave is not None:
            return f"请假（{self.leave.label}）"
        parts = []
        if self.late_minutes:
            parts.append(f"迟到{self.late_minutes}分钟")
        if self.early_minutes:
            parts.append(f"早退{self.early_minutes}分钟")
        if self.missing_in:
            parts.append("上班缺卡")
        if self.missing_out:
            parts.append("下班缺卡")
        if s is SessionStatus.ABSENT:
            return "旷工" + (f"（{'，'.join(parts)}）" if parts else "")
        return "，".join(parts) or s.label


def planned_sessions(staff_id: str, day: date, rules: AttendanceRules, calendar: WorkCalendar,
                     trainings: Sequence[TrainingSession] = (),
                     roster: Sequence[RosterEntry] = ()) -> list[PlannedSession]:
    """What a person owes on a day: the two office sessions on a working day (a training
    replaces the ones it overlaps), plus any weekend duty shifts they are rostered for."""
    sessions: list[PlannedSession] = []
    if calendar.is_working_day(day):
        season = rules.season(day)
        sessions = [
            PlannedSession(SessionKind.MORNING, day, season.morning.start, season.morning.end),
            PlannedSession(SessionKind.AFTERNOON, day, season.afternoon.start, season.afternoon.end),
        ]
        for t in trainings:
            if t.day != day or not t.concerns(staff_id):
                continue
            sessions = [s for s in sessions if not (s.start < t.end and s.end > t.start)]
            sessions.append(PlannedSession(SessionKind.TRAINING, day, t.start, t.end, t.session_id))
    for r in roster:
        if r.day == day and r.staff_id == staff_id:
            sessions.append(PlannedSession(SessionKind.DUTY, day, r.start, r.end, r.window_no))
    return sorted(sessions, key=lambda s: (s.start, s.end))


def dedupe_punches(punches: Iterable[datetime], within_minutes: int) -> list[datetime]:
    """Sorted punches with repeats (a finger placed twice) collapsed into the first."""
    out: list[datetime] = []
    for p in sorted(punches):
        if out and (p - out[-1]) <= timedelta(minutes=within_minutes):
            continue
        out.append(p)
    return out


def _split_by_session(sessions: Sequence[PlannedSession], punches: Sequence[datetime]) -> list[list[datetime]]:
    """Each punch goes to one session: cut points lie halfway between one session's end and
    the next one's start."""
    cuts = []
    for a, b in zip(sessions, sessions[1:]):
        cuts.append(a.end_dt + (b.start_dt - a.end_dt) / 2)
    buckets: list[list[datetime]] = [[] for _ in sessions]
    for p in punches:
        i = 0
        while i < len(cuts) and p >= cuts[i]:
            i += 1
        buckets[i].append(p)
    return buckets


def _grace(kind: SessionKind, rules: AttendanceRules) -> int:
    if kind is SessionKind.TRAINING:
        return rules.training_grace_minutes
    if kind is SessionKind.DUTY:
        return rules.duty_grace_minutes
    return rules.late_grace_minutes


def minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def judge_session(session: PlannedSession, punches: Sequence[datetime], rules: AttendanceRules,
                  leaves: Sequence[Leave] = ()) -> SessionResult:
    for leave in leaves:
        if leave.overlaps(session.start_dt, session.end_dt):
            return SessionResult(session, leave=leave.kind)
    if not punches:
        return SessionResult(session, absent=True)
    first, last = punches[0], punches[-1]
    arrived: datetime | None = first
    left: datetime | None = last if session.wants_sign_out else None
    if session.wants_sign_out and len(punches) == 1:
        # A lone punch is the arrival or the departure, whichever end it is nearer to.
        if abs(first - session.start_dt) <= abs(first - session.end_dt):
            left = None
        else:
            arrived = None
    late = early = 0
    if arrived is not None:
        over = minutes(arrived - session.start_dt)
        late = over if over > _grace(session.kind, rules) else 0
    if left is not None:
        under = minutes(session.end_dt - left)
        early = under if under > rules.early_grace_minutes else 0
    absent = late > rules.absent_after_minutes or early > rules.absent_after_minutes
    return SessionResult(
        session,
        arrived=arrived,
        left=left,
        late_minutes=late,
        early_minutes=early,
        missing_in=arrived is None,
        missing_out=session.wants_sign_out and left is None,
        absent=absent,
    )


def judge_day(staff_id: str, day: date, punches: Iterable[datetime], rules: AttendanceRules,
              calendar: WorkCalendar, *, trainings: Sequence[TrainingSession] = (),
              roster: Sequence[RosterEntry] = (), leaves: Sequence[Leave] = (),
              as_of: datetime | None = None) -> list[SessionResult]:
    """Judge a person's day. ``punches`` are local wall times of that day (other days' punches
    are ignored). Sessions not yet over at ``as_of`` are left out: nothing is owed yet."""
    sessions = planned_sessions(staff_id, day, rules, calendar, trainings, roster)
    if as_of is not None:
        sessions = [s for s in sessions if s.end_dt <= as_of]
    if not sessions:
        return []
    own = dedupe_punches((p for p in punches if p.date() == day), rules.duplicate_punch_minutes)
    mine = [lv for lv in leaves if lv.staff_id == staff_id]
    buckets = _split_by_session(sessions, own)
    return [judge_session(s, b, rules, mine) for s, b in zip(sessions, buckets)]
