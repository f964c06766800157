"""Rectification tasks (整改) opened by low ratings, closed by the unit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.runtime import CurrentStaff, UoW
from services.runtime.params import Offset

from .. import usecases
from ..domain.ratings import RectificationStatus
from ..schemas import CloseRectificationIn, RectificationView, rectification_view
from ..store import Store
from .deps import State, actor_of, unit_scope

router = APIRouter(tags=["ratings"])


@router.get("/rectifications", summary="整改任务（本单位；督查、管理员可看全部）")
async def list_rectifications(
    staff: CurrentStaff, uow: UoW, st: State,
    unit: Annotated[str | None, Query(max_length=12)] = None,
    status: Annotated[RectificationStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Offset = 0,
) -> list[RectificationView]:
    rows = await Store(uow.session).rectifications(unit_code=unit_scope(staff, unit), status=status, limit=limit,
                                                   offset=offset)
    # The applicant's comment may hold personal data: its reads are on the access log.
    await usecases.record_reads(uow, st, actor_of(staff), [(r.receipt_no, ["rating.comment"]) for r in rows
                                                           if r.comment], "GET /rectifications")
    return [rectification_view(r) for r in rows]


@router.post("/rectifications/{rectification_id}/close", summary="提交整改情况并办结")
async def close_rectification(rectification_id: str, body: CloseRectificationIn, staff: CurrentStaff, uow: UoW,
                              st: State) -> RectificationView:
    return rectification_view(await usecases.close_rectification(uow, st, actor_of(staff), rectification_id,
                                                                 body.response))
