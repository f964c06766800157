"""Calendar helpers: the center's local time (Asia/Shanghai), weekends and a simple working-day
count (weekdays minus public holidays, plus the official make-up working weekends 调休, from the
`holidays` package). The deadline service owns the authoritative due dates; intake uses this only
for rectification tasks and the due date it shows on the public status page."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("naive datetime: intake works with aware datetimes only")
    return dt.astimezone(SHANGHAI)


def local_date(dt: datetime) -> date:
    return local(dt).date()


def is_weekend(dt: datetime) -> bool:
    """Saturday or Sunday in the center's time zone (双休日)."""
    return local(dt).weekday() >= 5


def period_of(dt: datetime) -> str:
    """The month ('YYYY-MM') a moment belongs to in the center's time zone."""
    d = local_date(dt)
    return f"{d.year:04d}-{d.month:02d}"


@lru_cache(maxsize=64)
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("CN", years=year)


def is_working_day(d: date) -> bool:
    return _calendar(d.year).is_working_day(d)


def add_working_days(start: date, days: int) -> date:
    """The day that is `days` working days after `start` (0: `start` itself)."""
    if days < 0:
        raise ValueError("days must not be negative")
    d = start
    left = days
    while left:
        d += timedelta(days=1)
        if is_working_day(d):
            left -= 1
    return d
