"""Year-end assessment notices (年终考核结果通知书) for the staff member's unit: its head lists and
opens its own unit's; supervisors and the center admin every unit's; a clerk none (403). The
center admin sends a failed one to the seal service again."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from contracts.common import UnitCode
from services.runtime import CenterAdmin, ServiceDep, UnitHead, UoW, clock
from services.runtime.params import Offset

from ..schemas import AssessmentNoticeOut, AssessmentNoticePage
from ..usecases import assessments

router = APIRouter(tags=["notify"])

MEDIA = {"pdf": "application/pdf", "ofd": "application/ofd"}


@router.get("/assessment-notices", summary="Year-end assessment notices of a unit (its head; supervisors, center admin)")
async def list_assessment_notices(
    staff: UnitHead, uow: UoW, unit_code: UnitCode | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="考核年度")] = None,
    staff_id: Annotated[str | None, Query(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Offset = 0,
) -> AssessmentNoticePage:
    total, rows = await assessments.search(uow, staff, unit_code=unit_code, year=year, staff_id=staff_id,
                                           limit=limit, offset=offset)
    return AssessmentNoticePage(total=total, items=[AssessmentNoticeOut.of(r) for r in rows])


@router.get("/assessment-notices/{notice_id}", summary="One year-end assessment notice")
async def get_assessment_notice(notice_id: str, staff: UnitHead, uow: UoW) -> AssessmentNoticeOut:
    return AssessmentNoticeOut.of(await assessments.get(uow, staff, notice_id))


@router.get("/assessment-notices/{notice_id}/file", summary="The sealed notice itself (PDF or OFD)",
            response_class=Response, responses={200: {"content": {MEDIA["pdf"]: {}, MEDIA["ofd"]: {}}}})
async def assessment_notice_file(notice_id: str, staff: UnitHead, uow: UoW, service: ServiceDep,
                                 format: Literal["pdf", "ofd"] = "pdf") -> Response:
    row = await assessments.get(uow, staff, notice_id)
    data = await assessments.fetch_sealed(service.settings, row, format)  # type: ignore[arg-type]
    name = f"assessment-{row.year}-{row.staff_id}{'-appeal' if row.on_appeal else ''}.{format}"
    return Response(data, media_type=MEDIA[format], headers={
        "Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "private, no-store"})


@router.post("/assessment-notices/{notice_id}/retry", summary="Send a failed assessment notice to the seal again (center admin)")
async def retry_assessment_notice(notice_id: str, staff: CenterAdmin, uow: UoW, service: ServiceDep) -> AssessmentNoticeOut:
    state = service.state
    row = await assessments.retry(uow, state.settings, state.metrics, notice_id, clock.now())
    await uow.commit()
    return AssessmentNoticeOut.of(row)
