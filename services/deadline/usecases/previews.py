"""Read-only use cases for the management pages: what a county calendar change would move
before it is saved (the preview), and the inspection samples drawn (a list, by month and unit).

The preview applies the change to a copy of the calendar book, as the change itself does
(``calendar._change``), and recomputes the open clocks it may move on that copy; nothing is
stored and no event goes out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.runtime import clock as suite_clock
from services.runtime.auth import Staff
from services.runtime.uow import UnitOfWork

from .. import store
from ..domain.calendar import CalendarBook
from ..domain.oversight import Period
from .shared import DeadlineState, who

#: Moved clocks listed in one preview (all are counted); clocks examined per query.
PREVIEW_LISTED = 200
_CHUNK = 1000


@dataclass(frozen=True)
class MovedClock:
    receipt_no: str
    unit_code: str
    item_code: str
    due_date: date
    new_due_date: date
    statutory_due_date: date
    new_statutory_due_date: date


@dataclass(frozen=True)
class CalendarPreview:
    day: date
    working: bool | None  # None: the county's override removed
    calendar_version: int
    moved: list[MovedClock]
    total: int

    @property
    def truncated(self) -> bool:
        return self.total > len(self.moved)


async def preview_day(
    uow: UnitOfWork, st: DeadlineState, day: date, staff: Staff, *, working: bool | None, reason: str
) -> CalendarPreview:
    """The open clocks whose due dates would move if the county declared ``day`` a working day
    (``working`` true), a day off (false), or removed its override (None). Refused as the
    change itself would be (the same checks, on a copy)."""
    current = await st.calendar.refresh(uow.session)
    book = CalendarBook.replay(current.history, library_official=st.calendar.library_official)
    now = suite_clock.now()
    if working is None:
        book.remove_override(day, by=who(staff), at=now, reason=reason)
    else:
        book.set_day(day, working=working, by=who(staff), at=now, reason=reason)
    cal = book.calendar()
    moved: list[MovedClock] = []
    total = 0
    after: str | None = None
    while True:
        rows = await store.open_clocks_between(uow.session, day, day, after=after, limit=_CHUNK)
        for row in rows:
            clock = store.clock_from_row(row)
            if clock.recompute(cal):  # events only when a due date moved
                total += 1
                if len(moved) < PREVIEW_LISTED:
                    moved.append(MovedClock(row.receipt_no, row.unit_code, row.item_code, row.due_date,
                                            clock.due_date, row.statutory_due_date, clock.statutory_due_date))
        if len(rows) < _CHUNK:
            break
        after = rows[-1].receipt_no
    moved.sort(key=lambda m: (m.due_date, m.receipt_no))
    return CalendarPreview(day, working, current.version, moved, total)


async def list_samples(
    uow: UnitOfWork, staff: Staff, *, period: str | None, unit_code: str | None, limit: int
) -> list[store.SampleRow]:
    """Inspection samples, newest month first; clerks and unit heads see their own unit's."""
    if not staff.center_wide:
        if unit_code is not None:
            staff.ensure_unit(unit_code)
        unit_code = staff.unit
    p = str(Period.parse(period)) if period else None
    return await store.samples(uow.session, period=p, unit_code=unit_code, limit=limit)
