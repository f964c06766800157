"""``GET /providers/health``: the SMS provider's health and the message backlog (staff)."""

from __future__ import annotations

from fastapi import APIRouter

from services.runtime import CurrentStaff, ServiceDep, UoW

from .. import store
from ..schemas import ProviderHealthOut

router = APIRouter(tags=["notify"])


@router.get("/providers/health", summary="The SMS provider's health and the message backlog (staff)")
async def provider_health(staff: CurrentStaff, uow: UoW, service: ServiceDep) -> ProviderHealthOut:
    health = service.state.provider.health()
    return ProviderHealthOut(provider=health.provider, ok=health.ok, detail=health.detail, **health.extra,
                             messages=await store.message_counts(uow.session))
