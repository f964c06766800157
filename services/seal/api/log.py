"""Supervisors: the usage log's chain check, its entries in order, and the supervision queries."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query

from services.runtime.auth import PUBLIC, Supervisor
from services.runtime.deps import ServiceDep, UoW

from .. import store
from ..schemas import AnchorAnswer, ChainAnswer, CheckpointOut, LogEntryOut, MonthlyUse
from ..usecases import log
from .deps import seal_router

router = seal_router()

#: A unit code as the usage log may hold it: whatever a stamp request carried (the contracts' rule).
_LoggedUnit = Annotated[str | None, Query(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_-]+$",
                                          description="only this unit's entries")]


@router.get("/log/verify", response_model=ChainAnswer, summary="Verify the usage log's hash chain (supervisor)")
async def verify_log(staff: Supervisor, uow: UoW) -> ChainAnswer:
    return ChainAnswer.of(await log.verify_log(uow))


@router.get("/log/checkpoints/verify", response_model=AnchorAnswer,
            summary="Check the usage log against the signed checkpoints published on seal.log (supervisor)")
async def verify_against_checkpoints(staff: Supervisor, svc: ServiceDep, uow: UoW) -> AnchorAnswer:
    checked = await log.verify_against_checkpoints(svc, uow)
    return AnchorAnswer.of(checked.report, checked.refused)


@router.get("/log/checkpoints", response_model=list[CheckpointOut],
            summary="The usage log's signed checkpoints, as published on seal.log", **PUBLIC)
async def read_checkpoints(
    uow: UoW,
    after: Annotated[int, Query(ge=0, le=store.MAX_SEQ, description="checkpoints after this number")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[CheckpointOut]:
    return [CheckpointOut.of(r) for r in await log.read_checkpoints(uow, after, limit)]


@router.get("/log", response_model=list[LogEntryOut], summary="Usage log entries in order (supervisor)")
async def read_log(
    staff: Supervisor, uow: UoW,
    after: Annotated[int, Query(ge=0, le=store.MAX_SEQ, description="entries after this number")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[LogEntryOut]:
    return [LogEntryOut.of(r) for r in await log.read_log(uow, after, limit)]


@router.get("/supervision/usage", response_model=list[MonthlyUse], summary="Uses per unit per month (supervisor)")
async def usage_per_month(
    staff: Supervisor, uow: UoW,
    start: Annotated[date | None, Query(alias="from", description="first day (local); default first of this month")] = None,
    end: Annotated[date | None, Query(alias="to", description="last day (local); default today")] = None,
) -> list[MonthlyUse]:
    return [MonthlyUse.of(m) for m in await log.usage_per_month(uow, start, end)]


@router.get("/supervision/after-hours", response_model=list[LogEntryOut],
            summary="Documents sealed outside the hall's working hours (supervisor)")
async def after_hours(
    staff: Supervisor, svc: ServiceDep, uow: UoW,
    start: Annotated[date | None, Query(alias="from", description="first day (local)")] = None,
    end: Annotated[date | None, Query(alias="to", description="last day (local)")] = None,
    unit_code: _LoggedUnit = None,
) -> list[LogEntryOut]:
    return [LogEntryOut.of(r) for r in await log.after_hours(svc, uow, start, end, unit_code)]


@router.get("/supervision/refusals", response_model=list[LogEntryOut], summary="Refused stamp requests (supervisor)")
async def refusals(
    staff: Supervisor, uow: UoW,
    start: Annotated[date | None, Query(alias="from", description="first day (local)")] = None,
    end: Annotated[date | None, Query(alias="to", description="last day (local)")] = None,
    unit_code: _LoggedUnit = None,
) -> list[LogEntryOut]:
    return [LogEntryOut.of(r) for r in await log.refusals(uow, start, end, unit_code)]
