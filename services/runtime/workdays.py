"""The suite's one working-day calendar (工作日历) and the center's time zone: pure Python, no I/O.

Working days are Monday to Friday, minus China's statutory holidays, plus the weekend make-up
working days (调休上班) of the State Council's yearly schedule. The national layer comes from the
``holidays`` package: for the years whose State Council notice the library encodes (its
substituted-days table) it is the official schedule, make-up working days included; for other
years the statutory rule only (a holiday on a weekend is given on the next working day, no
make-up days); outside the library's range (1950-2100), weekends only.

The deadline service layers the schedules the center loads and the county's overrides on top
(``services/deadline/domain/calendar.py``: a ``CalendarBook`` compiles them into a
:class:`WorkCalendar`) and publishes every change on ``deadline.calendar``. Every other service
counts working days with :class:`WorkCalendar` too: a :class:`CountyCalendar` folds the calendar's
public events into the same layers (``services/runtime/calendar_follower.py`` keeps one up to date
from the topic), so every service counts with the county's calendar and none re-wraps the library.

Arithmetic is exact without walking day by day: the calendar keeps the sorted ordinals of its
exceptions (weekdays that are off, weekend days that are worked), so the number of working days
up to a date is a closed-form weekday count corrected by two bisections, and the N-th working
day after a date is a binary search on that count.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

#: The center's time zone: local dates, months, weekends and opening hours are counted in it.
TZ = ZoneInfo("Asia/Shanghai")

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


def local(moment: datetime) -> datetime:
    """``moment`` in the center's time zone (an aware datetime is required)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the suite works with aware datetimes only")
    return moment.astimezone(TZ)


def local_date(moment: datetime) -> date:
    return local(moment).date()


def period_of(moment: datetime) -> str:
    """The month ('YYYY-MM') a moment belongs to in the center's time zone."""
    d = local_date(moment)
    return f"{d.year:04d}-{d.month:02d}"


def is_weekend(moment: datetime) -> bool:
    """Saturday or Sunday in the center's time zone (双休日)."""
    return local(moment).weekday() >= 5


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


@lru_cache(maxsize=1)
def _statutory_days() -> frozenset[date]:
    cn = holidays_lib.country_holidays("CN", years=range(LIBRARY_FIRST_YEAR, LIBRARY_LAST_YEAR + 1))
    return frozenset(cn)


def is_statutory_holiday(day: date) -> bool:
    """A statutory holiday (法定节假日) by the national calendar, a weekend one included (a
    festival on a Saturday is still a holiday, though no working day is lost to it)."""
    return day in _statutory_days()


@lru_cache(maxsize=1)
def national_calendar() -> WorkCalendar:
    """The national layer alone (the library's calendar for 1950-2100)."""
    years = range(LIBRARY_FIRST_YEAR, LIBRARY_LAST_YEAR + 1)
    off = [d for y in years for d in national_year(y).off_weekdays]
    on = [d for y in years for d in national_year(y).working_weekends]
    return WorkCalendar(off, on, library_official_years())


# ---------------------------------------------------------------------------------------------
# Layers 2 and 3 as followed from the calendar's public events


def compile_calendar(
    schedules: dict[int, tuple[Iterable[date], Iterable[date]]],
    overrides: dict[date, bool],
    official_years: Iterable[int],
    *,
    version: int = 0,
) -> WorkCalendar:
    """The national layer, replaced per year by a loaded schedule (its days off, its make-up
    working days), with the county's overrides (day -> working) on top."""
    off: set[date] = set()
    on: set[date] = set()
    for year in set(range(LIBRARY_FIRST_YEAR, LIBRARY_LAST_YEAR + 1)) | set(schedules):
        if year in schedules:
            holidays, working_days = schedules[year]
            off.update(d for d in holidays if d.weekday() < 5)
            # Make-up days in late December of the year before stay with the notice.
            on.update(d for d in working_days if d.weekday() >= 5)
        else:
            exc = national_year(year)
            off.update(exc.off_weekdays)
            on.update(exc.working_weekends)
    for day, working in overrides.items():
        off.discard(day)
        on.discard(day)
        if working and day.weekday() >= 5:
            on.add(day)
        elif not working and day.weekday() < 5:
            off.add(day)
    return WorkCalendar(off, on, official_years, version=version)


class CountyCalendar:
    """The county's calendar as a service that does not own it knows it: the fold of the
    calendar's change events (``CalendarChanged``: ``year``, ``calendar_version``, ``action``,
    ``day``, ``holidays``, ``working_days``), read in order from the beginning of the topic.

    Events are deltas (a schedule loaded, a day overridden or given back), so the topic cannot
    be compacted by its key; a follower replays it whole, and an event at or below the version
    already applied is skipped (a replay after a reconnect, a duplicate delivery)."""

    def __init__(self, library_official: Iterable[int] | None = None) -> None:
        self._library_official = None if library_official is None else frozenset(library_official)
        self.schedules: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
        self.overrides: dict[date, bool] = {}
        self.version = 0
        #: Versions that never arrived (the topic lost them): the calendar may be incomplete.
        self.gaps = 0
        self._compiled: WorkCalendar | None = None

    def apply(self, change: object) -> bool:
        """Apply one change event; False when it was already applied (or is not one we know)."""
        version = int(getattr(change, "calendar_version"))
        if version <= self.version:
            return False
        action = str(getattr(change, "action"))
        day = getattr(change, "day", None)
        if action == "load_schedule":
            year = int(getattr(change, "year"))
            self.schedules[year] = (
                frozenset(getattr(change, "holidays", ()) or ()),
                frozenset(getattr(change, "working_days", ()) or ()),
            )
        elif action in ("add_holiday", "add_working_day") and day is not None:
            self.overrides[day] = action == "add_working_day"
        elif action == "remove_override" and day is not None:
            self.overrides.pop(day, None)
        else:
            return False
        self.gaps += max(0, version - self.version - 1)
        self.version = version
        self._compiled = None
        return True

    def calendar(self) -> WorkCalendar:
        """The compiled calendar (cached until the next change)."""
        if self._compiled is None:
            base = library_official_years() if self._library_official is None else self._library_official
            self._compiled = compile_calendar(
                dict(self.schedules), dict(self.overrides), frozenset(base) | frozenset(self.schedules),
                version=self.version,
            )
        return self._compiled
