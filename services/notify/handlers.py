"""Kafka subscribers: what intake, seal, deadline and attendance tell notify, each event type to
one module-level function that calls its use case (``usecases/``). Each runs inside the
runtime's transaction with the inbox (a redelivered event is skipped); the notice and message
tables' own unique keys make a replay after a restart harmless too.

The consumer groups (``app.py``, ``GROUPS``) are the ones notify has always had:
``notify.contacts``, ``notify.units``, ``notify.applications``, ``notify.sealing``,
``notify.deadlines``, ``notify.supervision``, ``notify.staff``, ``notify.duty`` (and since issue 22
``notify.assessments``; seal's answers for the assessment notices come through ``notify.sealing``); events that
share a group keep their order per key (one receipt's events)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from contracts.attendance import DutyGapDetected, StaffAssessmentDecided, StaffRegistered, StaffUpdated
from contracts.deadline import DeadlineMissed, DeadlineWarned, ExtensionGranted, SupervisionNoticeIssued
from contracts.intake import (
    ApplicantContactRecorded, ApplicationAccepted, ApplicationDecidedV1, ApplicationForwardedV1,
    ApplicationNotAcceptedV1, ApplicationReceived, DecisionTextRecorded, ForwardingTextRecorded,
    NotAcceptedTextRecorded, SupplementRequestedV1, SupplementTextRecorded, UnitRegistered,
)
from contracts.seal import DocumentSealed, DocumentSealedV1, SealingRefused, SealingRefusedV1
from services.runtime import clock
from services.runtime.consumer import Batch, HandlerContext, HandlerFn

from .usecases import assessments, cases, duty_gaps
from .usecases.duty_gaps import DutyGaps
from .usecases.notices import Notices


def _state(ctx: HandlerContext | Batch[Any]) -> Any:
    if ctx.service is None:
        raise RuntimeError("notify's handlers need the service in their HandlerContext (its shared state)")
    return ctx.service.state


def _as_batch(batch: Any, ctx: HandlerContext | None) -> Batch[Any]:
    """The runtime hands a batch handler its ``Batch``; called as a per-event handler, ``(event,
    ctx)`` (tests driving one transaction by hand, tools), it handles that one event."""
    return batch if ctx is None else Batch([(batch, ctx)], ctx.uow, ctx.service)


@asynccontextmanager
async def _batch_session(batch: Batch[Any]) -> AsyncIterator[None]:
    """A batch handler's session: what earlier handlers of the transaction left pending flushed
    first (the batch's queries then see it), then no autoflush: the batch reads what it needs
    with a few queries up front and keeps what it adds itself; the commit writes it all."""
    await batch.session.flush()
    with batch.session.no_autoflush:
        yield


def _notices(ctx: HandlerContext) -> Notices:
    return _state(ctx).notices


def _duty_gaps(ctx: HandlerContext) -> DutyGaps:
    return _state(ctx).duty_gaps


# ------------------------------------------------------------------ intake.contacts (group: contacts)


async def contacts_recorded(batch: Batch[ApplicantContactRecorded], ctx: HandlerContext | None = None) -> None:
    """A batch handler (one contact per application): see ``cases.contacts_recorded``."""
    batch = _as_batch(batch, ctx)
    async with _batch_session(batch):
        await cases.contacts_recorded(batch.uow, _state(batch).notices, batch.events, clock.now())


# ------------------------------------------------------------------ intake.units (group: units)


async def unit_registered(event: UnitRegistered, ctx: HandlerContext) -> None:
    await cases.unit_registered(ctx, event)


# ------------------------------------------------------------------ intake.applications (group: applications)


async def applications(batch: Batch[ApplicationReceived | ApplicationAccepted],
                       ctx: HandlerContext | None = None) -> None:
    """A batch handler (each application's two busiest events, consecutive on the topic): see
    ``cases.applications``."""
    batch = _as_batch(batch, ctx)
    async with _batch_session(batch):
        await cases.applications(batch.uow, _state(batch).notices, [(e, ctx.event_id) for e, ctx in batch],
                                 clock.now())


# The texts come from intake.case-texts (issue 20); the v1 events, still on intake.applications
# from before, carry the same fields.
async def supplement_requested(event: SupplementTextRecorded | SupplementRequestedV1, ctx: HandlerContext) -> None:
    await cases.supplement_requested(ctx, _notices(ctx), event, ctx.event_id, clock.now())


async def application_not_accepted(event: NotAcceptedTextRecorded | ApplicationNotAcceptedV1, ctx: HandlerContext) -> None:
    await cases.application_not_accepted(ctx, _notices(ctx), event, ctx.event_id, clock.now())


async def application_forwarded(event: ForwardingTextRecorded | ApplicationForwardedV1, ctx: HandlerContext) -> None:
    await cases.application_forwarded(ctx, _notices(ctx), event, ctx.event_id, clock.now())


async def application_decided(event: DecisionTextRecorded | ApplicationDecidedV1, ctx: HandlerContext) -> None:
    await cases.application_decided(ctx, _notices(ctx), event, ctx.event_id, clock.now())


# ------------------------------------------------------------------ seal.documents (group: sealing)


# seal answers with v2 since documents of no case exist (issue 22); v1 answers may still be on the
# topic. An answer without a receipt number is for a document of no case: the year-end assessment
# notice (usecases/assessments.py); every case notice has its receipt number.
async def documents_sealed(batch: Batch[DocumentSealed | DocumentSealedV1], ctx: HandlerContext | None = None) -> None:
    """A batch handler (one sealed notice per application): the case notices released together
    (``Notices.on_sealed_many``), an assessment notice's answer each on its own."""
    batch = _as_batch(batch, ctx)
    st = _state(batch)
    now = clock.now()
    async with _batch_session(batch):
        for event, ctx in batch:
            if event.receipt_no is None:
                await assessments.on_sealed(ctx, st.metrics, event, now)  # type: ignore[arg-type]
        released = [e for e in batch.events if e.receipt_no is not None]
        if released:
            await st.notices.on_sealed_many(batch.uow, released, now)  # type: ignore[arg-type]


async def sealing_refused(event: SealingRefused | SealingRefusedV1, ctx: HandlerContext) -> None:
    if event.receipt_no is None:
        await assessments.on_refused(ctx, _state(ctx).metrics, event, clock.now())  # type: ignore[arg-type]
        return
    await cases.sealing_refused(ctx, _notices(ctx), event, clock.now())  # type: ignore[arg-type]


# ------------------------------------------------------------------ deadline.clocks (group: deadlines)


async def extension_granted(event: ExtensionGranted, ctx: HandlerContext) -> None:
    await cases.extension_granted(ctx, _notices(ctx), event, ctx.event_id, clock.now())


async def deadline_warned(event: DeadlineWarned, ctx: HandlerContext) -> None:
    await cases.deadline_warned(ctx, _notices(ctx), event, ctx.event_id, clock.now())


async def deadline_missed(event: DeadlineMissed, ctx: HandlerContext) -> None:
    await cases.deadline_missed(ctx, _notices(ctx), event, ctx.event_id, clock.now())


# ------------------------------------------------------------------ deadline.supervision (group: supervision)


async def supervision_notice_issued(event: SupervisionNoticeIssued, ctx: HandlerContext) -> None:
    await cases.supervision_notice_issued(ctx, _notices(ctx), event, ctx.event_id, clock.now())


# ------------------------------------------------------------------ attendance.staff (group: staff)


async def staff_written(event: StaffRegistered | StaffUpdated, ctx: HandlerContext) -> None:
    await duty_gaps.staff_written(ctx, _duty_gaps(ctx), event, clock.now())


# ------------------------------------------------------------------ attendance.duty (group: duty)


async def duty_gap_detected(event: DutyGapDetected, ctx: HandlerContext) -> None:
    # Held, not dropped, while no duty manager is known yet (usecases/duty_gaps.py).
    await duty_gaps.duty_gap_detected(ctx, _duty_gaps(ctx), event, ctx.event_id, clock.now())


# ------------------------------------------------------------------ attendance.assessments (group: assessments)


async def assessment_decided(event: StaffAssessmentDecided, ctx: HandlerContext) -> None:
    st = _state(ctx)
    await assessments.assessment_decided(ctx, st.settings, st.metrics, event, ctx.event_id, clock.now())



#: Consumer group name (``notify.<name>``, as deployed: offsets and ACLs depend on it) -> its
#: handlers, in the order the groups were always declared.
GROUPS: dict[str, tuple[HandlerFn, ...]] = {
    "contacts": (contacts_recorded,),
    "units": (unit_registered,),
    "applications": (applications, supplement_requested, application_not_accepted, application_forwarded,
                     application_decided),
    "sealing": (documents_sealed, sealing_refused),
    "deadlines": (extension_granted, deadline_warned, deadline_missed),
    "supervision": (supervision_notice_issued,),
    "staff": (staff_written,),
    "duty": (duty_gap_detected,),
    "assessments": (assessment_decided,),
}
