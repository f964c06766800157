"""notify as a real process on the real Kafka broker, sending SMS over SMPP to the external peer:
an application walked through intake's events yields the sealed notices and the SMS, each
exactly once, although notify is killed (SIGKILL) mid-run and an event is delivered twice.

The seal service is played by the test (it answers each SealDocument with DocumentSealed), so
that the test is about notify's saga and delivery, not about seal's cryptography."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

import contracts
from contracts.common import ApplicantType, CaseKind, Channel
from contracts.envelope import Envelope, parse
from contracts.intake import (
    ApplicantContactRecorded, ApplicantPublic, ApplicationAccepted, ApplicationReceived, DecisionTextRecorded, Outcome,
)
from contracts.seal import DocumentSealed, SealDocument
from tools import kafka_local
from tests.peers.smpp import SmppPeer, free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
UNIT = "SJJ"


def _topics():
    names = {"intake.applications", "intake.contacts", "intake.units", "seal.commands", "seal.documents",
             "deadline.clocks", "deadline.supervision", "attendance.staff", "attendance.duty",
             "notify.notices", "notify.sms"}
    return [t for t in contracts.all_topics() if t.name in names]


@pytest.fixture
def topics(kafka_bootstrap: str) -> None:
    kafka_local.ensure_topics_sync(kafka_bootstrap, kafka_local.topic_specs(_topics()))


async def _produce(bootstrap: str, envs: list[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for env in envs:
            await producer.send_and_wait(env.topic, env.body(), key=env.key, headers=env.kafka_headers())
    finally:
        await producer.stop()


async def _seal_stand_in(bootstrap: str, receipt_no: str, answered: list[str]) -> None:
    """Answer every SealDocument for our case with DocumentSealed, like the seal service would."""
    consumer = AIOKafkaConsumer("seal.commands", bootstrap_servers=bootstrap, group_id=f"seal-standin-{uuid.uuid4().hex[:8]}",
                                auto_offset_reset="earliest")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    try:
        async for rec in consumer:
            try:
                env = parse(rec.headers, rec.value)
            except Exception:  # noqa: BLE001 - other tests' leftovers
                continue
            cmd = env.data
            if not isinstance(cmd, SealDocument) or cmd.receipt_no != receipt_no:
                continue
            answered.append(cmd.request_id)
            reply = Envelope.wrap(DocumentSealed(
                request_id=cmd.request_id, receipt_no=cmd.receipt_no, unit_code=cmd.unit_code, document_no=f"V-{len(answered)}",
                document_type=cmd.document_type, sha256="0" * 64, size_bytes=len(cmd.pdf_base64 or ""),
                url=f"https://seal.example/documents/{cmd.request_id}.pdf", seal_id="seal-sjj-2", seal_serial="0a",
                signed_at=datetime.now(UTC)))
            await producer.send_and_wait(reply.topic, reply.body(), key=reply.key, headers=reply.kafka_headers())
    finally:
        await consumer.stop()
        await producer.stop()


def _start_notify(env: dict[str, str], log: Path) -> subprocess.Popen:
    out = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "services.notify"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


async def _until(check, timeout: float = 90.0, what: str = "condition") -> None:
    end = asyncio.get_running_loop().time() + timeout
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > end:
            raise AssertionError(f"{what} not met in {timeout}s")
        await asyncio.sleep(0.25)


async def test_application_walkthrough_sends_each_notice_and_sms_once_across_a_kill(
    tmp_path: Path, kafka_bootstrap: str, topics: None,
) -> None:
    rn = f"2025-SJJ-{uuid.uuid4().int % 100000:05d}"
    # A number of its own: events of earlier runs stay on the topics and a new consumer group
    # reads them too (their cases never get a seal here, but their surveys would go out).
    mobile = f"138{uuid.uuid4().int % 10**8:08d}"
    peer = SmppPeer(tmp_path / "smsc.jsonl").start()
    port = free_port()
    instance = f"notify{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "ONEWINDOW_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'notify.db'}",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "ONEWINDOW_HTTP_PORT": str(port), "ONEWINDOW_AUTH_SECRET": "k" * 32,
        "ONEWINDOW_LOG_JSON": "false", "ONEWINDOW_NOTIFY_INSTANCE": instance,
        "ONEWINDOW_NOTIFY_QUIET_HOURS": "off", "ONEWINDOW_NOTIFY_SMS_PROVIDER": "smpp",
        "ONEWINDOW_NOTIFY_SMPP_PORT": str(peer.port), "ONEWINDOW_NOTIFY_SMPP_SYSTEM_ID": "notify",
        "ONEWINDOW_NOTIFY_SMPP_PASSWORD": "secret", "ONEWINDOW_NOTIFY_SMPP_SOURCE_ADDR": "1069012345",
        "ONEWINDOW_NOTIFY_WORKER_POLL_SECONDS": "0.2", "ONEWINDOW_NOTIFY_CENTER_NAME": "示范县行政审批服务中心",
        "ONEWINDOW_NOTIFY_RATING_URL_TEMPLATE": "https://zw.example.gov.cn/r/{receipt_no}",
    }
    answered: list[str] = []
    stand_in = asyncio.create_task(_seal_stand_in(kafka_bootstrap, rn, answered))
    log = tmp_path / "notify.log"
    proc = _start_notify(env, log)

    def submits(text_part: str) -> list[str]:
        """Whole messages (parts reassembled by their UDH reference) to our number."""
        whole: dict[object, list[tuple[int, str]]] = {}
        for r in peer.records("submit"):
            if r["dest"] != mobile or r.get("outcome") != "accepted":
                continue
            ie = bytes.fromhex(r["udh"][0]) if r["udh"] else None
            key = (r["session"], r["seq"]) if ie is None else ("ref", ie[2])
            whole.setdefault(key, []).append((ie[4] if ie else 1, r["text"]))
        texts = ["".join(t for _, t in sorted(parts)) for parts in whole.values()]
        return [t for t in texts if text_part in t]

    async def ready() -> bool:
        with suppress(httpx.HTTPError):
            async with httpx.AsyncClient() as c:
                return (await c.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
        return False

    try:
        await _until(ready, what=f"notify ready (log: {log})")
        now = datetime.now(UTC)
        applicant = ApplicantPublic(type=ApplicantType.PERSON, masked_name="张*", masked_resident_id="110***********123X",
                                    masked_mobile=f"138****{mobile[-4:]}")
        accepted = Envelope.wrap(ApplicationAccepted(
            receipt_no=rn, unit_code=UNIT, item_code="SJJ-001", item_version=1, staff_id="S-CLERK", accepted_at=now,
            received_at=now, item_name="食品经营许可（新办）", unit_name="示范县市场监督管理局", case_kind=CaseKind.PROMISED,
            promised_days=10, statutory_days=20, weekend=False, applicant_type=ApplicantType.PERSON, applicant=applicant,
            after_supplement=False))
        await _produce(kafka_bootstrap, [
            Envelope.wrap(ApplicationReceived(receipt_no=rn, unit_code=UNIT, item_code="SJJ-001", item_version=1,
                                              received_at=now, weekend=False, channel=Channel.WINDOW, applicant=applicant,
                                              materials_submitted=["M01"])),
            Envelope.wrap(ApplicantContactRecorded(receipt_no=rn, unit_code=UNIT, applicant_type=ApplicantType.PERSON,
                                                   name="张三", mobile=mobile, recorded_at=now)),
            accepted,
        ])
        await _until(lambda: _async(bool(submits("已受理"))), what="acceptance SMS at the SMSC")

        # Kill notify outright, then keep the case going while it is down.
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        decided = Envelope.wrap(DecisionTextRecorded(
            receipt_no=rn, unit_code=UNIT, item_code="SJJ-001", item_version=1, outcome=Outcome.APPROVED,
            decision_text="准予食品经营许可。", decided_at=datetime.now(UTC), case_kind=CaseKind.PROMISED, on_the_spot=False,
            item_name="食品经营许可（新办）", unit_name="示范县市场监督管理局", applicant_type=ApplicantType.PERSON))
        # The acceptance delivered a second time (same ce_id), as after a producer retry.
        await _produce(kafka_bootstrap, [accepted, decided])

        proc = _start_notify(env, log)
        await _until(ready, what="notify ready after the restart")
        await _until(lambda: _async(bool(submits("已准予行政许可")) and bool(submits("诚邀您评价"))),
                     what="approval and survey SMS at the SMSC")
        await asyncio.sleep(2.0)  # room for any duplicate to show up
    finally:
        proc.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
        if proc.poll() is None:
            proc.kill()
        stand_in.cancel()
        with suppress(asyncio.CancelledError):
            await stand_in
        peer.stop()

    raw = [(tuple(r["udh"]), r["text"]) for r in peer.records("submit") if r["dest"] == mobile]
    assert len(raw) == len(set(raw)), "a part reached the SMSC twice"
    assert len(submits("已受理")) == 1
    assert len(submits("已准予行政许可")) == 1
    [survey] = submits("诚邀您评价")
    assert f"https://zw.example.gov.cn/r/{rn}" in survey
    assert len(answered) == 2  # one seal request per notice: acceptance and approval
    db = sqlite3.connect(tmp_path / "notify.db")
    notices = db.execute("select document_type, state from notify_notices where receipt_no = ? order by created_at", (rn,)).fetchall()
    assert notices == [("acceptance", "released"), ("approval", "released")]
    msgs = db.execute("select template, state from notify_messages where receipt_no = ?", (rn,)).fetchall()
    assert sorted(t for t, _ in msgs) == ["notice_acceptance", "notice_approval", "survey"]
    assert all(state in ("sent", "delivered", "unknown") for _, state in msgs)


async def _async(value: bool) -> bool:
    return value
