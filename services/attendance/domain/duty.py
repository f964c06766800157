"""Weekend duty coverage (双休日正常办理, AB岗): which window shifts must be covered on a day,
who may cover them, and whether anybody of them punched in within the grace after opening.
Pure Python, no I/O; wall times in the center's zone as in :mod:`.rules`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from contracts.attendance import DutyGapDetected, DutyGapResolved, DutyPerson

from services.runtime.workdays import WorkCalendar

from .rules import AttendanceRules, RosterEntry, StaffMember, WindowPosts, is_statutory_holiday, minutes


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
