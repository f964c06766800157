"""The public status lookup (受理编号 + 手机号后四位) and the rating (好差评), rate-limited per
client (counted in the shared database: the limit holds across replicas). ``pages.py`` calls these same functions for the HTML forms."""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.runtime import PUBLIC, UoW

from .. import usecases
from ..domain.cases import PublicStatus
from ..schemas import LookupIn, PublicRatingIn, RatingAck
from .deps import State, client_key

router = APIRouter(tags=["public"])


async def _rate_limit(request: Request, st: usecases.IntakeState) -> None:
    await usecases.rate_limit(st, client_key(request, st.settings.intake_trust_forwarded_for))


@router.post("/public/status", summary="办件查询（受理编号 + 手机号后四位）", **PUBLIC)
async def public_status(body: LookupIn, request: Request, uow: UoW, st: State) -> PublicStatus:
    await _rate_limit(request, st)
    return await usecases.public_status(uow, st, body)


@router.post("/public/ratings", status_code=201, summary="办件评价（好差评），每件一次", **PUBLIC)
async def public_rating(body: PublicRatingIn, request: Request, uow: UoW, st: State) -> RatingAck:
    await _rate_limit(request, st)
    app, rect = await usecases.public_rating(uow, st, body)
    return RatingAck(receipt_no=app.receipt_no, level=body.level, level_label=body.level.label,
                     rectification_opened=rect is not None)
