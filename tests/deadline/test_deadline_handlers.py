"""The deadline service's Kafka handlers, one by one: module-level typed functions in the consumer
groups of old (``deadline.cases``, ``deadline.units``), each a thin adapter over its use case; a
refusal of the clock's rules becomes a dead letter (``Reject``) with the reason."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.envelope import Envelope
from contracts.intake import UnitRegistered
from services.deadline import handlers, store
from services.runtime.app import Service
from services.runtime.consumer import Batch, HandlerContext, Reject, event_types_of, takes_batch

from .helpers import local
from .intake_events import (
    UNIT,
    accepted,
    answered,
    decided,
    forwarded,
    not_accepted,
    supplement_provided,
    supplement_requested,
)

R1 = "2025-SCJG-00001"


async def handle(svc: Service, fn, event) -> None:  # type: ignore[no-untyped-def]
    """Run one handler in its own transaction, as the consumer does."""
    async with svc.uow() as uow:
        ctx = HandlerContext(Envelope.wrap(event), uow, svc)
        # A batch handler (``accepted``) gets a batch of this one event, as the runtime hands it.
        await (fn(Batch([(event, ctx)], uow, svc)) if takes_batch(fn) else fn(event, ctx))
        await uow.commit()


async def row(svc: Service, receipt_no: str = R1) -> store.ClockRow | None:
    async with svc.uow() as uow:
        return await store.get_clock(uow.session, receipt_no)


def test_the_consumer_groups_are_those_of_old(svc: Service) -> None:
    """The same groups reading the same events; intake's v2 events (no clerk's text, issue 20)
    join their v1 in the cases group, so messages from before the switch are still counted."""
    groups = {spec.group: sorted(t.ce_type().removeprefix("onewindow.intake.") for t in spec.types.values())
              for spec in svc.handlers}
    assert groups == {
        "deadline.cases": sorted([
            "ApplicationAccepted.v1", "SupplementRequested.v1", "SupplementRequested.v2", "SupplementProvided.v1",
            "ApplicationForwarded.v1", "ApplicationForwarded.v2", "HigherAuthorityAnswered.v1",
            "HigherAuthorityAnswered.v2", "ApplicationDecided.v1", "ApplicationDecided.v2",
            "ApplicationNotAccepted.v1", "ApplicationNotAccepted.v2",
        ]),
        "deadline.units": ["UnitRegistered.v1"],
        "deadline.violations": ["onewindow.attendance.StaffViolationRecorded.v1",
                                "onewindow.attendance.StaffViolationWithdrawn.v1"],
    }
    # One function per event type, typed by its first parameter.
    assert all(len({t.__name__ for t in event_types_of(fn)}) == 1 for fn in handlers.CASES + handlers.UNITS)


async def test_a_case_life_handler_by_handler(svc: Service) -> None:
    await handle(svc, handlers.accepted, accepted(R1, local(2025, 9, 26, 10)))
    r = await row(svc)
    assert r is not None and r.due_date == date(2025, 10, 16) and r.state == "running"
    await handle(svc, handlers.accepted, accepted(R1, local(2025, 9, 26, 10)))  # a repeat: nothing
    await handle(svc, handlers.supplement_requested, supplement_requested(R1, local(2025, 9, 29, 15)))
    assert (await row(svc)).state == "stopped"  # type: ignore[union-attr]
    await handle(svc, handlers.supplement_provided, supplement_provided(R1, local(2025, 10, 10, 9)))
    assert (await row(svc)).due_date == date(2025, 10, 21)  # type: ignore[union-attr]
    await handle(svc, handlers.forwarded, forwarded(R1, local(2025, 10, 13, 9)))
    assert (await row(svc)).state == "stopped"  # type: ignore[union-attr]
    await handle(svc, handlers.answered, answered(R1, local(2025, 10, 15, 9)))
    assert (await row(svc)).state == "running"  # type: ignore[union-attr]
    await handle(svc, handlers.decided, decided(R1, local(2025, 10, 20, 16)))
    r = await row(svc)
    assert r is not None and r.state == "ended" and r.on_time is True
    await handle(svc, handlers.not_accepted, not_accepted(R1, local(2025, 10, 21, 16)))  # a second end: nothing
    assert (await row(svc)).outcome == "approved"  # type: ignore[union-attr]


async def test_events_without_a_clock(svc: Service) -> None:
    # Normal: not accepted, no clock ever ran.
    await handle(svc, handlers.not_accepted, not_accepted(R1, local(2025, 11, 3)))
    with pytest.raises(Reject, match="no clock for case"):
        await handle(svc, handlers.decided, decided(R1, local(2025, 11, 3)))
    with pytest.raises(Reject, match="no clock for case"):
        await handle(svc, handlers.answered, answered(R1, local(2025, 11, 3)))
    assert await row(svc) is None


async def test_a_broken_rule_is_rejected_with_its_reason(svc: Service) -> None:
    await handle(svc, handlers.accepted, accepted(R1, local(2025, 11, 3, 10)))
    with pytest.raises(Reject) as err:
        await handle(svc, handlers.decided, decided(R1, local(2025, 10, 31, 10)))
    assert str(err.value) == f"ApplicationDecided for {R1}: 办结时间不能早于受理时间"


async def test_unit_registered_names_the_unit(svc: Service) -> None:
    await handle(svc, handlers.unit_registered, UnitRegistered(
        unit_code=UNIT, unit_name="县市场监管局", window_numbers=["12"], entered=True, registered_at=local(2025, 1, 2)))
    async with svc.uow() as uow:
        assert (await store.unit_names(uow.session))[UNIT] == "县市场监管局"
