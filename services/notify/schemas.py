"""notify's HTTP request and response models, and its own request value types (the shared ones,
free text, keys and offsets, are in services/runtime/params.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.common import mask_mobile
from services.runtime.params import FreeText

from . import store
from .store import MessageRow, NoticeRow

#: A message template's name as stored (``notice_acceptance``, ``survey`` ...).
TemplateName = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$")]

# --------------------------------------------------------------------------- opt-outs

OPT_OUT_NOTE = "退订仅对满意度评价邀请短信有效；受理、补正、决定等法定告知短信仍会发送。"


class OptOutIn(BaseModel):
    mobile: str = Field(description="The mobile number that should get no more survey invitations.")


class OptOutOut(BaseModel):
    mobile: str = Field(description="The number, masked.")
    surveys: bool = Field(description="Whether survey invitations are sent to it.")
    note: str = Field(description="What an opt-out covers (zh-CN).")


# --------------------------------------------------------------------------- receipts


class ReceiptPushAck(BaseModel):
    """The answer the cloud provider expects to a receipt push."""

    code: int = Field(0, description="0: received.")
    msg: str = Field("成功")


# --------------------------------------------------------------------------- messages


class MessageOut(BaseModel):
    id: str
    template: str
    category: str
    recipient_kind: str
    mobile: str = Field(description="Masked.")
    receipt_no: str | None
    notice_id: str | None
    text: str
    state: str
    attempts: int
    provider: str | None
    parts: int
    code: str | None
    reason: str | None
    receipt_status: str | None
    not_before: datetime
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, r: MessageRow) -> "MessageOut":
        return cls(id=r.id, template=r.template, category=r.category, recipient_kind=r.recipient_kind,
                   mobile=mask_mobile(r.mobile), receipt_no=r.receipt_no, notice_id=r.notice_id, text=r.text,
                   state=r.state, attempts=r.attempts, provider=r.provider, parts=r.parts, code=r.code, reason=r.reason,
                   receipt_status=r.receipt_status, not_before=store.aware(r.not_before),
                   created_at=store.aware(r.created_at), sent_at=store.aware(r.sent_at),
                   delivered_at=store.aware(r.delivered_at))


class MessagePage(BaseModel):
    total: int
    items: list[MessageOut]


class ResolveIn(BaseModel):
    action: Literal["failed", "delivered", "resend"] = Field(
        description="failed: it did not arrive; delivered: confirmed with the recipient; resend: send again on purpose.")
    note: FreeText = Field("", max_length=200, description="Why (kept with the message).")


# --------------------------------------------------------------------------- notices


class NoticeFile(BaseModel):
    """One format of a sealed notice (the seal's capability URL of that file)."""

    format: str = Field(description="pdf or ofd")
    url: str
    sha256: str
    size_bytes: int


class NoticeOut(BaseModel):
    id: str
    receipt_no: str
    document_type: str
    document_no: str | None
    state: str
    attempts: int
    requested_at: datetime | None
    sealed_at: datetime | None
    short_url: str | None
    failure_reason: str | None
    failure_detail: str | None
    created_at: datetime
    files: list[NoticeFile] = Field(default_factory=list, description="each format sealed (PDF, OFD)")

    @classmethod
    def of(cls, row: NoticeRow, base_url: str) -> "NoticeOut":
        return cls(id=row.id, receipt_no=row.receipt_no, document_type=row.document_type,
                   document_no=row.document_no, state=row.state, attempts=row.attempts,
                   requested_at=store.aware(row.requested_at), sealed_at=store.aware(row.sealed_at),
                   short_url=f"{base_url}/s/{row.short_code}" if row.short_code else None,
                   failure_reason=row.failure_reason, failure_detail=row.failure_detail,
                   created_at=store.aware(row.created_at),
                   files=[NoticeFile(**f) for f in row.sealed_files or []])


class NoticePage(BaseModel):
    total: int
    items: list[NoticeOut]


# --------------------------------------------------------------------------- providers


class ProviderHealthOut(BaseModel):
    """The SMS provider's state, plus what the provider itself reports (the SMPP session's host,
    port, binds, queued and in-flight parts ...), and the messages by state."""

    model_config = ConfigDict(extra="allow")

    provider: str
    ok: bool
    detail: str
    messages: dict[str, int] = Field(description="Messages by state.")


# --------------------------------------------------------------------------- assessment notices


class AssessmentNoticeFile(BaseModel):
    format: str = Field(description="pdf or ofd")
    sha256: str = Field(description="SHA-256 of the sealed file")
    size_bytes: int
    href: str = Field(description="where the unit reads it: notify's API (the unit's head, the center)")


class AssessmentNoticeOut(BaseModel):
    """A year-end assessment notice (年终考核结果通知书) to a staff member's unit, sealed by the center."""

    id: str
    assessment_id: str
    year: int
    staff_id: str
    staff_name: str
    unit_code: str
    unit_name: str
    window_no: str | None
    grade: str
    grade_label: str
    on_appeal: bool = Field(description="a decision on the staff member's appeal (复核决定, final)")
    document_no: str | None = Field(description="the number printed on the notice (文号)")
    state: str = Field(description="requested, released (sealed) or failed")
    attempts: int
    requested_at: datetime | None
    sealed_at: datetime | None
    sealed_document_no: str | None = Field(description="seal's number of the sealed document (its verification page)")
    failure_reason: str | None
    failure_detail: str | None
    created_at: datetime
    files: list[AssessmentNoticeFile] = Field(default_factory=list)

    @classmethod
    def of(cls, row: "store.AssessmentNoticeRow") -> "AssessmentNoticeOut":
        f = row.facts
        return cls(
            id=row.id, assessment_id=row.assessment_id, year=row.year, staff_id=row.staff_id,
            staff_name=f.get("staff_name", ""), unit_code=row.unit_code, unit_name=f.get("unit_name", ""),
            window_no=f.get("window_no"), grade=f.get("grade", ""), grade_label=f.get("grade_label", ""),
            on_appeal=row.on_appeal, document_no=row.document_no, state=row.state, attempts=row.attempts,
            requested_at=store.aware(row.requested_at), sealed_at=store.aware(row.sealed_at),
            sealed_document_no=row.sealed_document_no, failure_reason=row.failure_reason,
            failure_detail=row.failure_detail, created_at=store.aware(row.created_at),  # type: ignore[arg-type]
            files=[AssessmentNoticeFile(format=x["format"], sha256=x["sha256"], size_bytes=x["size_bytes"],
                                        href=f"/notify/assessment-notices/{row.id}/file?format={x['format']}")
                   for x in row.sealed_files or []],
        )


class AssessmentNoticePage(BaseModel):
    total: int
    items: list[AssessmentNoticeOut]
