"""Kafka subscribers: intake's case events start, stop, resume and end the clocks. Each is a thin
module-level function calling its use case (``usecases/clocks.py``); ``app.py`` subscribes them.

| intake event | group | clock |
| --- | --- | --- |
| ApplicationAccepted | cases | starts (promised and statutory limits of the item version) |
| SupplementRequested (in review, ``stops_clock``) | cases | stops, reason supplement |
| SupplementProvided (in review, ``complete``) | cases | resumes the supplement stop |
| ApplicationForwarded | cases | stops, reason higher_authority (a reported-up case) |
| HigherAuthorityAnswered | cases | resumes the higher-authority stop |
| ApplicationDecided | cases | ends (on time or late, working days used) |
| ApplicationNotAccepted | cases | ends a clock if one runs (otherwise nothing: no clock before acceptance) |
| UnitRegistered (intake.units) | units | remembers the unit's name for the bulletin |
| StaffViolationRecorded / StaffViolationWithdrawn (attendance.violations) | violations | counted / no longer counted per unit in the month's bulletin |

The case events share the consumer group ``deadline.cases`` (:data:`CASES`): one order per
receipt number. Idempotent: the runtime's inbox skips redelivered events; on top, the use cases
ignore repeats. Events out of the clock's rules (a decision before acceptance) are rejected to
the dead-letter topic with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from contracts.attendance import StaffViolationRecorded, StaffViolationWithdrawn
from contracts.intake import (
    ApplicationAccepted,
    ApplicationDecided,
    ApplicationDecidedV1,
    ApplicationForwarded,
    ApplicationForwardedV1,
    ApplicationNotAccepted,
    ApplicationNotAcceptedV1,
    HigherAuthorityAnswered,
    HigherAuthorityAnsweredV1,
    SupplementProvided,
    SupplementRequested,
    SupplementRequestedV1,
    UnitRegistered,
)
from services.runtime.consumer import Batch, HandlerContext, Reject
from services.runtime.errors import DomainError

from .usecases import clocks, violations
from .usecases.clocks import ClockNotFound
from .usecases.shared import state_of

CaseEvent = (
    ApplicationAccepted
    | SupplementRequested
    | SupplementProvided
    | ApplicationForwarded
    | HigherAuthorityAnswered
    | ApplicationDecided
    | ApplicationNotAccepted
)


@contextmanager
def _rejecting(event: CaseEvent) -> Iterator[None]:
    """A refusal of the clock's rules can never succeed on a retry: to the dead-letter topic."""
    try:
        yield
    except ClockNotFound:
        raise Reject(f"no clock for case {event.receipt_no}: its ApplicationAccepted was not processed") from None
    except DomainError as exc:
        if isinstance(event, ApplicationAccepted):
            raise Reject(f"cannot start the clock of {event.receipt_no}: {exc.reason}") from None
        raise Reject(f"{type(event).__name__} for {event.receipt_no}: {exc.reason}") from None


async def accepted(batch: Batch[ApplicationAccepted]) -> None:
    """A batch handler (one accepted application each, the busiest event here): the clocks start
    together (:func:`clocks.start_clocks`). A refused start fails the batch; the runtime then hands
    each event alone, and the refused one goes to the dead letters with its reason."""
    try:
        await clocks.start_clocks(batch.uow, state_of(batch.service),
                                  [(event, ctx.event_id) for event, ctx in batch])
    except clocks.StartRefused as refused:
        with _rejecting(refused.event):
            raise refused.error from None


async def supplement_requested(event: SupplementRequested | SupplementRequestedV1, ctx: HandlerContext) -> None:
    with _rejecting(event):
        await clocks.supplement_requested(ctx.uow, state_of(ctx.service), event, cause=ctx.event_id)


async def supplement_provided(event: SupplementProvided, ctx: HandlerContext) -> None:
    with _rejecting(event):
        await clocks.supplement_provided(ctx.uow, state_of(ctx.service), event, cause=ctx.event_id)


async def forwarded(event: ApplicationForwarded | ApplicationForwardedV1, ctx: HandlerContext) -> None:
    with _rejecting(event):
        await clocks.forwarded(ctx.uow, state_of(ctx.service), event, cause=ctx.event_id)


async def answered(event: HigherAuthorityAnswered | HigherAuthorityAnsweredV1, ctx: HandlerContext) -> None:
    with _rejecting(event):
        await clocks.authority_answered(ctx.uow, state_of(ctx.service), event, cause=ctx.event_id)


async def decided(event: ApplicationDecided | ApplicationDecidedV1, ctx: HandlerContext) -> None:
    with _rejecting(event):
        await clocks.decided(ctx.uow, state_of(ctx.service), event, cause=ctx.event_id)


async def not_accepted(event: ApplicationNotAccepted | ApplicationNotAcceptedV1, ctx: HandlerContext) -> None:
    with _rejecting(event):
        await clocks.not_accepted(ctx.uow, state_of(ctx.service), event, cause=ctx.event_id)


async def unit_registered(event: UnitRegistered, ctx: HandlerContext) -> None:
    await clocks.unit_registered(ctx.uow, event.unit_code, event.unit_name)


async def staff_violation_recorded(event: StaffViolationRecorded, ctx: HandlerContext) -> None:
    await violations.recorded(ctx.uow, event)


async def staff_violation_withdrawn(event: StaffViolationWithdrawn, ctx: HandlerContext) -> None:
    await violations.withdrawn(ctx.uow, event)


#: The consumer group ``deadline.cases``: every case event, one order per receipt number.
CASES = (accepted, supplement_requested, supplement_provided, forwarded, answered, decided, not_accepted)
#: The consumer group ``deadline.units``.
UNITS = (unit_registered,)
#: The consumer group ``deadline.violations`` (attendance's internal topic: counts only are kept).
VIOLATIONS = (staff_violation_recorded, staff_violation_withdrawn)
