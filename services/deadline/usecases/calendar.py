"""Use cases of the working-day calendar: what a day is and why, the due date of a limit, the
calendar's history, and the center admin's changes (county days, State Council schedules).

A change is applied to a copy of the current book and stored with a recomputation job; the copy
is swapped in after the commit and the recomputation worker is woken (``alarm.recompute``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.exc import IntegrityError

from services.runtime import clock as suite_clock
from services.runtime.auth import Staff
from services.runtime.errors import InvalidInput, InvalidState
from services.runtime.uow import UnitOfWork
from services.runtime.workdays import CalendarError

from .. import store
from ..domain.calendar import CalendarBook, CalendarChange
from ..domain.errors import CalendarRefused
from .shared import DeadlineState, who

#: The longest range of days one request may list.
MAX_DAYS = 400


async def days(uow: UnitOfWork, st: DeadlineState, start: date, end: date) -> list[Mapping[str, object]]:
    """Each day from ``start`` to ``end``: working or not, and why."""
    if end < start:
        raise InvalidInput("end", "结束日期不能早于开始日期")
    if (end - start).days > MAX_DAYS:
        raise InvalidInput("end", f"一次最多查询{MAX_DAYS}天")
    book = await st.calendar.refresh(uow.session)
    # Counted, not stepped past ``end``: the day after 9999-12-31 does not exist.
    return [book.day_info(start + timedelta(days=i)) for i in range((end - start).days + 1)]


@dataclass(frozen=True)
class DueDate:
    accepted_on: date
    days: int
    due_date: date
    provisional: bool
    calendar_version: int


async def due_date(uow: UnitOfWork, st: DeadlineState, accepted_on: date, days: int) -> DueDate:
    """The due date of a limit of ``days`` working days, counted as the law does."""
    cal = await st.calendar.current(uow.session)
    try:
        due = cal.add_working_days(accepted_on, days)
    except CalendarError as exc:
        raise CalendarRefused.of(exc) from None
    return DueDate(accepted_on, days, due, cal.provisional_between(accepted_on, due), cal.version)


@dataclass(frozen=True)
class ChangeView:
    """A calendar change and its recomputation (``clocks_moved`` once done)."""

    change: CalendarChange
    recomputed: bool = False
    clocks_moved: int | None = None


async def history(uow: UnitOfWork) -> list[ChangeView]:
    changes = await store.calendar_history(uow.session)
    jobs = await store.recompute_jobs_by_version(uow.session)
    out = []
    for c in changes:
        job = jobs.get(c.version)
        done = bool(job and job.done)
        out.append(ChangeView(c, done, job.moved if job and done else None))
    return out


async def _change(
    uow: UnitOfWork, st: DeadlineState, apply: Callable[[CalendarBook], CalendarChange], first: date, last: date
) -> ChangeView:
    """Apply a change to a copy of the current book, store it with a recomputation job of the
    open clocks it may move (days in [first, last]), and swap the copy in after the commit."""
    current = await st.calendar.refresh(uow.session)
    book = CalendarBook.replay(current.history, library_official=st.calendar.library_official)
    change = apply(book)
    uow.session.add(store.change_to_row(change))
    uow.session.add(
        store.RecomputeJob(calendar_version=change.version, first_day=first, last_day=last, created_at=suite_clock.now())
    )
    try:
        await uow.commit()
    except IntegrityError:
        raise InvalidState(None, "日历刚被他人修改，请刷新后重试") from None
    st.calendar.book = book
    st.alarm.recompute.set()
    return ChangeView(change)


async def set_day(uow: UnitOfWork, st: DeadlineState, day: date, staff: Staff, *, working: bool, reason: str) -> ChangeView:
    """Declare a day off or a working day for the county."""
    return await _change(
        uow, st, lambda book: book.set_day(day, working=working, by=who(staff), at=suite_clock.now(), reason=reason),
        day, day,
    )


async def remove_day(uow: UnitOfWork, st: DeadlineState, day: date, staff: Staff, *, reason: str) -> ChangeView:
    """Remove the county's override of a day."""
    return await _change(
        uow, st, lambda book: book.remove_override(day, by=who(staff), at=suite_clock.now(), reason=reason), day, day
    )


async def load_schedule(
    uow: UnitOfWork, st: DeadlineState, year: int, staff: Staff, *, holidays: list[date], working_days: list[date],
    reason: str,
) -> ChangeView:
    """Load the State Council's holiday schedule of a year (its make-up days may fall in the
    December before: the clocks from then on may move)."""
    if not 1950 <= year <= 9999:
        raise InvalidInput("year", "年份超出范围")
    return await _change(
        uow, st,
        lambda book: book.load_schedule(
            year, holidays=holidays, working_days=working_days, by=who(staff), at=suite_clock.now(), reason=reason
        ),
        date(year - 1, 12, 1), date(year, 12, 31),
    )
