"""Kafka subscribers: the facts the evaluation needs from the other services.

- deadline.clocks ClockEnded                   -> was the case decided in time (on-time rate);
- intake.ratings RatingSubmitted               -> the applicant's rating (satisfaction);
- deadline.supervision SupervisionNoticeIssued -> supervision notices (penalty);
- deadline.supervision InspectionRecorded      -> inspection findings (attributed to staff as violations);
- a rating at the complaint level also records a conduct complaint (违规违章) against the clerk.

Each is kept reduced to what the evaluation reads; a repeat of the same fact replaces it
(:mod:`.usecases.facts`). ``app.py`` subscribes each in its own consumer group, named as it always was:
``attendance.on_clock_ended``, ``attendance.on_rating``, ``attendance.on_supervision_notice`` (which
also takes the inspection findings: the same topic, in order).
"""

from __future__ import annotations

from contracts.deadline import ClockEnded, InspectionRecorded, SupervisionNoticeIssued
from contracts.intake import RatingSubmitted
from services.runtime import HandlerContext

from .usecases import facts, violations
from .usecases.shared import attendance


async def on_clock_ended(event: ClockEnded, ctx: HandlerContext) -> None:
    await facts.record_outcome(ctx.uow, event)


async def on_rating(event: RatingSubmitted, ctx: HandlerContext) -> None:
    await facts.record_rating(ctx.uow, event)
    await violations.record_rating_complaint(ctx.uow, attendance(ctx.service), event.receipt_no,
                                             facts.rated_staff(event), event.score, event.rated_at)


async def on_supervision_notice(event: SupervisionNoticeIssued, ctx: HandlerContext) -> None:
    await facts.record_notice(ctx.uow, event)



async def on_inspection(event: InspectionRecorded, ctx: HandlerContext) -> None:
    await violations.record_inspection(ctx.uow, event)
