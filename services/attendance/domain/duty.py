"""AB-post coverage (AB岗): which window shifts must be covered on a day, who may cover them, and
whether anybody of them punched in within the grace after opening. Pure Python, no I/O; wall
times in the center's zone as in :mod:`.rules`.

- Weekends (双休日正常办理): a window with weekend service has the default weekend shifts (or its
  roster's) and its A person, B person or a rostered person must turn up (:func:`duty_slots`).
- Weekdays (工作日AB岗): each office session (morning, afternoon) of a working day is a slot of
  every window with posts: when the A post is absent (on leave, or no punch by opening) the B post
  stands in; a window with neither is the same duty gap as on weekends (:func:`weekday_slots`).
  A session during a training for everybody (the hall studies, 周五下午学习培训) has no slot; a
  window with a roster that day keeps its roster's shifts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from contracts.attendance import DutyGapDetected, DutyGapResolved, DutyPerson

from services.runtime.workdays import WorkCalendar

from .rules import (
    AttendanceRules,
    Leave,
    RosterEntry,
    StaffMember,
    TrainingSession,
    WindowPosts,
    is_statutory_holiday,
    minutes,
)


@dataclass(frozen=True)
class DutySlot:
    """A window's weekend shift and the people who may cover it."""

    window_no: str
    unit_code: str
    unit_name: str
    day: date
    opening: time
    closing: time
    post_a: str | None
    post_b: str | None
    rostered: tuple[str, ...] = ()
    weekday: bool = False             # a weekday office session (A absent -> B stands in)
    on_leave: tuple[str, ...] = ()    # posts on approved leave during the shift

    @property
    def expected(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for s in (self.post_a, self.post_b, *self.rostered):
            if s:
                seen.setdefault(s, None)
        return tuple(seen)

    @property
    def opening_dt(self) -> datetime:
        return datetime.combine(self.day, self.opening)

    @property
    def closing_dt(self) -> datetime:
        return datetime.combine(self.day, self.closing)

    @property
    def key(self) -> str:
        return f"{self.window_no}/{self.day.isoformat()}/{self.opening.strftime('%H:%M')}"


def is_weekend_service_day(day: date, rules: AttendanceRules, calendar: WorkCalendar) -> bool:
    """Rest days on which the windows still serve (双休日正常办理): weekends that are not
    working days; statutory holidays only when the setting says so."""
    if calendar.is_working_day(day):
        return False
    if is_statutory_holiday(day, calendar):
        return rules.serve_on_public_holidays
    return True


def duty_slots(day: date, posts: Sequence[WindowPosts], roster: Sequence[RosterEntry],
               rules: AttendanceRules, calendar: WorkCalendar) -> list[DutySlot]:
    """The shifts to be covered on ``day``. An explicit roster for a window defines its shifts
    that day (on any day); otherwise a window with weekend service gets the default weekend
    shifts on a weekend service day."""
    by_window: dict[str, list[RosterEntry]] = defaultdict(list)
    for r in roster:
        if r.day == day:
            by_window[r.window_no].append(r)
    service_day = is_weekend_service_day(day, rules, calendar)
    slots: list[DutySlot] = []
    for w in posts:
        entries = by_window.get(w.window_no)
        if entries:
            shifts: dict[tuple[time, time], list[str]] = defaultdict(list)
            for r in entries:
                shifts[(r.start, r.end)].append(r.staff_id)
            for (start, end), people in sorted(shifts.items()):
                slots.append(DutySlot(w.window_no, w.unit_code, w.unit_name, day, start, end,
                                      w.post_a, w.post_b, tuple(people)))
        elif service_day and w.weekend_service:
            for h in rules.weekend_shifts:
                slots.append(DutySlot(w.window_no, w.unit_code, w.unit_name, day, h.start, h.end,
                                      w.post_a, w.post_b))
    return slots


def weekday_slots(day: date, posts: Sequence[WindowPosts], roster: Sequence[RosterEntry],
                  rules: AttendanceRules, calendar: WorkCalendar, *,
                  trainings: Sequence[TrainingSession] = (), leaves: Sequence[Leave] = ()) -> list[DutySlot]:
    """The office sessions of a working day, one slot per window with an A or a B post (when
    ``rules.weekday_ab_posts``). A window rostered that day keeps its roster's shifts
    (:func:`duty_slots`); a session overlapped by a training for everybody has no slot. The
    posts on approved leave during the session are listed in ``on_leave``."""
    if not rules.weekday_ab_posts or not calendar.is_working_day(day):
        return []
    rostered = {r.window_no for r in roster if r.day == day}
    season = rules.season(day)
    sessions = []
    for hours in (season.morning, season.afternoon):
        start, end = datetime.combine(day, hours.start), datetime.combine(day, hours.end)
        if any(t.day == day and t.staff_ids is None and t.start < hours.end and t.end > hours.start
               for t in trainings):
            continue
        sessions.append((hours, start, end))
    slots: list[DutySlot] = []
    for w in posts:
        if w.window_no in rostered or not (w.post_a or w.post_b):
            continue
        for hours, start, end in sessions:
            away = tuple(p for p in (w.post_a, w.post_b)
                         if p and any(lv.staff_id == p and lv.overlaps(start, end) for lv in leaves))
            slots.append(DutySlot(w.window_no, w.unit_code, w.unit_name, day, hours.start, hours.end,
                                  w.post_a, w.post_b, weekday=True, on_leave=away))
    return slots


def day_slots(day: date, posts: Sequence[WindowPosts], roster: Sequence[RosterEntry], rules: AttendanceRules,
              calendar: WorkCalendar, *, trainings: Sequence[TrainingSession] = (),
              leaves: Sequence[Leave] = ()) -> list[DutySlot]:
    """Every slot to be covered on a day: weekend or rostered shifts, and weekday office sessions."""
    return (duty_slots(day, posts, roster, rules, calendar)
            + weekday_slots(day, posts, roster, rules, calendar, trainings=trainings, leaves=leaves))


@dataclass(frozen=True)
class Coverage:
    slot: DutySlot
    first_arrival: tuple[str, datetime] | None  # who came first and when (local)
    in_grace: bool

    @property
    def minutes_late(self) -> int:
        if self.first_arrival is None:
            return 0
        return max(0, minutes(self.first_arrival[1] - self.slot.opening_dt))


def coverage(slot: DutySlot, punches: Mapping[str, Sequence[datetime]], rules: AttendanceRules) -> Coverage:
    """Who of the slot's people arrived first: a punch from ``duty_early_minutes`` before
    opening until closing counts; in grace if it is no later than opening + grace."""
    earliest = slot.opening_dt - timedelta(minutes=rules.duty_early_minutes)
    deadline = slot.opening_dt + timedelta(minutes=rules.duty_grace_minutes)
    first: tuple[str, datetime] | None = None
    for staff_id in slot.expected:
        for p in punches.get(staff_id, ()):
            if earliest <= p < slot.closing_dt and (first is None or p < first[1]):
                first = (staff_id, p)
    return Coverage(slot, first, first is not None and first[1] <= deadline)


def due_gaps(slots: Sequence[DutySlot], punches: Mapping[str, Sequence[datetime]],
             rules: AttendanceRules, now_local: datetime) -> list[Coverage]:
    """Slots whose grace has run out with nobody of theirs punched in, while the shift is
    still on (a gap found after closing is history, not an alert)."""
    out = []
    for slot in slots:
        deadline = slot.opening_dt + timedelta(minutes=rules.duty_grace_minutes)
        if not (deadline <= now_local < slot.closing_dt):
            continue
        c = coverage(slot, punches, rules)
        if not c.in_grace:
            out.append(c)
    return out


def gap_event(c: Coverage, staff: Mapping[str, StaffMember], rules: AttendanceRules,
              detected_at: datetime) -> DutyGapDetected:
    """The DutyGapDetected event for a coverage found wanting."""
    def person(staff_id: str | None) -> DutyPerson | None:
        if not staff_id:
            return None
        m = staff.get(staff_id)
        return DutyPerson(staff_id=staff_id, name=m.name if m else staff_id)

    slot = c.slot
    return DutyGapDetected(
        window_no=slot.window_no, unit_code=slot.unit_code, unit_name=slot.unit_name, day=slot.day,
        opening_time=slot.opening, closing_time=slot.closing, time_zone=rules.time_zone,
        grace_minutes=rules.duty_grace_minutes, post_a=person(slot.post_a), post_b=person(slot.post_b),
        rostered=[p for p in (person(s) for s in slot.rostered) if p is not None], detected_at=detected_at,
        weekday=slot.weekday, on_leave=list(slot.on_leave),
    )


def resolved_event(c: Coverage, staff: Mapping[str, StaffMember], rules: AttendanceRules) -> DutyGapResolved:
    """The DutyGapResolved event once somebody of the slot has arrived (``c.first_arrival``)."""
    if c.first_arrival is None:
        raise ValueError("nobody has arrived")
    staff_id, at = c.first_arrival
    m = staff.get(staff_id)
    return DutyGapResolved(
        window_no=c.slot.window_no, day=c.slot.day, opening_time=c.slot.opening,
        staff=DutyPerson(staff_id=staff_id, name=m.name if m else staff_id),
        punched_at=at.replace(tzinfo=rules.zone), minutes_late=c.minutes_late,
    )
