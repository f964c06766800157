"""The access log (访问留痕) for the center's auditors: who read which applicant's unmasked data,
when, on which case, which fields. Append-only (the database refuses UPDATE and DELETE)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from services.runtime import CurrentStaff, UoW
from services.runtime.params import Offset

from .. import usecases
from ..store import AccessLogRow, aware
from .deps import actor_of

router = APIRouter(tags=["audit"])


class AccessView(BaseModel):
    """One read of an applicant's unmasked data."""

    id: int = Field(description="序号（只增不改）")
    at: datetime = Field(description="查看时间")
    staff_id: str = Field(description="查看人")
    role: str = Field(description="查看人角色")
    staff_unit: str | None = Field(description="查看人所在单位")
    receipt_no: str = Field(description="受理编号")
    fields: list[str] = Field(description="看到的未遮蔽字段，如 applicant.mobile")
    action: str = Field(description="接口")

    @classmethod
    def of(cls, r: AccessLogRow) -> "AccessView":
        return cls(id=r.id or 0, at=aware(r.at), staff_id=r.staff_id, role=r.role, staff_unit=r.staff_unit,  # type: ignore[arg-type]
                   receipt_no=r.receipt_no, fields=[f for f in r.fields.split(",") if f], action=r.action)


@router.get("/access-log", summary="个人信息访问留痕（中心督查人员、管理员）")
async def access_log(
    staff: CurrentStaff, uow: UoW,
    receipt_no: Annotated[str | None, Query(description="受理编号", max_length=40)] = None,
    staff_id: Annotated[str | None, Query(description="查看人", max_length=64)] = None,
    since: Annotated[AwareDatetime | None, Query(description="自该时刻起（含）")] = None,
    until: Annotated[AwareDatetime | None, Query(description="至该时刻止（不含）")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Offset = 0,
) -> list[AccessView]:
    rows = await usecases.access_log(uow, actor_of(staff), receipt_no=(receipt_no or "").strip().upper() or None,
                                     staff_id=staff_id, since=since, until=until, limit=limit, offset=offset)
    return [AccessView.of(r) for r in rows]
