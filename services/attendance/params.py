"""Validated request values shared by the attendance API: identifiers, months and periods, days
and times the rules can compute with, row ids the database can take. A value outside is refused
at the door (problem+json naming the field, the reason in zh-CN), never passed on to fail in the
reports or the database driver."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Annotated

from pydantic import AfterValidator, Field

from services.runtime.params import SQL_INT_MAX

from . import domain

StaffIdStr = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
WindowStr = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")]
UnitStr = Annotated[str, Field(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
PinStr = Annotated[str, Field(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9]+$")]


def _in_range(reason: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        # The pattern lets year 0000 and the calendar's edges through; the reports cannot compute those.
        try:
            domain.parse_period(value)
        except ValueError:
            raise ValueError(reason) from None
        return value

    return check


def _computable_day(value: date) -> date:
    if not domain.computable_day(value):
        raise ValueError("日期超出可处理的范围（0001-01-02 至 9999-12-30）")
    return value


def _wall_time(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("时间应为本地时间（如 08:30），不带时区")
    return value


def ends_after(start: time | datetime | None, end: time | datetime) -> None:
    """The order check of a start and an end; ``start`` is None when it was refused itself."""
    if start is None:
        return
    if (start.tzinfo is None) != (end.tzinfo is None):
        # Python cannot order a wall time against an instant: say so instead of failing.
        raise ValueError("开始和结束时间应同为本地时间，或同带时区")
    if end <= start:
        raise ValueError("结束时间应晚于开始时间")


#: A month or a year of the reports (ASCII digits: the database and the reports know no others).
PeriodStr = Annotated[
    str, Field(pattern=r"^[0-9]{4}(-(0[1-9]|1[0-2]))?$", description="Month (YYYY-MM) or year (YYYY)."),
    AfterValidator(_in_range("期间应为 YYYY-MM（月）或 YYYY（年），在 0001-02 至 9999-11 之间")),
]
MonthStr = Annotated[
    str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="Month, YYYY-MM."),
    AfterValidator(_in_range("月份应为 YYYY-MM，在 0001-02 至 9999-11 之间")),
]
#: A day the rules can step around (the next day, a zone's offset) without leaving ``date``'s range.
DayParam = Annotated[date, AfterValidator(_computable_day)]
#: A time of day on the center's clock (the rules know no zones for times of day).
LocalTime = Annotated[time, AfterValidator(_wall_time)]

#: The row ids are INTEGER columns (PostgreSQL: 32 bits): a larger id names no row, and a driver
#: may refuse to send one at all (SQLite beyond 64 bits), so it is refused at the door.
RowId = Annotated[int, Field(ge=1, le=SQL_INT_MAX, description="Row id.")]
