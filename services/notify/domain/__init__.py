"""The rules of notify, pure Python (no I/O): what an SMS may do next, when it may go out, how a
provider's answer is classified, the notice saga (rendered -> sealed -> released), duty gaps, and
the refusals (:class:`services.runtime.errors.DomainError` subclasses) the use cases raise.

Length counting and splitting (the carriers' codec) live in ``domain/sms_text.py``; templates
in ``adapters/rendering.py``; the PDF in ``adapters/notice_pdf.py``.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo

import phonenumbers

from contracts.common import DocumentType
from services.runtime.errors import DomainError
from services.runtime.workdays import TZ

# --------------------------------------------------------------------------- refusals


class MalformedPush(DomainError):
    """A provider's callback whose body is not what it documents (400)."""

    status = 400
    title = "请求有误"


# --------------------------------------------------------------------------- recipients


class InvalidMobile(ValueError):
    pass


def normalize_mobile(value: str) -> str:
    """A mainland mobile number as 11 digits (what SMPP's destination_addr and SendSms want).
    Raises :class:`InvalidMobile`."""
    try:
        parsed = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidMobile(f"not a phone number: {exc}") from None
    national = str(parsed.national_number)
    if parsed.country_code != 86 or not re.fullmatch(r"1[3-9]\d{9}", national) \
            or not phonenumbers.is_valid_number(parsed):
        raise InvalidMobile("not a mainland China mobile number")
    return national


# --------------------------------------------------------------------------- messages


class Category(StrEnum):
    """What a message is, which decides quiet hours and opt-outs."""

    LEGAL_NOTICE = "legal_notice"  # a notice or decision under the Administrative Licensing Law
    SURVEY = "survey"              # satisfaction survey invitation (opt-out allowed)
    STAFF_ALERT = "staff_alert"    # deadline warnings, overdue, supervision, duty gaps


#: Applicants get nothing at night; staff alerts are the point of being woken (the center's
#: decision: legal notices are not urgent enough to send at 23:00 — the notice is valid from
#: its date, the SMS only tells where to fetch it).
URGENT_CATEGORIES = frozenset({Category.STAFF_ALERT})
OPT_OUT_CATEGORIES = frozenset({Category.SURVEY})


class MessageState(StrEnum):
    QUEUED = "queued"        # waiting for its turn (not_before may hold a retry backoff)
    DEFERRED = "deferred"    # waiting for the end of quiet hours
    SENDING = "sending"      # handed to a provider; the outcome is not recorded yet
    SENT = "sent"            # every part accepted by the provider
    DELIVERED = "delivered"  # receipts say every part reached the handset
    FAILED = "failed"        # will not arrive (reason recorded)
    UNKNOWN = "unknown"      # the request left, no answer: reconciled by a receipt or staff
    SUPPRESSED = "suppressed"  # not sent on purpose (opted out of surveys)


TERMINAL_STATES = frozenset({MessageState.DELIVERED, MessageState.FAILED, MessageState.SUPPRESSED})
#: States from which the delivery worker may pick a message up.
DUE_STATES = frozenset({MessageState.QUEUED, MessageState.DEFERRED})

_ALLOWED: dict[MessageState, frozenset[MessageState]] = {
    MessageState.QUEUED: frozenset({MessageState.SENDING, MessageState.DEFERRED, MessageState.FAILED, MessageState.SUPPRESSED}),
    MessageState.DEFERRED: frozenset({MessageState.SENDING, MessageState.QUEUED, MessageState.FAILED, MessageState.SUPPRESSED}),
    MessageState.SENDING: frozenset({MessageState.SENT, MessageState.QUEUED, MessageState.FAILED, MessageState.UNKNOWN,
                                     MessageState.DELIVERED}),
    MessageState.SENT: frozenset({MessageState.DELIVERED, MessageState.FAILED}),
    # An unknown outcome is settled by a late receipt or by staff (failed, or requeued on purpose).
    MessageState.UNKNOWN: frozenset({MessageState.DELIVERED, MessageState.FAILED, MessageState.SENT, MessageState.QUEUED}),
    MessageState.DELIVERED: frozenset(),
    MessageState.FAILED: frozenset({MessageState.QUEUED}),  # staff resend after a temporary cause went away
    MessageState.SUPPRESSED: frozenset(),
}


class InvalidTransition(ValueError):
    pass


def check_transition(current: MessageState, new: MessageState) -> MessageState:
    if new not in _ALLOWED[current]:
        raise InvalidTransition(f"a message cannot go from {current} to {new}")
    return new


def idempotency_key(event_id: str, recipient: str, template: str) -> str:
    """One message per (triggering event, recipient, template), across redeliveries and restarts
    (stored under a unique constraint). Hashed so the mobile number is not readable in it."""
    raw = "\x1f".join((event_id, recipient, template)).encode()
    return hashlib.sha256(raw).hexdigest()


def concat_reference(message_id: str, bits: int = 8) -> int:
    """The UDH reference for a message's parts, stable for the message (a retried part carries
    the same one, so the handset still reassembles)."""
    digest = hashlib.blake2s(message_id.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % (1 << bits)


# --------------------------------------------------------------------------- quiet hours


@dataclass(frozen=True)
class QuietHours:
    """A daily window in local time during which applicants are not messaged. ``start`` after
    ``end`` means the window wraps midnight (the default 22:00-08:00)."""

    start: time = time(22, 0)
    end: time = time(8, 0)
    tz: tzinfo = TZ

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, moment: datetime) -> datetime:
        """``moment`` itself when outside the window, else the window's end (aware, in UTC)."""
        if not self.contains(moment):
            return moment
        local = moment.astimezone(self.tz)
        end_today = datetime.combine(local.date(), self.end, tzinfo=self.tz)
        result = end_today if end_today > local else end_today + timedelta(days=1)
        return result.astimezone(moment.tzinfo or self.tz)


def _zone(tz: str | tzinfo) -> tzinfo:
    if isinstance(tz, tzinfo):
        return tz
    return TZ if tz == TZ.key else ZoneInfo(tz)


def parse_quiet_hours(spec: str, tz: str | tzinfo = TZ) -> QuietHours:
    """'22:00-08:00' -> QuietHours; '' or 'off' disables them. ``tz`` defaults to the center's."""
    if spec.strip().lower() in ("", "off", "none"):
        return QuietHours(time(0, 0), time(0, 0), _zone(tz))
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", spec)
    if not m:
        raise ValueError("quiet hours look like '22:00-08:00'")
    h1, m1, h2, m2 = map(int, m.groups())
    return QuietHours(time(h1, m1), time(h2, m2), _zone(tz))


@dataclass(frozen=True)
class Scheduling:
    state: MessageState
    not_before: datetime


def schedule(category: Category, now: datetime, quiet: QuietHours) -> Scheduling:
    """When a new message may first go out."""
    if category in URGENT_CATEGORIES:
        return Scheduling(MessageState.QUEUED, now)
    allowed = quiet.next_allowed(now)
    if allowed > now:
        return Scheduling(MessageState.DEFERRED, allowed)
    return Scheduling(MessageState.QUEUED, now)


#: Replies that stop survey invitations (the survey SMS says "回复TD").
OPT_OUT_REPLIES = frozenset({"TD", "T", "N", "退订", "TD退订"})


def may_suppress(category: Category, opted_out: bool) -> bool:
    """Only surveys honour an opt-out; legal notices and staff alerts always go."""
    return opted_out and category in OPT_OUT_CATEGORIES


# --------------------------------------------------------------------------- provider answers


class Outcome(StrEnum):
    ACCEPTED = "accepted"    # the provider took every part
    TEMPORARY = "temporary"  # nothing (more) was taken; trying later may work
    PERMANENT = "permanent"  # the provider said this message can never go as is
    UNKNOWN = "unknown"      # a request left and no answer came: do not retry blindly


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider: str
    #: Part number -> provider message id, for every part the provider accepted (also on a
    #: temporary error after some parts went: a retry sends only the missing ones).
    accepted_parts: dict[int, str] = field(default_factory=dict)
    parts: int = 1
    code: str = ""
    reason: str = ""
    #: Set when the provider reports delivery synchronously (the embedded file provider).
    delivered: bool = False


#: SMPP command_status values that mean "try again later" (SMPP 3.4 section 5.1.3).
SMPP_TEMPORARY = {
    0x00000008: "system error (ESME_RSYSERR)",
    0x00000014: "message queue full (ESME_RMSGQFUL)",
    0x00000045: "submit failed (ESME_RSUBMITFAIL)",
    0x00000058: "throttled (ESME_RTHROTTLED)",
    0x00000064: "temporary application error (ESME_RX_T_APPN)",
}
SMPP_PERMANENT = {
    0x00000001: "invalid message length (ESME_RINVMSGLEN)",
    0x0000000A: "invalid source address (ESME_RINVSRCADR)",
    0x0000000B: "invalid destination address (ESME_RINVDSTADR)",
    0x00000043: "invalid esm_class (ESME_RINVESMCLASS)",
    0x00000048: "invalid source TON (ESME_RINVSRCTON)",
    0x00000049: "invalid source NPI (ESME_RINVSRCNPI)",
    0x00000050: "invalid destination TON (ESME_RINVDSTTON)",
    0x00000051: "invalid destination NPI (ESME_RINVDSTNPI)",
    0x00000061: "invalid schedule time (ESME_RINVSCHED)",
    0x00000062: "invalid validity period (ESME_RINVEXPIRY)",
    0x00000065: "permanent application error (ESME_RX_P_APPN)",
    0x00000066: "rejected by application (ESME_RX_R_APPN)",
    0x000000C2: "invalid parameter length (ESME_RINVPARLEN)",
    0x000000C4: "invalid optional parameter value (ESME_RINVOPTPARAMVAL)",
}


def classify_smpp_status(status: int) -> tuple[Outcome, str]:
    if status == 0:
        return Outcome.ACCEPTED, "ok"
    if status in SMPP_TEMPORARY:
        return Outcome.TEMPORARY, SMPP_TEMPORARY[status]
    if status in SMPP_PERMANENT:
        return Outcome.PERMANENT, SMPP_PERMANENT[status]
    # Unlisted (often vendor-specific 0x400-0x4FF) codes: the carrier's documentation decides;
    # until then refuse to loop on them.
    return Outcome.PERMANENT, f"SMSC error 0x{status:08X}"


def smpp_code(status: int) -> str:
    return f"0x{status:08X}"


#: Alibaba Cloud SendSms ``Code`` values (dysmsapi 2017-05-25) that mean "try again later".
ALIYUN_TEMPORARY = {
    "isv.BUSINESS_LIMIT_CONTROL": "业务限流（频率控制）",
    "isv.DAY_LIMIT_CONTROL": "触发日发送限额",
    "isv.OUT_OF_SERVICE": "业务停机（欠费）",
    "isv.AMOUNT_NOT_ENOUGH": "账户余额不足",
    "isp.SYSTEM_ERROR": "平台系统错误",
    "isp.GATEWAY_ERROR": "运营商网关错误",
    "Throttling.User": "请求被流控",
    "ServiceUnavailable": "服务暂不可用",
}


def classify_aliyun_code(code: str) -> Outcome:
    if code == "OK":
        return Outcome.ACCEPTED
    if code in ALIYUN_TEMPORARY or code.startswith("Throttling"):
        return Outcome.TEMPORARY
    # isv.MOBILE_NUMBER_ILLEGAL, isv.SMS_TEMPLATE_ILLEGAL, isv.TEMPLATE_MISSING_PARAMETERS,
    # isv.SMS_SIGNATURE_ILLEGAL, isv.BLACK_KEY_CONTROL_LIMIT, SignatureDoesNotMatch, ...
    return Outcome.PERMANENT


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(minutes=30)
    jitter: float = 0.2  # +/- fraction, so a throttled batch does not come back in lockstep

    def delay(self, attempt: int, rng: random.Random | None = None) -> timedelta:
        """Backoff after the ``attempt``-th failed try (1-based)."""
        seconds = min(self.cap.total_seconds(), self.base.total_seconds() * (2 ** (attempt - 1)))
        if self.jitter:
            r = (rng or random).uniform(-self.jitter, self.jitter)
            seconds = max(0.0, seconds * (1 + r))
        return timedelta(seconds=seconds)


@dataclass(frozen=True)
class AttemptDecision:
    state: MessageState
    not_before: datetime | None = None
    failure_permanent: bool | None = None  # set when state is FAILED
    reason: str = ""


def after_attempt(result: SendResult, attempts: int, now: datetime, policy: RetryPolicy,
                  rng: random.Random | None = None) -> AttemptDecision:
    """What a message becomes after its ``attempts``-th submit attempt."""
    if result.outcome is Outcome.ACCEPTED:
        return AttemptDecision(MessageState.DELIVERED if result.delivered else MessageState.SENT)
    if result.outcome is Outcome.PERMANENT:
        return AttemptDecision(MessageState.FAILED, failure_permanent=True, reason=result.reason)
    if result.outcome is Outcome.UNKNOWN:
        return AttemptDecision(MessageState.UNKNOWN, reason=result.reason)
    if attempts >= policy.max_attempts:
        return AttemptDecision(MessageState.FAILED, failure_permanent=False,
                               reason=f"{result.reason}; gave up after {attempts} attempts")
    return AttemptDecision(MessageState.QUEUED, not_before=now + policy.delay(attempts, rng), reason=result.reason)


# --------------------------------------------------------------------------- delivery receipts


class ReceiptStatus(StrEnum):
    DELIVRD = "DELIVRD"
    EXPIRED = "EXPIRED"
    DELETED = "DELETED"
    UNDELIV = "UNDELIV"
    ACCEPTD = "ACCEPTD"
    UNKNOWN = "UNKNOWN"
    REJECTD = "REJECTD"
    ENROUTE = "ENROUTE"


FINAL_FAILURES = {
    ReceiptStatus.EXPIRED: "短信在有效期内未能送达（EXPIRED）",
    ReceiptStatus.DELETED: "短信被短信中心删除（DELETED）",
    ReceiptStatus.UNDELIV: "短信无法送达（UNDELIV）",
    ReceiptStatus.REJECTD: "短信被拒收（REJECTD）",
    ReceiptStatus.UNKNOWN: "短信状态未知（UNKNOWN）",
}


@dataclass(frozen=True)
class Receipt:
    provider: str
    provider_message_id: str
    status: str
    done_at: datetime | None = None
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.status == ReceiptStatus.DELIVRD

    @property
    def final(self) -> bool:
        return self.status not in (ReceiptStatus.ACCEPTD, ReceiptStatus.ENROUTE)


_RECEIPT_FIELD = re.compile(r"(id|sub|dlvrd|submit date|done date|stat|err|text):(\S*)", re.IGNORECASE)


def parse_receipt_text(text: str, provider: str = "smpp", tz: tzinfo = TZ) -> Receipt | None:
    """Parse an SMPP 3.4 Appendix B delivery receipt ("id:... sub:001 dlvrd:001 submit date:...
    done date:YYMMDDhhmm stat:DELIVRD err:000 text:..."). None if it is not one."""
    fields = {k.lower(): v for k, v in _RECEIPT_FIELD.findall(text.split(" text:")[0] + " ")}
    if "id" not in fields or "stat" not in fields:
        return None
    done_at = None
    raw = fields.get("done date", "")
    fmt = {10: "%y%m%d%H%M", 12: "%y%m%d%H%M%S"}.get(len(raw))
    if fmt and raw.isdigit():
        try:
            done_at = datetime.strptime(raw, fmt).replace(tzinfo=tz)
        except ValueError:
            done_at = None
    return Receipt(provider, fields["id"], fields["stat"].upper(), done_at, fields.get("err", ""))


@dataclass(frozen=True)
class ReceiptTally:
    """Where a multi-part message stands once some receipts are in."""

    state: MessageState
    status: str
    reason: str = ""


def tally_receipts(parts: int, receipts: list[Receipt]) -> ReceiptTally | None:
    """A message is delivered when every part's receipt says DELIVRD; it has failed as soon as
    one part's final receipt says otherwise (the handset cannot show it whole). None: wait."""
    by_id: dict[str, Receipt] = {}
    for r in receipts:
        if r.final:
            by_id[r.provider_message_id] = r
    for r in by_id.values():
        if not r.delivered:
            return ReceiptTally(MessageState.FAILED, r.status, FINAL_FAILURES.get(r.status, f"未送达（{r.status}）"))
    if len(by_id) >= parts and parts > 0:
        return ReceiptTally(MessageState.DELIVERED, ReceiptStatus.DELIVRD)
    return None


# --------------------------------------------------------------------------- notices


@dataclass(frozen=True)
class NoticeKind:
    document_type: DocumentType
    title: str           # as printed on the notice
    template: str        # file under templates/notices/
    sms_template: str    # file under templates/sms/ (the release SMS to the applicant)
    number_prefix: str   # the character in the document number (文号), e.g. 受 for 受理


NOTICE_KINDS: dict[DocumentType, NoticeKind] = {k.document_type: k for k in (
    NoticeKind(DocumentType.ACCEPTANCE, "受理通知书", "acceptance.xml.j2", "notice_acceptance.txt.j2", "受"),
    NoticeKind(DocumentType.SUPPLEMENT, "补正材料通知书", "supplement.xml.j2", "notice_supplement.txt.j2", "补"),
    NoticeKind(DocumentType.NOT_ACCEPTED, "不予受理通知书", "not_accepted.xml.j2", "notice_not_accepted.txt.j2", "不受"),
    NoticeKind(DocumentType.APPROVAL, "准予行政许可决定书", "approval.xml.j2", "notice_approval.txt.j2", "准许"),
    NoticeKind(DocumentType.DENIAL, "不予行政许可决定书", "denial.xml.j2", "notice_denial.txt.j2", "不许"),
    NoticeKind(DocumentType.FORWARDED, "上报转送告知书", "forwarded.xml.j2", "notice_forwarded.txt.j2", "转"),
    NoticeKind(DocumentType.JOINT, "联合办理告知书", "joint.xml.j2", "notice_joint.txt.j2", "联"),
    NoticeKind(DocumentType.EXTENSION, "延长审批期限告知书", "extension.xml.j2", "notice_extension.txt.j2", "延"),
    NoticeKind(DocumentType.SUPERVISION, "业务督办通知书", "supervision.xml.j2", "staff_supervision.txt.j2", "督"),
)}


def document_number(kind: NoticeKind, unit_abbr: str, year: int, serial: int) -> str:
    """The document number (文号) in the usual form: 〔year〕 in hexagonal brackets, then the
    serial, e.g. '县市监审受〔2025〕0042号'."""
    return f"{unit_abbr}审{kind.number_prefix}〔{year}〕{serial:04d}号"


class NoticeState(StrEnum):
    REQUESTED = "requested"  # rendered, SealDocument sent
    SEALED = "sealed"        # DocumentSealed arrived (transient: released in the same step)
    RELEASED = "released"    # available through the short link, SMS queued
    FAILED = "failed"        # refused, timed out or could not be rendered


class SealAnswer(StrEnum):
    SEALED = "sealed"
    REFUSED = "refused"
    TIMED_OUT = "timed_out"
    RETRY = "retry"  # staff asked to send it to the seal service again


_NOTICE_NEXT: dict[tuple[NoticeState, SealAnswer], NoticeState] = {
    (NoticeState.REQUESTED, SealAnswer.SEALED): NoticeState.RELEASED,
    (NoticeState.REQUESTED, SealAnswer.REFUSED): NoticeState.FAILED,
    (NoticeState.REQUESTED, SealAnswer.TIMED_OUT): NoticeState.FAILED,
    # A seal that arrives after the timeout is still a valid seal: release late rather than
    # leave the applicant without the notice (the failure stays in the history).
    (NoticeState.FAILED, SealAnswer.SEALED): NoticeState.RELEASED,
    (NoticeState.FAILED, SealAnswer.RETRY): NoticeState.REQUESTED,
}


def notice_next(state: NoticeState, answer: SealAnswer, *, failed_by_refusal: bool = False) -> NoticeState | None:
    """The notice's next state, or None when the answer changes nothing (a duplicate, or a
    late answer to a notice already released)."""
    if state is NoticeState.FAILED and answer is SealAnswer.SEALED and failed_by_refusal:
        return None  # a refusal is final for that request; only a staff retry reopens it
    return _NOTICE_NEXT.get((state, answer))


def seal_deadline(requested_at: datetime, timeout: timedelta) -> datetime:
    return requested_at + timeout


def timed_out(state: NoticeState, requested_at: datetime, now: datetime, timeout: timedelta) -> bool:
    return state is NoticeState.REQUESTED and now >= seal_deadline(requested_at, timeout)


# --------------------------------------------------------------------------- short links

_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O/1/l/I: read aloud, typed


def short_code(rng: random.Random | None = None, length: int = 8) -> str:
    """A random short-link code (55^8 ~ 8e13: not guessable by walking the space)."""
    r = rng or random.SystemRandom()
    return "".join(r.choice(_ALPHABET) for _ in range(length))



# --------------------------------------------------------------------------- duty gaps


class DutyGapState(StrEnum):
    """A weekend duty gap as notify handles it (``notify_duty_gaps``)."""

    AWAITING_MANAGER = "awaiting_manager"  # no duty manager known yet: the alert waits for one
    ALERTED = "alerted"                    # SMS queued to every duty manager known then
    EXPIRED = "expired"                    # a manager became known too late: not sent (logged)


def duty_gap_posts(post_a: bool, post_b: bool) -> str:
    """The posts named in the alert: both when the window has both, else the one it has."""
    if post_a and post_b:
        return "A/B"
    return "A" if post_a else ("B" if post_b else "A/B")


def duty_gap_stale(detected_at: datetime, now: datetime, max_age: timedelta) -> bool:
    """Whether a held gap is too old to alert about: a duty alert about last weekend is noise."""
    return now - detected_at > max_age
