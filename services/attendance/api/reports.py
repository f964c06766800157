"""Monthly attendance reports: JSON, and a workbook (``adapters/workbook.py``)."""

from __future__ import annotations

from fastapi import Response

from services.runtime import UnitHead, UoW

from ..adapters import workbook
from ..schemas import MonthlyReportOut, MonthStr, PeriodStr
from ..usecases import reports
from .deps import AttendanceDep, staff_router

router = staff_router()


@router.get("/reports/monthly/{period}", summary="Monthly attendance per person and per window (JSON)")
async def monthly_json(period: MonthStr, staff: UnitHead, uow: UoW, att: AttendanceDep,
                       details: bool = False) -> MonthlyReportOut:
    report = await reports.monthly_report_for(uow, att, period, staff)
    return MonthlyReportOut.of(report, details=details)


@router.get("/reports/monthly/{period}/xlsx", summary="Monthly attendance as a spreadsheet",
            response_class=Response, responses={200: {"content": {workbook.XLSX_MEDIA_TYPE: {}}}})
async def monthly_xlsx(period: PeriodStr, staff: UnitHead, uow: UoW, att: AttendanceDep) -> Response:
    data = await reports.workbook_data_for(uow, att, period, staff)
    body = workbook.to_bytes(workbook.workbook(data.report, data.evaluation, data.names))
    return Response(body, media_type=workbook.XLSX_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{workbook.xlsx_filename(period)}"'})
