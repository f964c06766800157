"""Contracts of the seal service: the dedicated approval seals (行政审批专用章, the No. 2 seal).

- ``seal.commands`` (internal, key receipt_no): stamp requests other services (notify, intake) send
  to seal. The one topic of the suite written by services other than its reader.
- ``seal.documents`` (internal, key receipt_no): the outcome of each request, sealed or refused.
- ``seal.seals`` (public, key unit_code): the life of the seals (issued, revoked, old seals
  registered). Carries unit and seal data only, no personal identifiers.
- ``seal.log`` (public, key log_id, one partition): signed checkpoints of the usage log (用印登记):
  its entry count and head hash at an instant, signed by the log-signing key the county seal root
  certifies, so that anyone holding the root certificate can check that the log was not rewritten.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .base import Command, Event
from .common import DocumentType, ReceiptNo, UnitCode
from .topics import Audience, topic

COMMANDS = topic(
    "seal.commands",
    owner="seal",
    key="receipt_no",
    audience=Audience.INTERNAL,
    description="Stamp requests (SealDocument) that notify and intake send to the seal service.",
)
DOCUMENTS = topic(
    "seal.documents",
    owner="seal",
    key="receipt_no",
    audience=Audience.INTERNAL,
    description="Outcome of each stamp request: DocumentSealed or SealingRefused.",
)
SEALS = topic(
    "seal.seals",
    owner="seal",
    key="unit_code",
    audience=Audience.PUBLIC,
    retention_days=3650,
    description="Seals issued, revoked and old seals registered, for audit and other bureaus.",
)

LOG = topic(
    "seal.log",
    owner="seal",
    key="log_id",
    audience=Audience.PUBLIC,
    partitions=1,
    retention_days=36500,
    description="Signed checkpoints of the seal usage log (count, head hash, time), for outside audit.",
)


class RefusalCode(StrEnum):
    """Why a stamp request was refused (the zh-CN text is in :data:`REFUSAL_TEXT`)."""

    NO_SEAL = "no_seal"                          # the unit has no such seal
    SEAL_OF_OTHER_UNIT = "seal_of_other_unit"
    SEAL_NOT_STARTED = "seal_not_started"        # before the start date (启用日期)
    SEAL_REVOKED = "seal_revoked"
    SEAL_EXPIRED = "seal_expired"
    OUT_OF_SCOPE = "out_of_scope"                # document type outside the seal's scope of use
    OLD_SEAL_AFTER_CUTOVER = "old_seal_after_cutover"
    NO_DOCUMENT = "no_document"                  # neither a PDF nor content to render
    BAD_DOCUMENT = "bad_document"                # the PDF cannot be read or sealed
    SIGNING_FAILED = "signing_failed"


REFUSAL_TEXT: dict[RefusalCode, str] = {
    RefusalCode.NO_SEAL: "该单位没有可用的印章",
    RefusalCode.SEAL_OF_OTHER_UNIT: "印章不属于申请用印的单位",
    RefusalCode.SEAL_NOT_STARTED: "印章尚未到启用日期",
    RefusalCode.SEAL_REVOKED: "印章已注销，不得使用",
    RefusalCode.SEAL_EXPIRED: "印章证书已过有效期",
    RefusalCode.OUT_OF_SCOPE: "该文书类型不在印章使用范围内",
    RefusalCode.OLD_SEAL_AFTER_CUTOVER: "行政审批专用章启用后，原单位印章不得再用于审批文书",
    RefusalCode.NO_DOCUMENT: "用印申请未附文书",
    RefusalCode.BAD_DOCUMENT: "文书文件无法读取或无法加盖电子印章",
    RefusalCode.SIGNING_FAILED: "电子签章失败，请稍后重试",
}


class RevocationReason(StrEnum):
    """Why a seal is revoked; each maps to an X.509 CRL reason code."""

    LOST = "lost"                        # 印章遗失（密钥泄露）: keyCompromise
    UNIT_RENAMED = "unit_renamed"        # 单位更名: affiliationChanged
    MISUSE = "misuse"                    # 违规使用: privilegeWithdrawn
    SUPERSEDED = "superseded"            # 换发新章: superseded
    UNIT_DISSOLVED = "unit_dissolved"    # 单位撤销: cessationOfOperation


REVOCATION_TEXT: dict[RevocationReason, str] = {
    RevocationReason.LOST: "印章遗失",
    RevocationReason.UNIT_RENAMED: "单位更名",
    RevocationReason.MISUSE: "违规使用",
    RevocationReason.SUPERSEDED: "换发新章",
    RevocationReason.UNIT_DISSOLVED: "单位撤销",
}


class CenterDocumentType(StrEnum):
    """Documents of the center's own administration that belong to no application (no receipt
    number): they bear the center's own seal, never a unit's No. 2 seal (SealDocument v2 on)."""

    ASSESSMENT = "assessment"   # 年终考核结果通知书 (to the staff member's unit)


CENTER_DOCUMENT_TITLES: dict[CenterDocumentType, str] = {
    CenterDocumentType.ASSESSMENT: "年终考核结果通知书",
}

#: What a document of no case is about, e.g. the assessment's id ``2026/E2E7001``: keys it on the topic.
Reference = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_./:-]+$")]


def _case_or_reference(receipt_no: str | None, reference: str | None, document_type: StrEnum) -> None:
    """The v2 rule shared by the command and its outcomes: a case document names its application,
    a document of no case its reference instead (``ValueError`` names the field)."""
    if isinstance(document_type, CenterDocumentType):
        if receipt_no is not None:
            raise ValueError(f"receipt_no: a {document_type.value} document belongs to no application; give reference")
        if not reference:
            raise ValueError(f"reference: a {document_type.value} document needs its reference")
    elif receipt_no is None:
        raise ValueError(f"receipt_no: a {document_type.value} document needs the application's receipt number")


class SealKind(StrEnum):
    APPROVAL = "approval"   # 行政审批专用章 (the No. 2 seal)
    OLD = "old"             # the unit's old administrative seal, registered for the cut-over rule


class DocumentFormat(StrEnum):
    """A sealed document's file format."""

    PDF = "pdf"   # PDF with a PAdES baseline signature (ECDSA, the county's X.509 root)
    OFD = "ofd"   # OFD (GB/T 33190) with a GB/T 38540 v4 electronic seal signature (SM2/SM3)


class SignatureFormat(StrEnum):
    PADES = "pades"            # PAdES B-B (ETSI EN 319 142), ECDSA P-256 with SHA-256
    SES_V4 = "gbt38540_v4"     # GB/T 38540-2020 SES_Signature v4, SM3withSM2


class SealedFile(BaseModel):
    """One format of a sealed document."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    format: DocumentFormat = Field(..., description="pdf or ofd")
    signature: SignatureFormat = Field(..., description="the kind of electronic seal it carries")
    sha256: str = Field(..., pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the sealed file")
    size_bytes: int = Field(..., ge=0, description="its size")
    url: str = Field(..., description="where to fetch it (capability URL)")
    cert_serial: str = Field(..., description="serial number (hex) of the seal certificate that signed it")


class SealBoxSpec(BaseModel):
    """Where on the document the visible seal goes, in PDF points (origin bottom left)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    page: int = Field(-1, description="0-based page index; -1 for the last page")
    x1: float = Field(..., ge=0, description="left edge, points")
    y1: float = Field(..., ge=0, description="bottom edge, points")
    x2: float = Field(..., ge=0, description="right edge, points")
    y2: float = Field(..., ge=0, description="top edge, points")


class NoticeContent(BaseModel):
    """A simple notice for the seal service to render itself when no PDF is sent."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    addressee: str | None = Field(None, max_length=200, description="who the notice is addressed to (称谓)")
    paragraphs: list[str] = Field(..., min_length=1, max_length=50, description="body paragraphs, zh-CN")
    issued_on: date | None = Field(None, description="date printed under the unit's name; default: today")
    numbers: dict[str, str] = Field(
        default_factory=dict, description="numbers printed under the title, label -> value (e.g. 受理编号)"
    )


class SealDocument(Command, source="seal", topic=COMMANDS.name, version=1, key_field="receipt_no"):
    """Seal a notice or decision of an application with the unit's seal (default: its No. 2 seal)."""

    request_id: str = Field(..., min_length=1, max_length=64, description="idempotency key of the request")
    receipt_no: ReceiptNo = Field(..., description="receipt number of the application")
    unit_code: UnitCode = Field(..., description="the unit whose seal is asked for")
    document_type: DocumentType = Field(..., description="which notice or decision")
    title: str = Field(..., min_length=1, max_length=100, description="document title, zh-CN")
    pdf_base64: str | None = Field(None, description="the PDF to seal, base64; or give content")
    content: NoticeContent | None = Field(None, description="content for seal to render when no PDF is given")
    seal_box: SealBoxSpec | None = Field(None, description="where the seal goes; default bottom right of the last page")
    seal_kind: SealKind = Field(SealKind.APPROVAL, description="which of the unit's seals to use")
    requested_by: str = Field(..., min_length=1, max_length=64, description="service or staff id asking")
    formats: list[DocumentFormat] | None = Field(
        None, max_length=2,
        description="the formats wanted (pdf, ofd), each one the county issues (ONEWINDOW_SEAL_FORMATS); "
        "default: the county's formats this request can make. An OFD is rendered from content, so asking "
        "for ofd needs content (a pdf_base64 is sealed as the PDF).",
    )
    printed_no: str | None = Field(
        None, min_length=1, max_length=60,
        description="the number the requester printed on the document (文号), e.g. FGJ审准许〔2026〕0001号: "
        "the sealed files are named after it (a stable ASCII form, e.g. FGJ-approval-2026-0001.pdf, with "
        "the number itself as the UTF-8 file name); default: the seal's document number",
    )


class DocumentSealed(Event, source="seal", topic=DOCUMENTS.name, version=1, key_field="receipt_no"):
    request_id: str = Field(..., description="the SealDocument request_id")
    receipt_no: ReceiptNo = Field(..., description="receipt number of the application")
    unit_code: UnitCode = Field(..., description="unit whose seal was used")
    document_no: str = Field(..., description="the sealed document's number (public page, verification)")
    document_type: DocumentType = Field(..., description="which notice or decision")
    sha256: str = Field(..., pattern=r"^[0-9a-f]{64}$",
                        description="SHA-256 of the sealed file: the PDF when one was made, else the OFD")
    size_bytes: int = Field(..., ge=0, description="size of that file")
    url: str = Field(..., description="where to fetch that file (capability URL)")
    seal_id: str = Field(..., description="the seal used")
    seal_serial: str = Field(..., description="serial number (hex) of the certificate that signed that file")
    signed_at: datetime = Field(..., description="when it was sealed (UTC)")
    files: list[SealedFile] = Field(
        default_factory=list, description="every format sealed (pdf, ofd), each with its digest and URL")


class SealingRefused(Event, source="seal", topic=DOCUMENTS.name, version=1, key_field="receipt_no"):
    request_id: str = Field(..., description="the SealDocument request_id")
    receipt_no: ReceiptNo = Field(..., description="receipt number of the application")
    unit_code: UnitCode = Field(..., description="unit whose seal was asked for")
    document_type: DocumentType = Field(..., description="which notice or decision")
    reason_code: RefusalCode = Field(..., description="why, machine-readable")
    reason: str = Field(..., description="why, zh-CN")
    refused_at: datetime = Field(..., description="when (UTC)")


# -- version 2: documents that belong to no application (issue 22: the year-end assessment) -------
# v1 stays registered (its messages stay readable, its schema frozen); v2 adds ``reference`` and
# the center's document types, and lets ``receipt_no`` be null for those. The key stays
# ``receipt_no`` (required, nullable): a document of no case is keyed by its reference instead.

SealDocumentV1 = SealDocument
DocumentSealedV1 = DocumentSealed
SealingRefusedV1 = SealingRefused


class _NoCaseKey:
    """Kafka key (and CloudEvents subject) of a v2 message: the receipt number, else the reference."""

    receipt_no: str | None
    reference: str | None

    def key(self) -> str | None:
        return self.receipt_no or self.reference


class SealDocument(_NoCaseKey, SealDocumentV1, source="seal", topic=COMMANDS.name, version=2, key_field="receipt_no"):
    """Seal a document with a seal of ``unit_code``: a notice or decision of an application (as v1),
    or a document of the center's that belongs to no application (``reference``, the center's seal)."""

    receipt_no: ReceiptNo | None = Field(
        ..., description="receipt number of the application; null for a center document of no case")
    reference: Reference | None = Field(
        None, description="what a document of no case is about (e.g. the assessment 2026/E2E7001); "
        "required exactly when receipt_no is null")
    document_type: DocumentType | CenterDocumentType = Field(
        ..., description="a case notice or decision (DocumentType), or a center document (assessment)")

    @model_validator(mode="after")
    def _case_or_reference(self) -> "SealDocument":
        _case_or_reference(self.receipt_no, self.reference, self.document_type)
        return self


class DocumentSealed(_NoCaseKey, DocumentSealedV1, source="seal", topic=DOCUMENTS.name, version=2,
                     key_field="receipt_no"):
    """A SealDocument (v1 or v2) sealed; answers every request from v2 on."""

    receipt_no: ReceiptNo | None = Field(..., description="receipt number of the application; null: a document of no case")
    reference: Reference | None = Field(None, description="the request's reference (documents of no case)")
    document_type: DocumentType | CenterDocumentType = Field(..., description="which notice, decision or center document")


class SealingRefused(_NoCaseKey, SealingRefusedV1, source="seal", topic=DOCUMENTS.name, version=2,
                     key_field="receipt_no"):
    """A SealDocument (v1 or v2) refused; answers every request from v2 on."""

    receipt_no: ReceiptNo | None = Field(..., description="receipt number of the application; null: a document of no case")
    reference: Reference | None = Field(None, description="the request's reference (documents of no case)")
    document_type: DocumentType | CenterDocumentType = Field(..., description="which notice, decision or center document")


class SealIssued(Event, source="seal", topic=SEALS.name, version=1, key_field="unit_code"):
    seal_id: str = Field(..., description="the seal's id")
    unit_code: UnitCode = Field(..., description="the unit the seal belongs to")
    unit_name: str = Field(..., description="the unit's name as carved on the seal")
    seal_name: str = Field(..., description="e.g. 行政审批专用章")
    seal_no: str = Field(..., description="the seal's number, e.g. 2")
    seal_kind: SealKind = Field(..., description="approval (No. 2) seal or registered old seal")
    cert_serial: str = Field(..., description="certificate serial number, hex")
    cert_sha256: str = Field(..., description="certificate SHA-256 fingerprint, hex")
    start_date: date = Field(..., description="启用日期")
    valid_until: datetime = Field(..., description="certificate expiry (UTC)")
    scope: list[DocumentType] = Field(..., description="document types it may seal")


class OldSealRegistered(Event, source="seal", topic=SEALS.name, version=1, key_field="unit_code"):
    seal_id: str = Field(..., description="the old seal's id")
    unit_code: UnitCode = Field(..., description="the unit")
    seal_name: str = Field(..., description="the old seal's name, e.g. the unit's 公章")
    approvals_until: date = Field(..., description="last day it may seal approvals (the day before the No. 2 seal's start)")
    cert_serial: str = Field(..., description="certificate serial number, hex")


class SealRevoked(Event, source="seal", topic=SEALS.name, version=1, key_field="unit_code"):
    seal_id: str = Field(..., description="the seal's id")
    unit_code: UnitCode = Field(..., description="the unit")
    cert_serial: str = Field(..., description="certificate serial number, hex")
    reason: RevocationReason = Field(..., description="why")
    reason_text: str = Field(..., description="why, zh-CN")
    revoked_at: datetime = Field(..., description="when (UTC)")
    crl_number: int = Field(..., ge=1, description="the CRL that first lists it")


class CheckpointReason(StrEnum):
    """Why a usage-log checkpoint was published."""

    INTERVAL = "interval"        # the periodic checkpoint (ONEWINDOW_SEAL_CHECKPOINT_SECONDS)
    REVOCATION = "revocation"    # every revocation, in the revocation's transaction


class SealLogCheckpointed(Event, source="seal", topic=LOG.name, version=1, key_field="log_id"):
    """The usage log (用印登记) had ``count`` entries ending in ``head_hash`` at ``checkpointed_at``.

    ``signature`` is ECDSA (P-256, SHA-256, DER, base64) by the key of ``signer_cert_pem`` over the
    canonical JSON of {type, log_id, checkpoint_no, count, head_hash, checkpointed_at, reason}
    (``services.seal.domain.usagelog.checkpoint_payload``); the certificate is issued by the county
    seal root and carries the usage-log-signing extended key usage."""

    log_id: str = Field(..., pattern=r"^[0-9a-f]{64}$",
                        description="which log: SHA-256 of the county seal root certificate (DER), hex")
    checkpoint_no: int = Field(..., ge=1, description="1, 2, 3, ... per log, with no gaps")
    count: int = Field(..., ge=0, description="entries in the log (the last one's seq)")
    head_hash: str = Field(..., pattern=r"^[0-9a-f]{64}$",
                           description="hash of entry number count (64 zeros for an empty log)")
    checkpointed_at: datetime = Field(..., description="when (UTC, microseconds)")
    reason: CheckpointReason = Field(..., description="interval or revocation")
    signer_cert_pem: str = Field(..., description="the log-signing certificate (PEM), issued by the county seal root")
    signature: str = Field(..., min_length=1, description="ECDSA P-256 SHA-256 signature (DER, base64) over the payload")
