"""The access log (访问留痕) for the center's auditors: who read which applicant's unmasked data
in notify (SMS texts, sealed notices' links), when, on which case, which fields."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from services.runtime import CurrentStaff, UoW
from services.runtime.access_log import AccessEntry
from services.runtime.params import Offset

from ..usecases.access_log import access_log_for

router = APIRouter(tags=["audit"])


@router.get("/access-log", summary="个人信息访问留痕（中心督查人员、管理员）")
async def access_log(
    staff: CurrentStaff, uow: UoW,
    receipt_no: Annotated[str | None, Query(description="受理编号", max_length=40)] = None,
    staff_id: Annotated[str | None, Query(description="查看人", max_length=64)] = None,
    since: Annotated[AwareDatetime | None, Query(description="自该时刻起（含）")] = None,
    until: Annotated[AwareDatetime | None, Query(description="至该时刻止（不含）")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Offset = 0,
) -> list[AccessEntry]:
    return await access_log_for(uow, staff, receipt_no=(receipt_no or "").strip().upper() or None,
                                staff_id=staff_id, since=since, until=until, limit=limit, offset=offset)
