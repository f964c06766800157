"""Public zh-CN pages: the verification page with its upload form, and a sealed document's page."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jinja2
from fastapi import Request, UploadFile
from fastapi.responses import HTMLResponse

from services.runtime.auth import PUBLIC
from services.runtime.deps import ServiceDep, UoW
from services.runtime.workdays import TZ

from .. import domain
from ..usecases import root
from .deps import declared_ofd, seal_router, uploaded
from .documents import document_status_of, verification_answer

if TYPE_CHECKING:
    from services.runtime.app import Service

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
)

router = seal_router()


def _page(svc: "Service", template: str, **values: Any) -> HTMLResponse:
    # ``office``: the settings the pages name (county, public URL); ``tz``: times are shown local
    office = root.settings_of(svc)
    response = HTMLResponse(_env.get_template(template).render(office=office, tz=TZ, **values))
    response.headers.update(hardening_headers(office.public_url))
    return response


def hardening_headers(public_url: str) -> dict[str, str]:
    """The public pages' headers: no script at all, the one inline stylesheet, the upload form
    only to this service (``public_url``, which may be another origin behind a proxy), never
    framed, no referrer (a document number in the URL stays here). The pages change nothing (the
    upload is only read and answered), so they carry no CSRF token."""
    split = urlsplit(public_url)
    origin = f"{split.scheme}://{split.netloc}" if split.scheme and split.netloc else ""
    return {
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                                   f"form-action 'self' {origin}".rstrip() + "; frame-ancestors 'none'; base-uri 'none'",
        "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }


@router.get("/verify", response_class=HTMLResponse, summary="Public verification page", **PUBLIC)
async def verify_page(svc: ServiceDep) -> HTMLResponse:
    return _page(svc, "verify.html.j2", answer=None)


@router.post("/verify/result", response_class=HTMLResponse, summary="Verification page's result", **PUBLIC)
async def verify_page_result(request: Request, svc: ServiceDep, uow: UoW, file: UploadFile) -> HTMLResponse:
    answer = await verification_answer(svc, uow, await uploaded(request, file), ofd=declared_ofd(request, file))
    return _page(svc, "verify.html.j2", answer=answer)


@router.get("/documents/{document_no}", response_class=HTMLResponse,
            summary="A sealed document's public page (zh-CN)", **PUBLIC)
async def document_page(document_no: str, svc: ServiceDep, uow: UoW) -> HTMLResponse:
    status = await document_status_of(svc, uow, document_no)
    type_label = domain.DOCUMENT_TITLES.get(status.document_type, str(status.document_type))
    return _page(svc, "document.html.j2", d=status, type_label=type_label)
