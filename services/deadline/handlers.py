"""Kafka subscribers: intake's case events start, stop, resume and end the clocks.

| intake event | clock |
| --- | --- |
| ApplicationAccepted | starts (promised and statutory limits of the item version) |
| SupplementRequested (in review, ``stops_clock``) | stops, reason supplement |
| SupplementProvided (in review, ``complete``) | resumes the supplement stop |
| ApplicationForwarded | stops, reason higher_authority (a reported-up case) |
| HigherAuthorityAnswered | resumes the higher-authority stop |
| ApplicationDecided | ends (on time or late, working days used) |
| ApplicationNotAccepted | ends a clock if one runs (otherwise nothing: no clock before acceptance) |
| UnitRegistered (intake.units) | remembers the unit's name for the bulletin |

Idempotent: the runtime's inbox skips redelivered events; on top, a start for a clock that
exists, a stop id already known, a resume with no open stop and a second decision change
nothing. Events out of the clock's rules (a decision before acceptance) are rejected to the
dead-letter topic with the reason.
"""

from __future__ import annotations

from contracts.deadline import StopReason
from contracts.intake import (
    ApplicationAccepted,
    ApplicationDecided,
    ApplicationForwarded,
    ApplicationNotAccepted,
    HigherAuthorityAnswered,
    SupplementProvided,
    SupplementRequested,
    SupplementStage,
    UnitRegistered,
)
from services.runtime.app import Service
from services.runtime.consumer import HandlerContext, Reject

from . import store
from .domain import Clock, DeadlineError

CASE_EVENTS = (
    ApplicationAccepted,
    SupplementRequested,
    SupplementProvided,
    ApplicationForwarded,
    HigherAuthorityAnswered,
    ApplicationDecided,
    ApplicationNotAccepted,
)


def forward_stop_id(event: ApplicationForwarded) -> str:
    return f"forward-{int(event.forwarded_at.timestamp())}"


def register(service: Service, keeper) -> None:  # type: ignore[no-untyped-def]
    @service.handler(*CASE_EVENTS, name="cases")
    async def on_case(event, ctx: HandlerContext) -> None:  # type: ignore[no-untyped-def]
        session = ctx.session
        cal = await keeper.calendar.current(session)
        row = await store.get_clock(session, event.receipt_no, for_update=True)

        if isinstance(event, ApplicationAccepted):
            await store.remember_unit(session, event.unit_code, event.unit_name)
            if row is not None:
                return  # already started (a repeat under another event id)
            try:
                clock, events = Clock.start(
                    cal,
                    receipt_no=event.receipt_no,
                    unit_code=event.unit_code,
                    item_code=event.item_code,
                    item_version=event.item_version,
                    case_kind=event.case_kind,
                    accepted_at=event.accepted_at,
                    promised_days=event.promised_days,
                    statutory_days=event.statutory_days,
                )
            except DeadlineError as exc:
                raise Reject(f"cannot start the clock of {event.receipt_no}: {exc}") from None
            await keeper.save(ctx.uow, clock, cal, events, cause=ctx.event_id)
            return

        if row is None:
            if isinstance(event, ApplicationNotAccepted):
                return  # the normal case: not accepted, so no clock ever ran
            if isinstance(event, (SupplementRequested, SupplementProvided)) and event.stage is SupplementStage.AT_WINDOW:
                return  # before acceptance: no clock
            raise Reject(f"no clock for case {event.receipt_no}: its ApplicationAccepted was not processed")

        clock = store.clock_from_row(row)
        try:
            if isinstance(event, SupplementRequested):
                if not (event.stops_clock and event.stage is SupplementStage.IN_REVIEW):
                    return
                events = clock.stop(
                    cal, stop_id=f"supplement-{event.request_no}", reason=StopReason.SUPPLEMENT, at=event.requested_at
                )
            elif isinstance(event, SupplementProvided):
                if not (event.complete and event.stage is SupplementStage.IN_REVIEW):
                    return
                events = clock.resume(cal, reason=StopReason.SUPPLEMENT, at=event.provided_at)
            elif isinstance(event, ApplicationForwarded):
                events = clock.stop(
                    cal,
                    stop_id=forward_stop_id(event),
                    reason=StopReason.HIGHER_AUTHORITY,
                    at=event.forwarded_at,
                    note=f"上报{event.authority}"[:500],
                )
            elif isinstance(event, HigherAuthorityAnswered):
                events = clock.resume(cal, reason=StopReason.HIGHER_AUTHORITY, at=event.answered_at)
            elif isinstance(event, ApplicationDecided):
                events = clock.end(cal, decided_at=event.decided_at, outcome=event.outcome.value)
            elif isinstance(event, ApplicationNotAccepted):
                events = clock.end(cal, decided_at=event.decided_at, outcome="not_accepted")
            else:  # pragma: no cover - the subscription lists the types
                return
        except DeadlineError as exc:
            raise Reject(f"{type(event).__name__} for {event.receipt_no}: {exc}") from None
        if events:
            await keeper.save(ctx.uow, clock, cal, events, row, cause=ctx.event_id)

    @service.handler(UnitRegistered, name="units")
    async def on_unit(event: UnitRegistered, ctx: HandlerContext) -> None:
        await store.remember_unit(ctx.session, event.unit_code, event.unit_name)
