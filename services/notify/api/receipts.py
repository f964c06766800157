"""``POST /notify/sms/receipts/aliyun``: delivery receipts pushed by the cloud SMS provider (public;
the callback URL's secret ``?token=`` tells its pushes from anyone's). The same push is also taken
at its old path ``/sms/receipts/aliyun`` (``legacy_router``, outside the service's prefix):
providers are configured with that callback URL, and changing it is a ticket with the provider."""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.runtime import ServiceDep, UoW, clock
from services.runtime.auth import PUBLIC_RAW_INPUT

from ..domain import MalformedPush
from ..schemas import ReceiptPushAck
from ..usecases import messages

router = APIRouter(tags=["notify"])
legacy_router = APIRouter(tags=["notify"])


@legacy_router.post("/sms/receipts/aliyun", deprecated=True, **PUBLIC_RAW_INPUT,
                    summary="Delivery receipts at the old callback path (providers configured with it)")
@router.post("/sms/receipts/aliyun", summary="Delivery receipts pushed by the cloud SMS provider (SmsReport)",
             **PUBLIC_RAW_INPUT)
async def aliyun_reports(request: Request, uow: UoW, service: ServiceDep) -> ReceiptPushAck:
    state = service.state
    messages.check_receipt_token(state.settings, request.query_params.get("token"))
    try:
        payload = await request.json()
    except ValueError:
        raise MalformedPush(None, "回执格式错误：应为JSON数组") from None
    await messages.take_aliyun_receipts(uow, payload, clock.now(), state.metrics)
    await uow.commit()
    return ReceiptPushAck(code=0, msg="成功")  # the answer the provider expects
