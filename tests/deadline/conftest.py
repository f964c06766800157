"""Shared fixtures of the deadline service's unit tests."""

from __future__ import annotations

import pytest

from services.deadline.domain.calendar import CalendarBook, WorkCalendar


@pytest.fixture
def book() -> CalendarBook:
    return CalendarBook()


@pytest.fixture
def cal(book: CalendarBook) -> WorkCalendar:
    return book.calendar()
