"""The working-day calendar (工作日历): pure Python, no I/O.

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

import hashlib
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache

import holidays as holidays_lib

from contracts.deadline import CalendarAction

#: The library's range for China (People's Republic from 1950; its lunar tables end in 2100).
LIBRARY_FIRST_YEAR = 1950
LIBRARY_LAST_YEAR = 2100

_MAX_ORDINAL = date.max.toordinal()


class CalendarError(ValueError):
    """A calendar operation that cannot be done; ``field`` names the offending input. The
    message is zh-CN (it reaches staff as the problem+json detail)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# ---------------------------------------------------------------------------------------------
# Layer 1: the national calendar from the library


@dataclass(frozen=True)
class YearExceptions:
    """A year's departures from "Monday to Friday": weekdays off, weekend days worked."""

    year: int
    off_weekdays: frozenset[date]
    working_weekends: frozenset[date]


@lru_cache(maxsize=None)
def library_official_years() -> frozenset[int]:
    """Years for which the library encodes the State Council's notice (its table of
    substituted days). Other years are computed by the statutory rule."""
    china = holidays_lib.country_holidays("CN")
    table = getattr(china, "special_public_holidays", None) or {}
    return frozenset(int(y) for y in table)


@lru_cache(maxsize=1)
def _national_exceptions() -> dict[int, YearExceptions]:
    """Every library year's exceptions, from one library instance (populating all years at
    once is much cheaper than one instance per year)."""
    cn = holidays_lib.country_holidays("CN", years=range(LIBRARY_FIRST_YEAR, LIBRARY_LAST_YEAR + 1))
    off: dict[int, set[date]] = {}
    worked: dict[int, set[date]] = {}
    for d in cn:
        if d.weekday() < 5:
            off.setdefault(d.year, set()).add(d)
    # weekend_workdays also holds make-up days a notice declares in late December of the
    # year before (e.g. 31 December 2005 for New Year 2006).
    for d in cn.weekend_workdays:
        if d.weekday() >= 5 and LIBRARY_FIRST_YEAR <= d.year <= LIBRARY_LAST_YEAR and cn.is_working_day(d):
            worked.setdefault(d.year, set()).add(d)
    return {
        y: YearExceptions(y, frozenset(off.get(y, ())), frozenset(worked.get(y, ())))
        for y in range(LIBRARY_FIRST_YEAR, LIBRARY_LAST_YEAR + 1)
    }


def national_year(year: int) -> YearExceptions:
    """The library's calendar for one year, as exceptions to Monday-Friday (weekends only
    outside the library's range)."""
    exc = _national_exceptions().get(year)
    return exc if exc is not None else YearExceptions(year, frozenset(), frozenset())


# ---------------------------------------------------------------------------------------------
# The compiled calendar: fast, exact arithmetic


def _weekdays_upto(ordinal: int) -> int:
    """Mondays to Fridays among ordinals 1..ordinal (ordinal 1, 0001-01-01, is a Monday)."""
    if ordinal <= 0:
        return 0
    weeks, rest = divmod(ordinal, 7)
    return 5 * weeks + min(rest, 5)


class WorkCalendar:
    """An immutable working-day calendar. Build it with :class:`CalendarBook` (or directly from
    exceptions in tests)."""

    def __init__(
        self,
        off_weekdays: Iterable[date],
        working_weekends: Iterable[date],
        official_years: Iterable[int],
        *,
        version: int = 0,
    ) -> None:
        off = {d for d in off_weekdays if d.weekday() < 5}
        on = {d for d in working_weekends if d.weekday() >= 5}
        self._off_set = frozenset(off)
        self._on_set = frozenset(on)
        self._off = sorted(d.toordinal() for d in off)
        self._on = sorted(d.toordinal() for d in on)
        self._official = frozenset(official_years)
        self.version = version
        digest = hashlib.sha256()
        digest.update(b"off:" + ",".join(map(str, self._off)).encode())
        digest.update(b"on:" + ",".join(map(str, self._on)).encode())
        digest.update(b"official:" + ",".join(map(str, sorted(self._official))).encode())
        #: Changes whenever any working day or official year changes (not with the version).
        self.fingerprint = digest.hexdigest()[:16]

    # -- days --------------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        if day.weekday() < 5:
            return day not in self._off_set
        return day in self._on_set

    def is_official(self, year: int) -> bool:
        return year in self._official

    @property
    def official_years(self) -> frozenset[int]:
        return self._official

    def provisional_between(self, first: date, last: date) -> bool:
        """True when any year from ``first`` to ``last`` has no official schedule."""
        lo, hi = sorted((first.year, last.year))
        if hi - lo + 1 > len(self._official):
            return True
        return any(y not in self._official for y in range(lo, hi + 1))

    def exceptions(self, year: int) -> YearExceptions:
        """The year's weekdays off and weekend days worked, as this calendar has them."""
        return YearExceptions(
            year,
            frozenset(d for d in self._off_set if d.year == year),
            frozenset(d for d in self._on_set if d.year == year),
        )

    # -- counting ----------------------------------------------------------------------------

    def _rank_ordinal(self, ordinal: int) -> int:
        return _weekdays_upto(ordinal) - bisect_right(self._off, ordinal) + bisect_right(self._on, ordinal)

    def rank(self, day: date) -> int:
        """Working days from 0001-01-01 up to and including ``day``. Differences of ranks are
        working-day counts."""
        return self._rank_ordinal(day.toordinal())

    def working_days_after(self, start: date, end: date) -> int:
        """Working days in (start, end]: the day of ``start`` not counted, ``end`` counted.
        Negative when ``end`` is before ``start``."""
        return self.rank(end) - self.rank(start)

    def count_working_days(self, first: date, last: date) -> int:
        """Working days in the closed interval [first, last] (order-insensitive), like the
        library's ``get_working_days_count``."""
        if first > last:
            first, last = last, first
        return self.rank(last) - self._rank_ordinal(first.toordinal() - 1)

    def _first_with_rank(self, target: int, lo: int, hi: int) -> int:
        """Smallest ordinal o in (lo, hi] with rank(o) >= target, given rank(lo) < target <=
        rank(hi). That ordinal is a working day (ranks only step up on working days)."""
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._rank_ordinal(mid) >= target:
                hi = mid
            else:
                lo = mid
        return hi

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (n > 0), before it (n < 0), or ``start`` itself
        (n == 0). The day of ``start`` is never counted, whether it is a working day or not:
        this is the Administrative Licensing Law's counting (a limit of N working days ends on
        the N-th working day after the day of acceptance)."""
        if n == 0:
            return start
        origin = start.toordinal()
        if n > 0:
            target = self._rank_ordinal(origin) + n
            lo, step = origin, max(16, 2 * n)
            hi = min(origin + step, _MAX_ORDINAL)
            while self._rank_ordinal(hi) < target:
                if hi >= _MAX_ORDINAL:
                    raise CalendarError(f"{start} 之后 {n} 个工作日超出了9999年", "days")
                lo, step = hi, step * 2
                hi = min(hi + step, _MAX_ORDINAL)
            return date.fromordinal(self._first_with_rank(target, lo, hi))
        m = -n
        hi = origin - 1
        target = self._rank_ordinal(hi) - m + 1
        if target <= 0:
            raise CalendarError(f"{start} 之前 {m} 个工作日早于公元1年", "days")
        step = max(16, 2 * m)
        lo = max(hi - step, 0)
        while self._rank_ordinal(lo) >= target:
            hi, step = lo, step * 2
            lo = max(lo - step, 0)
        return date.fromordinal(self._first_with_rank(target, lo, hi))

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self.add_working_days(day, 1)


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
        off: set[date] = set()
        on: set[date] = set()
        years = set(range(LIBRARY_FIRST_YEAR, LIBRARY_LAST_YEAR + 1)) | set(self.schedules)
        for year in years:
            schedule = self.schedules.get(year)
            if schedule is not None:
                off.update(d for d in schedule.holidays if d.weekday() < 5)
                # Includes make-up days in late December of the year before (kept with the
                # notice that declares them).
                on.update(d for d in schedule.working_days if d.weekday() >= 5)
            else:
                exc = national_year(year)
                off.update(exc.off_weekdays)
                on.update(exc.working_weekends)
        for day, ov in self.overrides.items():
            off.discard(day)
            on.discard(day)
            if ov.working and day.weekday() >= 5:
                on.add(day)
            elif not ov.working and day.weekday() < 5:
                off.add(day)
        self._compiled = WorkCalendar(off, on, self._official_years(), version=self.version)
        return self._compiled

    # -- changes -----------------------------------------------------------------------------

    def _record(self, change: CalendarChange) -> CalendarChange:
        self.history.append(change)
        self._compiled = None
        return change

    def _check(self, by: str, reason: str) -> None:
        if not by.strip():
            raise CalendarError("须注明修改人", "changed_by")
        if not reason.strip():
            raise CalendarError("须注明修改原因", "reason")

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
            raise CalendarError(f"{day} 没有本县的调整记录", "day")
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
            raise CalendarError("年份超出范围", "year")
        hol = frozenset(holidays)
        work = frozenset(working_days)
        for d in hol:
            if d.year != year:
                raise CalendarError(f"放假日期 {d} 不在 {year} 年内", "holidays")
        for d in work:
            if d.year not in (year - 1, year):
                raise CalendarError(f"调休上班日 {d} 不在 {year} 年或 {year - 1} 年末", "working_days")
            if d.weekday() < 5:
                raise CalendarError(f"调休上班日 {d} 不是周六或周日", "working_days")
        if hol & work:
            raise CalendarError("同一天不能既放假又上班", "working_days")
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

