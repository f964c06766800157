"""Overdue follow-ups in intake (issue 22, item 7): a rectification task (好差评 整改) still open
after its due day emits ``RectificationOverdueDetected`` once, and the gauge
``onewindow_intake_rectifications_overdue`` (open tasks past their due day) feeds the alert
``OneWindowRectificationsOverdue``.

Once means once (``services.runtime.followups``): the emission and its row in
``intake_followups`` commit together, the row's primary key refuses a second one, and the
event's id is derived from the task's. A task is overdue from the day after its due day, in the
center's time zone. What is intake's own is here: which tasks are overdue, and what they emit.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_

from contracts.intake import RectificationOverdueDetected
from services.runtime import Service
from services.runtime.followups import OverdueFollowUp

from ..domain.ratings import RectificationStatus
from ..store import FollowUpRow, RectificationRow

KIND = "rectification"


def _open_and_past_due(today: date) -> Any:
    return and_(RectificationRow.status == RectificationStatus.OPEN.value, RectificationRow.due_on < today)


def _emission(r: RectificationRow, now: datetime) -> tuple[FollowUpRow, RectificationOverdueDetected]:
    return (FollowUpRow(kind=KIND, subject_id=r.rectification_id, receipt_no=r.receipt_no, unit_code=r.unit_code,
                        due_on=r.due_on, detected_at=now),
            RectificationOverdueDetected(rectification_id=r.rectification_id, receipt_no=r.receipt_no,
                                         unit_code=r.unit_code, due_on=r.due_on, detected_at=now))


RECTIFICATIONS = OverdueFollowUp(
    scope="intake", kind=KIND,
    namespace=uuid.UUID("5b0c3f7e-7d55-4b8e-9d0e-2f6c1a9e0b11"),  # fixed: the same task gives the same event id
    record=FollowUpRow, subjects=RectificationRow, subject_id=RectificationRow.rectification_id,
    due=RectificationRow.due_on, is_overdue=_open_and_past_due, emission=_emission,
    gauge=("rectifications_overdue", "Rectification tasks (整改) still open after their due day."),
    words="rectification tasks overdue", log=logging.getLogger(__name__))


def install(service: Service) -> None:
    """The gauge and the worker (``app.py`` calls this once)."""
    RECTIFICATIONS.install(service, now=lambda: service.state.intake.now(),
                           every=service.state.intake.settings.intake_gauge_seconds, worker_name="overdue-followups")


def event_id(rectification_id: str) -> str:
    return RECTIFICATIONS.event_id(rectification_id)


async def follow_up_once(service: Service, now: datetime | None = None) -> list[str]:
    """One pass: emits ``RectificationOverdueDetected`` for every open task past its due day not yet
    followed up; refreshes the gauge. Returns the tasks followed up now."""
    return await RECTIFICATIONS.once(service, now)
