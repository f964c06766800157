"""Helpers of the deadline service's unit tests."""

from __future__ import annotations

from datetime import datetime

from services.deadline.domain import LOCAL_TZ


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    """An instant in the county's time zone."""
    return datetime(y, m, d, hh, mm, tzinfo=LOCAL_TZ)
