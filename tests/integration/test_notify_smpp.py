"""notify's SMPP provider against a real SMPP server this project did not write (the npm ``smpp``
package in server mode, tests/peers/smpp_server.js) on loopback. No Kafka needed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain import sms_text
from services.notify.domain import (
    MessageState, Outcome, Receipt, RetryPolicy, after_attempt, concat_reference, tally_receipts,
)
from services.notify.providers.base import OutgoingSms
from services.notify.providers.smpp import SmppConfig, SmppProvider
from tests.peers.smpp import SmppPeer, free_port

SIGNATURE = "【示范县行政审批服务中心】"
LONG_TEXT = SIGNATURE + (
    "张三您好，您申请的食品经营许可（新办）需补正材料4项：1.营业执照复印件未加盖公章；2.缺少食品安全管理制度；"
    "3.经营场所平面图未标明设备布局；4.法定代表人身份证复印件已过有效期。请于5个工作日内一次性补齐。"
    "补正材料通知书：https://zw.example.gov.cn/s/Ab3dEf7h"
)


@pytest.fixture
def peer(tmp_path):
    p = SmppPeer(tmp_path / "smsc.jsonl").start()
    yield p
    p.stop()


def _config(port: int, **overrides) -> SmppConfig:
    base = dict(host="127.0.0.1", port=port, system_id="notify", password="secret", source_addr="1069012345",
                response_timeout=2.0, queue_timeout=5.0, reconnect_initial=0.05, reconnect_max=0.2)
    base.update(overrides)
    return SmppConfig(**base)


class Receipts:
    def __init__(self) -> None:
        self.items: list[Receipt] = []

    async def __call__(self, receipt: Receipt) -> None:
        self.items.append(receipt)

    async def wait(self, count: int, timeout: float = 10.0) -> list[Receipt]:
        for _ in range(int(timeout / 0.02)):
            if len(self.items) >= count:
                return self.items
            await asyncio.sleep(0.02)
        raise AssertionError(f"expected {count} receipts, got {self.items}")


async def _provider(port: int, receipts: Receipts | None = None, **overrides) -> SmppProvider:
    provider = SmppProvider(_config(port, **overrides))
    if receipts is not None:
        provider.on_receipt(receipts)
    await provider.start()
    return provider


def _concat_ie(record: dict) -> tuple[int, int, int]:
    ie = bytes.fromhex(record["udh"][0])
    assert ie[0] == 0x00 and ie[1] == 3, "concatenation IE with an 8-bit reference"
    return ie[2], ie[3], ie[4]


async def test_binds_as_transceiver(peer):
    provider = await _provider(peer.port)
    try:
        assert await provider.wait_bound(5)
        assert provider.health().ok
    finally:
        await provider.stop()
    binds = peer.records("bind")
    assert [(b["kind"], b["system_id"], b["ok"]) for b in binds] == [("transceiver", "notify", True)]
    peer.wait_for(lambda recs: any(r["t"] == "unbind" for r in recs))  # left politely


async def test_wrong_password_is_not_bound_and_sends_are_temporary(peer):
    provider = await _provider(peer.port, password="wrong", queue_timeout=0.5)
    try:
        assert not await provider.wait_bound(0.5)
        result = await provider.send(OutgoingSms("m-pw", "13800138000", SIGNATURE + "测试"))
        health = provider.health()
    finally:
        await provider.stop()
    assert result.outcome is Outcome.TEMPORARY  # it never left: a retry is safe
    assert not health.ok and "Bind Failed" in health.detail
    assert not peer.records("submit")
    assert peer.records("bind")[0]["ok"] is False


async def test_long_chinese_message_arrives_as_correct_parts(peer):
    provider = await _provider(peer.port)
    try:
        result = await provider.send(OutgoingSms("msg-long", "13800138000", LONG_TEXT))
    finally:
        await provider.stop()
    expected_parts = sms_text.measure(LONG_TEXT).parts
    assert expected_parts == 3
    assert result.outcome is Outcome.ACCEPTED and result.parts == 3 and sorted(result.accepted_parts) == [1, 2, 3]
    submits = peer.records("submit")
    assert len(submits) == 3
    ref = concat_reference("msg-long")
    assert [_concat_ie(r) for r in submits] == [(ref, 3, 1), (ref, 3, 2), (ref, 3, 3)]
    for r in submits:
        assert (r["data_coding"], r["esm_class"], r["registered_delivery"]) == (8, 0x40, 1)
        assert (r["dest"], r["src"]) == ("13800138000", "1069012345")
        assert len(r["text"]) <= 67
    assert "".join(r["text"] for r in submits) == LONG_TEXT
    assert {r["message_id"] for r in submits} == set(result.accepted_parts.values())


async def test_delivery_receipts_settle_the_message(peer):
    receipts = Receipts()
    provider = await _provider(peer.port, receipts)
    try:
        ok = await provider.send(OutgoingSms("msg-ok", "13800138000", LONG_TEXT))
        await receipts.wait(3)
        peer.control(receipt_stat="UNDELIV")
        bad = await provider.send(OutgoingSms("msg-bad", "13900139000", SIGNATURE + "您的申请已受理"))
        await receipts.wait(4)
    finally:
        await provider.stop()
    by_id = {r.provider_message_id: r for r in receipts.items}
    mine = [by_id[i] for i in ok.accepted_parts.values()]
    assert all(r.status == "DELIVRD" and r.done_at is not None for r in mine)
    assert tally_receipts(ok.parts, mine).state is MessageState.DELIVERED
    [bad_id] = bad.accepted_parts.values()
    tally = tally_receipts(1, [by_id[bad_id]])
    assert tally.state is MessageState.FAILED and tally.status == "UNDELIV"
    # The provider acknowledged every receipt (deliver_sm_resp with status 0).
    resps = peer.records("receipt_resp")
    assert len(resps) == 4 and all(r["status"] == 0 for r in resps)


async def test_throttling_leads_to_a_delayed_retry_of_the_missing_parts_only(peer):
    policy = RetryPolicy(base=timedelta(seconds=0.3), jitter=0)
    provider = await _provider(peer.port)
    try:
        peer.control(throttle=1, after=1)  # part 1 goes, part 2 is throttled
        sms = OutgoingSms("msg-throttled", "13800138000", LONG_TEXT)
        first = await provider.send(sms)
        now = datetime.now(UTC)
        decision = after_attempt(first, 1, now, policy)
        assert first.outcome is Outcome.TEMPORARY and first.code == "0x00000058"
        assert decision.state is MessageState.QUEUED and decision.not_before == now + timedelta(seconds=0.3)
        assert sorted(first.accepted_parts) == [1]
        await asyncio.sleep((decision.not_before - datetime.now(UTC)).total_seconds())
        second = await provider.send(OutgoingSms(sms.message_id, sms.mobile, sms.text, already_accepted=first.accepted_parts))
    finally:
        await provider.stop()
    assert second.outcome is Outcome.ACCEPTED and sorted(second.accepted_parts) == [1, 2, 3]
    submits = peer.records("submit")
    outcomes = [(_concat_ie(r)[2], r["outcome"]) for r in submits]
    assert outcomes == [(1, "accepted"), (2, "rejected"), (2, "accepted"), (3, "accepted")]
    assert submits[1]["status"] == 0x58
    assert submits[2]["ts"] - submits[1]["ts"] >= 300  # the retry waited for the backoff
    accepted = [r for r in submits if r["outcome"] == "accepted"]
    assert "".join(r["text"] for r in accepted) == LONG_TEXT  # the handset still gets it whole


async def test_queue_full_is_temporary_and_invalid_destination_is_permanent(peer):
    provider = await _provider(peer.port)
    try:
        peer.control(queue_full=1)
        full = await provider.send(OutgoingSms("m-q", "13800138000", SIGNATURE + "测试"))
        peer.control(reject=1, status=0x0B)
        invalid = await provider.send(OutgoingSms("m-i", "13800138000", SIGNATURE + "测试"))
    finally:
        await provider.stop()
    assert (full.outcome, full.code) == (Outcome.TEMPORARY, "0x00000014")
    assert (invalid.outcome, invalid.code) == (Outcome.PERMANENT, "0x0000000B")


async def test_dropped_connection_is_recovered_without_a_duplicate(peer):
    receipts = Receipts()
    peer.control(drop_after=1, receipts=True)
    provider = await _provider(peer.port, receipts)
    try:
        a = await provider.send(OutgoingSms("msg-a", "13800138000", SIGNATURE + "第一条"))
        assert a.outcome is Outcome.ACCEPTED
        peer.wait_for(lambda recs: any(r["t"] == "drop" for r in recs))
        for _ in range(250):  # reconnect and bind again
            if provider.binds >= 2 and provider.bound.is_set():
                break
            await asyncio.sleep(0.02)
        assert provider.binds == 2
        b = await provider.send(OutgoingSms("msg-b", "13800138000", SIGNATURE + "第二条"))
        await receipts.wait(2)
    finally:
        await provider.stop()
    assert b.outcome is Outcome.ACCEPTED
    submits = peer.records("submit")
    assert [r["text"] for r in submits] == [SIGNATURE + "第一条", SIGNATURE + "第二条"]  # each exactly once
    assert [r["session"] for r in submits] == [1, 2]
    # A's receipt could not go on the dropped session; it came on the new one and still matches.
    assert {r.provider_message_id for r in receipts.items} == {a.accepted_parts[1], b.accepted_parts[1]}


async def test_connection_lost_before_the_response_is_unknown_and_never_resent(peer):
    provider = await _provider(peer.port)
    try:
        assert await provider.wait_bound(5)
        peer.control(drop_on_submit=True)
        lost = await provider.send(OutgoingSms("msg-lost", "13800138000", SIGNATURE + "可能已送达"))
        after = await provider.send(OutgoingSms("msg-next", "13800138000", SIGNATURE + "重连后"))
    finally:
        await provider.stop()
    assert lost.outcome is Outcome.UNKNOWN and lost.code == "connection_lost"
    assert after_attempt(lost, 1, datetime.now(UTC), RetryPolicy()).state is MessageState.UNKNOWN
    assert after.outcome is Outcome.ACCEPTED
    texts = [r["text"] for r in peer.records("submit")]
    assert texts.count(SIGNATURE + "可能已送达") == 1  # the SMSC saw it once, it was not resent
    assert texts.count(SIGNATURE + "重连后") == 1


async def test_parts_queued_while_the_smsc_is_down_go_out_once_it_is_up(tmp_path):
    port = free_port()
    provider = await _provider(port, queue_timeout=20.0)
    peer = SmppPeer(tmp_path / "late.jsonl", port=port)
    try:
        sending = asyncio.create_task(provider.send(OutgoingSms("msg-wait", "13800138000", LONG_TEXT)))
        await asyncio.sleep(0.3)
        assert not sending.done() and not provider.bound.is_set()
        peer.start()
        result = await asyncio.wait_for(sending, 20)
    finally:
        await provider.stop()
        peer.stop()
    assert result.outcome is Outcome.ACCEPTED
    submits = peer.records("submit")
    assert [_concat_ie(r)[2] for r in submits] == [1, 2, 3]
    assert "".join(r["text"] for r in submits) == LONG_TEXT


async def test_enquire_link_keeps_an_idle_session_alive(peer):
    provider = await _provider(peer.port, enquire_link_interval=0.2)
    try:
        assert await provider.wait_bound(5)
        peer.wait_for(lambda recs: sum(r["t"] == "enquire_link" for r in recs) >= 2)
        assert provider.bound.is_set() and provider.binds == 1
    finally:
        await provider.stop()
