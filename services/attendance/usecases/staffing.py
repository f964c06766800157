"""Who serves where and when: staff members, the windows' AB posts, the weekend duty roster,
training sessions and approved leave."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.attendance import StaffRegistered, StaffUpdated
from services.runtime import clock
from services.runtime.errors import InvalidInput, InvalidState, NotFound
from services.runtime.uow import UnitOfWork

from .. import domain, store
from ..domain import iclock
from .devices import queue_user_everywhere
from .shared import Attendance

if TYPE_CHECKING:
    from services.runtime.auth import Staff

    from ..schemas import FridaysIn, LeaveIn, PostIn, RosterIn, StaffIn, TrainingIn


async def put_staff(uow: UnitOfWork, att: Attendance, staff_id: str, body: "StaffIn", by: str) -> store.StaffRow:
    """Register or update a staff member: StaffRegistered / StaffUpdated, and (by the setting) the
    new PIN or name queued to every terminal, an old PIN removed from them."""
    s = uow.session
    row = await s.get(store.StaffRow, staff_id)
    created = row is None
    old = (row.pin, row.name, row.active) if row else None
    if body.pin:
        holder = (await s.exec(select(store.StaffRow).where(store.StaffRow.pin == body.pin))).first()
        if holder is not None and holder.staff_id != staff_id:
            raise InvalidState("pin", f"考勤机工号 {body.pin} 已分配给 {holder.name}")
    now = clock.now()
    today = domain.to_local(now, att.rules.zone).date()
    # Nobody owes attendance for the days before they joined or after they left. The range is
    # settled (defaults included) and checked before the row is touched: a refusal writes nothing.
    active_from = body.active_from or (row.active_from if row else None) or today
    active_until = body.active_until or (row.active_until if row and not body.active else None)
    if not body.active and active_until is None:
        active_until = today
    if active_until is not None and active_until < active_from:
        given = "" if body.active_until else f"（未填写时为{'原离岗日期' if row and row.active_until else '今天'}）"
        raise InvalidInput("active_until", f"离岗日期 {active_until}{given}不能早于到岗日期 {active_from}")
    if row is None:
        row = store.StaffRow(staff_id=staff_id, name=body.name, unit_code=body.unit_code, unit_name=body.unit_name,
                             updated_at=now)
    for k in ("name", "unit_code", "unit_name", "window_no", "pin", "mobile", "active"):
        setattr(row, k, getattr(body, k))
    row.role, row.updated_at = body.role.value, now
    row.active_from, row.active_until = active_from, active_until
    s.add(row)
    if row.pin:
        await store.attach_pin(s, staff_id, row.pin)
    fields = dict(staff_id=staff_id, name=row.name, unit_code=row.unit_code, unit_name=row.unit_name,
                  window_no=row.window_no, role=body.role, mobile=row.mobile, pin=row.pin, active=row.active)
    await uow.emit(StaffRegistered(**fields) if created else StaffUpdated(**fields))
    if att.settings.attendance_push_staff_to_devices and row.pin and old != (row.pin, row.name, row.active):
        if old and old[0] and old[0] != row.pin:
            # The old PIN leaves the terminals so that nobody else's finger opens it.
            for d in await store.active_devices(s):
                s.add(store.CommandRow(device_sn=d.sn, text=iclock.user_delete(old[0]), queued_at=now,
                                       queued_by=by, label=f"删除人员 {old[0]}"))
        await queue_user_everywhere(s, row, by)
    try:
        await uow.commit()
    except IntegrityError:
        raise InvalidState("pin", "考勤机工号已被占用") from None
    return row


async def staff_names(session: AsyncSession) -> dict[str, str]:
    return {s.staff_id: s.name for s in await store.all_staff(session)}


async def put_post(uow: UnitOfWork, window_no: str, body: "PostIn") -> tuple[store.PostRow, dict[str, str]]:
    """Set a window's AB posts; returns the row and the names of the people on its posts."""
    s = uow.session
    names: dict[str, str] = {}
    for field_name, sid in (("post_a", body.post_a), ("post_b", body.post_b)):
        if sid:
            member = await s.get(store.StaffRow, sid)
            if member is None:
                raise InvalidInput(field_name, f"没有工作人员 {sid}")
            names[field_name] = member.name
    now = clock.now()
    row = await s.get(store.PostRow, window_no) or store.PostRow(window_no=window_no, unit_code=body.unit_code,
                                                                 unit_name=body.unit_name, updated_at=now)
    row.unit_code, row.unit_name, row.post_a, row.post_b = body.unit_code, body.unit_name, body.post_a, body.post_b
    row.weekend_service, row.updated_at = body.weekend_service, now
    s.add(row)
    await uow.commit()
    return row, names


async def add_roster(uow: UnitOfWork, entries: Sequence["RosterIn"]) -> list[store.RosterRow]:
    s = uow.session
    out = []
    for i, entry in enumerate(entries):
        if await s.get(store.StaffRow, entry.staff_id) is None:
            raise InvalidInput(f"{i}.staff_id", f"没有工作人员 {entry.staff_id}")
        if await s.get(store.PostRow, entry.window_no) is None:
            raise InvalidInput(f"{i}.window_no", f"没有窗口 {entry.window_no}")
        row = store.RosterRow(**entry.model_dump())
        s.add(row)
        out.append(row)
    try:
        await uow.commit()
    except IntegrityError:
        raise InvalidState(None, "值班表中已有相同的安排") from None
    return out


async def delete_roster(uow: UnitOfWork, entry_id: int) -> None:
    row = await uow.session.get(store.RosterRow, entry_id)
    if row is None:
        raise NotFound("entry_id", "没有这条值班安排")
    await uow.session.delete(row)
    await uow.commit()


def month_days(month: str) -> tuple[date, date]:
    """The first and last day of a validated month (``schemas.MonthStr``)."""
    year, m = domain.parse_period(month)
    return store.month_range(date(year, m or 1, 1))


async def put_training(uow: UnitOfWork, session_id: str, body: "TrainingIn") -> store.TrainingRow:
    if body.session_id != session_id:
        raise InvalidInput("session_id", "路径中的编号与提交内容不一致")
    row = await uow.session.get(store.TrainingRow, session_id) or store.TrainingRow(
        session_id=session_id, day=body.day, start=body.start, end=body.end, topic=body.topic)
    row.day, row.start, row.end, row.topic = body.day, body.start, body.end, body.topic
    row.staff_ids = list(body.staff_ids) if body.staff_ids else None
    uow.session.add(row)
    await uow.commit()
    return row


async def schedule_fridays(uow: UnitOfWork, att: Attendance, body: "FridaysIn") -> list[store.TrainingRow]:
    """Every working Friday afternoon of a month; those already scheduled are left alone."""
    if body.end <= body.start:
        raise InvalidInput("end", "结束时间应晚于开始时间")
    year, month = domain.parse_period(body.month)
    out = []
    for t in domain.friday_trainings(year, month, att.calendar, body.start, body.end, body.topic):  # type: ignore[arg-type]
        if await uow.session.get(store.TrainingRow, t.session_id) is None:
            row = store.TrainingRow(session_id=t.session_id, day=t.day, start=t.start, end=t.end, topic=t.topic)
            uow.session.add(row)
            out.append(row)
    await uow.commit()
    return out


async def add_leave(uow: UnitOfWork, att: Attendance, body: "LeaveIn", staff: "Staff") -> store.LeaveRow:
    """Approved leave (a unit head for their own unit); instants are read as the center's wall time."""
    member = await uow.session.get(store.StaffRow, body.staff_id)
    if member is None:
        raise InvalidInput("staff_id", f"没有工作人员 {body.staff_id}")
    staff.ensure_unit(member.unit_code)
    zone = att.rules.zone
    try:
        start = body.start if body.start.tzinfo is None else domain.to_local(body.start, zone)
    except OverflowError:
        raise InvalidInput("start", "时间换算为本地时间后超出可处理的范围") from None
    try:
        end = body.end if body.end.tzinfo is None else domain.to_local(body.end, zone)
    except OverflowError:
        raise InvalidInput("end", "时间换算为本地时间后超出可处理的范围") from None
    row = store.LeaveRow(staff_id=body.staff_id, kind=body.kind.value, start=start, end=end, approved=True,
                         approved_by=staff.sub, reason=body.reason, created_at=clock.now())
    uow.session.add(row)
    await uow.commit()
    return row


async def leaves_of_month(uow: UnitOfWork, month: str, staff: "Staff") -> list[store.LeaveRow]:
    first, last = month_days(month)
    rows = await store.leaves_between(uow.session, datetime.combine(first, time()),
                                      datetime.combine(last, time(23, 59, 59)))
    units = {s.staff_id: s.unit_code for s in await store.all_staff(uow.session)}
    return [r for r in rows if staff.center_wide or units.get(r.staff_id) == staff.unit]


async def delete_leave(uow: UnitOfWork, leave_id: int, staff: "Staff") -> None:
    row = await uow.session.get(store.LeaveRow, leave_id)
    if row is None:
        raise NotFound("leave_id", "没有这条请假记录")
    member = await uow.session.get(store.StaffRow, row.staff_id)
    if member is not None:
        staff.ensure_unit(member.unit_code)
    await uow.session.delete(row)
    await uow.commit()
