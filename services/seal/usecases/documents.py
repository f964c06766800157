"""Sealed documents: a SealDocument command sealed (or refused), a PDF verified, a sealed document's
public record and its file.

A request is a SealDocument v1 (a notice or decision of an application) or v2 (the same, or a
document of the center's that belongs to no application: a ``reference`` instead of a receipt
number, only the center's seal); every outcome is a v2 event (``reference`` added).

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
import multiprocessing
import secrets
import time
import uuid
import weakref
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization

from contracts.base import Event
from contracts.seal import (
    REFUSAL_TEXT, DocumentFormat, DocumentSealed, RefusalCode, SealDocument, SealDocumentV1, SealedFile,
    SealingRefused, SignatureFormat,
)
from services.runtime import clock
from services.runtime.metrics import RuntimeMetrics
from services.runtime.params import plausible_key
from services.runtime.uow import UnitOfWork

from .. import domain, store
from ..adapters import gmpki, ofd, ses
from ..adapters.render import Notice, render_notice_kept
from ..adapters.signing import SealBox, SealingError, SealKey, SoftwareSignerProvider, seal_pdf
from ..adapters.verify import Verification, verify_ofd, verify_pdf
from . import root, seals

if TYPE_CHECKING:
    from pyhanko.sign.signers.pdf_cms import Signer

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
    svc: "Service", uow: UnitOfWork, cmd: "SealDocument | SealDocumentV1", event_id: str,
    now: datetime | None = None,
) -> Event:
    """Seal the document a command asks for (or refuse it, with a reason), in the caller's unit of
    work: the file, the rows, the usage-log entry and the outcome event. The caller commits."""
    return (await seal_documents(svc, uow, [(cmd, event_id)], now=now))[0]


async def seal_documents(
    svc: "Service", uow: UnitOfWork, items: list[tuple["SealDocument | SealDocumentV1", str]],
    now: datetime | None = None,
) -> list[Event]:
    """Seal (or refuse) several commands, ``(command, event id)``, in the caller's unit of work,
    their outcomes in order. Three steps: each command is checked and given its document number
    (one after the other, in the transaction); each document is rendered and signed as soon as
    its command is planned — in the signing processes when ``seal_sign_workers`` is set, so a
    batch uses every core while this process plans and records; then each is recorded (file,
    rows, usage-log entry, outcome) one after the other, in order, so the usage log's
    hash-chained appends stay serialized in this transaction. A request id twice in
    the items: the second waits for the first's record (it gets the first answer again)."""
    await root.ensure_open(svc)
    events: list[Event | None] = [None] * len(items)
    todo = list(enumerate(items))
    while todo:
        wave: list[tuple[int, tuple[SealDocument | SealDocumentV1, str]]] = []
        later: list[tuple[int, tuple[SealDocument | SealDocumentV1, str]]] = []
        ids: set[str] = set()
        for index, item in todo:
            (later if item[0].request_id in ids else wave).append((index, item))
            ids.add(item[0].request_id)
        writes = _Writes(await _earlier_requests(uow, [item[0].request_id for _i, item in wave]))
        plans: list[tuple[int, _Plan, asyncio.Task]] = []
        signing = _SigningBatch(svc)
        try:
            for index, (cmd, event_id) in wave:
                planned = await _plan(svc, uow, cmd, event_id, now, writes)
                if isinstance(planned, _Plan):  # in process: signing starts now, while the next is planned
                    plans.append((index, planned, asyncio.create_task(_produce(svc, planned, signing.add(planned)))))
                else:
                    events[index] = planned
            signing.dispatch()  # the signing processes': the wave's PDFs in one job list per process
            for index, plan, task in plans:  # recorded in order, while the later ones are signed
                events[index] = await _record(svc, uow, plan, await task, writes)
        finally:
            for _i, _p, task in plans:
                task.cancel()
            signing.cancel()
        await writes.flush(uow)
        todo = later
    return [e for e in events if e is not None]


class _Writes:
    """A wave's rows and usage-log entries, written at its end with one INSERT per table (the
    log's entries chained in the order they were asked for); and what the wave read once for
    all its commands: the stamp requests already answered, the unit's seals, the next numbers."""

    def __init__(self, earlier: dict[str, store.RequestRow]) -> None:
        self.earlier = earlier
        self.seals: dict[str, list[store.SealRow]] = {}
        self.views: dict[str, list[domain.Seal]] = {}  # the rules' view of each, made once per wave
        self.taken: dict[tuple[str, int], int] = {}
        self.requests: list[dict] = []
        self.documents: list[dict] = []
        self.files: list[dict] = []
        self.log: list[dict] = []

    async def seals_of(self, session, unit_code: str) -> list[store.SealRow]:  # type: ignore[no-untyped-def]
        if unit_code not in self.seals:
            self.seals[unit_code] = await store.seals_of(session, unit_code)
            self.views[unit_code] = [r.rule_view() for r in self.seals[unit_code]]
        return self.seals[unit_code]

    async def next_seq(self, session, unit_code: str, year: int) -> int:  # type: ignore[no-untyped-def]
        key = (unit_code, year)
        seq = self.taken[key] + 1 if key in self.taken else await store.next_document_seq(session, unit_code, year)
        self.taken[key] = seq
        return seq

    async def flush(self, uow: UnitOfWork) -> None:
        await store.insert_rows(uow.session, self.requests, self.documents, self.files)
        await store.append_logs(uow.session, self.log)
        self.requests, self.documents, self.files, self.log = [], [], [], []


async def _earlier_requests(uow: UnitOfWork, request_ids: list[str]) -> dict[str, store.RequestRow]:
    """The stamp requests among these already answered (a requester's retry): one query."""
    from sqlmodel import select

    rows = (await uow.session.exec(select(store.RequestRow).where(store.RequestRow.request_id.in_(request_ids)))).all()
    return {r.request_id: r for r in rows}


def _request_values(cmd: "SealDocument | SealDocumentV1", event_id: str, now: datetime, outcome: str,
                    document_no: str | None = None, reason_code: str | None = None) -> dict:
    return {"request_id": cmd.request_id, "event_id": event_id, "receipt_no": cmd.receipt_no,
            "reference": reference_of(cmd), "unit_code": cmd.unit_code, "document_type": cmd.document_type.value,
            "requested_by": cmd.requested_by, "received_at": now, "outcome": outcome, "document_no": document_no,
            "reason_code": reason_code}


@dataclass
class _Plan:
    """A command checked and numbered, waiting for its files."""

    cmd: "SealDocument | SealDocumentV1"
    event_id: str
    eid: str
    now: datetime
    row: store.SealRow
    formats: list[DocumentFormat]
    year: int
    seq: int
    document_no: str
    started: float
    pdf: bytes | None = None
    notice: Notice | None = None
    box: SealBox | None = None


@dataclass(frozen=True)
class SealMaterial:
    """What a signing process needs of one seal: its certificate, chain, encrypted key and
    picture (~25 KB). Sent to each signing process once and kept there under its ``ident`` (the
    seal id and a digest of all of it: a renewed, re-keyed or renamed seal is another), so that
    a job carries only that key."""

    ident: str
    seal_id: str
    cert_pem: bytes
    chain_pem: tuple[bytes, ...]
    encrypted_key_pem: bytes
    face: bytes

    @classmethod
    def of(cls, seal_id: str, cert_pem: bytes, chain_pem: tuple[bytes, ...], encrypted_key_pem: bytes,
           face: bytes) -> "SealMaterial":
        h = hashlib.sha256()
        for part in (seal_id.encode(), cert_pem, *chain_pem, encrypted_key_pem, face):
            h.update(len(part).to_bytes(8, "big"))
            h.update(part)
        return cls(f"{seal_id}/{h.hexdigest()[:32]}", seal_id, cert_pem, chain_pem, encrypted_key_pem, face)


@dataclass(frozen=True)
class PdfJob:
    """One PDF to render (from ``notice``) or take (``pdf``) and seal in a signing process: the
    seal by its material's ``ident``, and the material itself only when the process may lack it
    (a process that lacks it answers None and gets the job again with it)."""

    seal: str
    reason: str
    location: str
    signer_name: str
    pdf: bytes | None = None
    notice: Notice | None = None
    box: SealBox | None = None
    #: Where the signing process writes the sealed PDF (it answers its SHA-256 and size only, so
    #: the file never crosses the pipe); None: the PDF itself is the answer.
    path: str | None = None
    material: SealMaterial | None = None


async def _refuse(
    svc: "Service", uow: UnitOfWork, cmd: "SealDocument | SealDocumentV1", event_id: str, now: datetime,
    code: RefusalCode,
    seal_id: str | None = None,
    writes: "_Writes | None" = None,
) -> Event:
    metrics: SealMetrics | None = getattr(svc.state, "metrics", None)
    request = _request_values(cmd, event_id, now, "refused", reason_code=code.value)
    entry = dict(at=now, action="refused", unit_code=cmd.unit_code, seal_id=seal_id, request_id=cmd.request_id,
                 detail={"document_type": cmd.document_type.value, "reason_code": code.value,
                         "requested_by": cmd.requested_by, **_subject(cmd.receipt_no, reference_of(cmd))})
    if writes is not None:  # written with the wave's other rows
        writes.requests.append(request)
        writes.log.append(entry)
    else:
        await store.insert_rows(uow.session, requests=[request])
        await store.append_logs(uow.session, [entry])
    event = SealingRefused(
        request_id=cmd.request_id, receipt_no=cmd.receipt_no, reference=reference_of(cmd), unit_code=cmd.unit_code,
        document_type=cmd.document_type, reason_code=code, reason=REFUSAL_TEXT[code], refused_at=now,
    )
    await uow.emit(event, id=outcome_id(event_id))
    if metrics is not None:
        metrics.refused.labels(code.value).inc()
    log.info("stamp request %s refused: %s", cmd.request_id, code.value)
    return event


async def _plan(
    svc: "Service", uow: UnitOfWork, cmd: "SealDocument | SealDocumentV1", event_id: str, now: datetime | None,
    writes: _Writes,
) -> "Event | _Plan":
    """The rules, the formats and the document number; the refusal (recorded) when refused."""
    settings = root.settings_of(svc)
    session = uow.session
    now = now or clock.now()
    eid = outcome_id(event_id)

    earlier = writes.earlier.get(cmd.request_id)
    if earlier is not None:
        event = await _repeat(svc, uow, earlier)
        await uow.emit(event, id=eid)
        return event

    rows = await writes.seals_of(session, cmd.unit_code)
    chosen = domain.pick_seal(writes.views[cmd.unit_code], cmd.unit_code, cmd.seal_kind, now)
    refusal = domain.check_use(chosen, cmd.unit_code, cmd.document_type, now,
                               center_unit_code=settings.seal_center_unit_code)
    if refusal is not None:
        return await _refuse(svc, uow, cmd, event_id, now, refusal.code, chosen.seal_id if chosen else None, writes)
    assert chosen is not None
    row = next(r for r in rows if r.seal_id == chosen.seal_id)

    formats, refusal_code = choose_formats(settings.seal_formats, cmd)
    if refusal_code is not None:
        return await _refuse(svc, uow, cmd, event_id, now, refusal_code, row.seal_id, writes)
    if DocumentFormat.OFD in formats:
        await seals.ensure_sm2_twin(svc, uow, row, now)

    year = domain.local_date(now).year
    seq = await writes.next_seq(session, cmd.unit_code, year)
    document_no = domain.document_number(cmd.unit_code, year, seq)
    plan = _Plan(cmd, event_id, eid, now, row, formats, year, seq, document_no, time.perf_counter())

    # the document: given, or rendered from content
    if DocumentFormat.PDF not in formats:
        pass
    elif cmd.pdf_base64:
        try:
            pdf = base64.b64decode(cmd.pdf_base64, validate=True)
        except (binascii.Error, ValueError):
            return await _refuse(svc, uow, cmd, event_id, now, RefusalCode.BAD_DOCUMENT, row.seal_id, writes)
        if len(pdf) > settings.seal_max_pdf_bytes or not pdf.startswith(b"%PDF-"):
            return await _refuse(svc, uow, cmd, event_id, now, RefusalCode.BAD_DOCUMENT, row.seal_id, writes)
        plan.pdf = pdf
    elif cmd.content is not None:
        c = cmd.content
        plan.notice = Notice(
            title=cmd.title,
            unit_name=row.unit_name,
            addressee=c.addressee,
            paragraphs=list(c.paragraphs),
            issued_on=c.issued_on or domain.local_date(now),
            numbers=[*c.numbers.items(), ("文书编号", document_no)],
            footer=f"本文书加盖电子印章，可在 {public_page_url(svc, document_no)} 核验。",
        )
    else:
        return await _refuse(svc, uow, cmd, event_id, now, RefusalCode.NO_DOCUMENT, row.seal_id, writes)
    if cmd.seal_box is not None:
        b = cmd.seal_box
        plan.box = SealBox(b.page, b.x1, b.y1, b.x2, b.y2)
    return plan


@dataclass(frozen=True)
class _File:
    """A sealed file as written under the documents folder."""

    format: DocumentFormat
    sha256: str
    size: int
    signature: SignatureFormat
    cert_serial: str
    path: str  # relative to the documents folder


_Made = list[_File]


def _relpath(plan: "_Plan", fmt: DocumentFormat) -> str:
    return (Path(str(plan.year)) / plan.cmd.unit_code / f"{plan.document_no}.{fmt.value}").as_posix()


class _SigningBatch:
    """A wave's PDFs for the signing processes: collected while the wave is planned, then sent
    as one job list per process (not one call per PDF: one pickle, one pipe message and one
    wake-up of this process per list); a process that lacks the seal's material answers None for
    those jobs, which are sent again with it."""

    def __init__(self, svc: "Service") -> None:
        self.svc = svc
        self.items: list[tuple[PdfJob, SealMaterial, asyncio.Future]] = []
        self.tasks: list[asyncio.Task] = []

    def add(self, plan: _Plan) -> "asyncio.Future[tuple[str, int]] | None":
        """The plan's PDF, to be signed in a signing process (its SHA-256 and size to come);
        None when it is made in this process (no signing processes, a hardware key) or not at all."""
        if DocumentFormat.PDF not in plan.formats:
            return None
        svc, cmd, row = self.svc, plan.cmd, plan.row
        pool = _pool(svc, root.provider(svc))
        if pool is None:
            return None
        settings = root.settings_of(svc)
        material = _material(svc, row)
        job = PdfJob(
            seal=material.ident, reason=f"{row.seal_name}：{cmd.title}", location=settings.seal_county_name,
            signer_name=row.unit_name, pdf=plan.pdf, notice=plan.notice, box=plan.box,
            path=str(settings.documents_dir / _relpath(plan, DocumentFormat.PDF)),
        )
        future: asyncio.Future[tuple[str, int]] = asyncio.get_running_loop().create_future()
        self.items.append((job, material, future))
        return future

    def dispatch(self) -> None:
        if not self.items:
            return
        pool = _pool(self.svc, root.provider(self.svc))
        assert pool is not None
        n = max(1, min(len(self.items), getattr(pool, "_max_workers", 1)))
        size = -(-len(self.items) // n)
        for i in range(0, len(self.items), size):
            self.tasks.append(asyncio.create_task(self._run(pool, self.items[i:i + size])))
        self.items = []

    async def _run(self, pool: ProcessPoolExecutor,
                   items: list[tuple[PdfJob, SealMaterial, asyncio.Future]]) -> None:
        loop = asyncio.get_running_loop()
        try:
            answers = await loop.run_in_executor(pool, run_pdf_jobs_to_files, [job for job, _m, _f in items])
            missing = [i for i, a in enumerate(answers) if a is None]
            if missing:  # that process has not had this seal yet: once more, with it
                again = await loop.run_in_executor(pool, run_pdf_jobs_to_files,
                                                   [replace(items[i][0], material=items[i][1]) for i in missing])
                for i, a in zip(missing, again):
                    answers[i] = a
            for (_job, _m, future), answer in zip(items, answers):
                if future.done():
                    continue
                if isinstance(answer, BaseException):
                    future.set_exception(answer)
                elif answer is None:
                    future.set_exception(RuntimeError("a signing process did not take the seal's material"))
                else:
                    future.set_result(answer)
        except Exception as exc:  # e.g. a broken pool: each PDF's task gets it
            for _job, _m, future in items:
                if not future.done():
                    future.set_exception(exc)
        finally:
            for _job, _m, future in items:
                future.cancel()  # (no-op on those done)

    def cancel(self) -> None:
        for task in self.tasks:
            task.cancel()


async def _produce(svc: "Service", plan: _Plan, signed: "asyncio.Future[tuple[str, int]] | None" = None,
                   ) -> "_Made | RefusalCode":
    """The plan's files, rendered (if asked), sealed and written under the documents folder (a
    signing process writes its PDF itself: ``signed`` brings its SHA-256 and size); or why not."""
    settings = root.settings_of(svc)
    cmd, row = plan.cmd, plan.row
    made: _Made = []
    documents_dir = settings.documents_dir
    if DocumentFormat.PDF in plan.formats:
        provider = root.provider(svc)
        reason, location = f"{row.seal_name}：{cmd.title}", settings.seal_county_name
        try:
            if signed is not None:
                digest, size = await signed
            else:
                signer = provider.signer_for(root.seal_key(svc, row))  # a key problem is not the request's fault: raise
                signed = await seal_job_pdf(signer, seals.face_pdf(row), pdf=plan.pdf, notice=plan.notice,
                                            box=plan.box, reason=reason, location=location,
                                            signer_name=row.unit_name)
                digest, size = await asyncio.to_thread(
                    _write_file, documents_dir / _relpath(plan, DocumentFormat.PDF), signed)
        except SealingError as exc:
            log.info("document for %s cannot be sealed: %s", cmd.request_id, exc)
            return RefusalCode.BAD_DOCUMENT
        made.append(_File(DocumentFormat.PDF, digest, size, SignatureFormat.PADES, row.cert_serial,
                          _relpath(plan, DocumentFormat.PDF)))
    if DocumentFormat.OFD in plan.formats:
        assert cmd.content is not None
        c = cmd.content
        notice = ofd.OfdNotice(
            title=cmd.title, unit_name=row.unit_name, addressee=c.addressee, paragraphs=list(c.paragraphs),
            issued_on=c.issued_on or domain.local_date(plan.now),
            numbers=[*c.numbers.items(), ("文书编号", plan.document_no)],
            footer=f"本文书加盖电子印章，可在 {public_page_url(svc, plan.document_no)} 核验。",
            doc_id=uuid.uuid5(_OUTCOME_NS, plan.document_no).hex,
        )
        sealed_ofd = await asyncio.to_thread(seal_ofd_notice, svc, row, notice, plan.now)
        digest, size = await asyncio.to_thread(_write_file, documents_dir / _relpath(plan, DocumentFormat.OFD),
                                               sealed_ofd)
        made.append(_File(DocumentFormat.OFD, digest, size, SignatureFormat.SES_V4, row.sm2_cert_serial or "",
                          _relpath(plan, DocumentFormat.OFD)))
    return made


async def _record(svc: "Service", uow: UnitOfWork, plan: _Plan, made: "_Made | RefusalCode",
                  writes: _Writes) -> Event:
    """The plan's files registered, its usage-log entry and outcome (or its refusal); the rows go
    into ``writes``, written at the wave's end."""
    cmd, row, now, year, document_no = plan.cmd, plan.row, plan.now, plan.year, plan.document_no
    if isinstance(made, RefusalCode):
        return await _refuse(svc, uow, cmd, plan.event_id, now, made, row.seal_id, writes)
    metrics: SealMetrics | None = getattr(svc.state, "metrics", None)
    files: list[tuple[dict, SealedFile]] = []
    for f in made:
        values = {"document_no": document_no, "format": f.format.value, "token": secrets.token_urlsafe(24),
                  "signature": f.signature.value, "sha256": f.sha256, "size_bytes": f.size, "path": f.path,
                  "cert_serial": f.cert_serial}
        files.append((values, SealedFile(format=f.format, signature=f.signature, sha256=f.sha256, size_bytes=f.size,
                                         url=document_url(svc, values["token"], f.format.value),
                                         cert_serial=f.cert_serial)))
        writes.files.append(values)
    primary = files[0][0]  # the PDF when one was made
    digest, token, size = primary["sha256"], primary["token"], primary["size_bytes"]
    writes.documents.append({
        "document_no": document_no, "token": token, "request_id": cmd.request_id, "receipt_no": cmd.receipt_no,
        "reference": reference_of(cmd), "unit_code": cmd.unit_code, "year": year, "seq": plan.seq,
        "seal_id": row.seal_id, "document_type": cmd.document_type.value, "title": cmd.title, "sha256": digest,
        "size_bytes": size, "path": primary["path"], "signed_at": now, "requested_by": cmd.requested_by,
        "printed_no": cmd.printed_no,
    })
    writes.requests.append(_request_values(cmd, plan.event_id, now, "sealed", document_no=document_no))
    writes.log.append(dict(
        at=now, action="sealed", unit_code=cmd.unit_code, seal_id=row.seal_id,
        document_no=document_no, request_id=cmd.request_id,
        detail={"document_type": cmd.document_type.value, "sha256": digest, "cert_serial": primary["cert_serial"],
                "files": {f["format"]: {"sha256": f["sha256"], "cert_serial": f["cert_serial"]} for f, _ in files},
                "requested_by": cmd.requested_by, **_subject(cmd.receipt_no, reference_of(cmd))},
    ))
    event = DocumentSealed(
        request_id=cmd.request_id, receipt_no=cmd.receipt_no, reference=reference_of(cmd), unit_code=cmd.unit_code,
        document_no=document_no,
        document_type=cmd.document_type, sha256=digest, size_bytes=size,
        url=document_url(svc, token, primary["format"]), seal_id=row.seal_id, seal_serial=primary["cert_serial"],
        signed_at=now, files=[f for _, f in files],
    )
    await uow.emit(event, id=plan.eid)
    if metrics is not None:
        metrics.sealed.labels(cmd.unit_code, cmd.document_type.value).inc()
        metrics.seconds.observe(time.perf_counter() - plan.started)
    log.info("sealed %s for request %s", document_no, cmd.request_id)
    return event


# -- the signing processes (seal_sign_workers) ---------------------------------------------------

def _pool(svc: "Service", provider: object) -> ProcessPoolExecutor | None:
    """The service's signing processes, started on first use; None without ``seal_sign_workers``
    or with a provider other than the software one (a hardware module signs in this process)."""
    workers = int(getattr(root.settings_of(svc), "seal_sign_workers", 0) or 0)
    if workers <= 0 or not isinstance(provider, SoftwareSignerProvider):
        return None
    pool = getattr(svc.state, "sign_pool", None)
    if pool is None:
        # spawn: the service's process has threads (the database's, Kafka's) that fork would copy
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_start, initargs=(provider.protector,),
        )
        svc.state.sign_pool = pool
        weakref.finalize(svc, pool.shutdown, wait=False, cancel_futures=True)
        # Every process started now: the executor spawns one only when no process is idle, so
        # after a quiet start the second would be spawned (seconds: Python, pyHanko, ReportLab)
        # in the middle of the first burst, with a notice waiting on it.
        for _ in range(workers):
            pool.submit(_worker_ready)
    return pool


def _material(svc: "Service", row: store.SealRow) -> SealMaterial:
    """The seal's material for the signing processes, made once per seal (and root) and kept."""
    ca_root = root.authority(svc).root_cert
    cache: OrderedDict[tuple, SealMaterial] | None = getattr(svc.state, "seal_materials", None)
    if cache is None:
        cache = svc.state.seal_materials = OrderedDict()
    k = (row.seal_id, row.cert_pem, row.key_pem, row.unit_name, row.seal_name, row.seal_no, ca_root)
    material = cache.get(k)
    if material is None:
        key = root.seal_key(svc, row)
        if key.encrypted_key_pem is None:
            raise ValueError(f"seal {row.seal_id} has no software key")
        material = SealMaterial.of(row.seal_id, row.cert_pem.encode(),
                                   tuple(c.public_bytes(serialization.Encoding.PEM) for c in key.chain),
                                   key.encrypted_key_pem, seals.face_pdf(row))
        cache[k] = material
        while len(cache) > _SEALS_KEPT:
            cache.popitem(last=False)
    return material


_WORKER: dict[str, object] = {}
#: A signing process's seals, by their material's ident: the signer (key opened, CMS parts
#: encoded) and the picture. Least recently used out.
_SEALS: OrderedDict[str, tuple[Signer, bytes]] = OrderedDict()
_SEALS_KEPT = 256


def _worker_start(protector: object) -> None:
    _WORKER["provider"] = SoftwareSignerProvider(protector)  # type: ignore[arg-type]
    _WORKER["loop"] = asyncio.new_event_loop()


def _worker_ready() -> bool:
    return "provider" in _WORKER


def _signer_of(material: SealMaterial, provider: SoftwareSignerProvider) -> Signer:
    from cryptography import x509

    key = SealKey(material.seal_id, x509.load_pem_x509_certificate(material.cert_pem),
                  tuple(x509.load_pem_x509_certificate(c) for c in material.chain_pem), material.encrypted_key_pem)
    return provider.signer_for(key)


def run_pdf_job(job: PdfJob, provider: SoftwareSignerProvider | None = None) -> bytes | None:
    """Render (if asked) and seal one PDF, in a signing process (or here, given a provider and a
    job with its material). The seal's signer and picture, and the notice's template, are kept
    in the process for the next jobs; None when the job names a seal this process does not have
    and brings no material (send it again with it)."""
    if provider is not None:
        assert job.material is not None
        signer, face = _signer_of(job.material, provider), job.material.face
    else:
        kept = _SEALS.get(job.seal)
        if kept is None:
            if job.material is None or job.material.ident != job.seal:
                return None
            kept = _SEALS[job.seal] = (_signer_of(job.material, _WORKER["provider"]), job.material.face)  # type: ignore[arg-type]
            while len(_SEALS) > _SEALS_KEPT:
                _SEALS.popitem(last=False)
        else:
            _SEALS.move_to_end(job.seal)
        signer, face = kept
    loop = _WORKER.get("loop")
    coro = seal_job_pdf(signer, face, pdf=job.pdf, notice=job.notice, box=job.box, reason=job.reason,
                        location=job.location, signer_name=job.signer_name)
    if isinstance(loop, asyncio.AbstractEventLoop):
        return loop.run_until_complete(coro)
    return asyncio.run(coro)


async def seal_job_pdf(signer: "Signer", face: bytes, *, pdf: bytes | None, notice: Notice | None,
                       box: SealBox | None, reason: str, location: str, signer_name: str) -> bytes:
    """A PDF sealed: the one given, or the notice rendered — from its template's page, sealed by
    replaying the seal's update of that template's notices (``seal_pdf``'s ``kept``)."""
    kept = None
    if notice is not None:
        pdf, rendered_box, kept = render_notice_kept(notice)  # a template's page: well under 1 ms
        box = box or rendered_box  # (the box is part of what the kept update is for)
    assert pdf is not None
    return await seal_pdf(pdf, signer, face, box=box, reason=reason, location=location, signer_name=signer_name,
                          kept=kept)


def run_pdf_job_to_file(job: PdfJob) -> tuple[str, int] | None:
    """``run_pdf_job``, the PDF written to ``job.path``: its SHA-256 and size (None as there)."""
    assert job.path is not None
    sealed = run_pdf_job(job)
    return None if sealed is None else _write_file(Path(job.path), sealed)


def run_pdf_jobs_to_files(jobs: list[PdfJob]) -> list[tuple[str, int] | SealingError | None]:
    """``run_pdf_job_to_file`` for each job, in a signing process: a PDF that cannot be sealed
    answers its :class:`SealingError` (the others are still sealed)."""
    answers: list[tuple[str, int] | SealingError | None] = []
    for job in jobs:
        try:
            answers.append(run_pdf_job_to_file(job))
        except SealingError as exc:
            answers.append(exc)
    return answers


def reference_of(cmd: "SealDocument | SealDocumentV1") -> str | None:
    """A v2 request's reference (a document of no case); v1 requests have none."""
    return getattr(cmd, "reference", None)


def _subject(receipt_no: str | None, reference: str | None) -> dict[str, str | None]:
    """What the usage-log entry says the document is about: the receipt number as ever (the entries
    of case documents hash as before), or for a document of no case its reference."""
    return {"receipt_no": receipt_no} if receipt_no is not None else {"reference": reference}


def choose_formats(county: list[str], cmd: "SealDocument | SealDocumentV1") -> tuple[list[DocumentFormat], RefusalCode | None]:
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
            request_id=doc.request_id, receipt_no=doc.receipt_no, reference=doc.reference, unit_code=doc.unit_code,
            document_no=doc.document_no, document_type=doc.document_type, sha256=doc.sha256,
            size_bytes=doc.size_bytes, url=document_url(svc, doc.token, primary.format if primary else "pdf"),
            seal_id=doc.seal_id,
            seal_serial=primary.cert_serial if primary else (seal.cert_serial if seal else ""),
            signed_at=store.aware(doc.signed_at), files=[_sealed_file(svc, f) for f in files],
        )
    code = RefusalCode(earlier.reason_code or RefusalCode.SIGNING_FAILED.value)
    return SealingRefused(
        request_id=earlier.request_id, receipt_no=earlier.receipt_no, reference=earlier.reference,
        unit_code=earlier.unit_code,
        document_type=earlier.document_type, reason_code=code, reason=REFUSAL_TEXT[code],
        refused_at=store.aware(earlier.received_at),
    )


def _write_file(path: Path, data: bytes) -> tuple[str, int]:
    """Write (through a temporary name and a rename: never half a file); its SHA-256 and size.
    The folder is made when the write finds none (once per unit and year, not per file)."""
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_bytes(data)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
    tmp.replace(path)
    return hashlib.sha256(data).hexdigest(), len(data)


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
