"""``/deadline/notices``: supervision notices (业务督办通知书) and their replies."""

from __future__ import annotations

from fastapi import APIRouter, Query

from contracts.common import UnitCode
from services.runtime.auth import CurrentStaff, Supervisor, UnitHead
from services.runtime.deps import UoW

from ..schemas import NoticeIn, NoticeOut, ReplyIn
from ..usecases import oversight
from .deps import State

router = APIRouter()


@router.post("/notices", response_model=NoticeOut, status_code=201,
             summary="Raise a supervision notice (业务督办通知书) to a unit (supervisor, center admin)")
async def create_notice(body: NoticeIn, staff: Supervisor, uow: UoW, st: State) -> NoticeOut:
    v = await oversight.create_notice(
        uow, st, staff, unit_code=body.unit_code, receipt_no=body.receipt_no, reason=body.reason,
        reply_days=body.reply_days, origin=body.origin,
    )
    return NoticeOut.of(v)


@router.get("/notices", response_model=list[NoticeOut], summary="Supervision notices")
async def list_notices(
    staff: CurrentStaff, uow: UoW, unit_code: UnitCode | None = None,
    open_only: bool = Query(False, description="Only notices not replied to."),
    limit: int = Query(200, ge=1, le=1000),
) -> list[NoticeOut]:
    views = await oversight.list_notices(uow, staff, unit_code=unit_code, open_only=open_only, limit=limit)
    return [NoticeOut.of(v) for v in views]


@router.get("/notices/{notice_no}", response_model=NoticeOut, summary="One supervision notice")
async def get_notice(notice_no: str, staff: CurrentStaff, uow: UoW) -> NoticeOut:
    return NoticeOut.of(await oversight.get_notice(uow, notice_no, staff))


@router.post("/notices/{notice_no}/reply", response_model=NoticeOut,
             summary="Reply to a supervision notice: it is closed (unit head of the unit)")
async def reply(notice_no: str, body: ReplyIn, staff: UnitHead, uow: UoW) -> NoticeOut:
    return NoticeOut.of(await oversight.reply(uow, notice_no, staff, text=body.reply))
