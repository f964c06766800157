"""What every seal router shares: the root opened before any route runs, the upload reader."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, UploadFile

from ..domain import DocumentTooLarge, InvalidInput, UnsupportedUpload
from ..usecases import root

PDF = "application/pdf"
OFD = "application/ofd"
#: what a verification upload may declare itself as
_UPLOAD_TYPES = (PDF, OFD, "application/zip", "application/octet-stream")


async def opened(request: Request) -> None:
    """Router dependency: the county root is open before any route runs."""
    await root.ensure_open(request.app.state.service)


def seal_router() -> APIRouter:
    """A router of the seal service's resources (all under ``/seal``)."""
    return APIRouter(prefix="/seal", tags=["seal"], dependencies=[Depends(opened)])


def declared_ofd(request: Request, file: UploadFile | None) -> bool:
    """The upload says it is an OFD (its type or its name)."""
    if file is not None:
        return (file.content_type or "").lower() == OFD or (file.filename or "").lower().endswith(".ofd")
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == OFD


async def uploaded(request: Request, file: UploadFile | None) -> bytes:
    """The PDF or OFD of a verification request: the multipart field ``file`` or the body itself
    (``application/pdf``, ``application/ofd``), at most ``ONEWINDOW_SEAL_MAX_PDF_BYTES``."""
    limit = root.settings_of(request.app.state.service).seal_max_pdf_bytes
    if file is not None:
        data = await file.read(limit + 1)
    else:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in _UPLOAD_TYPES:
            raise UnsupportedUpload("file", "请上传PDF或OFD文件（Content-Type: application/pdf 或 application/ofd，或表单字段 file）")
        data = b""
        async for chunk in request.stream():
            data += chunk
            if len(data) > limit:
                break
    if len(data) > limit:
        raise DocumentTooLarge("file", f"文件超过 {limit // (1024 * 1024)} MB")
    if not data:
        raise InvalidInput("file", "文件为空")
    return data
