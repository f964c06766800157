"""Survey opt-outs (public): stop and resume survey invitations to a number (never legal notices)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from contracts.common import mask_mobile
from services.runtime import PUBLIC, UoW

from ..schemas import OPT_OUT_NOTE, OptOutIn, OptOutOut
from ..usecases import messages

router = APIRouter(tags=["notify"])


@router.post("/opt-outs", status_code=201, summary="Stop survey invitations to a number (not legal notices)", **PUBLIC)
async def opt_out(body: OptOutIn, uow: UoW) -> OptOutOut:
    mobile = await messages.opt_out(uow, body.mobile)
    await uow.commit()
    return OptOutOut(mobile=mask_mobile(mobile), surveys=False, note=OPT_OUT_NOTE)


@router.delete("/opt-outs/{mobile}", status_code=204, summary="Receive survey invitations again", **PUBLIC)
async def opt_in(mobile: str, uow: UoW) -> Response:
    if await messages.opt_in(uow, mobile):
        await uow.commit()
    return Response(status_code=204)
