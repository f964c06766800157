"""Staff violations (违规违章): record (supervisor), list and read (a unit head: their unit; a clerk:
their own), reply (the staff member or their unit head), withdraw (supervisor), the month's counts
per unit for the bulletin, and judging a finished day now (supervisor)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from contracts.attendance import VIOLATION_LABELS
from services.runtime import CurrentStaff, Supervisor, UoW
from services.runtime.errors import NotFound
from services.runtime.params import plausible_key

from ..schemas import (
    DayParam,
    MonthStr,
    ReplyIn,
    StaffIdStr,
    SweepOut,
    UnitStr,
    UnitViolationsOut,
    ViolationCountsOut,
    ViolationIn,
    ViolationOut,
    WithdrawIn,
)
from ..usecases import violations
from .deps import AttendanceDep, staff_router

router = staff_router()

@router.post("/violations", status_code=201, summary="Record a violation against a staff member")
async def record(body: ViolationIn, staff: Supervisor, uow: UoW, att: AttendanceDep) -> ViolationOut:
    return ViolationOut.of(await violations.record(uow, att, body, staff))


@router.get("/violations", summary="Violations that happened in a month")
async def list_month(staff: CurrentStaff, uow: UoW, month: Annotated[MonthStr, Query()],
                     unit_code: Annotated[UnitStr | None, Query()] = None,
                     staff_id: Annotated[StaffIdStr | None, Query()] = None) -> list[ViolationOut]:
    rows = await violations.list_month(uow, month, staff, unit_code=unit_code, staff_id=staff_id)
    return [ViolationOut.of(r) for r in rows]


@router.get("/violations/counts/{month}", summary="Violations per unit and kind in a month (the bulletin's figures)")
async def counts(month: MonthStr, staff: CurrentStaff, uow: UoW) -> ViolationCountsOut:
    c = await violations.counts(uow, month)
    return ViolationCountsOut(
        period=c.period, total=c.total, kinds={k.value: v for k, v in VIOLATION_LABELS.items()},
        units=[UnitViolationsOut(unit_code=u.unit_code, unit_name=u.unit_name, total=u.total, by_kind=u.by_kind,
                                 staff_count=len(u.staff), withdrawn=u.withdrawn) for u in c.units])


@router.post("/violations/sweep/{day}", summary="Judge a finished day now: lateness, absence, leaving the post")
async def sweep(day: DayParam, staff: Supervisor, uow: UoW, att: AttendanceDep) -> SweepOut:
    r = await violations.sweep(uow, att, day)
    return SweepOut(day=r.day, recorded=[ViolationOut.of(v) for v in r.recorded],
                    withdrawn=[ViolationOut.of(v) for v in r.withdrawn])


@router.get("/violations/{violation_id}", summary="One violation, its evidence, reply and withdrawal")
async def get(violation_id: str, staff: CurrentStaff, uow: UoW) -> ViolationOut:
    return ViolationOut.of(await violations.get(uow, _id(violation_id), staff))


@router.post("/violations/{violation_id}/reply", summary="The staff member's reply")
async def reply(violation_id: str, body: ReplyIn, staff: CurrentStaff, uow: UoW) -> ViolationOut:
    return ViolationOut.of(await violations.reply(uow, _id(violation_id), body.reply, staff))


@router.post("/violations/{violation_id}/withdraw", summary="Withdraw a violation, with the reason")
async def withdraw(violation_id: str, body: WithdrawIn, staff: Supervisor, uow: UoW) -> ViolationOut:
    return ViolationOut.of(await violations.withdraw(uow, _id(violation_id), body.reason, staff))


def _id(violation_id: str) -> str:
    """A path id that cannot name a record answers 404 without a query."""
    if not plausible_key(violation_id, 64):
        raise NotFound("violation_id", "没有这条违规违章记录")
    return violation_id
