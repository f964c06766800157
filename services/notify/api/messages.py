"""SMS for staff: search, one message, and settling a message whose outcome is unknown."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from contracts.common import ReceiptNo
from services.runtime import CurrentStaff, ServiceDep, Supervisor, UoW, clock
from services.runtime.params import Offset

from ..schemas import MessageOut, MessagePage, ResolveIn, TemplateName
from ..usecases import access_log, messages

router = APIRouter(tags=["notify"])


@router.get("/messages", summary="Search SMS (staff)")
async def list_messages(
    staff: CurrentStaff, uow: UoW,
    receipt_no: ReceiptNo | None = None, mobile: str | None = None,
    state: Annotated[str | None, Query(description="queued, deferred, sending, sent, delivered, failed, unknown, suppressed")] = None,
    template: TemplateName | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Offset = 0,
) -> MessagePage:
    total, rows = await messages.search_messages(uow, staff, receipt_no=receipt_no, mobile=mobile, state=state,
                                                 template=template, limit=limit, offset=offset)
    await access_log.record_messages(uow, staff, rows, "GET /notify/messages")
    return MessagePage(total=total, items=[MessageOut.of(r) for r in rows])


@router.get("/messages/{message_id}", summary="One SMS (staff)")
async def get_message(message_id: str, staff: CurrentStaff, uow: UoW) -> MessageOut:
    row = await messages.message_for(uow, staff, message_id)
    await access_log.record_messages(uow, staff, [row], "GET /notify/messages/{message_id}")
    return MessageOut.of(row)


@router.post("/messages/{message_id}/resolve", summary="Settle a message whose outcome is unknown (supervisors)")
async def resolve_message(message_id: str, body: ResolveIn, staff: Supervisor, uow: UoW,
                          service: ServiceDep) -> MessageOut:
    row = await messages.resolve_message(uow, staff, message_id, body.action, body.note, clock.now(),
                                         service.state.metrics)
    await uow.commit()
    if body.action == "resend":
        service.state.worker.wakeup.set()
    await access_log.record_messages(uow, staff, [row], "POST /notify/messages/{message_id}/resolve")
    return MessageOut.of(row)
