"""两头受理 (accepting at both ends): units report the decisions they made outside the center, one
by one or as their own system's CSV export; supervision reads them and the count per unit."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from services.runtime import CurrentStaff, ServiceDep, UoW
from services.runtime.params import Offset
from services.runtime.problems import Problem

from ..usecases import outside
from ..domain import outside as rules
from ..domain.outside import OutsideOutcome, OutsideReport
from ..store import OutsideDecisionRow
from .deps import actor_of, unit_scope

router = APIRouter(tags=["outside"])

UnitPath = Annotated[str, Path(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_-]+$", description="单位代码")]
Month = Annotated[str, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="月份，YYYY-MM（按决定日期）")]
MAX_CSV_BYTES = 2_000_000


class OutsideDecisionIn(BaseModel):
    external_no: str = Field(max_length=60, description="本单位办件编号（本单位系统中的编号）")
    item_code: str = Field(max_length=64, description="事项编码")
    decided_on: date = Field(description="决定日期")
    outcome: OutsideOutcome = Field(description="approved（准予）或 refused（不予）")
    receipt_no: str | None = Field(None, max_length=40, description="中心受理编号（在中心受理过的才填）")


class OutsideDecisionView(BaseModel):
    decision_id: str
    unit_code: str
    item_code: str
    external_no: str
    decided_on: date
    outcome: str
    receipt_no: str | None
    flagged: bool = Field(description="应在中心办理却未经中心受理（两头受理）")
    source: str = Field(description="api 或 csv")
    reported_by: str
    reported_at: datetime

    @classmethod
    def of(cls, r: OutsideDecisionRow) -> "OutsideDecisionView":
        return cls.model_validate(r, from_attributes=True)


class OutsideReportOut(BaseModel):
    recorded: list[OutsideDecisionView] = Field(description="本次记录的决定")
    skipped: list[str] = Field(description="此前已报送、内容相同而跳过的办件编号")
    flagged: int = Field(description="本次发现的两头受理件数")


class OutsideUnitCount(BaseModel):
    unit_code: str
    unit_name: str | None
    reported: int = Field(description="报送的中心外决定")
    flagged: int = Field(description="其中两头受理")


def _out(result: outside.ReportResult) -> OutsideReportOut:
    return OutsideReportOut(recorded=[OutsideDecisionView.of(r) for r in result.recorded], skipped=result.skipped,
                            flagged=len(result.flagged))


@router.post("/units/{unit_code}/outside-decisions", status_code=201, summary="报送一件在中心外作出的决定（本单位）")
async def report_one(unit_code: UnitPath, body: OutsideDecisionIn, staff: CurrentStaff, uow: UoW,
                     service: ServiceDep) -> OutsideReportOut:
    ext, code, no = rules.normalise(body.external_no, body.item_code, body.receipt_no)
    report = OutsideReport(ext, code, body.decided_on, body.outcome, no)
    return _out(await outside.report(uow, service, actor_of(staff), unit_code.upper(), [report], "api"))


@router.post("/units/{unit_code}/outside-decisions/import", status_code=201,
             summary="导入本单位系统导出的中心外决定（CSV：external_no,item_code,decided_on,outcome,receipt_no）",
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}})
async def report_csv(unit_code: UnitPath, request: Request, staff: CurrentStaff, uow: UoW,
                     service: ServiceDep) -> OutsideReportOut:
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_CSV_BYTES:
            raise Problem(413, f"文件超过 {MAX_CSV_BYTES // 1_000_000} MB，请分批导入", field="file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(422, "文件应为 UTF-8 编码的 CSV（可在表格软件中另存为“CSV UTF-8”）", field="file") from None
    reports, errors = rules.parse_csv(text)
    if errors:
        raise Problem(422, f"有 {len(errors)} 处错误，整批未导入，请更正后重新导入", errors=errors)
    return _out(await outside.report(uow, service, actor_of(staff), unit_code.upper(), reports, "csv"))


@router.get("/outside-decisions", summary="中心外作出的决定（本单位；督查、管理员可看全部）")
async def list_decisions(
    staff: CurrentStaff, uow: UoW,
    unit: Annotated[str | None, Query(max_length=32, description="单位代码")] = None,
    flagged: Annotated[bool | None, Query(description="只看（或不看）两头受理")] = None,
    period: Month | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Offset = 0,
) -> list[OutsideDecisionView]:
    rows = await outside.decisions(uow, unit_code=unit_scope(staff, unit), flagged=flagged, period=period,
                                   limit=limit, offset=offset)
    return [OutsideDecisionView.of(r) for r in rows]


@router.get("/outside-decisions/summary", summary="两头受理按单位统计（督查、管理员）")
async def decisions_summary(staff: CurrentStaff, uow: UoW, period: Month | None = None) -> list[OutsideUnitCount]:
    return [OutsideUnitCount(**r) for r in await outside.summary(uow, actor_of(staff), period=period)]
