"""Overdue follow-ups, emitted exactly once: when something a service keeps (a task, a notice) is
still open after its due day, the service emits one event about it, and a gauge counts the ones
overdue now so that an alert can read it.

A service says only what is its own — which rows are overdue on a day, and the follow-up row and
event one of them gives — and installs it once::

    RECTIFICATIONS = OverdueFollowUp(
        scope="<service>", kind="rectification", namespace=uuid.UUID("..."),
        record=FollowUpRow, subjects=TaskRow, subject_id=TaskRow.task_id, due=TaskRow.due_on,
        is_overdue=lambda today: and_(TaskRow.open, TaskRow.due_on < today),
        emission=lambda row, now: (FollowUpRow(kind="rectification", subject_id=row.task_id, ...),
                                   TaskOverdueDetected(...)),
        gauge=("tasks_overdue", "Tasks still open after their due day."), words="tasks overdue")
    RECTIFICATIONS.install(service, now=..., every=60.0, worker_name="overdue-followups")

Once means once: the emission and its follow-up row commit together, the row's primary key
(``kind``, ``subject_id``) refuses a second one (another replica, a restart), and the event's id
is derived from the subject's, so even an outbox replay cannot publish two. "Overdue on a day"
is the service's condition; the day is the local one of the center (``workdays.local_date``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from contracts.base import Event

from . import clock
from .workdays import local_date

if TYPE_CHECKING:
    from .app import Service

_log = logging.getLogger(__name__)

#: How many overdue subjects one pass takes at most (the next pass takes the rest).
BATCH = 500


@dataclass
class _Installed:
    gauge: Any
    now: Callable[[], datetime] | None


@dataclass(frozen=True)
class OverdueFollowUp:
    """One kind of overdue follow-up a service emits (module-level; ``install`` per service)."""

    scope: str  # the event id's prefix (the service's name): ids must never change
    kind: str  # the follow-up row's ``kind``
    namespace: uuid.UUID  # fixed: the same subject gives the same event id
    record: Any  # the service's follow-up table, primary key (kind, subject_id)
    subjects: Any  # the table of what may fall overdue
    subject_id: Any  # its id column, matched against the follow-up's subject_id
    due: Any  # its due column: the longest overdue are followed up first
    is_overdue: Callable[[date], Any]  # the SQL condition "overdue on this local day"
    emission: Callable[[Any, datetime], tuple[Any, Event]]  # a subject row -> (follow-up row, event)
    gauge: tuple[str, str]  # name and help of the gauge counting the overdue subjects
    words: str  # what the log line says was followed up, e.g. "rectification tasks overdue"
    log: logging.Logger = field(default=_log, compare=False)

    def event_id(self, subject_id: str) -> str:
        return str(uuid.uuid5(self.namespace, f"{self.scope}:{self.kind}-overdue:{subject_id}"))

    def install(self, service: "Service", *, now: Callable[[], datetime] | None = None, every: float = 60.0,
                worker_name: str, worker: bool = True) -> None:
        """The gauge, and the worker when ``worker`` (the service's ``app.py`` calls this once);
        ``now`` is the service's clock (the suite's by default)."""
        installed = getattr(service.state, "followups", None)
        if installed is None:
            installed = service.state.followups = {}
        installed[self.kind] = _Installed(gauge=service.metrics.gauge(*self.gauge), now=now)
        if worker:
            service.worker(partial(self.forever, every=every), name=worker_name)

    async def once(self, service: "Service", now: datetime | None = None) -> list[str]:
        """One pass: emits the event for every overdue subject not yet followed up; refreshes the
        gauge. Returns the subjects followed up now."""
        inst: _Installed | None = getattr(service.state, "followups", {}).get(self.kind)
        now = now or (inst.now() if inst and inst.now else clock.now())
        today = local_date(now)
        async with service.uow() as uow:
            done = select(self.record.subject_id).where(self.record.kind == self.kind)
            rows = (await uow.session.exec(
                select(self.subjects).where(self.is_overdue(today), self.subject_id.not_in(done))
                .order_by(self.due).limit(BATCH))).all()
            # Built while the rows are loaded: each is committed in a transaction of its own below.
            todo = [self.emission(r, now) for r in rows]
        emitted: list[str] = []
        for record, event in todo:
            subject_id = record.subject_id
            try:
                async with service.uow() as uow:
                    uow.session.add(record)
                    await uow.emit(event, id=self.event_id(subject_id))
                    await uow.commit()
                emitted.append(subject_id)
            except IntegrityError:  # another replica followed it up first
                continue
        async with service.uow() as uow:
            n = (await uow.session.exec(select(func.count()).select_from(self.subjects)
                                        .where(self.is_overdue(today)))).one()
        if inst is not None:
            inst.gauge.set(int(n))
        if emitted:
            self.log.info("%s, followed up: %s", self.words, ", ".join(emitted))
        return emitted

    async def forever(self, service: "Service", every: float) -> None:
        while True:
            try:
                await self.once(service)
            except Exception:  # noqa: BLE001 - the next pass tries again (a database away)
                self.log.exception("overdue follow-up pass failed; next try in %ss", every)
            await asyncio.sleep(every)
