"""What every seal router shares: the root opened before any route runs, the upload reader."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, UploadFile

from ..domain import DocumentTooLarge, InvalidInput, UnsupportedUpload
from ..usecases import root

PDF = "application/pdf"


async def opened(request: Request) -> None:
    """Router dependency: the county root is open before any route runs."""
    await root.ensure_open(request.app.state.service)


def seal_router() -> APIRouter:
    """A router of the seal service's resources (all under ``/seal``)."""
    return APIRouter(prefix="/seal", tags=["seal"], dependencies=[Depends(opened)])


async def uploaded(request: Request, file: UploadFile | None) -> bytes:
    """The PDF of a verification request: the multipart field ``file`` or the body itself
    (``application/pdf``), at most ``ONEWINDOW_SEAL_MAX_PDF_BYTES``."""
    limit = root.settings_of(request.app.state.service).seal_max_pdf_bytes
    if file is not None:
        data = await file.read(limit + 1)
    else:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in (PDF, "application/octet-stream"):
            raise UnsupportedUpload("file", "请上传PDF文件（Content-Type: application/pdf，或表单字段 file）")
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
