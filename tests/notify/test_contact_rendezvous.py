"""The rendezvous of a notice and the applicant's contact (services/notify/usecases/notices.py): what wakes
the release worker, what it releases, and the document serials it draws. The concurrent
interleaving itself needs PostgreSQL: tests/integration/test_notify_contact_race.py."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from contracts.common import ApplicantType, CaseKind
from contracts.intake import DecisionTextRecorded as ApplicationDecided, Outcome
from contracts.seal import SealDocument
from services.notify import store
from services.notify.usecases.notices import release_waiting
from services.notify.store import ContactRow, MessageRow, NoticeRow

from .conftest import RN, UNIT, Harness, accepted, contact, received


#: the tests release by hand (the conftest's harness runs no release worker)
RELEASE_WORKER = False


def decided(rn: str = RN) -> ApplicationDecided:
    return ApplicationDecided(receipt_no=rn, unit_code=UNIT, item_code="SJJ-001", item_version=1, outcome=Outcome.APPROVED,
                              decision_text="准予许可。", decided_at=datetime.now(UTC), case_kind=CaseKind.IMMEDIATE,
                              on_the_spot=True, item_name="食品经营许可（新办）", unit_name="示范县市场监督管理局",
                              applicant_type=ApplicantType.PERSON)


async def _rows(h: Harness, model, **where):
    async with h.service.uow() as uow:
        q = select(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return list((await uow.session.execute(q)).scalars())


async def _contact_behind_the_back(h: Harness, rn: str = RN) -> None:
    """The contact committed without its handler seeing the waiting notices (the lost wake-up)."""
    c = contact(rn)
    async with h.service.uow() as uow:
        uow.session.add(ContactRow(receipt_no=rn, applicant_type=c.applicant_type.value, name=c.name, mobile=c.mobile,
                                   recorded_at=c.recorded_at))
        await uow.commit()


async def test_release_sends_the_waiting_notice_and_survey_once_the_contact_is_there(harness: Harness):
    h = harness
    await h.publish(received())
    await h.publish(accepted())
    await h.publish(decided())
    assert [n.state for n in await _rows(h, NoticeRow)] == ["awaiting_contact", "awaiting_contact"]
    assert await release_waiting(h.service, h.state.notices) == 0  # no contact yet: nothing to do

    await _contact_behind_the_back(h)
    assert await release_waiting(h.service, h.state.notices) == 2

    assert [n.state for n in await _rows(h, NoticeRow)] == ["requested", "requested"]
    assert len(await h.events(SealDocument)) == 2
    [survey] = await _rows(h, MessageRow)
    assert survey.template == "survey" and f"/ratings/{RN}" in survey.text
    [case] = await _rows(h, store.CaseRow)
    assert case.survey_cause is None
    # Released once: a second look finds nothing, sends nothing twice.
    assert await release_waiting(h.service, h.state.notices) == 0
    assert len(await h.events(SealDocument)) == 2 and len(await _rows(h, MessageRow)) == 1


async def test_release_goes_on_past_its_batch_limit(harness: Harness):
    h = harness
    receipts = [f"2025-{UNIT}-{i:05d}" for i in range(5)]
    for rn in receipts:
        await h.publish(accepted(rn))
        await _contact_behind_the_back(h, rn)
    n, more = await h.state.notices.release_waiting(h.service.uow, limit=2)
    assert (n, more) == (2, True)
    assert await release_waiting(h.service, h.state.notices) == 3
    assert {n.state for n in await _rows(h, NoticeRow)} == {"requested"}


async def test_commits_that_may_leave_a_notice_waiting_wake_the_release_worker(harness: Harness):
    h = harness
    notices = h.state.notices
    await h.publish(received())
    notices.rendezvous.clear()
    await h.publish(accepted())  # stored awaiting_contact
    assert notices.rendezvous.is_set()

    notices.rendezvous.clear()
    async with h.service.uow() as uow:  # rolled back: nothing to look at, no wake
        notices.wake_after_commit(uow.session)
    assert not notices.rendezvous.is_set()

    async with h.service.uow() as uow:
        notices.wake_after_commit(uow.session)
        assert not notices.rendezvous.is_set()  # not before the commit: the worker must see what it wrote
        await uow.commit()
    assert notices.rendezvous.is_set()

    notices.rendezvous.clear()
    await h.publish(contact())
    assert notices.rendezvous.is_set()
    assert [n.state for n in await _rows(h, NoticeRow)] == ["requested"]


async def test_serials_count_up_per_unit_type_and_year(harness: Harness):
    h = harness
    async with h.service.uow() as uow:
        drawn = [await store.next_serial(uow.session, UNIT, "审受", 2025) for _ in range(3)]
        drawn.append(await store.next_serial(uow.session, UNIT, "审受", 2026))
        drawn.append(await store.next_serial(uow.session, "XFJ", "审受", 2025))
        await uow.commit()
    async with h.service.uow() as uow:
        drawn.append(await store.next_serial(uow.session, UNIT, "审受", 2025))
        await uow.commit()
    assert drawn == [1, 2, 3, 1, 1, 4]
