"""Facts from the other services the evaluation needs (``handlers.py``), kept reduced; a repeat
of the same fact replaces it."""

from __future__ import annotations

from contracts.deadline import ClockEnded, SupervisionNoticeIssued
from contracts.intake import RatingSubmitted
from services.runtime.uow import UnitOfWork

from .. import store


async def record_outcome(uow: UnitOfWork, event: ClockEnded) -> None:
    """Was the case decided in time (on-time rate); a repeat replaces the fact."""
    row = await uow.session.get(store.OutcomeRow, event.receipt_no)
    if row is None:
        row = store.OutcomeRow(receipt_no=event.receipt_no, unit_code=event.unit_code,
                               decided_at=store.utc(event.decided_at), on_time=event.on_time)
    row.unit_code, row.decided_at, row.on_time = event.unit_code, store.utc(event.decided_at), event.on_time
    uow.session.add(row)


async def record_rating(uow: UnitOfWork, event: RatingSubmitted) -> None:
    """The applicant's rating (satisfaction), of the window and of the clerk who accepted the case."""
    row = await uow.session.get(store.RatingRow, event.receipt_no)
    if row is None:
        row = store.RatingRow(receipt_no=event.receipt_no, unit_code=event.unit_code, score=event.score,
                              rated_at=store.utc(event.rated_at))
    # The clerk who accepted the case answers for the applicant's experience at the window.
    row.unit_code, row.score, row.rated_at = event.unit_code, event.score, store.utc(event.rated_at)
    row.staff_id = rated_staff(event)
    uow.session.add(row)


def rated_staff(event: RatingSubmitted) -> str | None:
    """The clerk a rating is about: who accepted the case, else who decided it."""
    staff_id = event.accepted_by or event.decided_by or None
    return staff_id[:64] if staff_id else None


async def record_notice(uow: UnitOfWork, event: SupervisionNoticeIssued) -> None:
    """A supervision notice (penalty)."""
    row = await uow.session.get(store.NoticeRow, event.notice_no)
    if row is None:
        row = store.NoticeRow(notice_no=event.notice_no, unit_code=event.unit_code,
                              raised_at=store.utc(event.raised_at))
    row.unit_code, row.receipt_no, row.raised_at = event.unit_code, event.receipt_no, store.utc(event.raised_at)
    uow.session.add(row)
