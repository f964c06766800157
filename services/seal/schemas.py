"""The seal service's HTTP models (requests and answers) and how a use case's result is shaped
into them. Request models check codes and names at the door with the domain's own rules."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from contracts.common import DocumentType
from contracts.seal import CenterDocumentType, RevocationReason, SealKind

from . import domain, store
from .adapters.verify import Verification
from .domain.usagelog import AnchorReport, ChainReport


# -- verification -------------------------------------------------------------------------------

def conclusion(v: Verification) -> str:
    """The answer in one zh-CN sentence."""
    if not v.readable:
        return "无法读取该文件，不是有效的PDF文件" if v.format == "pdf" else "无法读取该文件，不是有效的OFD文件"
    if not v.signed:
        return "该文件没有电子签章"
    if v.ok:
        units = "、".join(dict.fromkeys(s.unit_name or "未知单位" for s in v.signatures))
        root = "本县印章根证书" if v.format == "pdf" else "本县印章根证书（SM2）"
        return f"签章有效：文件自签章后未被改动，印章（{units}）由{root}签发，签章时未被注销"
    problems = [p for s in v.signatures for p in s.problems] or ["签章无效"]
    return "签章无效：" + "；".join(dict.fromkeys(problems))


class SignatureAnswer(BaseModel):
    field_name: str = Field(description="signature field in the PDF")
    ok: bool = Field(description="intact, whole document, chains to the county root, not revoked when signed")
    intact: bool = Field(description="the signed bytes are unchanged")
    valid: bool = Field(description="the cryptographic signature is correct")
    covers_whole_file: bool = Field(description="nothing was added after signing")
    chains_to_county_root: bool = Field(description="the seal certificate was issued by the county root")
    unit_name: str | None = Field(description="the unit the seal belongs to, from its certificate")
    seal_name: str | None = Field(description="e.g. 行政审批专用章")
    seal_code: str | None = Field(description="<unit_code>-<seal no>")
    cert_serial: str | None = Field(description="seal certificate serial, hex")
    signed_at: datetime | None = Field(description="signing time the signature reports")
    revoked_at_signing: bool = Field(description="the seal was already revoked when it was used")
    revoked_now: bool = Field(description="the seal has been revoked since")
    revoked_on: datetime | None = Field(description="when it was revoked")
    revocation_reason: str | None = Field(description="why")
    problems: list[str] = Field(description="what is wrong, zh-CN")


class RegisteredDocument(BaseModel):
    document_no: str = Field(description="number of the sealed document")
    unit_code: str = Field(description="unit whose seal was used")
    document_type: DocumentType | CenterDocumentType = Field(
        description="which notice or decision, or a center document of no case (assessment)")
    title: str = Field(description="document title")
    signed_at: datetime = Field(description="when the service sealed it")


class VerificationAnswer(BaseModel):
    format: str = Field("pdf", description="pdf (PAdES) or ofd (GB/T 38540 seal)")
    sha256: str = Field(description="SHA-256 of the uploaded file")
    readable: bool = Field(description="the file is a readable PDF")
    signed: bool = Field(description="it carries at least one signature")
    ok: bool = Field(description="every signature is good")
    conclusion: str = Field(description="the answer in one sentence, zh-CN")
    problems: list[str] = Field(description="file-level problems, zh-CN")
    signatures: list[SignatureAnswer] = Field(description="one per signature")
    registered_document: RegisteredDocument | None = Field(
        description="the document in the service's register with exactly this content, if any")

    @classmethod
    def of(cls, v: Verification, registered: store.DocumentRow | None) -> "VerificationAnswer":
        reg = None
        if registered is not None:
            d = registered
            reg = RegisteredDocument(document_no=d.document_no, unit_code=d.unit_code, document_type=d.document_type,
                                     title=d.title, signed_at=store.aware(d.signed_at))
        return cls(
                format=v.format, sha256=v.sha256, readable=v.readable, signed=v.signed, ok=v.ok, conclusion=conclusion(v),
                problems=list(v.problems),
                signatures=[
                    SignatureAnswer(
                        field_name=s.field_name, ok=s.ok, intact=s.intact, valid=s.valid,
                        covers_whole_file=s.covers_whole_file, chains_to_county_root=s.chains_to_root,
                        unit_name=s.unit_name, seal_name=s.seal_name, seal_code=s.seal_code, cert_serial=s.cert_serial,
                        signed_at=s.signed_at, revoked_at_signing=s.revoked_at_signing, revoked_now=s.revoked_now,
                        revoked_on=s.revoked_on, revocation_reason=s.revocation_reason, problems=list(s.problems),
                    )
                for s in v.signatures
            ],
            registered_document=reg,
        )


# -- documents ----------------------------------------------------------------------------------

class DocumentStatus(BaseModel):
    document_no: str = Field(description="number of the sealed document")
    title: str = Field(description="document title")
    document_type: DocumentType | CenterDocumentType = Field(
        description="which notice or decision, or a center document of no case (assessment)")
    unit_code: str = Field(description="unit whose seal was used")
    unit_name: str = Field(description="the unit's name")
    seal_name: str = Field(description="the seal used")
    signed_at: datetime = Field(description="when it was sealed")
    sha256: str = Field(description="SHA-256 of the sealed file (the PDF when one was made)")
    formats: list[str] = Field(default_factory=list, description="the formats it was sealed in (pdf, ofd)")
    verification: VerificationAnswer = Field(description="the stored file verified now")

    @classmethod
    def of(cls, doc: store.DocumentRow, seal: store.SealRow | None, verification: VerificationAnswer) -> "DocumentStatus":
        return cls(
            document_no=doc.document_no, title=doc.title, document_type=doc.document_type, unit_code=doc.unit_code,
            unit_name=seal.unit_name if seal else "", seal_name=seal.seal_name if seal else "",
            signed_at=store.aware(doc.signed_at), sha256=doc.sha256, verification=verification,
        )


# -- seals --------------------------------------------------------------------------------------

class SealOut(BaseModel):
    seal_id: str = Field(description="the seal's id")
    unit_code: str = Field(description="unit")
    unit_name: str = Field(description="unit name on the seal")
    seal_name: str = Field(description="seal name")
    seal_no: str = Field(description="seal number")
    kind: SealKind = Field(description="approval (No. 2) or old seal")
    start_date: date = Field(description="启用日期")
    scope: list[DocumentType] = Field(description="document types it may seal")
    cert_serial: str = Field(description="certificate serial, hex")
    cert_sha256: str = Field(description="certificate fingerprint")
    valid_from: datetime = Field(description="certificate validity start")
    valid_until: datetime = Field(description="certificate validity end")
    approvals_until: date | None = Field(description="old seals: last day for approvals")
    revoked_at: datetime | None = Field(description="when revoked")
    revocation_reason: str | None = Field(description="why")
    in_use: bool = Field(description="usable now")
    sm2_cert_serial: str | None = Field(None, description="serial (hex) of its SM2 twin's certificate, for OFD seals")

    @classmethod
    def of(cls, row: store.SealRow, now: datetime) -> "SealOut":
        return cls(
            seal_id=row.seal_id, unit_code=row.unit_code, unit_name=row.unit_name, seal_name=row.seal_name,
            seal_no=row.seal_no, kind=SealKind(row.kind), start_date=row.start_date,
            scope=[DocumentType(s) for s in row.scope], cert_serial=row.cert_serial, cert_sha256=row.cert_sha256,
            valid_from=store.aware(row.valid_from), valid_until=store.aware(row.valid_until),
            approvals_until=row.approvals_until, revoked_at=store.aware(row.revoked_at),
            revocation_reason=row.revocation_reason, in_use=row.rule_view().usable(now),
            sm2_cert_serial=row.sm2_cert_serial,
        )


# -- seal administration requests ---------------------------------------------------------------

def _checked(fn: Any, *args: Any, **kw: Any) -> Any:
    """A domain check inside a pydantic validator, which must raise ValueError: the runtime words
    a validator's ValueError as the field's reason (422, the field named by its location)."""
    try:
        return fn(*args, **kw)
    except domain.InvalidInput as exc:
        raise ValueError(exc.reason) from None


#: The unit code as documented (intake's rule); lower case is accepted and upper-cased, as intake
#: does. Codes and names are checked by the validators below (after trimming, with a specific
#: reason), so their bounds are documented in the schema rather than enforced by pydantic first.
_UNIT_CODE_SCHEMA = {"pattern": domain.UNIT_CODE.pattern, "minLength": 2, "maxLength": 12}


def _length(lo: int, hi: int) -> dict[str, Any]:
    return {"minLength": lo, "maxLength": hi}


class _SealNames(BaseModel):
    @field_validator("unit_code", check_fields=False)
    @classmethod
    def _unit_code(cls, v: str) -> str:
        return _checked(domain.clean_unit_code, v)

    @field_validator("unit_name", check_fields=False)
    @classmethod
    def _unit_name(cls, v: str) -> str:
        return _checked(domain.clean_name, v, field="unit_name", label="单位名称", min_len=2,
                        max_len=domain.UNIT_NAME_MAX)


class IssueSeal(_SealNames):
    unit_code: str = Field(json_schema_extra=_UNIT_CODE_SCHEMA,
                           description="the unit, as intake registers it (e.g. LYJ)")
    unit_name: str = Field(json_schema_extra=_length(2, domain.UNIT_NAME_MAX),
                           description="the unit's full name, carved along the arc (no spaces or control characters)")
    start_date: date = Field(description="启用日期 (local date): from 2004-07-01 to at most "
                             "ONEWINDOW_SEAL_START_MAX_DAYS_AHEAD (365) days ahead, before the county root expires")
    seal_name: str = Field("行政审批专用章", json_schema_extra=_length(2, domain.SEAL_NAME_MAX), description="the seal's name")
    seal_no: str = Field("2", pattern=r"^[0-9]{1,2}$", description="the number marked on the seal")
    scope: list[DocumentType] | None = Field(None, description="document types it may seal (default: all approval documents)")

    @field_validator("seal_name")
    @classmethod
    def _seal_name(cls, v: str) -> str:
        return _checked(domain.clean_name, v, field="seal_name", label="印章名称", min_len=2,
                        max_len=domain.SEAL_NAME_MAX)


class RegisterOldSeal(_SealNames):
    unit_code: str = Field(json_schema_extra=_UNIT_CODE_SCHEMA,
                           description="the unit, as intake registers it (e.g. LYJ)")
    unit_name: str = Field(json_schema_extra=_length(2, domain.UNIT_NAME_MAX), description="the unit's full name")
    seal_name: str = Field("公章", json_schema_extra=_length(1, domain.SEAL_NAME_MAX), description="the old seal's name")
    approvals_until: date | None = Field(
        None, description="last day it may seal approvals; default (and latest): the day before the unit's "
        "No. 2 seal starts")

    @field_validator("seal_name")
    @classmethod
    def _seal_name(cls, v: str) -> str:
        return _checked(domain.clean_name, v, field="seal_name", label="印章名称", min_len=1,
                        max_len=domain.SEAL_NAME_MAX)


class RevokeSeal(BaseModel):
    reason: RevocationReason = Field(description="why: lost, unit_renamed, misuse, superseded, unit_dissolved")
    note: str | None = Field(None, max_length=500, description="details, zh-CN")

    @field_validator("note")
    @classmethod
    def _note(cls, v: str | None) -> str | None:
        return _checked(domain.clean_note, v, field="note", label="说明")


# -- the usage log ------------------------------------------------------------------------------

class ChainAnswer(BaseModel):
    ok: bool = Field(description="every entry fits the chain")
    entries: int = Field(description="entries verified before the first broken one (all, if ok)")
    first_broken: int | None = Field(description="number (seq) of the first entry that does not fit")
    problem: str | None = Field(description="what is wrong with it")
    head: str = Field(description="hash of the last good entry; record it to detect truncation later")

    @classmethod
    def of(cls, r: ChainReport) -> "ChainAnswer":
        return cls(ok=r.ok, entries=r.entries, first_broken=r.first_broken, problem=r.problem, head=r.head)


class LogEntryOut(BaseModel):
    seq: int = Field(description="entry number")
    at: datetime = Field(description="when (UTC)")
    action: str = Field(description="sealed, refused, issued, revoked, old_registered")
    unit_code: str = Field(description="unit")
    seal_id: str | None = Field(description="seal")
    document_no: str | None = Field(description="document sealed")
    request_id: str | None = Field(description="stamp request")
    detail: dict[str, Any] = Field(description="details")
    prev_hash: str = Field(description="previous entry's hash")
    hash: str = Field(description="this entry's hash")

    @classmethod
    def of(cls, r: store.UsageLogRow) -> "LogEntryOut":
        e = r.entry()
        return cls(seq=e.seq, at=e.at, action=e.action, unit_code=e.unit_code, seal_id=e.seal_id,
                   document_no=e.document_no, request_id=e.request_id, detail=e.detail,
                   prev_hash=e.prev_hash, hash=e.hash)


class MonthlyUse(BaseModel):
    unit_code: str = Field(description="unit")
    month: str = Field(description="YYYY-MM, local")
    sealed: int = Field(description="documents sealed")
    refused: int = Field(description="stamp requests refused")

    @classmethod
    def of(cls, m: domain.MonthlyUse) -> "MonthlyUse":
        return cls(unit_code=m.unit_code, month=m.month, sealed=m.sealed, refused=m.refused)


class CheckpointOut(BaseModel):
    """A usage-log checkpoint as published on seal.log (SealLogCheckpointed)."""

    log_id: str = Field(description="SHA-256 of the county seal root certificate (DER)")
    checkpoint_no: int = Field(description="1, 2, 3, ...")
    count: int = Field(description="entries in the log then")
    head_hash: str = Field(description="hash of entry number count")
    checkpointed_at: datetime = Field(description="when (UTC)")
    reason: str = Field(description="interval or revocation")
    signer_cert_pem: str = Field(description="the log-signing certificate (issued by the county seal root)")
    signature: str = Field(description="ECDSA P-256 SHA-256, DER, base64")

    @classmethod
    def of(cls, r: store.CheckpointRow) -> "CheckpointOut":
        return cls(log_id=r.log_id, checkpoint_no=r.checkpoint_no, count=r.count, head_hash=r.head_hash,
                   checkpointed_at=store.aware(r.checkpointed_at), reason=r.reason,
                   signer_cert_pem=r.signer_cert_pem, signature=r.signature)


class RefusedCheckpoint(BaseModel):
    checkpoint_no: int = Field(description="the checkpoint's number")
    reason: str = Field(description="why its signature is refused")


class AnchorAnswer(BaseModel):
    """The usage log checked against the signed checkpoints."""

    ok: bool = Field(description="the chain holds and the log matches every checkpoint, none refused")
    chain: ChainAnswer = Field(description="the hash chain on its own")
    checkpoints: int = Field(description="checkpoints compared (signature verified)")
    matched: int = Field(description="of which the log still matches")
    first_mismatch: int | None = Field(description="number of the first checkpoint the log no longer matches")
    problem: str | None = Field(description="what does not match it")
    latest: int | None = Field(description="the newest checkpoint's number")
    unanchored: int = Field(description="entries after the newest checkpoint (not yet anchored)")
    missing: list[int] = Field(description="checkpoint numbers absent (deleted rows)")
    refused: list[RefusedCheckpoint] = Field(description="checkpoints whose signature does not verify")

    @classmethod
    def of(cls, r: "AnchorReport", refused: list[tuple[int, str]]) -> "AnchorAnswer":
        m = r.first_mismatch
        return cls(
            ok=r.ok and not refused and not r.missing, chain=ChainAnswer.of(r.chain), checkpoints=r.checkpoints,
            matched=r.matched, first_mismatch=m.checkpoint_no if m else None, problem=m.problem if m else None,
            latest=r.latest.checkpoint_no if r.latest else None, unanchored=r.unanchored, missing=list(r.missing),
            refused=[RefusedCheckpoint(checkpoint_no=n, reason=why) for n, why in refused],
        )
