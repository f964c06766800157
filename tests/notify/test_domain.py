"""notify's rules: quiet hours, idempotency keys, retry classification, receipts, the notice saga."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

import pytest

from contracts.common import DocumentType
from services.notify import domain as d
from services.runtime.workdays import TZ
from services.notify.domain import (
    Category, MessageState as S, NoticeState as N, Outcome, Receipt, RetryPolicy, SealAnswer, SendResult,
)

BJ = TZ


def bj(h: int, m: int = 0, day: int = 5) -> datetime:
    return datetime(2025, 3, day, h, m, tzinfo=BJ)


# --------------------------------------------------------------------------- quiet hours


@pytest.mark.parametrize(("moment", "expected"), [
    (bj(21, 59), bj(21, 59)),          # before the window: now
    (bj(22, 0), bj(8, 0, day=6)),       # start of the window: next morning
    (bj(23, 30), bj(8, 0, day=6)),
    (bj(0, 10), bj(8, 0)),              # after midnight: the same morning
    (bj(7, 59), bj(8, 0)),
    (bj(8, 0), bj(8, 0)),               # the end is open: 08:00 may send
])
def test_default_quiet_hours_wrap_midnight(moment, expected):
    q = d.QuietHours()
    assert q.next_allowed(moment) == expected


def test_quiet_hours_work_in_beijing_time_whatever_the_input_zone():
    q = d.QuietHours()
    utc_moment = datetime(2025, 3, 5, 15, 0, tzinfo=UTC)  # 23:00 in Beijing
    allowed = q.next_allowed(utc_moment)
    assert allowed == datetime(2025, 3, 6, 0, 0, tzinfo=UTC)  # 08:00 Beijing
    assert allowed.tzinfo is UTC


def test_non_wrapping_and_disabled_quiet_hours():
    lunch = d.parse_quiet_hours("12:00-13:30")
    assert lunch.next_allowed(bj(12, 45)) == bj(13, 30)
    assert lunch.next_allowed(bj(14, 0)) == bj(14, 0)
    off = d.parse_quiet_hours("off")
    assert off.next_allowed(bj(3, 0)) == bj(3, 0)
    with pytest.raises(ValueError):
        d.parse_quiet_hours("late evening")


def test_staff_alerts_go_at_night_applicant_messages_wait_for_the_morning():
    q = d.QuietHours()
    night = bj(23, 15)
    assert d.schedule(Category.STAFF_ALERT, night, q) == d.Scheduling(S.QUEUED, night)
    assert d.schedule(Category.LEGAL_NOTICE, night, q) == d.Scheduling(S.DEFERRED, bj(8, 0, day=6))
    assert d.schedule(Category.SURVEY, night, q).state is S.DEFERRED
    assert d.schedule(Category.LEGAL_NOTICE, bj(10, 0), q) == d.Scheduling(S.QUEUED, bj(10, 0))


def test_only_surveys_honour_an_opt_out():
    assert d.may_suppress(Category.SURVEY, opted_out=True)
    assert not d.may_suppress(Category.SURVEY, opted_out=False)
    assert not d.may_suppress(Category.LEGAL_NOTICE, opted_out=True)
    assert not d.may_suppress(Category.STAFF_ALERT, opted_out=True)


# --------------------------------------------------------------------------- identity


def test_idempotency_key_is_stable_distinct_and_hides_the_number():
    k = d.idempotency_key("evt-1", "13800138000", "notice_acceptance")
    assert k == d.idempotency_key("evt-1", "13800138000", "notice_acceptance")
    assert len(k) == 64 and "13800138000" not in k
    others = {
        d.idempotency_key("evt-2", "13800138000", "notice_acceptance"),
        d.idempotency_key("evt-1", "13900139000", "notice_acceptance"),
        d.idempotency_key("evt-1", "13800138000", "survey"),
        # no ambiguity from concatenation
        d.idempotency_key("evt-11", "3800138000", "notice_acceptance"),
    }
    assert k not in others and len(others) == 4


def test_concat_reference_is_stable_per_message_and_in_range():
    assert d.concat_reference("m-1") == d.concat_reference("m-1")
    assert 0 <= d.concat_reference("m-1") < 256
    assert 0 <= d.concat_reference("m-1", 16) < 65536
    assert len({d.concat_reference(f"m-{i}") for i in range(100)}) > 50


def test_mobile_normalization():
    assert d.normalize_mobile("+86 138-0013-8000") == "13800138000"
    assert d.normalize_mobile("008613800138000") == "13800138000"
    for bad in ("12345", "010-12345678", "+1 650 253 0000", "23800138000"):
        with pytest.raises(d.InvalidMobile):
            d.normalize_mobile(bad)


# --------------------------------------------------------------------------- retries


@pytest.mark.parametrize(("status", "outcome"), [
    (0x00, Outcome.ACCEPTED),
    (0x58, Outcome.TEMPORARY),  # ESME_RTHROTTLED
    (0x14, Outcome.TEMPORARY),  # ESME_RMSGQFUL
    (0x08, Outcome.TEMPORARY),  # ESME_RSYSERR
    (0x0B, Outcome.PERMANENT),  # ESME_RINVDSTADR
    (0x01, Outcome.PERMANENT),  # ESME_RINVMSGLEN
    (0x0420, Outcome.PERMANENT),  # vendor-specific: do not loop on it
])
def test_smpp_status_classification(status, outcome):
    assert d.classify_smpp_status(status)[0] is outcome


@pytest.mark.parametrize(("code", "outcome"), [
    ("OK", Outcome.ACCEPTED),
    ("isv.BUSINESS_LIMIT_CONTROL", Outcome.TEMPORARY),
    ("isp.SYSTEM_ERROR", Outcome.TEMPORARY),
    ("Throttling.User", Outcome.TEMPORARY),
    ("isv.MOBILE_NUMBER_ILLEGAL", Outcome.PERMANENT),
    ("isv.SMS_TEMPLATE_ILLEGAL", Outcome.PERMANENT),
    ("SignatureDoesNotMatch", Outcome.PERMANENT),
])
def test_aliyun_code_classification(code, outcome):
    assert d.classify_aliyun_code(code) is outcome


def test_backoff_is_exponential_capped_and_jittered_within_bounds():
    p = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(seconds=100), jitter=0)
    assert [p.delay(n).total_seconds() for n in (1, 2, 3, 4, 5, 6)] == [10, 20, 40, 80, 100, 100]
    jittery = RetryPolicy(base=timedelta(seconds=10), jitter=0.2)
    rng = random.Random(7)
    delays = {jittery.delay(1, rng).total_seconds() for _ in range(50)}
    assert all(8 <= x <= 12 for x in delays) and len(delays) > 1


def test_after_attempt_decisions():
    now = datetime(2025, 3, 5, 2, 0, tzinfo=UTC)
    p = RetryPolicy(max_attempts=3, base=timedelta(seconds=30), jitter=0)
    temp = SendResult(Outcome.TEMPORARY, "smpp", code="0x00000058", reason="throttled")
    assert d.after_attempt(temp, 1, now, p) == d.AttemptDecision(S.QUEUED, now + timedelta(seconds=30), reason="throttled")
    assert d.after_attempt(temp, 2, now, p).not_before == now + timedelta(seconds=60)
    gave_up = d.after_attempt(temp, 3, now, p)
    assert gave_up.state is S.FAILED and gave_up.failure_permanent is False and "3 attempts" in gave_up.reason
    perm = d.after_attempt(SendResult(Outcome.PERMANENT, "smpp", reason="invalid destination"), 1, now, p)
    assert (perm.state, perm.failure_permanent) == (S.FAILED, True)
    unknown = d.after_attempt(SendResult(Outcome.UNKNOWN, "smpp", reason="connection lost"), 1, now, p)
    assert unknown.state is S.UNKNOWN and unknown.not_before is None  # never scheduled again by itself
    assert d.after_attempt(SendResult(Outcome.ACCEPTED, "smpp"), 1, now, p).state is S.SENT
    assert d.after_attempt(SendResult(Outcome.ACCEPTED, "file", delivered=True), 1, now, p).state is S.DELIVERED


def test_message_state_machine():
    assert d.check_transition(S.SENDING, S.UNKNOWN) is S.UNKNOWN
    assert d.check_transition(S.UNKNOWN, S.DELIVERED) is S.DELIVERED  # reconciled by a receipt
    for bad in ((S.UNKNOWN, S.SENDING), (S.DELIVERED, S.FAILED), (S.SENT, S.SENDING), (S.SUPPRESSED, S.QUEUED)):
        with pytest.raises(d.InvalidTransition):
            d.check_transition(*bad)


# --------------------------------------------------------------------------- receipts


def test_parse_smpp_receipt_text():
    r = d.parse_receipt_text("id:5A01F sub:001 dlvrd:001 submit date:2503051200 done date:2503051201 stat:DELIVRD err:000 text:hello")
    assert (r.provider_message_id, r.status, r.error) == ("5A01F", "DELIVRD", "000")
    assert r.done_at == datetime(2025, 3, 5, 12, 1, tzinfo=BJ)
    assert r.delivered and r.final
    r2 = d.parse_receipt_text("id:77 sub:001 dlvrd:000 submit date:250305120000 done date:250305120130 stat:UNDELIV err:069 text:stat:DELIVRD")
    assert r2.status == "UNDELIV" and not r2.delivered  # the quoted text cannot fake the status
    assert r2.done_at == datetime(2025, 3, 5, 12, 1, 30, tzinfo=BJ)
    assert d.parse_receipt_text("TD") is None


def test_multi_part_message_is_delivered_when_every_part_is():
    ok = [Receipt("smpp", "a", "DELIVRD"), Receipt("smpp", "b", "DELIVRD")]
    assert d.tally_receipts(2, ok[:1]) is None
    assert d.tally_receipts(2, ok).state is S.DELIVERED
    assert d.tally_receipts(2, ok + [Receipt("smpp", "a", "DELIVRD")]).state is S.DELIVERED
    failed = d.tally_receipts(2, [ok[0], Receipt("smpp", "b", "EXPIRED")])
    assert failed.state is S.FAILED and "EXPIRED" in failed.reason
    assert d.tally_receipts(1, [Receipt("smpp", "a", "ENROUTE")]) is None  # intermediate


# --------------------------------------------------------------------------- notices


def test_notice_saga():
    assert d.notice_next(N.REQUESTED, SealAnswer.SEALED) is N.RELEASED
    assert d.notice_next(N.REQUESTED, SealAnswer.REFUSED) is N.FAILED
    assert d.notice_next(N.REQUESTED, SealAnswer.TIMED_OUT) is N.FAILED
    assert d.notice_next(N.FAILED, SealAnswer.SEALED) is N.RELEASED  # a late seal still releases
    assert d.notice_next(N.FAILED, SealAnswer.SEALED, failed_by_refusal=True) is None
    assert d.notice_next(N.FAILED, SealAnswer.RETRY) is N.REQUESTED
    assert d.notice_next(N.RELEASED, SealAnswer.SEALED) is None  # duplicate
    assert d.notice_next(N.RELEASED, SealAnswer.TIMED_OUT) is None


def test_seal_timeout():
    t0 = datetime(2025, 3, 5, 2, 0, tzinfo=UTC)
    limit = timedelta(minutes=10)
    assert not d.timed_out(N.REQUESTED, t0, t0 + timedelta(minutes=9), limit)
    assert d.timed_out(N.REQUESTED, t0, t0 + limit, limit)
    assert not d.timed_out(N.RELEASED, t0, t0 + timedelta(hours=1), limit)


def test_every_document_type_has_a_notice_kind_and_numbers_look_official():
    assert set(d.NOTICE_KINDS) == set(DocumentType)
    kind = d.NOTICE_KINDS[DocumentType.ACCEPTANCE]
    assert d.document_number(kind, "县市监", 2025, 42) == "县市监审受〔2025〕0042号"


def test_short_codes():
    rng = random.Random(1)
    codes = {d.short_code(rng) for _ in range(1000)}
    assert len(codes) == 1000
    assert all(len(c) == 8 and not set(c) & set("0O1lI") for c in codes)


def test_quiet_hours_dataclass_default_is_22_to_8():
    q = d.QuietHours()
    assert (q.start, q.end) == (time(22, 0), time(8, 0))
