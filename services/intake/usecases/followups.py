"""Overdue follow-ups in intake (issue 22, item 7): a rectification task (好差评 整改) still open
after its due day emits ``RectificationOverdueDetected`` once, and the gauge
``onewindow_intake_rectifications_overdue`` (open tasks past their due day) feeds the alert
``OneWindowRectificationsOverdue``.

Once means once: the emission and its row in ``intake_followups`` commit together, the row's
primary key refuses a second one (another replica, a restart), and the event's id is derived from
the task's, so even an outbox replay cannot publish two. A task is overdue from the day after its
due day, in the center's time zone.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from contracts.intake import RectificationOverdueDetected
from services.runtime import Service
from services.runtime.workdays import local_date

from ..domain.ratings import RectificationStatus
from ..store import FollowUpRow, RectificationRow

log = logging.getLogger(__name__)

KIND = "rectification"
_NS = uuid.UUID("5b0c3f7e-7d55-4b8e-9d0e-2f6c1a9e0b11")  # fixed: the same task gives the same event id


@dataclass
class FollowUps:
    overdue: Any  # the gauge

    @classmethod
    def install(cls, service: Service) -> "FollowUps":
        """The gauge and the worker (``app.py`` calls this once)."""
        fu = cls(overdue=service.metrics.gauge(
            "rectifications_overdue", "Rectification tasks (整改) still open after their due day."))
        service.state.followups = fu
        service.worker(followups_forever, name="overdue-followups")
        return fu


def event_id(rectification_id: str) -> str:
    return str(uuid.uuid5(_NS, f"intake:{KIND}-overdue:{rectification_id}"))


def _open_and_past_due(today: date) -> Any:
    return and_(RectificationRow.status == RectificationStatus.OPEN.value, RectificationRow.due_on < today)


async def follow_up_once(service: Service, now: datetime | None = None) -> list[str]:
    """One pass: emits ``RectificationOverdueDetected`` for every open task past its due day not yet
    followed up; refreshes the gauge. Returns the tasks followed up now."""
    st = service.state.intake
    now = now or st.now()
    today = local_date(now)
    async with service.uow() as uow:
        done = select(FollowUpRow.subject_id).where(FollowUpRow.kind == KIND)
        rows = (await uow.session.exec(
            select(RectificationRow).where(_open_and_past_due(today), RectificationRow.rectification_id.not_in(done))
            .order_by(RectificationRow.due_on).limit(500))).all()
        todo = [(r.rectification_id, r.receipt_no, r.unit_code, r.due_on) for r in rows]
    emitted: list[str] = []
    for rid, receipt_no, unit_code, due_on in todo:
        try:
            async with service.uow() as uow:
                uow.session.add(FollowUpRow(kind=KIND, subject_id=rid, receipt_no=receipt_no, unit_code=unit_code,
                                            due_on=due_on, detected_at=now))
                await uow.emit(RectificationOverdueDetected(rectification_id=rid, receipt_no=receipt_no, unit_code=unit_code,
                                                    due_on=due_on, detected_at=now), id=event_id(rid))
                await uow.commit()
            emitted.append(rid)
        except IntegrityError:  # another replica followed it up first
            continue
    async with service.uow() as uow:
        n = (await uow.session.exec(select(func.count()).select_from(RectificationRow)
                                    .where(_open_and_past_due(today)))).one()
    fu = getattr(service.state, "followups", None)
    if fu is not None:
        fu.overdue.set(int(n))
    if emitted:
        log.info("rectification tasks overdue, followed up: %s", ", ".join(emitted))
    return emitted


async def followups_forever(service: Service) -> None:
    every = service.state.intake.settings.intake_gauge_seconds
    while True:
        try:
            await follow_up_once(service)
        except Exception:  # noqa: BLE001 - the next pass tries again (a database away)
            log.exception("overdue follow-up pass failed; next try in %ss", every)
        await asyncio.sleep(every)
