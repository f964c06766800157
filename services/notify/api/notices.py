"""Notices for staff: their saga state, and sending a failed one to the seal service again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from contracts.common import ReceiptNo
from services.runtime import CurrentStaff, ServiceDep, UoW, clock
from services.runtime.params import Offset

from ..schemas import NoticeOut, NoticePage
from ..usecases import access_log, notices

router = APIRouter(tags=["notify"])


@router.get("/notices", summary="Notices and their saga state (staff)")
async def list_notices(staff: CurrentStaff, uow: UoW, service: ServiceDep, receipt_no: ReceiptNo | None = None,
                       state: Annotated[str | None,
                                        Query(description="awaiting_contact, rendering, requested, sealed, released, failed")] = None,
                       limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Offset = 0) -> NoticePage:
    total, rows = await notices.search_notices(uow, staff, receipt_no=receipt_no, state=state, limit=limit,
                                               offset=offset)
    base = service.settings.public_url
    await access_log.record_notices(uow, staff, rows, "GET /notify/notices")
    return NoticePage(total=total, items=[NoticeOut.of(r, base) for r in rows])


@router.post("/notices/{notice_id}/retry", summary="Send a failed notice to the seal service again (staff)")
async def retry_notice(notice_id: str, staff: CurrentStaff, uow: UoW, service: ServiceDep) -> NoticeOut:
    row = await notices.retry_notice(uow, service.state.notices, staff, notice_id, clock.now())
    await uow.commit()
    await access_log.record_notices(uow, staff, [row], "POST /notify/notices/{notice_id}/retry")
    return NoticeOut.of(row, service.settings.public_url)
