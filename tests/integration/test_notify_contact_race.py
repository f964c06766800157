"""notify on PostgreSQL: a notice whose application event and the applicant's contact are handled
at the same moment, by the two consumers in two concurrent transactions, still goes to the seal.

The lost wake-up this guards against: under READ COMMITTED the application's transaction looks for
the contact (not committed yet) and stores the notice ``awaiting_contact``, while the contact's
transaction looks for waiting notices (not committed yet) and finds none. SQLite serialises
writers, so only PostgreSQL shows it; the test drives both handlers by hand to make the
interleaving happen every time, in both orders, for a notice and for the survey SMS.

A second test runs two replicas' sweeps at once over notices left waiting: each goes to the seal
exactly once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from contracts.common import ApplicantType, CaseKind
from contracts.envelope import parse
from contracts.intake import (
    ApplicantContactRecorded, ApplicantPublic, ApplicationAccepted, DecisionTextRecorded, Outcome,
)
from contracts.seal import SealDocument
from services.notify.store import ContactRow, MessageRow, NoticeRow
from services.runtime.app import Service
from tests.integration.notify_race import (  # noqa: F401 - notify and pg_url are fixtures
    MARKS, done_or_waiting_on_a_lock, handle, handle_and_commit, notify, notify_service, pg_url,
)

pytestmark = MARKS

UNIT = "SJJ"
MOBILE = "13800138000"


def _contact(rn: str) -> ApplicantContactRecorded:
    return ApplicantContactRecorded(receipt_no=rn, unit_code=UNIT, applicant_type=ApplicantType.PERSON, name="张三",
                                    mobile=MOBILE, recorded_at=datetime.now(UTC) - timedelta(minutes=5))


def _application(kind: str, rn: str):
    applicant = ApplicantPublic(type=ApplicantType.PERSON, masked_name="张*", masked_resident_id="110***********123X",
                                masked_mobile="138****8000")
    if kind == "accepted":
        return ApplicationAccepted(
            receipt_no=rn, unit_code=UNIT, item_code="SJJ-001", item_version=1, staff_id="S-CLERK",
            accepted_at=datetime.now(UTC), received_at=datetime.now(UTC) - timedelta(minutes=5),
            item_name="食品经营许可（新办）", unit_name="示范县市场监督管理局", case_kind=CaseKind.PROMISED,
            promised_days=10, statutory_days=20, weekend=False, applicant_type=ApplicantType.PERSON,
            applicant=applicant, joint_units=[], after_supplement=False)
    return DecisionTextRecorded(
        receipt_no=rn, unit_code=UNIT, item_code="SJJ-001", item_version=1, outcome=Outcome.APPROVED,
        decision_text="准予许可。", decided_at=datetime.now(UTC), case_kind=CaseKind.IMMEDIATE, on_the_spot=True,
        item_name="食品经营许可（新办）", unit_name="示范县市场监督管理局", applicant_type=ApplicantType.PERSON)


async def _state(svc: Service, rn: str) -> tuple[list[str], list[str], list[str]]:
    """(notice states, request ids of the SealDocument commands in the outbox, SMS templates)."""
    outbox = svc.db.tables.outbox
    async with svc.uow() as uow:
        states = list((await uow.session.execute(
            select(NoticeRow.state).where(NoticeRow.receipt_no == rn))).scalars())
        rows = (await uow.session.execute(select(outbox.c.headers, outbox.c.payload))).all()
        sms = list((await uow.session.execute(
            select(MessageRow.template).where(MessageRow.receipt_no == rn))).scalars())
    seals = [e.data.request_id for e in (parse(h, p) for h, p in rows)
             if isinstance(e.data, SealDocument) and e.data.receipt_no == rn]
    return states, seals, sms


@pytest.mark.parametrize("kind", ["accepted", "decided"])
@pytest.mark.parametrize("first", ["application", "contact"])
async def test_application_and_contact_handled_at_once_the_notice_still_goes_to_the_seal(
    notify: Service, kind: str, first: str
) -> None:
    svc = notify
    rn = f"2025-{UNIT}-{uuid.uuid4().hex[:5].upper()}"
    event_first, event_second = (_application(kind, rn), _contact(rn))
    handler_first, handler_second = ("applications", "contacts")
    if first == "contact":
        event_first, event_second = event_second, event_first
        handler_first, handler_second = handler_second, handler_first

    # The first handler runs and its transaction stays open; meanwhile the second runs in its own
    # transaction and commits (or waits for the first); then the first commits.
    async with svc.uow() as uow_first:
        await handle(svc, handler_first, event_first, uow_first)
        second = asyncio.create_task(handle_and_commit(svc, handler_second, event_second))
        await done_or_waiting_on_a_lock(svc, second)
        second_finished_first = second.done()
        await uow_first.commit()
    await second

    if second_finished_first:
        # Each transaction ran without seeing the other: exactly the lost wake-up.
        async with svc.uow() as uow:
            assert await uow.session.get(ContactRow, rn) is not None
    expected_sms = ["survey"] if kind == "decided" else []
    for _ in range(300):  # both committed: whatever releases the notice runs now, not in an hour
        states, seals, sms = await _state(svc, rn)
        if states == ["requested"] and sms == expected_sms:
            break
        await asyncio.sleep(0.1)
    assert states == ["requested"], f"the notice stayed {states} although the contact is there"
    assert len(seals) == 1, seals
    assert sms == expected_sms


async def test_two_replicas_sweeping_at_once_send_each_waiting_notice_to_the_seal_once(
    tmp_path: Path, pg_url: str
) -> None:
    from services.notify.usecases.notices import release_waiting

    replicas = [notify_service(tmp_path / f"r{i}", pg_url) for i in range(2)]
    first = replicas[0]
    await first.db.migrate()
    try:
        receipts = [f"2025-{UNIT}-{i:05d}" for i in range(12)]
        for rn in receipts:  # notices left waiting, their contacts written behind their back
            await handle_and_commit(first, "applications", _application("decided", rn))
        async with first.uow() as uow:
            for rn in receipts:
                c = _contact(rn)
                uow.session.add(ContactRow(receipt_no=rn, applicant_type=c.applicant_type.value, name=c.name,
                                           mobile=c.mobile, recorded_at=c.recorded_at))
            await uow.commit()

        released = await asyncio.gather(*(release_waiting(svc, svc.state.notices) for svc in replicas))

        assert sum(released) == len(receipts), released
        seals: Counter[str] = Counter()
        for rn in receipts:
            states, requests, sms = await _state(first, rn)
            assert states == ["requested"], (rn, states)
            assert sms == ["survey"], (rn, sms)
            seals[rn] = len(requests)
        assert set(seals.values()) == {1}, seals
    finally:
        for svc in replicas:
            await svc.db.dispose()


async def test_two_transactions_numbering_notices_of_one_unit_at_once_draw_different_serials(notify: Service) -> None:
    from services.notify import store

    svc = notify

    async def draw_and_commit() -> int:
        async with svc.uow() as uow:
            n = await store.next_serial(uow.session, UNIT, "审受", 2025)
            await uow.commit()
            return n

    drawn = []
    for _ in range(2):  # the year's first number (no row yet), then the next ones (the row there)
        async with svc.uow() as first:
            drawn.append(await store.next_serial(first.session, UNIT, "审受", 2025))
            second = asyncio.create_task(draw_and_commit())
            await done_or_waiting_on_a_lock(svc, second)
            await first.commit()
        drawn.append(await second)
    assert sorted(drawn) == [1, 2, 3, 4], drawn
