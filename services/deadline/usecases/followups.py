"""Overdue follow-ups in deadline (issue 22, item 7): a supervision notice (业务督办通知书) still
unanswered after its reply date emits ``SupervisionReplyOverdueDetected`` once, and the gauge
``onewindow_deadline_supervision_replies_overdue`` (unanswered notices past their reply date)
feeds the alert ``OneWindowSupervisionRepliesOverdue``.

Once means once (``services.runtime.followups``): the emission and its row in
``deadline_followups`` commit together, the row's primary key refuses a second one, and the
event's id is derived from the notice's number. A notice is overdue from the day after its reply
date, in the center's time zone (as ``SupervisionNotice.status`` says ``reply_overdue``). What
is deadline's own is here: which notices are overdue, and what they emit.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_

from contracts.deadline import SupervisionReplyOverdueDetected
from services.runtime.followups import OverdueFollowUp

from ..store import FollowUpRow, NoticeRow

if TYPE_CHECKING:
    from services.runtime.app import Service

KIND = "supervision_reply"
EVERY_SECONDS = 60.0


def _unanswered_past_due(today: date) -> Any:
    return and_(NoticeRow.replied_at == None, NoticeRow.reply_due < today)  # noqa: E711


def _emission(r: NoticeRow, now: datetime) -> tuple[FollowUpRow, SupervisionReplyOverdueDetected]:
    return (FollowUpRow(kind=KIND, subject_id=r.notice_no, unit_code=r.unit_code, due_on=r.reply_due, detected_at=now),
            SupervisionReplyOverdueDetected(notice_no=r.notice_no, unit_code=r.unit_code, receipt_no=r.receipt_no,
                                            reply_due=r.reply_due, detected_at=now))


SUPERVISION_REPLIES = OverdueFollowUp(
    scope="deadline", kind=KIND,
    namespace=uuid.UUID("0f1f6c2a-3c1e-4a55-8d5e-6b8f2c7d9a04"),  # fixed: the same notice gives the same event id
    record=FollowUpRow, subjects=NoticeRow, subject_id=NoticeRow.notice_no, due=NoticeRow.reply_due,
    is_overdue=_unanswered_past_due, emission=_emission,
    gauge=("supervision_replies_overdue", "Supervision notices still unanswered after their reply date."),
    words="supervision notices unanswered past their reply date", log=logging.getLogger(__name__))


def install(service: "Service", *, worker: bool) -> None:
    """The gauge, and the worker when ``worker`` (``app.py`` calls this once)."""
    SUPERVISION_REPLIES.install(service, every=EVERY_SECONDS, worker_name="deadline-overdue-followups", worker=worker)


def event_id(notice_no: str) -> str:
    return SUPERVISION_REPLIES.event_id(notice_no)


async def follow_up_once(service: "Service", now: datetime | None = None) -> list[str]:
    """One pass: emits ``SupervisionReplyOverdueDetected`` for every unanswered notice past its reply
    date not yet followed up; refreshes the gauge. Returns the notices followed up now."""
    return await SUPERVISION_REPLIES.once(service, now)
