"""The applicant search (staff): cases by the applicant's name, company name, or a fragment of
the resident ID or mobile; masked answers; every search on the access log (who searched for
what), since a search by name is itself a look at a person's dealings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.runtime import CurrentStaff, UoW

from .. import usecases
from ..schemas import ApplicantHit
from .deps import State, actor_of, unit_scope

router = APIRouter(tags=["applications"])


@router.get("/applicants", summary="按申请人查询案件（姓名、单位名称，或证件号码、手机号码的一部分；结果遮蔽）")
async def search_applicants(
    staff: CurrentStaff, uow: UoW, st: State,
    q: Annotated[str, Query(description="申请人姓名或单位名称（至少2个字），或证件号码、手机号码的一部分（至少4位）",
                            max_length=40)],
    unit: Annotated[str | None, Query(max_length=12, description="单位（督查、管理员可选；窗口人员为本单位）")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[ApplicantHit]:
    apps = await usecases.search_applicants(uow, st, actor_of(staff), q, unit_scope(staff, unit), limit)
    return [ApplicantHit.of(a) for a in apps]
