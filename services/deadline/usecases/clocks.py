"""Use cases of the clocks: intake's case events start, stop, resume and end them; staff read
them, stop them (hearing, testing ...), end those stops and extend the limits.

Idempotent: a start for a clock that exists, a stop id already known, a resume with no open stop
and a second decision change nothing. A case event for a clock never started raises
:class:`ClockNotFound`; one that breaks the clock's rules a :class:`DeadlineError` (the handlers
dead-letter both with the reason).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert
from sqlalchemy import select as sa_select
from sqlmodel import select

from contracts.base import Event
from contracts.deadline import StopReason
from contracts.intake import (
    ApplicationAccepted,
    ApplicationDecided,
    ApplicationForwarded,
    ApplicationNotAccepted,
    HigherAuthorityAnswered,
    SupplementProvided,
    SupplementRequested,
    SupplementStage,
)
from services.runtime import clock as suite_clock
from services.runtime.auth import Staff
from services.runtime.errors import DomainError, NotFound
from services.runtime.params import plausible_key
from services.runtime.uow import UnitOfWork
from services.runtime.workdays import CalendarError, WorkCalendar

from .. import store
from ..domain.clock import Clock
from ..domain.errors import CalendarRefused, DeadlineError
from .shared import DeadlineState, derived_id, new_clock_columns, save_clock, who

#: How far ahead of the server's clock a stated instant may be (a clerk's PC runs a little fast);
#: beyond it the instant has not happened yet.
CLOCK_SKEW = timedelta(minutes=5)


class ClockNotFound(NotFound):
    """No clock for the case (404; for a handler: its ApplicationAccepted was not processed)."""

    def __init__(self, receipt_no: str) -> None:
        super().__init__("receipt_no", f"没有受理编号为 {receipt_no} 的计时")
        self.receipt_no = receipt_no


@dataclass(frozen=True)
class ClockView:
    """A stored clock and its working days left today (None once ended)."""

    row: store.ClockRow
    days_left: int | None


# ---------------------------------------------------------------------------------------------
# Intake's case events


class StartRefused(Exception):
    """The clock's rules refuse to start the clock of ``event`` (``error`` says why)."""

    def __init__(self, event: ApplicationAccepted, error: DomainError) -> None:
        super().__init__(event.receipt_no, error.reason)
        self.event, self.error = event, error


async def start_clock(uow: UnitOfWork, st: DeadlineState, event: ApplicationAccepted, *, cause: str) -> None:
    """ApplicationAccepted: remember the unit's name; start the clock (promised and statutory
    limits of the item version) unless it runs already (a repeat under another event id)."""
    try:
        await start_clocks(uow, st, [(event, cause)])
    except StartRefused as refused:
        raise refused.error from None


async def start_clocks(uow: UnitOfWork, st: DeadlineState, started: Sequence[tuple[ApplicationAccepted, str]]) -> None:
    """:func:`start_clock` for a batch of ApplicationAccepted in order, each with its cause (the
    event's id): the calendar read once, one query for the clocks that run already and one for
    the units' rows, the new clocks written in one INSERT (Core: no ORM object per clock). A
    refusal raises :class:`StartRefused` naming its event."""
    session = uow.session
    cal = await st.calendar.current(session)
    receipts = list(dict.fromkeys(event.receipt_no for event, _ in started))
    found = await session.exec(_RUNNING, params={"receipts": receipts})  # type: ignore[call-overload]
    running = set(found.scalars())
    # The units' names as store.remember_unit keeps them, the batch's rows read in one query.
    codes = list(dict.fromkeys(event.unit_code for event, _ in started))
    rows_of_units = await session.exec(_UNITS, params={"codes": codes})  # type: ignore[call-overload]
    units = {r.unit_code: r for r in rows_of_units.all()}
    rows: list[dict[str, object]] = []
    for event, cause in started:
        unit = units.get(event.unit_code)
        if unit is None:
            session.add(units.setdefault(event.unit_code, store.UnitRow(unit_code=event.unit_code,
                                                                        unit_name=event.unit_name)))
        elif unit.unit_name != event.unit_name:
            unit.unit_name = event.unit_name
            session.add(unit)
        if event.receipt_no in running:
            continue
        try:
            clock, events = Clock.start(
                cal,
                receipt_no=event.receipt_no,
                unit_code=event.unit_code,
                item_code=event.item_code,
                item_version=event.item_version,
                case_kind=event.case_kind,
                accepted_at=event.accepted_at,
                promised_days=event.promised_days,
                statutory_days=event.statutory_days,
            )
        except DomainError as exc:
            raise StartRefused(event, exc) from exc
        running.add(event.receipt_no)
        columns = new_clock_columns(clock, cal, st.thresholds)
        rows.append(columns)
        for i, e in enumerate(events):
            await uow.emit(e, id=derived_id(cause, i))
        st.metrics.count(events)
        st.alarm.nudge(columns["due_at"], columns["next_warning_at"])
    if rows:
        await session.execute(_INSERT_CLOCKS, rows)


# The batch's statements, built once (building an IN clause per call cost more than running it).
#: Which of the clocks ``receipts`` exist.
_RUNNING = sa_select(store.CLOCKS.c.receipt_no).where(
    store.CLOCKS.c.receipt_no.in_(bindparam("receipts", expanding=True)))
#: The rows of the units ``codes``.
_UNITS = select(store.UnitRow).where(
    store.UnitRow.unit_code.in_(bindparam("codes", expanding=True)))  # type: ignore[attr-defined]
_INSERT_CLOCKS = insert(store.CLOCKS)


Change = Callable[[Clock, WorkCalendar], list[Event]]


async def _change(
    uow: UnitOfWork, st: DeadlineState, receipt_no: str, change: Change | None, *, cause: str, no_clock_ok: bool = False
) -> None:
    """Apply ``change`` to the case's clock and save it with its events. ``change`` None: the
    event does not touch a running clock. No clock: nothing when ``no_clock_ok``, else
    :class:`ClockNotFound`."""
    session = uow.session
    cal = await st.calendar.current(session)
    row = await store.get_clock(session, receipt_no, for_update=True)
    if row is None:
        if no_clock_ok:
            return
        raise ClockNotFound(receipt_no)
    if change is None:
        return
    clock = store.clock_from_row(row)
    events = change(clock, cal)
    if events:
        await save_clock(uow, st, clock, cal, events, row, cause=cause)


async def supplement_requested(uow: UnitOfWork, st: DeadlineState, event: SupplementRequested, *, cause: str) -> None:
    """A supplement asked in review that stops the clock: stop, reason supplement. At the window
    (before acceptance) there is no clock."""

    def stop(clock: Clock, cal: WorkCalendar) -> list[Event]:
        return clock.stop(
            cal, stop_id=f"supplement-{event.request_no}", reason=StopReason.SUPPLEMENT, at=event.requested_at
        )

    stops = event.stops_clock and event.stage is SupplementStage.IN_REVIEW
    await _change(uow, st, event.receipt_no, stop if stops else None, cause=cause,
                  no_clock_ok=event.stage is SupplementStage.AT_WINDOW)


async def supplement_provided(uow: UnitOfWork, st: DeadlineState, event: SupplementProvided, *, cause: str) -> None:
    """The complete supplement in review: the supplement stop ends."""

    def resume(clock: Clock, cal: WorkCalendar) -> list[Event]:
        return clock.resume(cal, reason=StopReason.SUPPLEMENT, at=event.provided_at)

    resumes = event.complete and event.stage is SupplementStage.IN_REVIEW
    await _change(uow, st, event.receipt_no, resume if resumes else None, cause=cause,
                  no_clock_ok=event.stage is SupplementStage.AT_WINDOW)


def forward_stop_id(event: ApplicationForwarded) -> str:
    return f"forward-{int(event.forwarded_at.timestamp())}"


async def forwarded(uow: UnitOfWork, st: DeadlineState, event: ApplicationForwarded, *, cause: str) -> None:
    """A case reported up: stop, reason higher_authority."""

    def stop(clock: Clock, cal: WorkCalendar) -> list[Event]:
        return clock.stop(
            cal,
            stop_id=forward_stop_id(event),
            reason=StopReason.HIGHER_AUTHORITY,
            at=event.forwarded_at,
            note=f"上报{event.authority}"[:500],
        )

    await _change(uow, st, event.receipt_no, stop, cause=cause)


async def authority_answered(uow: UnitOfWork, st: DeadlineState, event: HigherAuthorityAnswered, *, cause: str) -> None:
    """The higher authority answered: the higher-authority stop ends."""

    def resume(clock: Clock, cal: WorkCalendar) -> list[Event]:
        return clock.resume(cal, reason=StopReason.HIGHER_AUTHORITY, at=event.answered_at)

    await _change(uow, st, event.receipt_no, resume, cause=cause)


async def decided(uow: UnitOfWork, st: DeadlineState, event: ApplicationDecided, *, cause: str) -> None:
    """The decision: the clock ends (on time or late, working days used)."""

    def end(clock: Clock, cal: WorkCalendar) -> list[Event]:
        return clock.end(cal, decided_at=event.decided_at, outcome=event.outcome.value)

    await _change(uow, st, event.receipt_no, end, cause=cause)


async def not_accepted(uow: UnitOfWork, st: DeadlineState, event: ApplicationNotAccepted, *, cause: str) -> None:
    """Not accepted: ends a clock if one runs (normally none: no clock before acceptance)."""

    def end(clock: Clock, cal: WorkCalendar) -> list[Event]:
        return clock.end(cal, decided_at=event.decided_at, outcome="not_accepted")

    await _change(uow, st, event.receipt_no, end, cause=cause, no_clock_ok=True)


async def unit_registered(uow: UnitOfWork, unit_code: str, unit_name: str) -> None:
    """A unit's name, for the bulletin."""
    await store.remember_unit(uow.session, unit_code, unit_name)


# ---------------------------------------------------------------------------------------------
# Staff: read, stop, resume, extend


async def view(uow: UnitOfWork, st: DeadlineState, row: store.ClockRow) -> ClockView:
    cal = await st.calendar.current(uow.session)
    days_left = None if row.state == "ended" else cal.working_days_after(suite_clock.today(), row.due_date)
    return ClockView(row, days_left)


async def _own_clock(uow: UnitOfWork, receipt_no: str, staff: Staff, *, for_update: bool = True) -> store.ClockRow:
    row = await store.get_clock(uow.session, receipt_no, for_update=for_update) if plausible_key(receipt_no, 40) else None
    if row is None:
        raise ClockNotFound(receipt_no)
    staff.ensure_unit(row.unit_code)
    return row


async def get_clock(uow: UnitOfWork, st: DeadlineState, receipt_no: str, staff: Staff) -> ClockView:
    # A read: no row lock (PostgreSQL's FOR UPDATE is for the steps that change the clock).
    return await view(uow, st, await _own_clock(uow, receipt_no, staff, for_update=False))


async def list_clocks(
    uow: UnitOfWork,
    st: DeadlineState,
    staff: Staff,
    *,
    unit_code: str | None,
    state: str | None,
    overdue: bool | None,
    after: str | None,
    limit: int,
) -> list[ClockView]:
    """Clocks, keyset pages by receipt number; clerks and unit heads see their own unit's."""
    if not staff.center_wide:
        if unit_code is not None:
            staff.ensure_unit(unit_code)
        unit_code = staff.unit
    rows = await store.list_clocks(uow.session, unit_code=unit_code, state=state, overdue=overdue, after=after, limit=limit)
    # One calendar for the page (``view`` asks the database for its version each time: N+1).
    cal = await st.calendar.current(uow.session)
    today = suite_clock.today()
    return [ClockView(r, None if r.state == "ended" else cal.working_days_after(today, r.due_date)) for r in rows]


def _not_future(at: datetime | None, field: str, what: str) -> None:
    """A stop starts and ends when it happens: an instant still to come is refused (it would show
    the clock stopped before it is, and dates near the calendar's end cannot be counted)."""
    if at is not None and at > suite_clock.now() + CLOCK_SKEW:
        raise DeadlineError(field, f"{what}不能晚于当前时间")


def _counted(change: Callable[[], list[Event]]) -> list[Event]:
    """Run a clock change whose counting may leave the calendar (before year 1, after 9999)."""
    try:
        return change()
    except CalendarError as exc:
        raise CalendarRefused.of(exc) from None


async def stop_clock(
    uow: UnitOfWork,
    st: DeadlineState,
    receipt_no: str,
    staff: Staff,
    *,
    reason: StopReason,
    started_at: datetime | None,
    note: str | None,
    stop_id: str | None,
) -> ClockView:
    """Staff stop a case's clock (hearing, testing, inspection, expert review ...)."""
    row = await _own_clock(uow, receipt_no, staff)
    _not_future(started_at, "started_at", "暂停开始时间")
    cal = await st.calendar.current(uow.session)
    clock = store.clock_from_row(row)
    now = suite_clock.now()
    stop_id = stop_id or f"{reason.value}-{int(now.timestamp())}"
    events = _counted(lambda: clock.stop(cal, stop_id=stop_id, reason=reason, at=started_at or now, note=note))
    row = await save_clock(uow, st, clock, cal, events, row)
    await uow.commit()
    return await view(uow, st, row)


async def end_stop(
    uow: UnitOfWork, st: DeadlineState, receipt_no: str, stop_id: str, staff: Staff, *, ended_at: datetime | None
) -> ClockView:
    """End a stop: the due date moves by the working days stopped."""
    row = await _own_clock(uow, receipt_no, staff)
    clock = store.clock_from_row(row)
    if not any(s.stop_id == stop_id for s in clock.stops):
        raise NotFound("stop_id", f"该案件没有编号为 {stop_id} 的暂停记录")
    _not_future(ended_at, "ended_at", "恢复计时时间")
    cal = await st.calendar.current(uow.session)
    events = _counted(lambda: clock.resume(cal, stop_id=stop_id, at=ended_at or suite_clock.now()))
    if events:
        row = await save_clock(uow, st, clock, cal, events, row)
        await uow.commit()
    return await view(uow, st, row)


async def extend_clock(
    uow: UnitOfWork,
    st: DeadlineState,
    receipt_no: str,
    staff: Staff,
    *,
    days: int,
    reason: str,
    extension_id: str | None,
) -> ClockView:
    """Extend a case's limit by ``days`` working days; the approver is the caller."""
    row = await _own_clock(uow, receipt_no, staff)
    cal = await st.calendar.current(uow.session)
    clock = store.clock_from_row(row)
    now = suite_clock.now()
    events = _counted(
        lambda: clock.extend(
            cal,
            extension_id=extension_id or f"ext-{int(now.timestamp())}",
            days=days,
            approved_by=who(staff),
            reason=reason,
            at=now,
        )
    )
    row = await save_clock(uow, st, clock, cal, events, row)
    await uow.commit()
    return await view(uow, st, row)

