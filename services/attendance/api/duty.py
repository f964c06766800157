"""AB-post coverage of a day: weekend shifts and weekday office sessions."""

from __future__ import annotations

from services.runtime import Supervisor, UoW

from ..schemas import DayParam, SlotOut
from ..usecases import duty
from .deps import AttendanceDep, staff_router

router = staff_router()


@router.get("/duty/{day}", summary="AB-post coverage of a day (weekend shifts, weekday sessions) and who turned up")
async def duty_status(day: DayParam, staff: Supervisor, uow: UoW, att: AttendanceDep) -> list[SlotOut]:
    zone = att.rules.zone
    out = []
    for st in await duty.duty_status(uow, att, day):
        slot, c = st.slot, st.coverage
        out.append(SlotOut(window_no=slot.window_no, unit_name=slot.unit_name, day=day, opening=slot.opening,
                           closing=slot.closing, expected=list(slot.expected), covered_in_grace=c.in_grace,
                           first_arrival=c.first_arrival[0] if c.first_arrival else None,
                           arrived_at=c.first_arrival[1].replace(tzinfo=zone) if c.first_arrival else None,
                           alerted=st.alerted, weekday=slot.weekday, on_leave=list(slot.on_leave)))
    return out
