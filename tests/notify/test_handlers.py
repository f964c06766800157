"""notify's Kafka handlers one by one (services/notify/handlers.py): module-level typed functions,
each called here directly with a HandlerContext, as the runtime does, and the consumer groups
they are subscribed in (names as deployed: offsets and ACLs depend on them)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select

from contracts.attendance import DutyGapDetected, StaffRegistered, StaffRole
from contracts.base import Event
from contracts.common import CaseKind
from contracts.deadline import DeadlineWarned
from contracts.envelope import Envelope
from contracts.intake import UnitRegistered
from contracts.seal import SealDocument
from services.notify import handlers
from services.notify.store import CaseRow, DutyGapRow, MessageRow, NoticeRow, StaffRow, UnitRow
from services.runtime.consumer import Batch, HandlerContext, event_types_of, takes_batch

from .conftest import CLERK_MOBILE, DUTY_MOBILE, RN, UNIT, Harness, accepted, contact, received, seed_directory

#: The consumer groups notify had before its handlers became module-level functions, and the
#: event types each took.
GROUPS_AS_DEPLOYED = {
    "contacts": {"ApplicantContactRecorded"},
    "units": {"UnitRegistered"},
    "applications": {"ApplicationReceived", "ApplicationAccepted", "SupplementTextRecorded", "SupplementRequested", "NotAcceptedTextRecorded", "ApplicationNotAccepted",
                     "ForwardingTextRecorded", "ApplicationForwarded", "DecisionTextRecorded", "ApplicationDecided"},
    "sealing": {"DocumentSealed", "SealingRefused"},
    "deadlines": {"ExtensionGranted", "DeadlineWarned", "DeadlineMissed"},
    "supervision": {"SupervisionNoticeIssued"},
    "staff": {"StaffRegistered", "StaffUpdated"},
    "duty": {"DutyGapDetected"},
    # issue 22: the year-end assessment notice, sealed by the center (a new group; "sealing" takes
    # seal's v2 answers beside the v1 ones, with the same class names)
    "assessments": {"StaffAssessmentDecided"},
}


def test_the_consumer_groups_keep_their_names_and_event_types():
    got = {group: {t.__name__ for fn in fns for t in event_types_of(fn)} for group, fns in handlers.GROUPS.items()}
    assert got == GROUPS_AS_DEPLOYED


def test_the_service_subscribes_one_group_per_name(harness: Harness):
    specs = {spec.group: spec for spec in harness.service.handlers}
    assert set(specs) == {f"notify.{g}" for g in GROUPS_AS_DEPLOYED}
    for group, fns in handlers.GROUPS.items():
        spec = specs[f"notify.{group}"]
        for fn in fns:
            for t in event_types_of(fn):
                assert spec.handler_for(t.ce_type()) is fn


async def handle(h: Harness, fn, event: Event) -> Envelope:
    """``event`` through ``fn`` in a transaction, as the runtime calls it (a batch handler gets a
    batch of this one event)."""
    env = Envelope.wrap(event, id=uuid.uuid4().hex)
    async with h.service.uow() as uow:
        ctx = HandlerContext(env, uow, h.service)
        await (fn(Batch([(env.data, ctx)], uow, h.service)) if takes_batch(fn) else fn(env.data, ctx))
        await uow.commit()
    return env


async def rows(h: Harness, model) -> list:
    async with h.service.uow() as uow:
        return list((await uow.session.execute(select(model))).scalars())


async def test_unit_registered_keeps_the_units_name(harness: Harness):
    await handle(harness, handlers.unit_registered, UnitRegistered(
        unit_code="XFJ", unit_name="示范县消防救援大队", window_numbers=["13"], entered=True,
        registered_at=datetime(2025, 3, 5, tzinfo=UTC)))
    assert [(u.unit_code, u.unit_name) for u in await rows(harness, UnitRow)] == [("XFJ", "示范县消防救援大队")]


async def test_application_received_then_accepted_requests_the_acceptance_notice(harness: Harness):
    h = harness
    await seed_directory(h)
    await handle(h, handlers.applications, received())
    assert [c.receipt_no for c in await rows(h, CaseRow)] == [RN]
    await handle(h, handlers.contacts_recorded, contact())
    await handle(h, handlers.applications, accepted())
    # numbered in the handler's transaction, laid out after it by the render pass (the release
    # worker's, or this one: test_render_pass.py has the steps one by one)
    await h.render()
    [notice] = await rows(h, NoticeRow)
    assert notice.document_type == "acceptance" and notice.document_no
    assert notice.state == "requested"
    [cmd] = await h.events(SealDocument)
    assert cmd.receipt_no == RN and cmd.printed_no == notice.document_no


async def test_an_immediate_case_gets_no_acceptance_notice(harness: Harness):
    h = harness
    await handle(h, handlers.applications, received())
    await handle(h, handlers.applications, accepted(kind=CaseKind.IMMEDIATE))
    assert await rows(h, NoticeRow) == []
    [case] = await rows(h, CaseRow)
    assert case.case_kind == CaseKind.IMMEDIATE.value


async def test_deadline_warned_alerts_the_clerk(harness: Harness):
    h = harness
    await seed_directory(h)
    await handle(h, handlers.applications, received())
    await handle(h, handlers.applications, accepted())
    await handle(h, handlers.deadline_warned, DeadlineWarned(
        receipt_no=RN, unit_code=UNIT, item_code="SJJ-001", threshold_days=2, days_left=2, due_date=date(2025, 3, 20),
        warned_at=datetime.now(UTC)))
    alerts = [m for m in await rows(h, MessageRow) if m.template == "staff_deadline_warned"]
    assert [m.mobile for m in alerts] == [CLERK_MOBILE]


async def test_staff_and_duty_gap_handlers_hold_the_gap_until_a_duty_manager_is_known(harness: Harness):
    h = harness
    gap = DutyGapDetected(window_no="12", unit_code=UNIT, unit_name="示范县市场监督管理局", day=date(2025, 3, 8),
                          opening_time=time(9, 0), closing_time=time(17, 0), time_zone="Asia/Shanghai",
                          grace_minutes=15, detected_at=datetime.now(UTC))
    await handle(h, handlers.duty_gap_detected, gap)
    [row] = await rows(h, DutyGapRow)
    assert row.state == "awaiting_manager"
    await handle(h, handlers.staff_written, StaffRegistered(
        staff_id="S-DUTY", name="赵六", unit_code="ZX", unit_name="中心", window_no="12", role=StaffRole.DUTY_MANAGER,
        mobile=DUTY_MOBILE))
    [row] = await rows(h, DutyGapRow)
    assert row.state == "alerted"
    assert [s.staff_id for s in await rows(h, StaffRow)] == ["S-DUTY"]
    assert [m.mobile for m in await rows(h, MessageRow)] == [DUTY_MOBILE]


async def test_a_handler_without_the_service_in_its_context_says_so(harness: Harness):
    env = Envelope.wrap(contact())
    async with harness.service.uow() as uow:
        with pytest.raises(RuntimeError, match="HandlerContext"):
            await handlers.contacts_recorded(env.data, HandlerContext(env, uow))  # as a per-event handler
