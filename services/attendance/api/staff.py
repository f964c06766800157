"""Staff members (unit heads see their own unit; a center admin registers)."""

from __future__ import annotations

from services.runtime import CenterAdmin, UnitHead, UoW

from .. import store
from ..schemas import StaffIdStr, StaffIn, StaffOut
from ..usecases import staffing
from .deps import AttendanceDep, staff_router

router = staff_router()


@router.get("/staff", summary="Staff (unit heads see their own unit)")
async def list_staff(staff: UnitHead, uow: UoW) -> list[StaffOut]:
    rows = await store.all_staff(uow.session)
    return [StaffOut.of(r) for r in rows if staff.center_wide or r.unit_code == staff.unit]


@router.put("/staff/{staff_id}", summary="Register or update a staff member")
async def put_staff(staff_id: StaffIdStr, body: StaffIn, staff: CenterAdmin, uow: UoW,
                    att: AttendanceDep) -> StaffOut:
    return StaffOut.of(await staffing.put_staff(uow, att, staff_id, body, staff.sub))
