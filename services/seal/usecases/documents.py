"""Sealed documents: a SealDocument command sealed (or refused), a PDF verified, a sealed document's
public record and its file.

Sealing is idempotent twice over: the runtime's inbox drops a redelivered command (same
``ce_id``), and a repeated ``request_id`` (a requester's retry with a new ``ce_id``) gets the first
answer again without sealing a second document.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from contracts.base import Event
from contracts.seal import (
    REFUSAL_TEXT, DocumentFormat, DocumentSealed, RefusalCode, SealDocument, SealedFile, SealingRefused,
    SignatureFormat,
)
from services.runtime import clock
from services.runtime.metrics import RuntimeMetrics
from services.runtime.params import plausible_key
from services.runtime.uow import UnitOfWork

from .. import domain, store
from ..adapters import gmpki, ofd, ses
from ..adapters.render import Notice, render_notice
from ..adapters.signing import SealBox, SealingError, seal_pdf
from ..adapters.verify import Verification, verify_ofd, verify_pdf
from . import root, seals

if TYPE_CHECKING:
    from services.runtime.app import Service

log = logging.getLogger(__name__)

_OUTCOME_NS = uuid.UUID("6f1d7c1e-7f0b-4a59-9a55-2f5b1c4e5a01")


class SealMetrics:
    """Business metrics of sealing (one set per service instance, in ``service.state.metrics``)."""

    def __init__(self, m: RuntimeMetrics) -> None:
        self.sealed = m.counter("documents_sealed", "Documents sealed.", ("unit", "document_type"))
        self.refused = m.counter("requests_refused", "Stamp requests refused.", ("reason",))
        self.seconds = m.histogram("sealing_seconds", "Time to render (if asked) and sign one document.")


def outcome_id(cause_id: str) -> str:
    """The outcome event's id, derived from the command's ``ce_id``: a replayed command that gets
    past the inbox cannot publish two different outcome ids."""
    return str(uuid.uuid5(_OUTCOME_NS, f"{cause_id}/outcome"))


def document_url(svc: "Service", token: str, fmt: str = "pdf") -> str:
    return f"{root.settings_of(svc).public_url}/seal/files/{token}.{fmt}"


def public_page_url(svc: "Service", document_no: str) -> str:
    return f"{root.settings_of(svc).public_url}/seal/documents/{document_no}"


# -- sealing -------------------------------------------------------------------------------------

async def seal_document(
    svc: "Service", uow: UnitOfWork, cmd: SealDocument, event_id: str, now: datetime | None = None,
) -> Event:
    """Seal the document a command asks for (or refuse it, with a reason), in the caller's unit of
    work: the file, the rows, the usage-log entry and the outcome event. The caller commits."""
    await root.ensure_open(svc)
    settings = root.settings_of(svc)
    metrics: SealMetrics | None = getattr(svc.state, "metrics", None)
    session = uow.session
    now = now or clock.now()
    eid = outcome_id(event_id)

    earlier = await session.get(store.RequestRow, cmd.request_id)
    if earlier is not None:
        event = await _repeat(svc, uow, earlier)
        await uow.emit(event, id=eid)
        return event

    async def refuse(code: RefusalCode, seal_id: str | None = None) -> Event:
        session.add(store.RequestRow(
            request_id=cmd.request_id, event_id=event_id, receipt_no=cmd.receipt_no, unit_code=cmd.unit_code,
            document_type=cmd.document_type.value, requested_by=cmd.requested_by, received_at=now,
            outcome="refused", reason_code=code.value,
        ))
        await store.append_log(
            session, at=now, action="refused", unit_code=cmd.unit_code, seal_id=seal_id, request_id=cmd.request_id,
            detail={"document_type": cmd.document_type.value, "reason_code": code.value,
                    "requested_by": cmd.requested_by, "receipt_no": cmd.receipt_no},
        )
        event = SealingRefused(
            request_id=cmd.request_id, receipt_no=cmd.receipt_no, unit_code=cmd.unit_code,
            document_type=cmd.document_type, reason_code=code, reason=REFUSAL_TEXT[code], refused_at=now,
        )
        await uow.emit(event, id=eid)
        if metrics is not None:
            metrics.refused.labels(code.value).inc()
        log.info("stamp request %s refused: %s", cmd.request_id, code.value)
        return event

    rows = await store.seals_of(session, cmd.unit_code)
    chosen = domain.pick_seal([r.rule_view() for r in rows], cmd.unit_code, cmd.seal_kind, now)
    refusal = domain.check_use(chosen, cmd.unit_code, cmd.document_type, now)
    if refusal is not None:
        return await refuse(refusal.code, chosen.seal_id if chosen else None)
    assert chosen is not None
    row = next(r for r in rows if r.seal_id == chosen.seal_id)

    formats, refusal_code = choose_formats(settings.seal_formats, cmd)
    if refusal_code is not None:
        return await refuse(refusal_code, row.seal_id)
    if DocumentFormat.OFD in formats:
        await seals.ensure_sm2_twin(svc, uow, row, now)

    year = domain.local_date(now).year
    seq = await store.next_document_seq(session, cmd.unit_code, year)
    document_no = domain.document_number(cmd.unit_code, year, seq)

    # the document: given, or rendered from content
    started = time.perf_counter()
    box: SealBox | None = None
    made: list[tuple[DocumentFormat, bytes, SignatureFormat, str]] = []  # format, file, signature, cert serial
    if DocumentFormat.PDF not in formats:
        pass
    elif cmd.pdf_base64:
        try:
            pdf = base64.b64decode(cmd.pdf_base64, validate=True)
        except (binascii.Error, ValueError):
            return await refuse(RefusalCode.BAD_DOCUMENT, row.seal_id)
        if len(pdf) > settings.seal_max_pdf_bytes or not pdf.startswith(b"%PDF-"):
            return await refuse(RefusalCode.BAD_DOCUMENT, row.seal_id)
        if cmd.seal_box is not None:
            b = cmd.seal_box
            box = SealBox(b.page, b.x1, b.y1, b.x2, b.y2)
    elif cmd.content is not None:
        c = cmd.content
        notice = Notice(
            title=cmd.title,
            unit_name=row.unit_name,
            addressee=c.addressee,
            paragraphs=list(c.paragraphs),
            issued_on=c.issued_on or domain.local_date(now),
            numbers=[*c.numbers.items(), ("文书编号", document_no)],
            footer=f"本文书加盖电子印章，可在 {public_page_url(svc, document_no)} 核验。",
        )
        pdf, rendered_box = await asyncio.to_thread(render_notice, notice)
        box = rendered_box
        if cmd.seal_box is not None:
            b = cmd.seal_box
            box = SealBox(b.page, b.x1, b.y1, b.x2, b.y2)
    else:
        return await refuse(RefusalCode.NO_DOCUMENT, row.seal_id)

    if DocumentFormat.PDF in formats:
        signer = root.provider(svc).signer_for(root.seal_key(svc, row))  # a key problem is not the request's fault: raise
        try:
            signed = await seal_pdf(
                pdf, signer, seals.face_pdf(row), box=box,
                reason=f"{row.seal_name}：{cmd.title}", location=settings.seal_county_name,
                signer_name=row.unit_name,
            )
        except SealingError as exc:
            log.info("document for %s cannot be sealed: %s", cmd.request_id, exc)
            return await refuse(RefusalCode.BAD_DOCUMENT, row.seal_id)
        made.append((DocumentFormat.PDF, signed, SignatureFormat.PADES, row.cert_serial))
    if DocumentFormat.OFD in formats:
        assert cmd.content is not None
        c = cmd.content
        notice = ofd.OfdNotice(
            title=cmd.title, unit_name=row.unit_name, addressee=c.addressee, paragraphs=list(c.paragraphs),
            issued_on=c.issued_on or domain.local_date(now), numbers=[*c.numbers.items(), ("文书编号", document_no)],
            footer=f"本文书加盖电子印章，可在 {public_page_url(svc, document_no)} 核验。",
            doc_id=uuid.uuid5(_OUTCOME_NS, document_no).hex,
        )
        sealed_ofd = await asyncio.to_thread(seal_ofd_notice, svc, row, notice, now)
        made.append((DocumentFormat.OFD, sealed_ofd, SignatureFormat.SES_V4, row.sm2_cert_serial or ""))

    files: list[tuple[store.DocumentFileRow, SealedFile]] = []
    for fmt, data, sig_format, serial in made:
        rel = Path(str(year)) / cmd.unit_code / f"{document_no}.{fmt.value}"
        await asyncio.to_thread(_write_file, settings.documents_dir / rel, data)
        file_row = store.DocumentFileRow(
            document_no=document_no, format=fmt.value, token=secrets.token_urlsafe(24), signature=sig_format.value,
            sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data), path=rel.as_posix(), cert_serial=serial,
        )
        files.append((file_row, _sealed_file(svc, file_row)))
        session.add(file_row)
    primary = files[0][0]  # the PDF when one was made
    signed = made[0][1]
    digest, token, rel_path = primary.sha256, primary.token, primary.path
    session.add(store.DocumentRow(
        document_no=document_no, token=token, request_id=cmd.request_id, receipt_no=cmd.receipt_no,
        unit_code=cmd.unit_code, year=year, seq=seq, seal_id=row.seal_id, document_type=cmd.document_type.value,
        title=cmd.title, sha256=digest, size_bytes=len(signed), path=rel_path, signed_at=now,
        requested_by=cmd.requested_by,
    ))
    session.add(store.RequestRow(
        request_id=cmd.request_id, event_id=event_id, receipt_no=cmd.receipt_no, unit_code=cmd.unit_code,
        document_type=cmd.document_type.value, requested_by=cmd.requested_by, received_at=now,
        outcome="sealed", document_no=document_no,
    ))
    await store.append_log(
        session, at=now, action="sealed", unit_code=cmd.unit_code, seal_id=row.seal_id,
        document_no=document_no, request_id=cmd.request_id,
        detail={"document_type": cmd.document_type.value, "sha256": digest, "cert_serial": primary.cert_serial,
                "files": {f.format: {"sha256": f.sha256, "cert_serial": f.cert_serial} for f, _ in files},
                "requested_by": cmd.requested_by, "receipt_no": cmd.receipt_no},
    )
    event = DocumentSealed(
        request_id=cmd.request_id, receipt_no=cmd.receipt_no, unit_code=cmd.unit_code, document_no=document_no,
        document_type=cmd.document_type, sha256=digest, size_bytes=len(signed),
        url=document_url(svc, token, primary.format), seal_id=row.seal_id, seal_serial=primary.cert_serial,
        signed_at=now, files=[f for _, f in files],
    )
    await uow.emit(event, id=eid)
    if metrics is not None:
        metrics.sealed.labels(cmd.unit_code, cmd.document_type.value).inc()
        metrics.seconds.observe(time.perf_counter() - started)
    log.info("sealed %s for request %s", document_no, cmd.request_id)
    return event


def choose_formats(county: list[str], cmd: SealDocument) -> tuple[list[DocumentFormat], RefusalCode | None]:
    """The formats to seal, PDF first: those asked for (each one the county issues), or without
    ``formats`` (requesters that predate it, e.g. notify) the county's formats this request can
    make — and the PDF when it can make none of them, so that a setting never loses a notice.
    An OFD is rendered from ``content``."""
    issued = [DocumentFormat(f) for f in county]
    can = [f for f in (DocumentFormat.PDF, DocumentFormat.OFD)
           if (f == DocumentFormat.PDF and (cmd.pdf_base64 or cmd.content)) or (f == DocumentFormat.OFD and cmd.content)]
    if not cmd.pdf_base64 and cmd.content is None:
        return [], RefusalCode.NO_DOCUMENT
    if cmd.formats is None:
        chosen = [f for f in can if f in issued]
        return (chosen or [DocumentFormat.PDF]), None
    wanted = [f for f in (DocumentFormat.PDF, DocumentFormat.OFD) if f in cmd.formats]
    if not wanted or any(f not in issued for f in wanted):
        return [], RefusalCode.BAD_DOCUMENT   # a format this county does not issue
    if any(f not in can for f in wanted):
        return [], RefusalCode.NO_DOCUMENT    # an OFD asked for without content to render it from
    return wanted, None


def seal_ofd_notice(svc: "Service", row: store.SealRow, notice: ofd.OfdNotice, now: datetime) -> bytes:
    """The notice as an OFD sealed with the seal's SM2 twin (GB/T 38540 v4 SES_Signature)."""
    assert row.sm2_key_pem and row.sm2_cert_pem and row.ses_seal
    key = root.protector(svc).open_sm2(row.sm2_key_pem.encode())
    cert = gmpki.load_cert(row.sm2_cert_pem.encode())
    package, place = ofd.render_notice(notice)

    def sign(signature_xml: bytes, property_info: str) -> bytes:
        return ses.make_signature(seal_der=row.ses_seal, signer_cert=cert, signer_key=key, data=signature_xml,
                                  property_info=property_info, at=now)

    settings = root.settings_of(svc)
    return ofd.seal_ofd(package, place, sign, at=now, provider="OneWindow seal",
                        company=f"{settings.seal_county_name}行政审批服务中心")


def _sealed_file(svc: "Service", f: store.DocumentFileRow) -> SealedFile:
    return SealedFile(format=DocumentFormat(f.format), signature=SignatureFormat(f.signature), sha256=f.sha256,
                      size_bytes=f.size_bytes, url=document_url(svc, f.token, f.format), cert_serial=f.cert_serial)


async def _repeat(svc: "Service", uow: UnitOfWork, earlier: store.RequestRow) -> Event:
    """The first answer to a request again."""
    session = uow.session
    if earlier.outcome == "sealed" and earlier.document_no:
        doc = await session.get(store.DocumentRow, earlier.document_no)
        assert doc is not None
        seal = await session.get(store.SealRow, doc.seal_id)
        files = await store.document_files(session, doc.document_no)
        files.sort(key=lambda f: f.format != "pdf")
        primary = next((f for f in files if f.token == doc.token), None)
        return DocumentSealed(
            request_id=doc.request_id, receipt_no=doc.receipt_no, unit_code=doc.unit_code,
            document_no=doc.document_no, document_type=doc.document_type, sha256=doc.sha256,
            size_bytes=doc.size_bytes, url=document_url(svc, doc.token, primary.format if primary else "pdf"),
            seal_id=doc.seal_id,
            seal_serial=primary.cert_serial if primary else (seal.cert_serial if seal else ""),
            signed_at=store.aware(doc.signed_at), files=[_sealed_file(svc, f) for f in files],
        )
    code = RefusalCode(earlier.reason_code or RefusalCode.SIGNING_FAILED.value)
    return SealingRefused(
        request_id=earlier.request_id, receipt_no=earlier.receipt_no, unit_code=earlier.unit_code,
        document_type=earlier.document_type, reason_code=code, reason=REFUSAL_TEXT[code],
        refused_at=store.aware(earlier.received_at),
    )


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


# -- verifying and reading -----------------------------------------------------------------------

@dataclass(frozen=True)
class Checked:
    """A PDF verified now, and the registered document with exactly its content, if any."""

    verification: Verification
    registered: store.DocumentRow | None


@dataclass(frozen=True)
class PublicRecord:
    """A sealed document's public record: no personal data, its stored file verified now."""

    document: store.DocumentRow
    seal: store.SealRow | None
    checked: Checked
    formats: tuple[str, ...] = ()


async def verify(svc: "Service", uow: UnitOfWork, data: bytes, *, declared_ofd: bool = False) -> Checked:
    """Verify a sealed PDF (against the county root and its CRL) or OFD (against the SM2 root and
    its CRL), and look it up in the register. A file declared an OFD (type or name) that is none
    is refused: ``domain.InvalidInput`` on ``file`` with the reason."""
    await root.ensure_open(svc)
    if declared_ofd or ofd.is_ofd(data):
        parts = root.sm2(svc)
        current_sm2 = await root.current_sm2_crl(uow.session)
        try:
            v = await asyncio.to_thread(verify_ofd, data, parts.root_cert, current_sm2.crl if current_sm2 else None)
        except ofd.OfdError as exc:
            raise domain.InvalidInput("file", str(exc)) from None
    else:
        ca = root.authority(svc)
        current = await root.current_crl(uow.session)
        v = await verify_pdf(data, ca.root_cert, current.crl if current else None)
    docs = await store.documents_by_sha256(uow.session, v.sha256)
    return Checked(v, docs[0] if docs else None)


async def public_record(svc: "Service", uow: UnitOfWork, document_no: str) -> PublicRecord:
    await root.ensure_open(svc)
    if not plausible_key(document_no, 64):
        raise domain.NotFound("document_no", "没有这个编号的用印文书")
    doc = await uow.session.get(store.DocumentRow, document_no)
    if doc is None:
        raise domain.NotFound("document_no", f"没有编号为 {document_no} 的用印文书")
    seal = await uow.session.get(store.SealRow, doc.seal_id)
    data = await asyncio.to_thread((root.settings_of(svc).documents_dir / doc.path).read_bytes)
    formats = tuple(f.format for f in await store.document_files(uow.session, document_no)) or ("pdf",)
    return PublicRecord(doc, seal, await verify(svc, uow, data), formats)


async def document_file(svc: "Service", uow: UnitOfWork, token: str, fmt: str = "pdf") -> tuple[store.DocumentRow, bytes]:
    """A sealed document and its file in one format, by its reference (a ``url`` of ``DocumentSealed``)."""
    await root.ensure_open(svc)
    doc: store.DocumentRow | None = None
    path: str | None = None
    if plausible_key(token, 64):
        f = await store.file_by_token(uow.session, token)
        if f is not None and f.format == fmt:
            doc, path = await uow.session.get(store.DocumentRow, f.document_no), f.path
        elif f is None and fmt == "pdf":  # documents sealed before the formats had their own rows
            doc = await store.document_by_token(uow.session, token)
            path = doc.path if doc is not None else None
    if doc is None or path is None:
        raise domain.NotFound("token", "文书不存在或链接无效")
    data = await asyncio.to_thread((root.settings_of(svc).documents_dir / path).read_bytes)
    return doc, data
