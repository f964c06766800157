"""FastAPI dependency aliases for routes (full-stack-fastapi-template style)::

    @router.post("/things")
    async def create(body: ThingCreate, staff: CurrentStaff, uow: UoW) -> ThingPublic:
        ...; await uow.emit(ThingCreated(...)); await uow.commit()
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from .uow import UnitOfWork

if TYPE_CHECKING:
    from .app import Service


async def get_service(request: Request) -> "Service":
    # async: a plain def would cost every route a hand-off to the thread pool
    return request.app.state.service


async def get_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    async with request.app.state.service.uow() as uow:
        yield uow


ServiceDep = Annotated["Service", Depends(get_service)]
UoW = Annotated[UnitOfWork, Depends(get_uow)]
