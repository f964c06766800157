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
from contracts.seal import REFUSAL_TEXT, DocumentSealed, RefusalCode, SealDocument, SealingRefused
from services.runtime import clock
from services.runtime.metrics import RuntimeMetrics
from services.runtime.params import plausible_key
from services.runtime.uow import UnitOfWork

from .. import domain, store
from ..adapters.render import Notice, render_notice
from ..adapters.signing import SealBox, SealingError, seal_pdf
from ..adapters.verify import Verification, verify_pdf
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


def document_url(svc: "Service", token: str) -> str:
    return f"{root.settings_of(svc).public_url}/seal/files/{token}.pdf"


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

    year = domain.local_date(now).year
    seq = await store.next_document_seq(session, cmd.unit_code, year)
    document_no = domain.document_number(cmd.unit_code, year, seq)

    # the document: given, or rendered from content
    started = time.perf_counter()
    box: SealBox | None = None
    if cmd.pdf_base64:
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

    digest = hashlib.sha256(signed).hexdigest()
    rel = Path(str(year)) / cmd.unit_code / f"{document_no}.pdf"
    await asyncio.to_thread(_write_file, settings.documents_dir / rel, signed)
    token = secrets.token_urlsafe(24)
    session.add(store.DocumentRow(
        document_no=document_no, token=token, request_id=cmd.request_id, receipt_no=cmd.receipt_no,
        unit_code=cmd.unit_code, year=year, seq=seq, seal_id=row.seal_id, document_type=cmd.document_type.value,
        title=cmd.title, sha256=digest, size_bytes=len(signed), path=rel.as_posix(), signed_at=now,
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
        detail={"document_type": cmd.document_type.value, "sha256": digest, "cert_serial": row.cert_serial,
                "requested_by": cmd.requested_by, "receipt_no": cmd.receipt_no},
    )
    event = DocumentSealed(
        request_id=cmd.request_id, receipt_no=cmd.receipt_no, unit_code=cmd.unit_code, document_no=document_no,
        document_type=cmd.document_type, sha256=digest, size_bytes=len(signed), url=document_url(svc, token),
        seal_id=row.seal_id, seal_serial=row.cert_serial, signed_at=now,
    )
    await uow.emit(event, id=eid)
    if metrics is not None:
        metrics.sealed.labels(cmd.unit_code, cmd.document_type.value).inc()
        metrics.seconds.observe(time.perf_counter() - started)
    log.info("sealed %s for request %s", document_no, cmd.request_id)
    return event


async def _repeat(svc: "Service", uow: UnitOfWork, earlier: store.RequestRow) -> Event:
    """The first answer to a request again."""
    session = uow.session
    if earlier.outcome == "sealed" and earlier.document_no:
        doc = await session.get(store.DocumentRow, earlier.document_no)
        assert doc is not None
        seal = await session.get(store.SealRow, doc.seal_id)
        return DocumentSealed(
            request_id=doc.request_id, receipt_no=doc.receipt_no, unit_code=doc.unit_code,
            document_no=doc.document_no, document_type=doc.document_type, sha256=doc.sha256,
            size_bytes=doc.size_bytes, url=document_url(svc, doc.token), seal_id=doc.seal_id,
            seal_serial=seal.cert_serial if seal else "", signed_at=store.aware(doc.signed_at),
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


async def verify(svc: "Service", uow: UnitOfWork, pdf: bytes) -> Checked:
    """Verify a PDF against the county root and the current CRL, and look it up in the register."""
    await root.ensure_open(svc)
    ca = root.authority(svc)
    current = await root.current_crl(uow.session)
    v = await verify_pdf(pdf, ca.root_cert, current.crl if current else None)
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
    pdf = await asyncio.to_thread((root.settings_of(svc).documents_dir / doc.path).read_bytes)
    return PublicRecord(doc, seal, await verify(svc, uow, pdf))


async def document_file(svc: "Service", uow: UnitOfWork, token: str) -> tuple[store.DocumentRow, bytes]:
    """A sealed document and its PDF, by its reference (the ``url`` of ``DocumentSealed``)."""
    await root.ensure_open(svc)
    doc = await store.document_by_token(uow.session, token) if plausible_key(token, 64) else None
    if doc is None:
        raise domain.NotFound("token", "文书不存在或链接无效")
    pdf = await asyncio.to_thread((root.settings_of(svc).documents_dir / doc.path).read_bytes)
    return doc, pdf
