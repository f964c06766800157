"""A case's clock (限时办结): pure Python, no I/O.

Counting rules (the Administrative Licensing Law's practice), all in working days of the
:class:`~services.runtime.workdays.WorkCalendar`:

- **Start.** The day of acceptance is not counted. A limit of N working days ends on the N-th
  working day after the acceptance date; an application accepted on a weekend or holiday thus
  starts counting on the next working day. N = 0 (an immediate item) is due the same day.
- **Stops.** A stop runs from the day it starts to the day it ends. Like the day of acceptance,
  the day the clock resumes is not counted (counting restarts after it), while the day the stop
  starts is counted (work was done on it). So a stop covers the working days in
  ``(start date, end date]``, and the due date moves by exactly that many working days. Stops
  that overlap (a hearing while waiting for materials) are merged: a day is stopped once.
  While any stop is open, the clock stands still: no warning, no overdue.
- **Extensions** add working days to both the promised and the statutory limit.
- **End.** Working days used = working days in (acceptance date, decision date] minus the
  stopped days in that range. The case is on time when decided on or before the due date.
- **Due instant.** A case becomes overdue at the start (00:00 local) of the day after its due
  date; the yellow card for a threshold of k days fires at the start of the k-th working day
  before the due date (when k working days are left, the due date included). A threshold is
  only used when it is smaller than the limit (an immediate or one-day item gets no yellow card
  at acceptance).
- Each threshold fires at most once per case, recorded in :attr:`Clock.fired`; an overdue case
  does not get the yellow cards it skipped (they are recorded as fired without an event).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from contracts.base import Event
from contracts.common import CaseKind
from contracts.deadline import (
    ClockEnded,
    ClockResumed,
    ClockStarted,
    ClockStopped,
    DeadlineMissed,
    DeadlineWarned,
    DueDateChanged,
    DueDateChangeReason,
    ExtensionGranted,
    StopReason,
)
from services.runtime.workdays import TZ, WorkCalendar

from .errors import DeadlineConflict, DeadlineError

OVERDUE = "overdue"


def local_date(at: datetime) -> date:
    """The county's calendar date of an instant (naive datetimes are taken as local)."""
    if at.tzinfo is None:
        return at.date()
    return at.astimezone(TZ).date()


@lru_cache(maxsize=4096)
def start_of_day(day: date) -> datetime:
    """00:00 local of ``day``, as an aware UTC datetime (cached: the watcher asks for the same
    few days for every clock of a batch)."""
    return datetime.combine(day, time(0), tzinfo=TZ).astimezone(UTC)


def warn_key(threshold: int) -> str:
    return f"warn:{threshold}"


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=TZ)


@dataclass
class Stop:
    stop_id: str
    reason: StopReason
    started_at: datetime
    ended_at: datetime | None = None
    note: str | None = None

    @property
    def open(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True)
class Extension:
    extension_id: str
    days: int
    approved_by: str
    reason: str
    granted_at: datetime


def merged_intervals(pairs: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    """Merge half-open-at-the-left intervals ``(a, b]`` into disjoint ones."""
    out: list[tuple[date, date]] = []
    for a, b in sorted(p for p in pairs if p[1] > p[0]):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


@dataclass
class Clock:
    """One accepted case's clock. Methods change it and return the events to publish."""

    receipt_no: str
    unit_code: str
    item_code: str
    case_kind: CaseKind
    accepted_at: datetime
    promised_days: int
    statutory_days: int
    item_version: int | None = None
    stops: list[Stop] = field(default_factory=list)
    extensions: list[Extension] = field(default_factory=list)
    decided_at: datetime | None = None
    outcome: str | None = None
    fired: set[str] = field(default_factory=set)
    # Derived, kept current by _refresh():
    due_date: date = date.min
    statutory_due_date: date = date.min
    provisional: bool = False
    calendar_version: int = 0

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        cal: WorkCalendar,
        *,
        receipt_no: str,
        unit_code: str,
        item_code: str,
        case_kind: CaseKind,
        accepted_at: datetime,
        promised_days: int,
        statutory_days: int,
        item_version: int | None = None,
    ) -> tuple["Clock", list[Event]]:
        if promised_days < 0:
            raise DeadlineError("promised_days", "承诺时限不能为负数")
        if statutory_days < 0:
            raise DeadlineError("statutory_days", "法定时限不能为负数")
        clock = cls(
            receipt_no=receipt_no,
            unit_code=unit_code,
            item_code=item_code,
            case_kind=case_kind,
            accepted_at=_aware(accepted_at),
            promised_days=promised_days,
            # The promised limit is a commitment within the law's; a statutory limit below it
            # (a catalog error) must not make the case look overdue by law before by promise.
            statutory_days=max(statutory_days, promised_days),
            item_version=item_version,
        )
        clock._refresh(cal)
        event = ClockStarted(
            receipt_no=receipt_no,
            unit_code=unit_code,
            item_code=item_code,
            item_version=item_version,
            case_kind=case_kind,
            accepted_at=clock.accepted_at,
            promised_days=promised_days,
            statutory_days=clock.statutory_days,
            due_date=clock.due_date,
            statutory_due_date=clock.statutory_due_date,
            provisional=clock.provisional,
            calendar_version=cal.version,
        )
        return clock, [event]

    # -- derived figures ---------------------------------------------------------------------

    @property
    def accepted_on(self) -> date:
        return local_date(self.accepted_at)

    @property
    def ended(self) -> bool:
        return self.decided_at is not None

    @property
    def stopped(self) -> bool:
        # (Asked several times per clock by the watcher: most clocks have no stop at all.)
        return bool(self.stops) and any(s.ended_at is None for s in self.stops)

    @property
    def running(self) -> bool:
        return self.decided_at is None and not self.stopped

    @property
    def extension_days(self) -> int:
        return sum(e.days for e in self.extensions) if self.extensions else 0

    @property
    def limit_days(self) -> int:
        """The promised limit with extensions."""
        return self.promised_days + self.extension_days

    def _stop_intervals(self, until: date | None = None) -> list[tuple[date, date]]:
        """Closed stops as merged ``(start, end]`` date intervals, clipped to
        ``(acceptance, until]``. Open stops are left out unless ``until`` closes them."""
        start = self.accepted_on
        pairs = []
        for s in self.stops:
            end = s.ended_at if s.ended_at is not None else None
            if end is None:
                if until is None:
                    continue
                e = until
            else:
                e = local_date(end)
            a = max(local_date(s.started_at), start)
            if until is not None:
                e = min(e, until)
            pairs.append((a, e))
        return merged_intervals(pairs)

    def stopped_days(self, cal: WorkCalendar, until: date | None = None) -> int:
        """Working days the clock stood still (closed stops; with ``until``, open ones too,
        up to that day)."""
        return sum(cal.working_days_after(a, b) for a, b in self._stop_intervals(until))

    def _refresh(self, cal: WorkCalendar) -> None:
        stopped = self.stopped_days(cal)
        start = self.accepted_on
        self.due_date = cal.add_working_days(start, self.promised_days + stopped + self.extension_days)
        self.statutory_due_date = cal.add_working_days(start, self.statutory_days + stopped + self.extension_days)
        self.provisional = cal.provisional_between(start, max(self.due_date, self.statutory_due_date))
        self.calendar_version = cal.version

    def days_left(self, cal: WorkCalendar, today: date) -> int:
        """Working days left after ``today`` up to the due date (0 on the due date; negative:
        working days overdue)."""
        return cal.working_days_after(today, self.due_date)

    def thresholds_in_use(self, thresholds: Iterable[int]) -> list[int]:
        return sorted({k for k in thresholds if 0 < k < self.limit_days})

    def warning_day(self, cal: WorkCalendar, threshold: int) -> date:
        """The day the yellow card for ``threshold`` is due: the first day with that many
        working days left."""
        return cal.add_working_days(self.due_date, -threshold)

    @property
    def overdue_at(self) -> datetime:
        """The instant the case becomes overdue: 00:00 local after the due date."""
        return start_of_day(self.due_date + timedelta(days=1))

    def due_at(self) -> datetime | None:
        """When the watcher must look at this clock for the red card (None: nothing to do)."""
        if not self.running or OVERDUE in self.fired:
            return None
        return self.overdue_at

    def next_warning_at(self, cal: WorkCalendar, thresholds: Iterable[int]) -> datetime | None:
        """When the next yellow card is due (None: none left to fire)."""
        if not self.running:
            return None
        days = [
            self.warning_day(cal, k)
            for k in self.thresholds_in_use(thresholds)
            if warn_key(k) not in self.fired
        ]
        days = [d for d in days if d <= self.due_date]
        return start_of_day(min(days)) if days else None

    # -- changes -----------------------------------------------------------------------------

    def _require_open(self) -> None:
        if self.ended:
            raise DeadlineConflict("receipt_no", f"案件 {self.receipt_no} 已办结")

    def _moved(self, old: tuple[date, date], reason: DueDateChangeReason) -> list[Event]:
        if old == (self.due_date, self.statutory_due_date):
            return []
        return [
            DueDateChanged(
                receipt_no=self.receipt_no,
                unit_code=self.unit_code,
                old_due_date=old[0],
                new_due_date=self.due_date,
                old_statutory_due_date=old[1],
                new_statutory_due_date=self.statutory_due_date,
                reason=reason,
                provisional=self.provisional,
                calendar_version=self.calendar_version,
            )
        ]

    def stop(
        self,
        cal: WorkCalendar,
        *,
        stop_id: str,
        reason: StopReason,
        at: datetime,
        note: str | None = None,
    ) -> list[Event]:
        """Stop the clock. A stop id already known is a repeat: nothing happens."""
        if any(s.stop_id == stop_id for s in self.stops):
            return []
        self._require_open()
        at = _aware(at)
        # Compared as instants: the local date of an instant near year 1 is out of range.
        if at < start_of_day(self.accepted_on):
            raise DeadlineError("started_at", "暂停计时不能早于受理日期")
        self.stops.append(Stop(stop_id, reason, at, None, note))
        return [
            ClockStopped(
                receipt_no=self.receipt_no,
                unit_code=self.unit_code,
                stop_id=stop_id,
                reason=reason,
                stopped_at=at,
                note=note,
            )
        ]

    def open_stop(self, *, stop_id: str | None = None, reason: StopReason | None = None) -> Stop | None:
        """The open stop with this id, or else the latest open stop with this reason."""
        for s in reversed(self.stops):
            if not s.open:
                continue
            if stop_id is not None and s.stop_id == stop_id:
                return s
            if stop_id is None and (reason is None or s.reason == reason):
                return s
        return None

    def resume(
        self,
        cal: WorkCalendar,
        *,
        at: datetime,
        stop_id: str | None = None,
        reason: StopReason | None = None,
    ) -> list[Event]:
        """End a stop (by id, or the latest open one with ``reason``). No open stop matching:
        nothing happens (a repeat, or a resume for a stop never recorded)."""
        if self.ended:
            return []
        stop = self.open_stop(stop_id=stop_id, reason=reason)
        if stop is None:
            return []
        at = _aware(at)
        if at < stop.started_at:
            raise DeadlineError("ended_at", "恢复计时不能早于暂停时间")
        old = (self.due_date, self.statutory_due_date)
        before = self.stopped_days(cal)
        stop.ended_at = at
        self._refresh(cal)
        added = self.stopped_days(cal) - before
        events: list[Event] = [
            ClockResumed(
                receipt_no=self.receipt_no,
                unit_code=self.unit_code,
                stop_id=stop.stop_id,
                reason=stop.reason,
                resumed_at=at,
                working_days_stopped=added,
                due_date=self.due_date,
                statutory_due_date=self.statutory_due_date,
            )
        ]
        return events + self._moved(old, DueDateChangeReason.STOP)

    def extend(
        self,
        cal: WorkCalendar,
        *,
        extension_id: str,
        days: int,
        approved_by: str,
        reason: str,
        at: datetime,
    ) -> list[Event]:
        """Extend the limit by ``days`` working days. An extension id already known: nothing."""
        if any(e.extension_id == extension_id for e in self.extensions):
            return []
        self._require_open()
        if days < 1:
            raise DeadlineError("days", "延长期限至少为1个工作日")
        if not approved_by.strip():
            raise DeadlineError("approved_by", "须注明批准人")
        if not reason.strip():
            raise DeadlineError("reason", "须说明延长理由")
        at = _aware(at)
        old = (self.due_date, self.statutory_due_date)
        self.extensions.append(Extension(extension_id, days, approved_by.strip(), reason.strip(), at))
        self._refresh(cal)
        granted = ExtensionGranted(
            receipt_no=self.receipt_no,
            unit_code=self.unit_code,
            extension_id=extension_id,
            days=days,
            approved_by=approved_by.strip(),
            reason=reason.strip(),
            granted_at=at,
            old_due_date=old[0],
            new_due_date=self.due_date,
            new_statutory_due_date=self.statutory_due_date,
        )
        return [granted, *self._moved(old, DueDateChangeReason.EXTENSION)]

    def recompute(self, cal: WorkCalendar) -> list[Event]:
        """Recompute the due dates on a changed calendar; an event if they moved."""
        if self.ended:
            return []
        old = (self.due_date, self.statutory_due_date)
        self._refresh(cal)
        return self._moved(old, DueDateChangeReason.CALENDAR)

    def end(self, cal: WorkCalendar, *, decided_at: datetime, outcome: str) -> list[Event]:
        """The decision: the clock ends. Open stops end with it. A second decision: nothing."""
        if self.ended:
            return []
        decided_at = _aware(decided_at)
        decided_on = local_date(decided_at)
        if decided_on < self.accepted_on:
            raise DeadlineError("decided_at", "办结时间不能早于受理时间")
        for s in self.stops:
            if s.open:
                s.ended_at = max(decided_at, s.started_at)
        self._refresh(cal)
        self.decided_at = decided_at
        self.outcome = outcome
        stopped = self.stopped_days(cal)
        elapsed = cal.working_days_after(self.accepted_on, decided_on)
        used = max(0, elapsed - sum(cal.working_days_after(a, b) for a, b in self._stop_intervals(decided_on)))
        late = max(0, cal.working_days_after(self.due_date, decided_on))
        return [
            ClockEnded(
                receipt_no=self.receipt_no,
                unit_code=self.unit_code,
                item_code=self.item_code,
                case_kind=self.case_kind,
                decided_at=decided_at,
                outcome=outcome,
                due_date=self.due_date,
                on_time=decided_on <= self.due_date,
                within_statutory=decided_on <= self.statutory_due_date,
                working_days_used=used,
                working_days_stopped=stopped,
                late_working_days=late,
            )
        ]

    # -- yellow and red cards ----------------------------------------------------------------

    def check_alerts(self, cal: WorkCalendar, *, now: datetime, thresholds: Sequence[int]) -> list[Event]:
        """The cards newly due at ``now``, given what already fired (recorded in
        :attr:`fired`, which this updates). Nothing while stopped or after the decision."""
        if not self.running:
            return []
        now = _aware(now)
        today = local_date(now)
        events: list[Event] = []
        overdue_at = self.overdue_at
        overdue = now >= overdue_at
        if overdue and OVERDUE not in self.fired:
            self.fired.add(OVERDUE)
            events.append(
                DeadlineMissed(
                    receipt_no=self.receipt_no,
                    unit_code=self.unit_code,
                    item_code=self.item_code,
                    due_date=self.due_date,
                    statutory_due_date=self.statutory_due_date,
                    overdue_at=overdue_at,
                )
            )
        left = self.days_left(cal, today)
        for k in sorted(self.thresholds_in_use(thresholds), reverse=True):
            key = warn_key(k)
            if key in self.fired or left > k:
                continue
            self.fired.add(key)
            if overdue:
                continue  # a red card supersedes the yellow ones it skipped
            events.append(
                DeadlineWarned(
                    receipt_no=self.receipt_no,
                    unit_code=self.unit_code,
                    item_code=self.item_code,
                    threshold_days=k,
                    days_left=max(left, 0),
                    due_date=self.due_date,
                    warned_at=now,
                )
            )
        return events


def recompute_all(clocks: Iterable[Clock], cal: WorkCalendar) -> list[DueDateChanged]:
    """Recompute open clocks on a new calendar (a schedule loaded, a county day changed): the
    ``DueDateChanged`` of every clock whose due dates moved, in the order given. The clocks are
    updated (due dates, provisional flag, calendar version)."""
    moved: list[DueDateChanged] = []
    for clock in clocks:
        moved.extend(e for e in clock.recompute(cal) if isinstance(e, DueDateChanged))
    return moved
