"""What every intake router shares: the service's state as a dependency, the acting staff
member, the unit a query may cover, the client a public request comes from."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.runtime import Staff
from services.runtime.errors import NotAllowed

from ..domain.access import Actor
from ..usecases import IntakeState


async def get_state(request: Request) -> IntakeState:
    # async: FastAPI runs a plain ``def`` dependency in its thread pool, a hand-off per request.
    return request.app.state.service.state.intake


#: intake's shared objects (``service.state.intake``): settings, metrics, rate limiter, clock.
State = Annotated[IntakeState, Depends(get_state)]


def actor_of(staff: Staff) -> Actor:
    return Actor(staff_id=staff.sub, role=staff.role, unit_code=staff.unit)


def unit_scope(staff: Staff, unit: str | None) -> str | None:
    """Clerks and unit heads see their own unit; oversight sees the one asked for (or all)."""
    if staff.center_wide:
        return unit
    if unit and unit != staff.unit:
        raise NotAllowed("unit", "只能查看本单位的数据")
    return staff.unit


def client_key(request: Request, trust_forwarded: bool) -> str:
    if trust_forwarded:
        fwd = request.headers.get("x-forwarded-for")
        if fwd:
            return fwd.split(",")[0].strip()
    return request.client.host if request.client else "unknown"
