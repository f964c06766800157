"""Property tests: the calendar's fast arithmetic agrees with the library's own day-by-day
workday answers (``holidays``' ``get_nth_working_day`` / ``get_working_days_count``), and
adding and counting are inverse."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.deadline.domain.calendar import CalendarBook, WorkCalendar

from .helpers import local

REFERENCE = holidays.country_holidays("CN", years=range(2001, 2101))
CAL = CalendarBook().calendar()

dates = st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 6, 30))
steps = st.integers(min_value=1, max_value=400)


@pytest.mark.parametrize("year", [2024, 2025, 2026, 2027])
def test_every_start_day_of_the_year_agrees_with_the_library(year: int) -> None:
    # 2024-2026 have the State Council's schedule (make-up days), 2027 is rule-based.
    day = date(year, 1, 1)
    while day.year == year:
        for n in (1, 3, 10, 20):
            assert CAL.add_working_days(day, n) == REFERENCE.get_nth_working_day(day, n), (day, n)
        assert CAL.add_working_days(day, -7) == REFERENCE.get_nth_working_day(day, -7), day
        assert CAL.count_working_days(day, day + timedelta(days=45)) == REFERENCE.get_working_days_count(
            day, day + timedelta(days=45)
        ), day
        day += timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(start=dates, n=st.integers(min_value=-300, max_value=300).filter(lambda n: n != 0))
def test_add_agrees_with_the_library_anywhere(start: date, n: int) -> None:
    assert CAL.add_working_days(start, n) == REFERENCE.get_nth_working_day(start, n)


@settings(max_examples=300, deadline=None)
@given(a=dates, span=st.integers(min_value=0, max_value=800))
def test_count_agrees_with_the_library(a: date, span: int) -> None:
    b = a + timedelta(days=span)
    assert CAL.count_working_days(a, b) == REFERENCE.get_working_days_count(a, b)


@settings(max_examples=300, deadline=None)
@given(start=dates, n=steps)
def test_counting_inverts_adding(start: date, n: int) -> None:
    end = CAL.add_working_days(start, n)
    assert CAL.is_working_day(end)
    assert CAL.working_days_after(start, end) == n
    # No earlier day reaches n.
    assert CAL.working_days_after(start, end - timedelta(days=1)) == n - 1


@settings(max_examples=300, deadline=None)
@given(start=dates, n=steps)
def test_adding_inverts_counting(start: date, n: int) -> None:
    end = start + timedelta(days=n)
    counted = CAL.working_days_after(start, end)
    if counted > 0:
        # The counted-th working day after start is the last working day up to end.
        last = CAL.add_working_days(start, counted)
        assert last <= end
        assert CAL.working_days_after(last, end) == 0


@settings(max_examples=200, deadline=None)
@given(start=dates, a=steps, b=steps)
def test_adding_composes(start: date, a: int, b: int) -> None:
    assert CAL.add_working_days(start, a + b) == CAL.add_working_days(CAL.add_working_days(start, a), b)


@settings(max_examples=200, deadline=None)
@given(start=dates, n=steps)
def test_backwards_undoes_forwards_from_a_working_day(start: date, n: int) -> None:
    if not CAL.is_working_day(start):
        start = CAL.next_working_day(start)
    assert CAL.add_working_days(CAL.add_working_days(start, n), -n) == start


def _walk(cal: WorkCalendar, start: date, n: int) -> date:
    """Reference: walk day by day on the calendar's own is_working_day."""
    d, left = start, n
    while left:
        d += timedelta(days=1)
        left -= cal.is_working_day(d)
    return d


@settings(max_examples=100, deadline=None)
@given(
    overrides=st.lists(
        st.tuples(st.dates(min_value=date(2025, 6, 1), max_value=date(2026, 6, 30)), st.booleans()),
        max_size=25,
    ),
    start=st.dates(min_value=date(2025, 5, 1), max_value=date(2026, 6, 30)),
    n=st.integers(min_value=1, max_value=120),
)
def test_overrides_keep_the_arithmetic_exact(overrides: list[tuple[date, bool]], start: date, n: int) -> None:
    book = CalendarBook()
    for day, working in overrides:
        book.set_day(day, working=working, by="prop", at=local(2025, 1, 1), reason="property test")
    cal = book.calendar()
    for day, working in dict(overrides).items():
        assert cal.is_working_day(day) is working
    assert cal.add_working_days(start, n) == _walk(cal, start, n)
