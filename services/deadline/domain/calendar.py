"""The working-day calendar (工作日历), the county's book of it: pure Python, no I/O.

Layer 1 and the arithmetic (:class:`WorkCalendar`) are the suite's, in
``services/runtime/workdays.py`` (re-exported here); this module keeps layers 2 and 3, the
:class:`CalendarBook` (loaded schedules and county overrides, versioned) that compiles them.

Working days are Monday to Friday, minus China's statutory holidays, plus the weekend make-up
working days (调休上班) of the State Council's yearly schedule, with the county's own overrides
on top.

Layers, lowest first:
1. The national calendar of the ``holidays`` package (``holidays.China``). For the years whose
   State Council notice the library encodes (its substituted-days table), this is the official
   schedule, make-up working days included. For the other years it is the statutory rule only:
   the holidays of the 全国年节及纪念日放假办法, with a holiday that falls on a weekend given on
   the next working day (补假), and no make-up working days. Years outside the library's range
   (before 1950, after 2100) have weekends only.
2. Schedules loaded by the center (the State Council's notice for a year the library does not
   know yet, typically published in November for the next year): they replace layer 1 for that
   year and make it official.
3. County overrides: a day declared off, or declared a working day.

A year is *official* when layer 1 is the library's encoded notice or a schedule was loaded
(layer 2); a due date computed over a non-official year is *provisional*.

Arithmetic is exact without walking day by day: the calendar keeps the sorted ordinals of its
exceptions (weekdays that are off, weekend days that are worked), so the number of working days
up to a date is a closed-form weekday count corrected by two bisections, and the N-th working
day after a date is a binary search on that count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from contracts.deadline import CalendarAction
from services.runtime.workdays import (  # noqa: F401 - the national layer and the arithmetic, re-exported
    LIBRARY_FIRST_YEAR,
    LIBRARY_LAST_YEAR,
    CalendarError,
    WorkCalendar,
    compile_calendar,
    YearExceptions,
    library_official_years,
    national_year,
)

from .errors import CalendarRefused

# ---------------------------------------------------------------------------------------------
# The book: layers 2 and 3, versioned


@dataclass(frozen=True)
class OfficialSchedule:
    """A State Council schedule for one year, loaded by the center."""

    year: int
    holidays: frozenset[date]
    working_days: frozenset[date]
    loaded_by: str
    loaded_at: datetime
    reason: str


@dataclass(frozen=True)
class DayOverride:
    """The county's own ruling for one day."""

    day: date
    working: bool
    changed_by: str
    changed_at: datetime
    reason: str


@dataclass(frozen=True)
class CalendarChange:
    """One entry of the calendar's history."""

    version: int
    action: CalendarAction
    year: int
    changed_by: str
    changed_at: datetime
    reason: str
    day: date | None = None
    working: bool | None = None
    holidays: tuple[date, ...] = ()
    working_days: tuple[date, ...] = ()


@dataclass
class CalendarBook:
    """The calendar's editable state: loaded schedules, county overrides, and the history of
    changes (who changed what, when, why). :meth:`calendar` compiles it."""

    schedules: dict[int, OfficialSchedule] = field(default_factory=dict)
    overrides: dict[date, DayOverride] = field(default_factory=dict)
    history: list[CalendarChange] = field(default_factory=list)
    #: Library years to treat as provisional regardless (tests, or a notice found wrong).
    library_official: frozenset[int] | None = None
    _compiled: WorkCalendar | None = field(default=None, repr=False, compare=False)

    @property
    def version(self) -> int:
        return self.history[-1].version if self.history else 0

    def _official_years(self) -> frozenset[int]:
        base = library_official_years() if self.library_official is None else self.library_official
        return frozenset(base) | frozenset(self.schedules)

    def calendar(self) -> WorkCalendar:
        """The compiled calendar (cached until the next change)."""
        if self._compiled is not None:
            return self._compiled
        # The one compilation every service uses (services.runtime.workdays): national layer,
        # the loaded schedules per year, the county's overrides on top.
        self._compiled = compile_calendar(
            {y: (sch.holidays, sch.working_days) for y, sch in self.schedules.items()},
            {day: ov.working for day, ov in self.overrides.items()},
            self._official_years(), version=self.version)
        return self._compiled

    # -- changes -----------------------------------------------------------------------------

    def _record(self, change: CalendarChange) -> CalendarChange:
        self.history.append(change)
        self._compiled = None
        return change

    def _check(self, by: str, reason: str) -> None:
        if not by.strip():
            raise CalendarRefused("changed_by", "须注明修改人")
        if not reason.strip():
            raise CalendarRefused("reason", "须注明修改原因")

    def set_day(self, day: date, *, working: bool, by: str, at: datetime, reason: str) -> CalendarChange:
        """Declare a day off (``working=False``) or a working day (``working=True``) for the
        county. Declaring what the day already is is allowed (it pins the day)."""
        self._check(by, reason)
        self.overrides[day] = DayOverride(day, working, by, at, reason)
        action = CalendarAction.ADD_WORKING_DAY if working else CalendarAction.ADD_HOLIDAY
        return self._record(
            CalendarChange(self.version + 1, action, day.year, by, at, reason, day=day, working=working)
        )

    def remove_override(self, day: date, *, by: str, at: datetime, reason: str) -> CalendarChange:
        self._check(by, reason)
        if day not in self.overrides:
            raise CalendarRefused("day", f"{day} 没有本县的调整记录")
        del self.overrides[day]
        return self._record(
            CalendarChange(self.version + 1, CalendarAction.REMOVE_OVERRIDE, day.year, by, at, reason, day=day)
        )

    def load_schedule(
        self,
        year: int,
        *,
        holidays: Iterable[date],
        working_days: Iterable[date],
        by: str,
        at: datetime,
        reason: str,
    ) -> CalendarChange:
        """Load the State Council's schedule for ``year``: its days off and its make-up working
        days. Make-up days may fall in the last days of the previous year (they are kept with
        this year's schedule, as the notice lists them)."""
        self._check(by, reason)
        if not 1 <= year <= 9999:
            raise CalendarRefused("year", "年份超出范围")
        hol = frozenset(holidays)
        work = frozenset(working_days)
        for d in hol:
            if d.year != year:
                raise CalendarRefused("holidays", f"放假日期 {d} 不在 {year} 年内")
        for d in work:
            if d.year not in (year - 1, year):
                raise CalendarRefused("working_days", f"调休上班日 {d} 不在 {year} 年或 {year - 1} 年末")
            if d.weekday() < 5:
                raise CalendarRefused("working_days", f"调休上班日 {d} 不是周六或周日")
        if hol & work:
            raise CalendarRefused("working_days", "同一天不能既放假又上班")
        # Make-up days in late December of the previous year stay with this year's schedule.
        self.schedules[year] = OfficialSchedule(year, hol, work, by, at, reason)
        return self._record(
            CalendarChange(
                self.version + 1,
                CalendarAction.LOAD_SCHEDULE,
                year,
                by,
                at,
                reason,
                holidays=tuple(sorted(hol)),
                working_days=tuple(sorted(work)),
            )
        )

    @classmethod
    def replay(
        cls, changes: Iterable[CalendarChange], *, library_official: frozenset[int] | None = None
    ) -> "CalendarBook":
        """Rebuild the book from its history (the store keeps the history only)."""
        book = cls(library_official=library_official)
        for c in sorted(changes, key=lambda c: c.version):
            if c.action is CalendarAction.LOAD_SCHEDULE:
                book.load_schedule(
                    c.year, holidays=c.holidays, working_days=c.working_days, by=c.changed_by, at=c.changed_at, reason=c.reason
                )
            elif c.action is CalendarAction.REMOVE_OVERRIDE:
                assert c.day is not None
                book.remove_override(c.day, by=c.changed_by, at=c.changed_at, reason=c.reason)
            else:
                assert c.day is not None
                book.set_day(
                    c.day, working=c.action is CalendarAction.ADD_WORKING_DAY, by=c.changed_by, at=c.changed_at, reason=c.reason
                )
            # Keep the recorded version numbers (a replay must not renumber history).
            book.history[-1] = replace(book.history[-1], version=c.version)
        return book

    def day_info(self, day: date) -> Mapping[str, object]:
        """What the calendar says about one day and why (for the API)."""
        cal = self.calendar()
        ov = self.overrides.get(day)
        if ov is not None:
            source = "county"
        elif day.year in self.schedules:
            source = "schedule"
        elif LIBRARY_FIRST_YEAR <= day.year <= LIBRARY_LAST_YEAR:
            source = "national"
        else:
            source = "weekdays"
        return {
            "day": day,
            "working": cal.is_working_day(day),
            "weekend": day.weekday() >= 5,
            "source": source,
            "official": cal.is_official(day.year),
            "override_reason": ov.reason if ov else None,
        }

