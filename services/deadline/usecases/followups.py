"""Overdue follow-ups in deadline (issue 22, item 7): a supervision notice (业务督办通知书) still
unanswered after its reply date emits ``SupervisionReplyOverdueDetected`` once, and the gauge
``onewindow_deadline_supervision_replies_overdue`` (unanswered notices past their reply date)
feeds the alert ``OneWindowSupervisionRepliesOverdue``.

Once means once: the emission and its row in ``deadline_followups`` commit together, the row's
primary key refuses a second one (another replica, a restart), and the event's id is derived from
the notice's number. A notice is overdue from the day after its reply date, in the center's time
zone (as ``SupervisionNotice.status`` says ``reply_overdue``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from contracts.deadline import SupervisionReplyOverdueDetected
from services.runtime import clock as suite_clock
from services.runtime.workdays import local_date

from ..store import FollowUpRow, NoticeRow

if TYPE_CHECKING:
    from services.runtime.app import Service

log = logging.getLogger(__name__)

KIND = "supervision_reply"
EVERY_SECONDS = 60.0
_NS = uuid.UUID("0f1f6c2a-3c1e-4a55-8d5e-6b8f2c7d9a04")  # fixed: the same notice gives the same event id


@dataclass
class FollowUps:
    overdue: Any  # the gauge

    @classmethod
    def install(cls, service: "Service", *, worker: bool) -> "FollowUps":
        """The gauge, and the worker when ``worker`` (``app.py`` calls this once)."""
        fu = cls(overdue=service.metrics.gauge(
            "supervision_replies_overdue", "Supervision notices still unanswered after their reply date."))
        service.state.followups = fu
        if worker:
            service.worker(followups_forever, name="deadline-overdue-followups")
        return fu


def event_id(notice_no: str) -> str:
    return str(uuid.uuid5(_NS, f"deadline:{KIND}-overdue:{notice_no}"))


def _unanswered_past_due(today: date) -> Any:
    return and_(NoticeRow.replied_at == None, NoticeRow.reply_due < today)  # noqa: E711


async def follow_up_once(service: "Service", now: datetime | None = None) -> list[str]:
    """One pass: emits ``SupervisionReplyOverdueDetected`` for every unanswered notice past its reply
    date not yet followed up; refreshes the gauge. Returns the notices followed up now."""
    now = now or suite_clock.now()
    today = local_date(now)
    async with service.uow() as uow:
        done = select(FollowUpRow.subject_id).where(FollowUpRow.kind == KIND)
        rows = (await uow.session.exec(
            select(NoticeRow).where(_unanswered_past_due(today), NoticeRow.notice_no.not_in(done))  # type: ignore[attr-defined]
            .order_by(NoticeRow.reply_due).limit(500))).all()
        todo = [(r.notice_no, r.unit_code, r.receipt_no, r.reply_due) for r in rows]
    emitted: list[str] = []
    for notice_no, unit_code, receipt_no, reply_due in todo:
        try:
            async with service.uow() as uow:
                uow.session.add(FollowUpRow(kind=KIND, subject_id=notice_no, unit_code=unit_code, due_on=reply_due,
                                            detected_at=now))
                await uow.emit(SupervisionReplyOverdueDetected(notice_no=notice_no, unit_code=unit_code, receipt_no=receipt_no,
                                                       reply_due=reply_due, detected_at=now), id=event_id(notice_no))
                await uow.commit()
            emitted.append(notice_no)
        except IntegrityError:  # another replica followed it up first
            continue
    async with service.uow() as uow:
        n = (await uow.session.exec(select(func.count()).select_from(NoticeRow)
                                    .where(_unanswered_past_due(today)))).one()
    fu = getattr(service.state, "followups", None)
    if fu is not None:
        fu.overdue.set(int(n))
    if emitted:
        log.info("supervision notices unanswered past their reply date, followed up: %s", ", ".join(emitted))
    return emitted


async def followups_forever(service: "Service") -> None:
    while True:
        try:
            await follow_up_once(service)
        except Exception:  # noqa: BLE001 - the next pass tries again (a database away)
            log.exception("overdue follow-up pass failed; next try in %ss", EVERY_SECONDS)
        await asyncio.sleep(EVERY_SECONDS)
