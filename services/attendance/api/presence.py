"""``/attendance/presence``: which windows are open now and who is on duty at each (A post, else
B post), from today's punches against the posts and the roster — weekdays and weekends alike."""

from __future__ import annotations

from services.runtime import CurrentStaff, UoW
from services.runtime import clock

from ..schemas import PersonOut, PresenceOut, WindowNowOut
from ..usecases import presence
from .deps import AttendanceDep, staff_router

router = staff_router()


@router.get("/presence", summary="Windows open now and who is on duty at each (A post, else B post)")
async def presence_now(staff: CurrentStaff, uow: UoW, att: AttendanceDep) -> PresenceOut:
    now = clock.now()
    windows = await presence.presence_now(uow, att, now)

    def person(sid: str | None, names: dict[str, str]) -> PersonOut | None:
        return PersonOut(staff_id=sid, name=names.get(sid)) if sid else None

    out = [WindowNowOut(window_no=w.window_no, unit_code=w.unit_code, unit_name=w.unit_name, open_now=w.open_now,
                        opening=w.opening, closing=w.closing, weekday=w.weekday,
                        post_a=person(w.post_a, w.names), post_b=person(w.post_b, w.names), weekend_service=w.weekend_service,
                        on_duty=person(w.on_duty, w.names), on_duty_post=w.on_duty_post, arrived_at=w.arrived_at,
                        present=list(w.present), on_leave=list(w.on_leave)) for w in windows]
    return PresenceOut(at=now, windows=out, open_count=sum(w.open_now for w in out),
                       staffed_count=sum(1 for w in out if w.open_now and w.on_duty))
