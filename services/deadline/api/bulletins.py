"""``/deadline/bulletins``: the monthly bulletin (定期通报), as JSON and as a zh-CN document."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from services.runtime.auth import CurrentStaff, Supervisor
from services.runtime.deps import UoW

from ..schemas import BulletinIn, BulletinOut
from ..usecases import oversight
from .deps import State

router = APIRouter()


@router.post("/bulletins", response_model=BulletinOut, response_model_exclude_unset=True, status_code=201,
             summary="Publish a month's bulletin (supervisor, center admin)")
async def publish_bulletin(body: BulletinIn, staff: Supervisor, uow: UoW, st: State) -> BulletinOut:
    return BulletinOut.of(await oversight.publish_bulletin(uow, st, body.period, staff))


@router.get("/bulletins/{period}", response_model=BulletinOut, response_model_exclude_unset=True,
            summary="A month's bulletin as JSON (the published one, or a live draft)")
async def get_bulletin(period: str, staff: CurrentStaff, uow: UoW, st: State) -> BulletinOut:
    return BulletinOut.of(await oversight.get_bulletin(uow, st, period))


@router.get("/bulletins/{period}/document", response_class=PlainTextResponse,
            summary="A month's bulletin as a readable zh-CN document (Markdown)")
async def bulletin_document(period: str, staff: CurrentStaff, uow: UoW, st: State) -> PlainTextResponse:
    text = await oversight.bulletin_document(uow, st, period)
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")
