"""Kafka subscribers: the facts the evaluation needs from the other services.

- deadline.clocks ClockEnded           -> was the case decided in time (on-time rate);
- intake.ratings RatingSubmitted       -> the applicant's rating (satisfaction);
- deadline.supervision SupervisionNoticeIssued -> supervision notices (penalty).

Each is kept reduced to what the evaluation reads; a repeat of the same fact replaces it.
"""

from __future__ import annotations

from contracts.deadline import ClockEnded, SupervisionNoticeIssued
from contracts.intake import RatingSubmitted
from services.runtime import HandlerContext, Service

from . import store


def register(service: Service) -> None:
    @service.handler(ClockEnded, name="on_clock_ended")
    async def on_clock_ended(event: ClockEnded, ctx: HandlerContext) -> None:
        row = await ctx.session.get(store.OutcomeRow, event.receipt_no)
        if row is None:
            row = store.OutcomeRow(receipt_no=event.receipt_no, unit_code=event.unit_code,
                                   decided_at=store.utc(event.decided_at), on_time=event.on_time)
        row.unit_code, row.decided_at, row.on_time = event.unit_code, store.utc(event.decided_at), event.on_time
        ctx.session.add(row)

    @service.handler(RatingSubmitted, name="on_rating")
    async def on_rating(event: RatingSubmitted, ctx: HandlerContext) -> None:
        row = await ctx.session.get(store.RatingRow, event.receipt_no)
        if row is None:
            row = store.RatingRow(receipt_no=event.receipt_no, unit_code=event.unit_code, score=event.score,
                                  rated_at=store.utc(event.rated_at))
        # The clerk who accepted the case answers for the applicant's experience at the window.
        row.unit_code, row.score, row.rated_at = event.unit_code, event.score, store.utc(event.rated_at)
        row.staff_id = (event.accepted_by or event.decided_by or None)
        row.staff_id = row.staff_id[:64] if row.staff_id else None
        ctx.session.add(row)

    @service.handler(SupervisionNoticeIssued, name="on_supervision_notice")
    async def on_supervision_notice(event: SupervisionNoticeIssued, ctx: HandlerContext) -> None:
        row = await ctx.session.get(store.NoticeRow, event.notice_no)
        if row is None:
            row = store.NoticeRow(notice_no=event.notice_no, unit_code=event.unit_code,
                                  raised_at=store.utc(event.raised_at))
        row.unit_code, row.receipt_no, row.raised_at = event.unit_code, event.receipt_no, store.utc(event.raised_at)
        ctx.session.add(row)
