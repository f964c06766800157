"""HTTP: the root certificate and CRL at stable public URLs, verification (API and a public page),
the public page of each sealed document, document download by reference, seal administration
(center admin) and the usage log's chain check and supervision queries (supervisors)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import jinja2
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, field_validator

from contracts.common import DocumentType
from contracts.seal import (
    REVOCATION_TEXT, OldSealRegistered, RevocationReason, SealIssued, SealKind, SealRevoked,
)
from services.runtime.auth import PUBLIC, CenterAdmin, CurrentStaff, Supervisor
from services.runtime.params import plausible_key
from services.runtime.problems import Problem

from . import domain, issuing, store
from .authority import SealSubject, fingerprint, serial_hex
from .office import SealOffice
from .usagelog import verify_chain
from .verify import Verification, verify_pdf


TEMPLATES = Path(__file__).parent / "templates"
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
)
PDF = "application/pdf"


def _office(request: Request) -> SealOffice:
    office: SealOffice = request.app.state.seal_office
    if office.authority is None:
        raise Problem(503, "印章服务正在启动，请稍后再试")
    return office


async def _opened(request: Request) -> None:
    """Router dependency: the office is open before any route runs."""
    await request.app.state.seal_office.ensure_open(request.app.state.service.db)


router = APIRouter(prefix="/seal", tags=["seal"], dependencies=[Depends(_opened)])


def _service(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.service


def _unit_filter(unit_code: str | None) -> str | None:
    """A ``unit_code`` query filter, in intake's canonical form."""
    if unit_code is None:
        return None
    try:
        return domain.clean_unit_code(unit_code)
    except domain.InvalidInput as exc:
        raise Problem(422, exc.reason, field=exc.field) from None


# -- public: trust anchors ---------------------------------------------------------------------

@router.get("/root.crt", summary="The county seal root certificate (DER)", **PUBLIC)
async def root_der(request: Request) -> Response:
    cert = _office(request).ca.root_cert
    return Response(cert.public_bytes(serialization.Encoding.DER), media_type="application/pkix-cert",
                    headers={"Content-Disposition": 'attachment; filename="county-seal-root.crt"'})


@router.get("/root.pem", summary="The county seal root certificate (PEM)", **PUBLIC)
async def root_pem(request: Request) -> Response:
    return Response(_office(request).ca.root_pem, media_type="application/x-pem-file")


async def _crl(request: Request):  # type: ignore[no-untyped-def]
    office = _office(request)
    async with _service(request).db.session() as session:
        current = await office.current_crl(session)
    if current is None:
        raise Problem(503, "吊销列表尚未生成")
    return current


@router.get("/crl", summary="The current CRL (DER), the URL named in every seal certificate", **PUBLIC)
async def crl_der(request: Request) -> Response:
    current = await _crl(request)
    return Response(current.der, media_type="application/pkix-crl",
                    headers={"Cache-Control": "max-age=300", "X-CRL-Number": str(current.number)})


@router.get("/crl.pem", summary="The current CRL (PEM)", **PUBLIC)
async def crl_pem(request: Request) -> Response:
    current = await _crl(request)
    return Response(current.crl.public_bytes(serialization.Encoding.PEM), media_type="application/x-pem-file")


# -- public: verification ----------------------------------------------------------------------

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
    document_type: DocumentType = Field(description="which notice or decision")
    title: str = Field(description="document title")
    signed_at: datetime = Field(description="when the service sealed it")


class VerificationAnswer(BaseModel):
    sha256: str = Field(description="SHA-256 of the uploaded file")
    readable: bool = Field(description="the file is a readable PDF")
    signed: bool = Field(description="it carries at least one signature")
    ok: bool = Field(description="every signature is good")
    conclusion: str = Field(description="the answer in one sentence, zh-CN")
    problems: list[str] = Field(description="file-level problems, zh-CN")
    signatures: list[SignatureAnswer] = Field(description="one per signature")
    registered_document: RegisteredDocument | None = Field(
        description="the document in the service's register with exactly this content, if any")


def _conclusion(v: Verification) -> str:
    if not v.readable:
        return "无法读取该文件，不是有效的PDF文件"
    if not v.signed:
        return "该文件没有电子签章"
    if v.ok:
        units = "、".join(dict.fromkeys(s.unit_name or "未知单位" for s in v.signatures))
        return f"签章有效：文件自签章后未被改动，印章（{units}）由本县印章根证书签发，签章时未被注销"
    problems = [p for s in v.signatures for p in s.problems] or ["签章无效"]
    return "签章无效：" + "；".join(dict.fromkeys(problems))


async def _answer(request: Request, pdf: bytes) -> VerificationAnswer:
    office = _office(request)
    async with _service(request).db.session() as session:
        current = await office.current_crl(session)
        v = await verify_pdf(pdf, office.ca.root_cert, current.crl if current else None)
        docs = await store.documents_by_sha256(session, v.sha256)
    reg = None
    if docs:
        d = docs[0]
        reg = RegisteredDocument(document_no=d.document_no, unit_code=d.unit_code, document_type=d.document_type,
                                 title=d.title, signed_at=store.aware(d.signed_at))
    return VerificationAnswer(
        sha256=v.sha256, readable=v.readable, signed=v.signed, ok=v.ok, conclusion=_conclusion(v),
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


async def _uploaded(request: Request, file: UploadFile | None) -> bytes:
    limit = _office(request).settings.seal_max_pdf_bytes
    if file is not None:
        data = await file.read(limit + 1)
    else:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in (PDF, "application/octet-stream"):
            raise Problem(415, "请上传PDF文件（Content-Type: application/pdf，或表单字段 file）", field="file")
        data = b""
        async for chunk in request.stream():
            data += chunk
            if len(data) > limit:
                break
    if len(data) > limit:
        raise Problem(413, f"文件超过 {limit // (1024 * 1024)} MB", field="file")
    if not data:
        raise Problem(422, "文件为空", field="file")
    return data


@router.post(
    "/verify", response_model=VerificationAnswer, summary="Verify a sealed PDF (body application/pdf, or multipart field file)",
    **PUBLIC,
)
async def verify(request: Request, file: UploadFile | None = None) -> VerificationAnswer:
    return await _answer(request, await _uploaded(request, file))


@router.get("/verify", response_class=HTMLResponse, summary="Public verification page", **PUBLIC)
async def verify_page(request: Request) -> HTMLResponse:
    return HTMLResponse(_env.get_template("verify.html.j2").render(answer=None, office=_office(request).settings, tz=domain.CENTER_TZ))


@router.post("/verify/result", response_class=HTMLResponse, summary="Verification page's result", **PUBLIC)
async def verify_page_result(request: Request, file: UploadFile) -> HTMLResponse:
    answer = await _answer(request, await _uploaded(request, file))
    return HTMLResponse(_env.get_template("verify.html.j2").render(answer=answer, office=_office(request).settings, tz=domain.CENTER_TZ))


# -- public: documents -------------------------------------------------------------------------

class DocumentStatus(BaseModel):
    document_no: str = Field(description="number of the sealed document")
    title: str = Field(description="document title")
    document_type: DocumentType = Field(description="which notice or decision")
    unit_code: str = Field(description="unit whose seal was used")
    unit_name: str = Field(description="the unit's name")
    seal_name: str = Field(description="the seal used")
    signed_at: datetime = Field(description="when it was sealed")
    sha256: str = Field(description="SHA-256 of the sealed PDF")
    verification: VerificationAnswer = Field(description="the stored file verified now")


async def _document_status(request: Request, document_no: str) -> DocumentStatus:
    office = _office(request)
    if not plausible_key(document_no, 64):
        raise Problem(404, "没有这个编号的用印文书", field="document_no")
    async with _service(request).db.session() as session:
        doc = await session.get(store.DocumentRow, document_no)
        if doc is None:
            raise Problem(404, f"没有编号为 {document_no} 的用印文书", field="document_no")
        seal = await session.get(store.SealRow, doc.seal_id)
    pdf = await asyncio.to_thread((office.settings.documents_dir / doc.path).read_bytes)
    answer = await _answer(request, pdf)
    return DocumentStatus(
        document_no=doc.document_no, title=doc.title, document_type=doc.document_type, unit_code=doc.unit_code,
        unit_name=seal.unit_name if seal else "", seal_name=seal.seal_name if seal else "",
        signed_at=store.aware(doc.signed_at), sha256=doc.sha256, verification=answer,
    )


@router.get("/documents/{document_no}/status", response_model=DocumentStatus,
            summary="A sealed document's public record, verified now", **PUBLIC)
async def document_status(request: Request, document_no: str) -> DocumentStatus:
    return await _document_status(request, document_no)


@router.get("/documents/{document_no}", response_class=HTMLResponse,
            summary="A sealed document's public page (zh-CN)", **PUBLIC)
async def document_page(request: Request, document_no: str) -> HTMLResponse:
    status = await _document_status(request, document_no)
    html = _env.get_template("document.html.j2").render(
        d=status, type_label=domain.DOCUMENT_TITLES.get(status.document_type, str(status.document_type)),
        office=_office(request).settings, tz=domain.CENTER_TZ,
    )
    return HTMLResponse(html)


@router.get("/files/{token}.pdf", summary="Download a sealed document by its reference (capability URL)", **PUBLIC)
async def download(request: Request, token: str) -> Response:
    office = _office(request)
    doc = None
    if plausible_key(token, 64):
        async with _service(request).db.session() as session:
            doc = await store.document_by_token(session, token)
    if doc is None:
        raise Problem(404, "文书不存在或链接无效", field="token")
    pdf = await asyncio.to_thread((office.settings.documents_dir / doc.path).read_bytes)
    return Response(pdf, media_type=PDF, headers={
        "Content-Disposition": f'inline; filename="{doc.document_no}.pdf"',
        "X-Content-SHA256": doc.sha256, "Cache-Control": "private, no-store",
    })


# -- staff: seals ------------------------------------------------------------------------------

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


def _seal_out(row: store.SealRow, now: datetime) -> SealOut:
    return SealOut(
        seal_id=row.seal_id, unit_code=row.unit_code, unit_name=row.unit_name, seal_name=row.seal_name,
        seal_no=row.seal_no, kind=SealKind(row.kind), start_date=row.start_date,
        scope=[DocumentType(s) for s in row.scope], cert_serial=row.cert_serial, cert_sha256=row.cert_sha256,
        valid_from=store.aware(row.valid_from), valid_until=store.aware(row.valid_until),
        approvals_until=row.approvals_until, revoked_at=store.aware(row.revoked_at),
        revocation_reason=row.revocation_reason, in_use=row.rule_view().usable(now),
    )


@router.get("/seals", response_model=list[SealOut], summary="Seals, optionally of one unit")
async def list_seals(request: Request, staff: CurrentStaff, unit_code: str | None = None) -> list[SealOut]:
    now = datetime.now(UTC)
    unit_code = _unit_filter(unit_code)
    async with _service(request).db.session() as session:
        rows = await (store.seals_of(session, unit_code) if unit_code else store.all_seals(session))
    return [_seal_out(r, now) for r in rows]


async def _seal_row(request: Request, seal_id: str) -> store.SealRow:
    if not plausible_key(seal_id, 40):
        raise Problem(404, "没有这个编号的印章", field="seal_id")
    async with _service(request).db.session() as session:
        row = await session.get(store.SealRow, seal_id)
    if row is None:
        raise Problem(404, f"没有编号为 {seal_id} 的印章", field="seal_id")
    return row


@router.get("/seals/{seal_id}", response_model=SealOut, summary="One seal")
async def get_seal(request: Request, seal_id: str, staff: CurrentStaff) -> SealOut:
    return _seal_out(await _seal_row(request, seal_id), datetime.now(UTC))


@router.get("/seals/{seal_id}/image.svg", summary="The seal's picture (SVG)")
async def seal_image_svg(request: Request, seal_id: str, staff: CurrentStaff) -> Response:
    return Response(_office(request).face_svg(await _seal_row(request, seal_id)), media_type="image/svg+xml")


@router.get("/seals/{seal_id}/image.pdf", summary="The seal's picture (vector PDF)")
async def seal_image_pdf(request: Request, seal_id: str, staff: CurrentStaff) -> Response:
    return Response(_office(request).face_pdf(await _seal_row(request, seal_id)), media_type=PDF)


@router.get("/seals/{seal_id}/cert.pem", summary="The seal's certificate (PEM)", **PUBLIC)
async def seal_cert(request: Request, seal_id: str) -> Response:
    return Response((await _seal_row(request, seal_id)).cert_pem, media_type="application/x-pem-file")


def _checked(fn: Any, *args: Any, **kw: Any) -> Any:
    try:
        return fn(*args, **kw)
    except domain.InvalidInput as exc:
        raise ValueError(exc.reason) from None  # the runtime words a ValueError as the field's reason


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


async def _issue(
    request: Request, staff_sub: str, *, unit_code: str, unit_name: str, seal_name: str, seal_no: str,
    kind: SealKind, start_date: date, scope: frozenset[DocumentType], approvals_until: date | None,
) -> tuple[store.SealRow, Any]:
    office = _office(request)
    async with _service(request).uow() as uow:
        try:
            row, now = await issuing.issue(
                office, uow.session, uow.emit, staff_sub, unit_code=unit_code, unit_name=unit_name,
                seal_name=seal_name, seal_no=seal_no, kind=kind, start_date=start_date, scope=scope,
                approvals_until=approvals_until,
            )
        except domain.InvalidInput as exc:
            raise Problem(422, exc.reason, field=exc.field) from None
        except domain.RuleViolation as exc:
            raise Problem(409, exc.reason, field=exc.field) from None
        await uow.commit()
    return row, now


@router.post("/seals", response_model=SealOut, status_code=201, summary="Issue a unit's No. 2 seal (center admin)")
async def issue_seal(request: Request, body: IssueSeal, staff: CenterAdmin) -> SealOut:
    row, now = await _issue(
        request, staff.sub, unit_code=body.unit_code, unit_name=body.unit_name, seal_name=body.seal_name,
        seal_no=body.seal_no, kind=SealKind.APPROVAL, start_date=body.start_date,
        scope=frozenset(body.scope) if body.scope else domain.DEFAULT_SCOPE, approvals_until=None,
    )
    return _seal_out(row, now)


@router.post("/old-seals", response_model=SealOut, status_code=201,
             summary="Register a unit's old seal, barred from approvals after the cut-over (center admin)")
async def register_old_seal(request: Request, body: RegisterOldSeal, staff: CenterAdmin) -> SealOut:
    until = body.approvals_until
    async with _service(request).db.session() as session:
        no2 = [r for r in await store.seals_of(session, body.unit_code) if r.kind == SealKind.APPROVAL.value]
    no2_start = min((r.start_date for r in no2), default=None)
    if until is None:
        if no2_start is None:
            raise Problem(422, "该单位尚无行政审批专用章，请填写原印章停止用于审批的日期", field="approvals_until")
        until = domain.cutover_day(no2_start)
    try:
        domain.check_approvals_until(until, no2_start)
    except domain.InvalidInput as exc:
        raise Problem(422, exc.reason, field=exc.field) from None
    today = domain.local_date(datetime.now(UTC))
    row, now = await _issue(
        request, staff.sub, unit_code=body.unit_code, unit_name=body.unit_name, seal_name=body.seal_name,
        seal_no="", kind=SealKind.OLD, start_date=today, scope=frozenset(DocumentType), approvals_until=until,
    )
    return _seal_out(row, now)


class RevokeSeal(BaseModel):
    reason: RevocationReason = Field(description="why: lost, unit_renamed, misuse, superseded, unit_dissolved")
    note: str | None = Field(None, max_length=500, description="details, zh-CN")

    @field_validator("note")
    @classmethod
    def _note(cls, v: str | None) -> str | None:
        return _checked(domain.clean_note, v, field="note", label="说明")


@router.post("/seals/{seal_id}/revoke", response_model=SealOut, summary="Revoke a seal; the CRL is reissued (center admin)")
async def revoke_seal(request: Request, seal_id: str, body: RevokeSeal, staff: CenterAdmin) -> SealOut:
    office = _office(request)
    now = datetime.now(UTC)
    if not plausible_key(seal_id, 40):
        raise Problem(404, "没有这个编号的印章", field="seal_id")
    async with _service(request).uow() as uow:
        await store.authority_row(uow.session, lock=True)
        row = await uow.session.get(store.SealRow, seal_id, with_for_update=True)
        if row is None:
            raise Problem(404, f"没有编号为 {seal_id} 的印章", field="seal_id")
        try:
            domain.check_revocation(row.rule_view(), now)
        except domain.RuleViolation as exc:
            raise Problem(409, exc.reason, field=exc.field) from None
        row.revoked_at, row.revocation_reason = now, body.reason.value
        row.revocation_note, row.revoked_by = body.note, staff.sub
        uow.session.add(row)
        await uow.session.flush()
        crl = await office.issue_crl(uow.session, now)
        await store.append_log(uow.session, at=now, action="revoked", unit_code=row.unit_code, seal_id=seal_id,
                               detail={"reason": body.reason.value, "by": staff.sub, "crl_number": crl.number})
        await uow.emit(SealRevoked(
            seal_id=seal_id, unit_code=row.unit_code, cert_serial=row.cert_serial, reason=body.reason,
            reason_text=REVOCATION_TEXT[body.reason], revoked_at=now, crl_number=crl.number,
        ))
        await uow.commit()
    return _seal_out(row, now)


# -- supervisors: the usage log ------------------------------------------------------------------

class ChainAnswer(BaseModel):
    ok: bool = Field(description="every entry fits the chain")
    entries: int = Field(description="entries verified before the first broken one (all, if ok)")
    first_broken: int | None = Field(description="number (seq) of the first entry that does not fit")
    problem: str | None = Field(description="what is wrong with it")
    head: str = Field(description="hash of the last good entry; record it to detect truncation later")


@router.get("/log/verify", response_model=ChainAnswer, summary="Verify the usage log's hash chain (supervisor)")
async def verify_log(request: Request, staff: Supervisor) -> ChainAnswer:
    entries = []
    async with _service(request).db.session() as session:
        after = 0
        while batch := await store.log_entries(session, after=after, limit=5000):
            entries.extend(r.entry() for r in batch)
            after = batch[-1].seq
    r = verify_chain(entries)
    return ChainAnswer(ok=r.ok, entries=r.entries, first_broken=r.first_broken, problem=r.problem, head=r.head)


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


def _entry_out(r: store.UsageLogRow) -> LogEntryOut:
    e = r.entry()
    return LogEntryOut(seq=e.seq, at=e.at, action=e.action, unit_code=e.unit_code, seal_id=e.seal_id,
                       document_no=e.document_no, request_id=e.request_id, detail=e.detail,
                       prev_hash=e.prev_hash, hash=e.hash)


@router.get("/log", response_model=list[LogEntryOut], summary="Usage log entries in order (supervisor)")
async def read_log(
    request: Request, staff: Supervisor,
    after: Annotated[int, Query(ge=0, le=store.MAX_SEQ, description="entries after this number")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[LogEntryOut]:
    async with _service(request).db.session() as session:
        return [_entry_out(r) for r in await store.log_entries(session, after=after, limit=limit)]


#: A unit code as the usage log may hold it: whatever a stamp request carried (the contracts' rule).
_LoggedUnit = Annotated[str | None, Query(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_-]+$",
                                          description="only this unit's entries")]


def _period(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    today = domain.local_date(datetime.now(UTC))
    try:
        return domain.query_window(start or today.replace(day=1), end or today)
    except domain.InvalidInput as exc:
        raise Problem(422, exc.reason, field=exc.field) from None


class MonthlyUse(BaseModel):
    unit_code: str = Field(description="unit")
    month: str = Field(description="YYYY-MM, local")
    sealed: int = Field(description="documents sealed")
    refused: int = Field(description="stamp requests refused")


@router.get("/supervision/usage", response_model=list[MonthlyUse], summary="Uses per unit per month (supervisor)")
async def usage_per_month(
    request: Request, staff: Supervisor,
    start: Annotated[date | None, Query(alias="from", description="first day (local); default first of this month")] = None,
    end: Annotated[date | None, Query(alias="to", description="last day (local); default today")] = None,
) -> list[MonthlyUse]:
    lo, hi = _period(start, end)
    async with _service(request).db.session() as session:
        rows = await store.log_between(session, lo, hi, actions=("sealed", "refused"))
    counts: Counter[tuple[str, str, str]] = Counter(
        (r.unit_code, domain.month_of(store.aware(r.at)), r.action) for r in rows
    )
    keys = sorted({(u, m) for u, m, _ in counts})
    return [MonthlyUse(unit_code=u, month=m, sealed=counts[(u, m, "sealed")], refused=counts[(u, m, "refused")])
            for u, m in keys]


@router.get("/supervision/after-hours", response_model=list[LogEntryOut],
            summary="Documents sealed outside the hall's working hours (supervisor)")
async def after_hours(
    request: Request, staff: Supervisor,
    start: Annotated[date | None, Query(alias="from", description="first day (local)")] = None,
    end: Annotated[date | None, Query(alias="to", description="last day (local)")] = None,
    unit_code: _LoggedUnit = None,
) -> list[LogEntryOut]:
    lo, hi = _period(start, end)
    hours = _office(request).hours
    async with _service(request).db.session() as session:
        rows = await store.log_between(session, lo, hi, actions=("sealed",), unit_code=unit_code)
    return [_entry_out(r) for r in rows if hours.outside(store.aware(r.at))]


@router.get("/supervision/refusals", response_model=list[LogEntryOut], summary="Refused stamp requests (supervisor)")
async def refusals(
    request: Request, staff: Supervisor,
    start: Annotated[date | None, Query(alias="from", description="first day (local)")] = None,
    end: Annotated[date | None, Query(alias="to", description="last day (local)")] = None,
    unit_code: _LoggedUnit = None,
) -> list[LogEntryOut]:
    lo, hi = _period(start, end)
    async with _service(request).db.session() as session:
        rows = await store.log_between(session, lo, hi, actions=("refused",), unit_code=unit_code)
    return [_entry_out(r) for r in rows]


__all__ = ["router"]
