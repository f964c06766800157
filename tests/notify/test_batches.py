"""notify's batch paths (issue 19, goal 3): the busiest events handled a consumer batch at a time
(the contacts, an application's received and accepted, the seal's answers), and the delivery
worker claiming and storing a batch of messages at a time — each notice numbered, released and
told to its applicant once, each SMS sent once, whatever the batches hold. The records go through
the runtime's consumer (its inbox, its one-by-one retry after a failed batch) as Kafka would
hand them over, several per batch."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from contracts.base import Event
from contracts.common import DocumentType
from contracts.envelope import Envelope
from contracts.notify import NoticeReleased, SmsSent
from contracts.seal import DocumentSealed, SealDocument
from services.notify import domain, store
from services.notify.config import NotifySettings
from services.notify.providers import RateLimiter
from services.notify.providers.base import OutgoingSms
from services.notify.providers.file import FileProvider
from services.notify.store import MessageRow, NoticeRow, ShortLinkRow
from services.notify.workers import DeliveryWorker
from services.runtime.consumer import Consumer, Record

from .conftest import Harness, ScriptedProvider, accepted, contact, received, seed_directory

#: the tests run the passes by hand
RELEASE_WORKER = False

pytestmark = pytest.mark.timeout(90)

RNS = [f"2025-SJJ-{n:05d}" for n in range(101, 106)]


@pytest.fixture
def notify_settings(tmp_path, database_url: str) -> NotifySettings:
    """On SQLite, and on PostgreSQL too when a server is given (the claims' and INSERTs' dialects)."""
    return NotifySettings(data_dir=tmp_path, database_url=database_url, auth_secret="k" * 32, notify_quiet_hours="off",
                          notify_center_name="示范县行政审批服务中心", notify_public_url="https://zw.example.gov.cn",
                          notify_retry_base_seconds=30, log_json=False)


def _records(events: list[tuple[Event, str]]) -> list[Record]:
    out = []
    for offset, (event, event_id) in enumerate(events):
        env = Envelope.wrap(event, id=event_id)
        out.append(Record(env.topic, 0, offset, env.key, env.body(),
                          [(k, str(v).encode()) for k, v in env.headers().items()]))
    return out


class _Group:
    """One of notify's consumer groups, driven by hand with whole batches of records."""

    def __init__(self, h: Harness, group: str) -> None:
        [spec] = [s for s in h.service.handlers if s.group == f"notify.{group}"]
        self.consumer = Consumer(h.service, spec)
        self.dead: list[tuple[str, str]] = []

        async def dead_letter(rec, reason, error, env=None) -> None:  # noqa: ANN001
            self.dead.append((reason, error))

        self.consumer.dead_letter = dead_letter  # type: ignore[method-assign]

    async def handle(self, events: list[tuple[Event, str]]) -> None:
        await self.consumer.handle_records(_records(events))


async def _rows(h: Harness, model) -> list:
    async with h.service.uow() as uow:
        return list((await uow.session.execute(select(model))).scalars())


def _sealed(cmd: SealDocument) -> DocumentSealed:
    return DocumentSealed(request_id=cmd.request_id, receipt_no=cmd.receipt_no, unit_code=cmd.unit_code,
                          document_no="SEAL-1", document_type=cmd.document_type, sha256="0" * 64, size_bytes=1000,
                          url=f"https://files.example/{cmd.request_id}.pdf", seal_id="seal-1", seal_serial="ab",
                          signed_at=datetime.now(UTC))


async def _five_accepted_in_batches(h: Harness) -> list[tuple[Event, str]]:
    """Five applications, their received and accepted events in one batch; the contacts of the
    first three in another batch before, of the last two in a third after."""
    await seed_directory(h)
    contacts, apps = _Group(h, "contacts"), _Group(h, "applications")
    mobiles = [f"1380013{n:04d}" for n in range(len(RNS))]
    first = [(contact(rn, mobiles[i]), uuid.uuid4().hex) for i, rn in enumerate(RNS[:3])]
    await contacts.handle(first)
    batch = [(e, uuid.uuid4().hex) for rn in RNS for e in (received(rn), accepted(rn))]
    await apps.handle(batch)
    notices = {n.receipt_no: n for n in await _rows(h, NoticeRow)}
    assert sorted(notices) == RNS
    assert [notices[rn].state for rn in RNS] == ["rendering"] * 3 + ["awaiting_contact"] * 2
    await contacts.handle([(contact(rn, mobiles[i + 3]), uuid.uuid4().hex) for i, rn in enumerate(RNS[3:])])
    assert not contacts.dead and not apps.dead
    return batch


async def test_a_batch_of_applications_numbers_each_notice_once(harness: Harness):
    h = harness
    batch = await _five_accepted_in_batches(h)
    notices = await _rows(h, NoticeRow)
    assert {n.state for n in notices} == {"rendering"}
    numbers = sorted(n.document_no for n in notices)
    assert len(set(numbers)) == 5 and all(numbers)
    # the batch redelivered (a rebalance, a restart before the offsets were committed): nothing new
    apps = _Group(h, "applications")
    await apps.handle(batch)
    assert sorted(n.document_no for n in await _rows(h, NoticeRow)) == numbers
    assert await h.render() == 5
    cmds = await h.events(SealDocument)
    assert sorted(c.receipt_no for c in cmds) == RNS and sorted(c.printed_no for c in cmds) == numbers
    cases = {c.receipt_no: c for c in await _rows(h, store.CaseRow)}
    assert all(cases[rn].accepted_at and cases[rn].received_at and cases[rn].item_name for rn in RNS)


async def test_a_batch_of_seal_answers_releases_each_notice_and_tells_each_applicant_once(harness: Harness):
    h = harness
    await _five_accepted_in_batches(h)
    await h.render()
    cmds = await h.events(SealDocument)
    answers = [(_sealed(c), uuid.uuid4().hex) for c in cmds]
    answers.insert(2, (_sealed(cmds[0]), uuid.uuid4().hex))  # seal answered one request twice
    sealing = _Group(h, "sealing")
    await sealing.handle(answers)
    assert not sealing.dead
    notices = await _rows(h, NoticeRow)
    assert {n.state for n in notices} == {"released"} and all(n.short_code for n in notices)
    assert sorted(r.receipt_no for r in await h.events(NoticeReleased)) == RNS
    links = await _rows(h, ShortLinkRow)
    assert sorted(link.notice_id for link in links) == sorted(n.id for n in notices)
    messages = await _rows(h, MessageRow)
    assert sorted(m.receipt_no for m in messages) == RNS and {m.state for m in messages} == {"queued"}
    assert len({m.mobile for m in messages}) == 5
    assert all(f"/s/{n.short_code}" in {m.notice_id: m for m in messages}[n.id].text for n in notices)

    assert await h.deliver() == 5
    assert await h.deliver() == 0
    assert sorted(s.message_id for s in h.provider.sent) == sorted(m.id for m in messages)
    assert sorted(e.message_id for e in await h.events(SmsSent)) == sorted(m.id for m in messages)
    assert {m.state for m in await _rows(h, MessageRow)} == {"sent"}
    parts = await _rows(h, store.MessagePartRow)
    assert sorted(p.message_id for p in parts) == sorted(m.id for m in messages)


async def test_a_twin_message_fails_the_batch_and_the_retry_one_by_one_finds_it(harness: Harness, monkeypatch):
    """A message with the same idempotency key committed by a concurrent transaction after the
    batch looked the keys up: the INSERT fails the batch, the runtime hands each answer again on
    its own, and that finds the twin: nothing dead-lettered, one message per notice."""
    h = harness
    await _five_accepted_in_batches(h)
    await h.render()
    cmds = await h.events(SealDocument)
    # Committed before the batch's INSERT, after its look-up (on SQLite, whose writers are
    # serialised, only a look-up that misses it can stand for that): the look-up is made to miss it.
    await _commit_twin(h, cmds[1])
    real = store.existing_message_keys
    calls = 0

    async def blind_first(session, keys):  # noqa: ANN001
        nonlocal calls
        calls += 1
        found = await real(session, keys)
        if calls == 1:  # the batch's look-up, before the twin's commit
            assert len(found) == 1
            return set()
        return found

    monkeypatch.setattr(store, "existing_message_keys", blind_first)
    sealing = _Group(h, "sealing")
    await sealing.handle([(_sealed(c), uuid.uuid4().hex) for c in cmds])
    assert not sealing.dead and calls == 1 + len(cmds)  # the batch, then each answer alone
    assert {n.state for n in await _rows(h, NoticeRow)} == {"released"}
    messages = await _rows(h, MessageRow)
    assert sorted(m.receipt_no for m in messages) == RNS  # the twin counted once


async def _commit_twin(h: Harness, cmd: SealDocument) -> None:
    """The applicant's SMS of ``cmd``'s notice, as a concurrent transaction would have queued it."""
    async with h.service.uow() as uow:
        notice = (await uow.session.execute(select(NoticeRow).where(NoticeRow.request_id == cmd.request_id))).scalar_one()
        contact_row = await uow.session.get(store.ContactRow, notice.receipt_no)
        template = domain.NOTICE_KINDS[DocumentType(notice.document_type)].sms_template.removesuffix(".txt.j2")
        key = domain.idempotency_key(f"notice-{notice.id}", contact_row.mobile, template)
        await store.insert_messages(uow.session, [dict(
            id=uuid.uuid4().hex, idempotency_key=key, template=template, category="legal_notice",
            recipient_kind="applicant", mobile=contact_row.mobile, staff_id=None, receipt_no=notice.receipt_no,
            notice_id=notice.id, text="twin", body="twin", params={}, parts=1, state="queued",
            not_before=datetime.now(UTC), attempts=0, provider=None, accepted_parts={}, code=None, reason=None,
            permanent=None, receipt_status=None, created_at=datetime.now(UTC), updated_at=datetime.now(UTC),
            sent_at=None, delivered_at=None)])
        await uow.commit()


async def test_two_delivery_workers_never_send_a_message_twice(harness: Harness):
    h = harness
    await _five_accepted_in_batches(h)
    await h.render()
    sealing = _Group(h, "sealing")
    await sealing.handle([(_sealed(c), uuid.uuid4().hex) for c in await h.events(SealDocument)])
    other = ScriptedProvider()
    second = DeliveryWorker(h.service, other, RateLimiter(1000, 1000), h.state.metrics)
    h.state.worker.settings = second.settings = h.settings.model_copy(update={"notify_worker_concurrency": 1})
    for _ in range(10):
        sent = await asyncio.gather(h.state.worker.run_once(), second.run_once())
        if sum(sent) == 0:
            break
    ids = [s.message_id for s in h.provider.sent] + [s.message_id for s in other.sent]
    messages = await _rows(h, MessageRow)
    assert sorted(ids) == sorted(m.id for m in messages)  # each once, by one worker or the other
    assert {m.state for m in messages} == {"sent"} and {m.attempts for m in messages} == {1}


async def test_the_file_provider_writes_a_group_of_messages_once_each(tmp_path):
    path = tmp_path / "sms-outbox.jsonl"
    p = FileProvider(path)
    results = await asyncio.gather(*(p.send(OutgoingSms(f"m-{i}", "13800138000", f"【中心】第{i}条", "survey"))
                                     for i in range(20)))
    assert all(r.delivered for r in results)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [x["message_id"] for x in lines] == [f"m-{i}" for i in range(20)]


async def test_a_sender_cancelled_mid_write_does_not_cut_its_group_short(tmp_path, monkeypatch):
    path = tmp_path / "sms-outbox.jsonl"
    p = FileProvider(path)
    real = p._append
    started = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow(lines):  # noqa: ANN001
        loop.call_soon_threadsafe(started.set)
        time.sleep(0.2)
        real(lines)

    monkeypatch.setattr(p, "_append", slow)
    first = asyncio.create_task(p.send(OutgoingSms("m-1", "13800138000", "【中心】一", "survey")))
    await started.wait()
    others = asyncio.gather(*(p.send(OutgoingSms(f"m-{i}", "13800138000", f"【中心】{i}", "survey")) for i in (2, 3)))
    first.cancel()
    assert all(r.delivered for r in await others)
    ids = [json.loads(line)["message_id"] for line in path.read_text(encoding="utf-8").splitlines()]
    assert ids == ["m-1", "m-2", "m-3"]  # the cancelled sender's line was written all the same, once


async def test_pages_of_messages_and_notices_of_one_batch_neither_overlap_nor_skip(harness: Harness):
    """The messages (and notices) a batch writes share their created_at: the pages of the staff's
    lists are ordered by id as well, so that paging through them gives each exactly once."""
    h = harness
    await _five_accepted_in_batches(h)
    await h.render()
    await _Group(h, "sealing").handle([(_sealed(c), uuid.uuid4().hex) for c in await h.events(SealDocument)])
    for search, model in ((store.search_messages, MessageRow), (store.search_notices, NoticeRow)):
        everything = await _rows(h, model)
        assert len({row.created_at for row in everything}) == 1  # one batch, one instant
        seen: list[str] = []
        async with h.service.uow() as uow:
            for offset in range(0, len(everything), 2):
                total, page = await search(uow.session, limit=2, offset=offset)
                assert total == len(everything)
                seen += [row.id for row in page]
        assert seen == sorted((row.id for row in everything), reverse=True)
