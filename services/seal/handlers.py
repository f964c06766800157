"""Kafka: SealDocument commands in, DocumentSealed or SealingRefused out (through the outbox).

Idempotent twice over: the runtime's inbox drops a redelivered command (same ``ce_id``), and a
repeated ``request_id`` (a requester's retry with a new ``ce_id``) gets the first answer again
without sealing a second document.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.base import Event
from contracts.intake import UnitRegistered
from contracts.seal import (
    REFUSAL_TEXT, DocumentSealed, RefusalCode, SealDocument, SealingRefused, SealKind,
)
from services.runtime.consumer import HandlerContext

from . import domain, issuing, store
from .office import SealOffice
from .render import Notice, render_notice
from .signing import SealBox, SealingError, seal_pdf

if TYPE_CHECKING:
    from services.runtime.app import Service

log = logging.getLogger(__name__)

_OUTCOME_NS = uuid.UUID("6f1d7c1e-7f0b-4a59-9a55-2f5b1c4e5a01")

Emit = Callable[..., Awaitable[object]]


def outcome_id(cause_id: str) -> str:
    """The outcome event's id, derived from the command's ``ce_id``: a replayed command that gets
    past the inbox cannot publish two different outcome ids."""
    return str(uuid.uuid5(_OUTCOME_NS, f"{cause_id}/outcome"))


class SealMetrics:
    """Business metrics of sealing (one set per service instance)."""

    def __init__(self, service: "Service") -> None:
        m = service.metrics
        self.sealed = m.counter("documents_sealed", "Documents sealed.", ("unit", "document_type"))
        self.refused = m.counter("requests_refused", "Stamp requests refused.", ("reason",))
        self.seconds = m.histogram("sealing_seconds", "Time to render (if asked) and sign one document.")


def register(service: "Service", office: SealOffice) -> None:
    office.metrics = SealMetrics(service)

    if service.settings.seal_auto_issue:  # type: ignore[attr-defined]

        @service.handler(UnitRegistered, name="seal_auto_issue")
        async def on_unit_registered(event: UnitRegistered, ctx: HandlerContext) -> None:
            await office.ensure_open(service.db)
            existing = await store.seals_of(ctx.session, event.unit_code)
            if any(r.kind == SealKind.APPROVAL.value and r.revoked_at is None for r in existing):
                return
            try:
                await issuing.issue(
                    office, ctx.session, ctx.emit, "auto-issue", unit_code=event.unit_code,
                    unit_name=event.unit_name, seal_name="行政审批专用章", seal_no="2", kind=SealKind.APPROVAL,
                    start_date=datetime.now(domain.CENTER_TZ).date(), scope=domain.DEFAULT_SCOPE, approvals_until=None,
                )
            except domain.RuleViolation as exc:
                log.info("no seal auto-issued for %s: %s", event.unit_code, exc.reason)

    @service.handler(SealDocument, name="seal_documents")
    async def on_seal_document(cmd: SealDocument, ctx: HandlerContext) -> None:
        await office.ensure_open(service.db)
        await handle_seal_document(office, cmd, ctx.session, ctx.emit, ctx.event_id)


def document_url(office: SealOffice, token: str) -> str:
    return f"{office.settings.public_url}/seal/files/{token}.pdf"


def public_page_url(office: SealOffice, document_no: str) -> str:
    return f"{office.settings.public_url}/seal/documents/{document_no}"


async def handle_seal_document(
    office: SealOffice, cmd: SealDocument, session: AsyncSession, emit: Emit, event_id: str,
    now: datetime | None = None,
) -> Event:
    now = now or datetime.now(UTC)
    eid = outcome_id(event_id)

    earlier = await session.get(store.RequestRow, cmd.request_id)
    if earlier is not None:
        event = await _repeat(office, session, cmd, earlier, now)
        await emit(event, id=eid)
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
        await emit(event, id=eid)
        if office.metrics is not None:
            office.metrics.refused.labels(code.value).inc()
        log.info("stamp request %s refused: %s", cmd.request_id, code.value)
        return event

    rows = await store.seals_of(session, cmd.unit_code)
    chosen = domain.pick_seal([r.rule_view() for r in rows], cmd.unit_code, cmd.seal_kind, now)
    refusal = domain.check_use(chosen, cmd.unit_code, cmd.document_type, now)
    if refusal is not None:
        return await refuse(refusal.code, chosen.seal_id if chosen else None)
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
        if len(pdf) > office.settings.seal_max_pdf_bytes or not pdf.startswith(b"%PDF-"):
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
            footer=f"本文书加盖电子印章，可在 {public_page_url(office, document_no)} 核验。",
        )
        pdf, rendered_box = await asyncio.to_thread(render_notice, notice)
        box = rendered_box
        if cmd.seal_box is not None:
            b = cmd.seal_box
            box = SealBox(b.page, b.x1, b.y1, b.x2, b.y2)
    else:
        return await refuse(RefusalCode.NO_DOCUMENT, row.seal_id)

    signer = office.provider.signer_for(office.seal_key(row))  # a key problem is not the request's fault: raise
    try:
        signed = await seal_pdf(
            pdf, signer, office.face_pdf(row), box=box,
            reason=f"{row.seal_name}：{cmd.title}", location=office.settings.seal_county_name,
            signer_name=row.unit_name,
        )
    except SealingError as exc:
        log.info("document for %s cannot be sealed: %s", cmd.request_id, exc)
        return await refuse(RefusalCode.BAD_DOCUMENT, row.seal_id)

    digest = hashlib.sha256(signed).hexdigest()
    rel = Path(str(year)) / cmd.unit_code / f"{document_no}.pdf"
    await asyncio.to_thread(_write_file, office.settings.documents_dir / rel, signed)
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
        document_type=cmd.document_type, sha256=digest, size_bytes=len(signed), url=document_url(office, token),
        seal_id=row.seal_id, seal_serial=row.cert_serial, signed_at=now,
    )
    await emit(event, id=eid)
    if office.metrics is not None:
        office.metrics.sealed.labels(cmd.unit_code, cmd.document_type.value).inc()
        office.metrics.seconds.observe(time.perf_counter() - started)
    log.info("sealed %s for request %s", document_no, cmd.request_id)
    return event


async def _repeat(office: SealOffice, session: AsyncSession, cmd: SealDocument, earlier: store.RequestRow,
                  now: datetime) -> Event:
    if earlier.outcome == "sealed" and earlier.document_no:
        doc = await session.get(store.DocumentRow, earlier.document_no)
        assert doc is not None
        seal = await session.get(store.SealRow, doc.seal_id)
        return DocumentSealed(
            request_id=doc.request_id, receipt_no=doc.receipt_no, unit_code=doc.unit_code,
            document_no=doc.document_no, document_type=doc.document_type, sha256=doc.sha256,
            size_bytes=doc.size_bytes, url=document_url(office, doc.token), seal_id=doc.seal_id,
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
