"""Helpers of the deadline service's unit tests."""

from __future__ import annotations

from datetime import date, datetime

import holidays

from services.runtime.workdays import TZ


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    """An instant in the county's time zone."""
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def hypothetical_2027_schedule() -> tuple[set[date], set[date]]:
    """NOT the real 2027 notice (unpublished when this was written): the library's rule-based
    2027 days off, plus Thursday 11 February off and Saturday 20 February worked, enough to
    exercise the mechanics of loading a schedule."""
    rule = holidays.country_holidays("CN", years=2027)
    off = {d for d in rule if d.year == 2027} | {date(2027, 2, 11)}
    return off, {date(2027, 2, 20)}
