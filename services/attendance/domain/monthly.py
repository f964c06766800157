"""Monthly attendance per person and per window, from the rules in :mod:`.rules` and the
weekend coverage in :mod:`.duty`; several months combine into a year. Pure Python, no I/O."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from services.runtime.workdays import WorkCalendar

from .rules import (
    AttendanceRules,
    Leave,
    RosterEntry,
    SessionKind,
    SessionResult,
    SessionStatus,
    StaffMember,
    TrainingSession,
    WindowPosts,
    judge_day,
    month_days,
    parse_period,
    working_days,
)
from .duty import coverage, duty_slots


@dataclass
class PersonMonth:
    staff_id: str
    name: str
    unit_code: str
    unit_name: str
    window_no: str | None
    required_sessions: int = 0
    on_time_sessions: int = 0
    irregular_sessions: int = 0
    late: int = 0
    late_minutes: int = 0
    early_leave: int = 0
    early_minutes: int = 0
    missing_punches: int = 0
    absent_sessions: int = 0
    leave_sessions: int = 0
    leave_by_kind: dict[str, int] = field(default_factory=dict)
    training_due: int = 0
    training_attended: int = 0
    training_late: int = 0
    duty_shifts: int = 0
    duty_shifts_missed: int = 0
    irregular_weight: float = 0.5

    def add(self, r: SessionResult) -> None:
        kind = r.session.kind
        if kind is SessionKind.TRAINING:
            self.training_due += 1
        if kind is SessionKind.DUTY:
            self.duty_shifts += 1
        if r.leave is not None:
            self.leave_sessions += 1
            self.leave_by_kind[r.leave.value] = self.leave_by_kind.get(r.leave.value, 0) + 1
            return
        self.required_sessions += 1
        if r.absent:
            self.absent_sessions += 1
            if kind is SessionKind.DUTY:
                self.duty_shifts_missed += 1
            return
        if kind is SessionKind.TRAINING:
            self.training_attended += 1
            if r.late_minutes:
                self.training_late += 1
        if r.on_time:
            self.on_time_sessions += 1
        else:
            self.irregular_sessions += 1
        if r.late_minutes:
            self.late += 1
            self.late_minutes += r.late_minutes
        if r.early_minutes:
            self.early_leave += 1
            self.early_minutes += r.early_minutes
        self.missing_punches += int(r.missing_in) + int(r.missing_out)

    def merge(self, other: "PersonMonth") -> None:
        """Add another period's figures (year-end evaluation sums the months)."""
        for name in ("required_sessions", "on_time_sessions", "irregular_sessions", "late", "late_minutes",
                     "early_leave", "early_minutes", "missing_punches", "absent_sessions", "leave_sessions",
                     "training_due", "training_attended", "training_late", "duty_shifts",
                     "duty_shifts_missed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for k, v in other.leave_by_kind.items():
            self.leave_by_kind[k] = self.leave_by_kind.get(k, 0) + v

    @property
    def attendance_score(self) -> float | None:
        """100 x (on-time sessions + weight x irregular sessions) / sessions due (leave excluded);
        an absence earns nothing."""
        if self.required_sessions == 0:
            return None
        credit = self.on_time_sessions + self.irregular_weight * self.irregular_sessions
        return round(100 * credit / self.required_sessions, 2)

    @property
    def attendance_rate(self) -> float | None:
        if self.required_sessions == 0:
            return None
        return round((self.required_sessions - self.absent_sessions) / self.required_sessions, 4)


@dataclass
class WindowMonth:
    window_no: str
    unit_code: str
    unit_name: str
    post_a: str | None = None
    post_b: str | None = None
    staff_count: int = 0
    required_sessions: int = 0
    late: int = 0
    early_leave: int = 0
    missing_punches: int = 0
    absent_sessions: int = 0
    leave_sessions: int = 0
    duty_slots: int = 0
    duty_gaps: int = 0
    attendance_score: float | None = None


@dataclass(frozen=True)
class DetailRow:
    """One judged session, for the detail sheet."""

    day: date
    staff_id: str
    name: str
    window_no: str | None
    session: SessionKind
    start: time
    end: time
    arrived: datetime | None
    left: datetime | None
    status: SessionStatus
    note: str


@dataclass(frozen=True)
class GapRow:
    window_no: str
    unit_name: str
    day: date
    opening: time
    closing: time
    arrived_staff: str | None
    arrived_at: datetime | None


@dataclass
class MonthlyReport:
    period: str
    working_days: int
    people: list[PersonMonth]
    windows: list[WindowMonth]
    details: list[DetailRow] = field(default_factory=list)
    duty_gaps: list[GapRow] = field(default_factory=list)
    as_of: datetime | None = None


def monthly_report(
    period: str,
    staff: Sequence[StaffMember],
    punches: Mapping[str, Sequence[datetime]],
    rules: AttendanceRules,
    calendar: WorkCalendar,
    *,
    posts: Sequence[WindowPosts] = (),
    roster: Sequence[RosterEntry] = (),
    trainings: Sequence[TrainingSession] = (),
    leaves: Sequence[Leave] = (),
    as_of: datetime | None = None,
) -> MonthlyReport:
    """Attendance of a month per person and per window. ``punches`` maps staff id to local
    wall times; ``as_of`` (local) cuts off what is not over yet."""
    year, month = parse_period(period)
    if month is None:
        raise ValueError("a monthly report needs a month (YYYY-MM)")
    days = month_days(year, month)
    if as_of is not None:
        days = [d for d in days if d <= as_of.date()]
    by_day: dict[str, dict[date, list[datetime]]] = {}
    for sid, ps in punches.items():
        bucket: dict[date, list[datetime]] = defaultdict(list)
        for p in ps:
            bucket[p.date()].append(p)
        by_day[sid] = bucket

    people: list[PersonMonth] = []
    details: list[DetailRow] = []
    # Each person owes the days between joining and leaving the center, and is listed in the
    # months that overlap them.
    for s in sorted(staff, key=lambda m: ((m.window_no or "~"), m.staff_id)):
        own_days = [d for d in days if s.serves_on(d)]
        if not own_days and not any(s.serves_on(d) for d in month_days(year, month)):
            continue
        pm = PersonMonth(s.staff_id, s.name, s.unit_code, s.unit_name, s.window_no,
                         irregular_weight=rules.irregular_session_weight)
        own = by_day.get(s.staff_id, {})
        for d in own_days:
            for r in judge_day(s.staff_id, d, own.get(d, ()), rules, calendar, trainings=trainings,
                               roster=roster, leaves=leaves, as_of=as_of):
                pm.add(r)
                details.append(DetailRow(d, s.staff_id, s.name, s.window_no, r.session.kind,
                                         r.session.start, r.session.end, r.arrived, r.left, r.status, r.note))
        people.append(pm)

    windows: dict[str, WindowMonth] = {}
    for w in posts:
        windows[w.window_no] = WindowMonth(w.window_no, w.unit_code, w.unit_name, w.post_a, w.post_b)
    for pm in people:
        if pm.window_no is None:
            continue
        wm = windows.setdefault(pm.window_no, WindowMonth(pm.window_no, pm.unit_code, pm.unit_name))
        wm.staff_count += 1
        for name in ("required_sessions", "late", "early_leave", "missing_punches", "absent_sessions",
                     "leave_sessions"):
            setattr(wm, name, getattr(wm, name) + getattr(pm, name))
    for wm in windows.values():
        scores = [p.attendance_score for p in people if p.window_no == wm.window_no and p.attendance_score is not None]
        wm.attendance_score = round(sum(scores) / len(scores), 2) if scores else None

    gaps: list[GapRow] = []
    for d in days:
        for slot in duty_slots(d, posts, roster, rules, calendar):
            if as_of is not None and slot.closing_dt > as_of:
                continue
            c = coverage(slot, punches, rules)
            wm = windows[slot.window_no]
            wm.duty_slots += 1
            if not c.in_grace:
                wm.duty_gaps += 1
                gaps.append(GapRow(slot.window_no, slot.unit_name, d, slot.opening, slot.closing,
                                   c.first_arrival[0] if c.first_arrival else None,
                                   c.first_arrival[1] if c.first_arrival else None))

    days_worked = len(working_days(year, month, calendar))
    return MonthlyReport(period, days_worked, people, sorted(windows.values(), key=lambda w: w.window_no),
                         details, gaps, as_of)


def combine_reports(period: str, reports: Sequence[MonthlyReport]) -> MonthlyReport:
    """Several months as one period (the year-end evaluation): counts add up, scores are
    recomputed from the sums, details and gaps are concatenated."""
    people: dict[str, PersonMonth] = {}
    windows: dict[str, WindowMonth] = {}
    details: list[DetailRow] = []
    gaps: list[GapRow] = []
    for rep in reports:
        for p in rep.people:
            if p.staff_id in people:
                people[p.staff_id].merge(p)
            else:
                people[p.staff_id] = PersonMonth(
                    p.staff_id, p.name, p.unit_code, p.unit_name, p.window_no,
                    irregular_weight=p.irregular_weight)
                people[p.staff_id].merge(p)
        for w in rep.windows:
            acc = windows.setdefault(w.window_no, WindowMonth(w.window_no, w.unit_code, w.unit_name,
                                                              w.post_a, w.post_b))
            for name in ("required_sessions", "late", "early_leave", "missing_punches", "absent_sessions",
                         "leave_sessions", "duty_slots", "duty_gaps"):
                setattr(acc, name, getattr(acc, name) + getattr(w, name))
        details.extend(rep.details)
        gaps.extend(rep.duty_gaps)
    for acc in windows.values():
        mine = [p for p in people.values() if p.window_no == acc.window_no]
        acc.staff_count = len(mine)
        scores = [p.attendance_score for p in mine if p.attendance_score is not None]
        acc.attendance_score = round(sum(scores) / len(scores), 2) if scores else None
    return MonthlyReport(period, sum(r.working_days for r in reports), list(people.values()),
                         sorted(windows.values(), key=lambda w: w.window_no), details, gaps,
                         max((r.as_of for r in reports if r.as_of), default=None))


def restrict_to_unit(report: MonthlyReport, unit_code: str) -> MonthlyReport:
    """A unit head sees their own unit's people and windows only."""
    people = [p for p in report.people if p.unit_code == unit_code]
    windows = [w for w in report.windows if w.unit_code == unit_code]
    staff_ids = {p.staff_id for p in people}
    window_nos = {w.window_no for w in windows}
    return MonthlyReport(
        report.period, report.working_days, people, windows,
        [d for d in report.details if d.staff_id in staff_ids],
        [g for g in report.duty_gaps if g.window_no in window_nos],
        report.as_of,
    )
