"""Public: verification of a sealed PDF (JSON), a sealed document's record verified now, and the
sealed PDF by its reference (capability URL)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import Request, UploadFile
from fastapi.responses import Response

from services.runtime.auth import PUBLIC
from services.runtime.deps import ServiceDep, UoW

from .. import domain
from ..schemas import DocumentStatus, VerificationAnswer
from ..usecases import documents
from .deps import OFD, PDF, declared_ofd, seal_router, uploaded

if TYPE_CHECKING:
    from services.runtime.app import Service

    from .. import store
    from services.runtime.uow import UnitOfWork

router = seal_router()


async def verification_answer(svc: "Service", uow: "UnitOfWork", data: bytes, *, ofd: bool = False) -> VerificationAnswer:
    checked = await documents.verify(svc, uow, data, declared_ofd=ofd)
    return VerificationAnswer.of(checked.verification, checked.registered)


async def document_status_of(svc: "Service", uow: "UnitOfWork", document_no: str) -> DocumentStatus:
    record = await documents.public_record(svc, uow, document_no)
    answer = VerificationAnswer.of(record.checked.verification, record.checked.registered)
    status = DocumentStatus.of(record.document, record.seal, answer)
    status.formats = list(record.formats)
    return status


@router.post(
    "/verify", response_model=VerificationAnswer,
    summary="Verify a sealed PDF or OFD (body application/pdf or application/ofd, or multipart field file)",
    **PUBLIC,
)
async def verify(request: Request, svc: ServiceDep, uow: UoW, file: UploadFile | None = None) -> VerificationAnswer:
    return await verification_answer(svc, uow, await uploaded(request, file), ofd=declared_ofd(request, file))


@router.get("/documents/{document_no}/status", response_model=DocumentStatus,
            summary="A sealed document's public record, verified now", **PUBLIC)
async def document_status(document_no: str, svc: ServiceDep, uow: UoW) -> DocumentStatus:
    return await document_status_of(svc, uow, document_no)


def disposition(kind: str, doc: "store.DocumentRow", ext: str) -> str:
    """The file named after the number printed on it: its ASCII form, and the number itself for
    browsers that read RFC 6266's UTF-8 ``filename*`` (issue 20: the name follows the notice)."""
    stem = domain.file_stem(doc.document_no, doc.document_type, doc.printed_no)
    value = f'{kind}; filename="{stem}.{ext}"'
    if doc.printed_no:
        value += f"; filename*=UTF-8''{quote(doc.printed_no + '.' + ext, safe='')}"
    return value


@router.get("/files/{token}.pdf", summary="Download a sealed document by its reference (capability URL)", **PUBLIC)
async def download(token: str, svc: ServiceDep, uow: UoW) -> Response:
    doc, pdf = await documents.document_file(svc, uow, token)
    return Response(pdf, media_type=PDF, headers={
        "Content-Disposition": disposition("inline", doc, "pdf"),
        "X-Content-SHA256": hashlib.sha256(pdf).hexdigest(), "Cache-Control": "private, no-store",
    })


@router.get("/files/{token}.ofd", summary="Download a sealed OFD by its reference (capability URL)", **PUBLIC)
async def download_ofd(token: str, svc: ServiceDep, uow: UoW) -> Response:
    doc, data = await documents.document_file(svc, uow, token, "ofd")
    return Response(data, media_type=OFD, headers={
        "Content-Disposition": disposition("attachment", doc, "ofd"),
        "X-Content-SHA256": hashlib.sha256(data).hexdigest(), "Cache-Control": "private, no-store",
    })
