"""``GET /s/{code}``: the short link to a sealed notice (public), a redirect to the PDF."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from services.runtime import PUBLIC, UoW
from services.runtime.errors import NotFound
from services.runtime.params import plausible_key

from ..store import ShortLinkRow

router = APIRouter(tags=["notify"])


@router.get("/s/{code}", summary="Short link to a sealed notice (redirects to the PDF)", **PUBLIC,
            response_class=RedirectResponse, status_code=307)
async def short_link(code: str, uow: UoW) -> RedirectResponse:
    row = await uow.session.get(ShortLinkRow, code) if plausible_key(code, 16) else None
    if row is None:
        raise NotFound("code", "链接无效或已失效")
    return RedirectResponse(row.target_url, status_code=307)
