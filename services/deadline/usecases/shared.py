"""What the use cases share, kept on ``service.state.deadline`` (:class:`DeadlineState`): the
settings, the yellow-card thresholds, the current calendar, the watcher's alarm and the service's
business metrics; and saving a clock with its events (:func:`save_clock`)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.base import Event
from contracts.deadline import ClockEnded, ClockStarted, DeadlineMissed, DeadlineWarned, DueDateChanged
from services.runtime.auth import Staff
from services.runtime.metrics import RuntimeMetrics
from services.runtime.uow import UnitOfWork
from services.runtime.workdays import WorkCalendar

from .. import store
from ..config import DeadlineSettings
from ..domain.calendar import CalendarBook
from ..domain.clock import Clock, local_date

if TYPE_CHECKING:
    from services.runtime.app import Service

#: Namespace of the ids derived for events that must be the same on a repeat.
_NS = uuid.UUID("8b0f6a9e-3c1d-4e5f-9a7b-2d4c6e8f0a1b")


_NS_BYTES = _NS.bytes


def derived_id(*parts: object) -> str:
    """A deterministic CloudEvents id: the same fact always gets the same id, so a repeat
    (a redelivered cause, two watchers) is absorbed by the outbox and the consumers' inboxes.

    It is ``str(uuid.uuid5(_NS, "|".join(parts)))``, computed without the ``UUID`` object (the
    watcher derives one per card): SHA-1 of namespace and name, version 5, RFC 4122 variant."""
    return uuid5_text(hashlib.sha1(_NS_BYTES + "|".join(map(str, parts)).encode()).digest())


def uuid5_text(sha1_digest: bytes) -> str:
    """The UUID (version 5, RFC 4122 variant) text of a SHA-1 digest of namespace and name."""
    h = sha1_digest[:16].hex()
    # Byte 6's high nibble is the version (5); byte 8's top two bits the variant (10).
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def who(staff: Staff) -> str:
    """The name recorded for a staff member: the columns naming a person hold 80 characters, and
    a token's name is the issuer's to choose."""
    return (staff.name or staff.sub)[:80]


#: :func:`store.calendar_version`, built once: every clock start asks it.
_CALENDAR_VERSION = sa_select(func.max(store.CalendarChangeRow.version))


class CalendarHolder:
    """The calendar as the database has it. Each replica keeps a compiled copy and rebuilds it
    when the stored history has a newer version (one indexed max() per use)."""

    def __init__(self, library_official: frozenset[int] | None = None) -> None:
        self.library_official = library_official
        self.book = CalendarBook(library_official=library_official)

    async def refresh(self, session: AsyncSession) -> CalendarBook:
        version = int((await session.exec(_CALENDAR_VERSION)).scalar_one_or_none() or 0)  # type: ignore[call-overload]
        if version != self.book.version:
            history = await store.calendar_history(session)
            self.book = CalendarBook.replay(history, library_official=self.library_official)
        return self.book

    async def current(self, session: AsyncSession) -> WorkCalendar:
        return (await self.refresh(session)).calendar()


class DeadlineMetrics:
    def __init__(self, m: RuntimeMetrics) -> None:
        self.started = m.counter("clocks_started", "Clocks started (cases accepted).", ("unit",))
        self.ended = m.counter("clocks_ended", "Clocks ended by a decision.", ("on_time",))
        self.warnings = m.counter("warnings", "Yellow cards (DeadlineWarned) issued.", ("threshold",))
        self.overdue = m.counter("overdue", "Red cards (DeadlineMissed) issued.")
        self.moved = m.counter("due_dates_moved", "Due dates moved by a stop, an extension or the calendar.", ("reason",))
        self.open = m.gauge("open_clocks", "Open clocks by state (running, stopped).", ("state",))
        self.open_overdue = m.gauge("overdue_open_clocks", "Open clocks past their due date.")
        self.next_alert = m.gauge("next_alert_timestamp_seconds", "When the watcher next has a card to issue (0: none).")
        self.tick = m.histogram("watcher_tick_duration_seconds", "Time to issue the cards due at one wake-up.")
        self.recompute_pending = m.gauge("recompute_jobs_pending", "Calendar recomputations not finished.")

    def count(self, events: Sequence[Event]) -> None:
        """Count the events, one increment per metric and label (a watcher's batch holds
        hundreds of cards)."""
        tally: Counter[tuple[Any, str | None]] = Counter()
        for e in events:
            if isinstance(e, ClockStarted):
                tally[(self.started, e.unit_code)] += 1
            elif isinstance(e, ClockEnded):
                tally[(self.ended, "true" if e.on_time else "false")] += 1
            elif isinstance(e, DeadlineWarned):
                tally[(self.warnings, str(e.threshold_days))] += 1
            elif isinstance(e, DeadlineMissed):
                tally[(self.overdue, None)] += 1
            elif isinstance(e, DueDateChanged):
                tally[(self.moved, e.reason.value)] += 1
        for (metric, label), n in tally.items():
            (metric if label is None else metric.labels(label)).inc(n)


class Alarm:
    """How handlers and routes wake the background workers: ``wake`` (a clock has a card earlier
    than the watcher planned to look), ``recompute`` (a calendar change scheduled a recomputation)."""

    def __init__(self) -> None:
        self._wake: asyncio.Event | None = None
        self._recompute: asyncio.Event | None = None
        #: When the watcher plans to look next (None: no card pending).
        self.planned_wake: datetime | None = None

    @property
    def wake(self) -> asyncio.Event:
        if self._wake is None:
            self._wake = asyncio.Event()
        return self._wake

    @property
    def recompute(self) -> asyncio.Event:
        if self._recompute is None:
            self._recompute = asyncio.Event()
        return self._recompute

    def nudge(self, *instants: datetime | None) -> None:
        """Wake the watcher when a clock now has a card earlier than it planned to wake."""
        times = [t for t in instants if t is not None]
        if times and (self.planned_wake is None or min(times) < self.planned_wake):
            self.wake.set()


@dataclass
class DeadlineState:
    """The deadline service's shared objects (``service.state.deadline``)."""

    settings: DeadlineSettings
    metrics: DeadlineMetrics
    #: The yellow-card thresholds, largest first.
    thresholds: tuple[int, ...]
    calendar: CalendarHolder = field(default_factory=CalendarHolder)
    alarm: Alarm = field(default_factory=Alarm)

    @classmethod
    def create(cls, service: "Service") -> "DeadlineState":
        settings: DeadlineSettings = service.settings  # type: ignore[assignment]
        return cls(
            settings=settings,
            metrics=DeadlineMetrics(service.metrics),
            thresholds=tuple(sorted(set(settings.deadline_warning_days), reverse=True)),
        )


def state_of(service: "Service | None") -> DeadlineState:
    """The deadline state of ``service`` (set by ``app.create_service``)."""
    assert service is not None, "the runtime gives handlers their service"
    return service.state.deadline  # type: ignore[no-any-return]


class _Columns(dict):  # type: ignore[type-arg]
    """A row's columns by attribute, for :func:`store.clock_to_row` to write into."""

    __getattr__ = dict.get  # type: ignore[assignment]
    __setattr__ = dict.__setitem__  # type: ignore[assignment]


def new_clock_columns(clock: Clock, cal: WorkCalendar, thresholds: Sequence[int]) -> dict[str, Any]:
    """The columns of a new clock's row as :func:`store.clock_to_row` writes them, with no ORM
    object: building one (SQLModel's constructor, SQLAlchemy's instrumented attributes) cost more
    than the rest of a clock's start. For a Core INSERT of ``store.CLOCKS``."""
    row = _Columns(
        receipt_no=clock.receipt_no, unit_code=clock.unit_code, item_code=clock.item_code,
        case_kind=clock.case_kind.value, accepted_at=store.utc(clock.accepted_at), accepted_on=clock.accepted_on,
        promised_days=clock.promised_days, statutory_days=clock.statutory_days,
    )
    store.clock_to_row(clock, cal, thresholds, row)  # type: ignore[arg-type]
    return {name: row.get(name) for name in _CLOCK_COLUMNS}


_CLOCK_COLUMNS = tuple(c.name for c in store.CLOCKS.columns)


async def save_clock(
    uow: UnitOfWork,
    st: DeadlineState,
    clock: Clock,
    cal: WorkCalendar,
    events: Sequence[Event],
    row: store.ClockRow | None = None,
    *,
    cause: str | None = None,
    ids: Sequence[str] | None = None,
    count: bool = True,
    flush: bool = True,
) -> store.ClockRow:
    """Write the clock and add its events to the outbox, in the caller's transaction. With
    ``cause`` (the causing event's id), the events' ids derive from it; ``ids`` gives them
    outright. ``count=False`` leaves the metrics to the caller (to count after commit);
    ``flush=False`` lets the commit write many rows at once (the watcher's batches)."""
    row = store.clock_to_row(clock, cal, st.thresholds, row)
    for e in events:
        if isinstance(e, ClockEnded):
            store.record_end(
                row, local_date(e.decided_at), e.on_time, e.working_days_used, e.working_days_stopped, e.late_working_days
            )
    uow.session.add(row)
    if flush:
        await uow.session.flush()
    for i, e in enumerate(events):
        event_id = ids[i] if ids is not None else (derived_id(cause, i) if cause else None)
        await uow.emit(e, id=event_id)
    if count:
        st.metrics.count(events)
    st.alarm.nudge(row.due_at, row.next_warning_at)
    return row
