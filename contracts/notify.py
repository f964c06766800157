"""Contracts of the notify service: sealed notices (通知书) and SMS.

Both topics are internal: they are notify's audit trail and feed the suite's metrics; no other
bureau subscribes. They still carry the recipient's mobile number masked (``MaskedMobile``):
nothing downstream needs the full number, so it never leaves notify's database.

- ``notify.notices`` (key ``receipt_no``): the notice saga — requested, released once the unit's
  No. 2 seal is on it, or failed (sealing refused or timed out, rendering failed).
- ``notify.sms`` (key ``message_id``): every SMS's life — deferred by quiet hours, sent (accepted
  by the provider), delivered (carrier receipt), failed (with the reason and whether it was
  permanent), or outcome unknown (a timeout after the request left: not retried blindly).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from .base import Event
from .common import DocumentType, MaskedMobile, ReceiptNo
from .topics import Audience, topic

NOTICES = topic(
    "notify.notices", owner="notify", key="receipt_no", audience=Audience.INTERNAL,
    retention_days=365,
    description="Notices (通知书) to applicants: requested, released once sealed, or failed.",
)
SMS = topic(
    "notify.sms", owner="notify", key="message_id", audience=Audience.INTERNAL,
    retention_days=90,
    description="Every SMS: deferred, sent, delivered, failed or outcome unknown (mobile masked).",
)


class NoticeFailureReason(StrEnum):
    SEALING_REFUSED = "sealing_refused"      # the seal service said no (e.g. seal revoked)
    SEALING_TIMED_OUT = "sealing_timed_out"  # no answer from the seal service in time
    RENDER_FAILED = "render_failed"          # the template or the PDF could not be produced


class Recipient(StrEnum):
    APPLICANT = "applicant"
    STAFF = "staff"


class SmsFailureStage(StrEnum):
    SUBMIT = "submit"      # the provider refused it, or retries ran out
    DELIVERY = "delivery"  # the carrier's receipt said it did not arrive
    OPERATOR = "operator"  # closed by staff after an unknown outcome


# --------------------------------------------------------------------------- notify.notices


class NoticeRequested(Event, source="notify", topic=NOTICES.name, version=1, key_field="receipt_no"):
    """A notice was rendered and sent to the seal service to bear the unit's No. 2 seal."""

    notice_id: str = Field(description="Notify's id of the notice (stable across retries).")
    receipt_no: ReceiptNo = Field(description="The case's receipt number (受理编号).")
    document_type: DocumentType = Field(description="Which notice or decision this is.")
    document_no: str = Field(description="The notice's document number (文号), e.g. '受〔2025〕第2025-LYJ-00042号'.")
    unit_code: str = Field(description="The window unit whose No. 2 seal the notice must bear.")
    cause_event_id: str = Field(description="ce_id of the event that asked for the notice.")


class NoticeReleased(Event, source="notify", topic=NOTICES.name, version=1, key_field="receipt_no"):
    """The sealed notice is available to the applicant through its short link."""

    notice_id: str = Field(description="Notify's id of the notice.")
    receipt_no: ReceiptNo = Field(description="The case's receipt number (受理编号).")
    document_type: DocumentType = Field(description="Which notice or decision this is.")
    document_no: str = Field(description="The notice's document number (文号).")
    url: str = Field(description="Short link to the sealed PDF (served by notify, redirects to it).")
    sealed_at: AwareDatetime = Field(description="When the seal service sealed it.")


class NoticeFailed(Event, source="notify", topic=NOTICES.name, version=1, key_field="receipt_no"):
    """The notice could not be released; staff see it in notify's API and must act."""

    notice_id: str = Field(description="Notify's id of the notice.")
    receipt_no: ReceiptNo = Field(description="The case's receipt number (受理编号).")
    document_type: DocumentType = Field(description="Which notice or decision this is.")
    reason: NoticeFailureReason = Field(description="Why it failed.")
    detail: str = Field(description="The seal service's reason or the error, for staff (zh-CN or English).")


# --------------------------------------------------------------------------- notify.sms


class _SmsEvent(Event, abstract=True):
    message_id: str = Field(description="Notify's id of the message (the Kafka key).")
    template: str = Field(description="SMS template name, e.g. 'notice_acceptance'.")
    recipient_kind: Recipient = Field(description="Applicant or staff member.")
    mobile: MaskedMobile = Field(description="Recipient's mobile number, masked.")
    receipt_no: ReceiptNo | None = Field(default=None, description="The case, when the message is about one.")


class SmsDeferred(_SmsEvent, source="notify", topic=SMS.name, version=1, key_field="message_id"):
    """A non-urgent message to an applicant waits for the end of quiet hours."""

    not_before: AwareDatetime = Field(description="When it may be sent (end of quiet hours).")


class SmsSent(_SmsEvent, source="notify", topic=SMS.name, version=1, key_field="message_id"):
    """The provider accepted every part of the message."""

    provider: str = Field(description="Provider name: 'smpp', 'aliyun' or 'file'.")
    parts: int = Field(ge=1, description="Number of SMS parts as the carrier counts (and bills) them.")
    provider_message_ids: list[str] = Field(description="The provider's id of each part.")
    attempts: int = Field(ge=1, description="Submit attempts it took (retries on temporary errors).")


class SmsDelivered(_SmsEvent, source="notify", topic=SMS.name, version=1, key_field="message_id"):
    """The carrier's delivery receipt(s) said every part reached the handset."""

    provider: str = Field(description="Provider name.")
    status: str = Field(description="The receipt's status, e.g. 'DELIVRD'.")
    delivered_at: AwareDatetime = Field(description="When the receipt said it was delivered (or received).")


class SmsFailed(_SmsEvent, source="notify", topic=SMS.name, version=1, key_field="message_id"):
    """The message will not arrive. ``permanent`` is false when retries of a temporary error ran
    out (the cause might go away; staff may resend)."""

    provider: str | None = Field(default=None, description="Provider name, if it reached one.")
    stage: SmsFailureStage = Field(description="Where it failed: submit, delivery receipt or operator.")
    code: str = Field(description="Provider or receipt code, e.g. '0x00000058', 'isv.MOBILE_NUMBER_ILLEGAL', 'UNDELIV'.")
    reason: str = Field(description="Human-readable reason.")
    permanent: bool = Field(description="True: the provider said it can never succeed as is.")


class SmsUnconfirmed(_SmsEvent, source="notify", topic=SMS.name, version=1, key_field="message_id"):
    """The request left but no answer came (timeout, dropped connection). Not retried: a delivery
    receipt or an operator settles it, so that the recipient never gets it twice."""

    provider: str = Field(description="Provider name.")
    detail: str = Field(description="What happened, e.g. 'connection lost before submit_sm_resp'.")


__all__ = [
    "NOTICES", "SMS", "NoticeFailed", "NoticeFailureReason", "NoticeReleased", "NoticeRequested",
    "Recipient", "SmsDeferred", "SmsDelivered", "SmsFailed", "SmsFailureStage", "SmsUnconfirmed",
    "SmsSent",
]
