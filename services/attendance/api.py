"""Staff-facing API: terminals and their command queues, staff, AB posts, weekend roster,
training, leave, monthly reports (JSON and XLSX), evaluation and rankings.

The terminals' own endpoints are in :mod:`api_iclock`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from contracts.attendance import StaffRegistered, StaffRole, StaffUpdated
from services.runtime import CenterAdmin, CurrentStaff, Problem, ServiceDep, Supervisor, UnitHead, UoW
from services.runtime.app import Service

from . import domain, duty, iclock, jobs, reporting, reports, store
from .config import AttendanceSettings
from .params import (
    DayParam,
    LocalTime,
    MonthStr,
    PeriodStr,
    PinStr,
    RowId,
    StaffIdStr,
    UnitStr,
    WindowStr,
    ends_after,
)

router = APIRouter(prefix="/attendance", tags=["attendance"])


def _settings(service: Service) -> AttendanceSettings:
    return service.settings  # type: ignore[return-value]


def _now() -> datetime:
    return datetime.now(UTC)


# --- terminals ------------------------------------------------------------------------------


class DeviceIn(BaseModel):
    sn: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="Serial number.")
    name: str = Field("", max_length=80)
    location: str = Field("", max_length=80, description="Where it hangs, e.g. 一楼大厅东侧.")
    time_zone: str = Field(domain.DEFAULT_ZONE, description="IANA zone of the terminal's clock.")
    charset: Literal["utf-8", "gb18030"] = Field("utf-8", description="gb18030 for old Chinese firmware.")
    active: bool = True

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("不是有效的时区名称（例如 Asia/Shanghai）") from None
        return v


class DeviceOut(BaseModel):
    sn: str
    name: str
    location: str
    time_zone: str
    charset: str
    active: bool
    registered_at: datetime
    last_seen_at: datetime | None
    last_ip: str | None
    pushver: str | None
    firmware: str | None
    attlog_stamp: str | None
    info: dict[str, Any]


def _device_out(d: store.Device) -> DeviceOut:
    return DeviceOut(sn=d.sn, name=d.name, location=d.location, time_zone=d.time_zone, charset=d.charset,
                     active=d.active, registered_at=store.aware(d.registered_at),  # type: ignore[arg-type]
                     last_seen_at=store.aware(d.last_seen_at), last_ip=d.last_ip, pushver=d.pushver,
                     firmware=d.firmware, attlog_stamp=d.attlog_stamp, info=d.info)


@router.get("/devices", summary="Registered terminals")
async def list_devices(staff: Supervisor, uow: UoW) -> list[DeviceOut]:
    rows = (await uow.session.exec(select(store.Device).order_by(store.Device.sn))).all()
    return [_device_out(d) for d in rows]


@router.put("/devices/{sn}", summary="Register or update a terminal")
async def put_device(sn: str, body: DeviceIn, staff: CenterAdmin, uow: UoW) -> DeviceOut:
    if body.sn != sn:
        raise Problem(422, "路径中的序列号与提交内容不一致", field="sn")
    row = await uow.session.get(store.Device, sn)
    if row is None:
        row = store.Device(sn=sn, registered_at=_now())
    row.name, row.location, row.time_zone = body.name, body.location, body.time_zone
    row.charset, row.active = body.charset, body.active
    uow.session.add(row)
    unknown = await uow.session.get(store.UnknownDevice, sn)
    if unknown is not None:
        await uow.session.delete(unknown)
    await uow.commit()
    return _device_out(row)


class UnknownDeviceOut(BaseModel):
    sn: str
    first_seen_at: datetime
    last_seen_at: datetime
    last_ip: str | None
    attempts: int


@router.get("/devices-unknown", summary="Terminals refused for an unknown serial number")
async def unknown_devices(staff: Supervisor, uow: UoW) -> list[UnknownDeviceOut]:
    rows = (await uow.session.exec(select(store.UnknownDevice).order_by(store.UnknownDevice.sn))).all()
    return [UnknownDeviceOut(sn=r.sn, first_seen_at=store.aware(r.first_seen_at),  # type: ignore[arg-type]
                             last_seen_at=store.aware(r.last_seen_at), last_ip=r.last_ip,  # type: ignore[arg-type]
                             attempts=r.attempts) for r in rows]


class CommandIn(BaseModel):
    kind: Literal["reboot", "time_sync", "info", "check", "clear_log", "set_option", "user_update",
                  "user_delete", "query_attlog"]
    option: str | None = Field(None, max_length=40, description="set_option: the option's name.")
    value: str | None = Field(None, max_length=200, description="set_option: the value.")
    pin: PinStr | None = Field(None, description="user_update / user_delete.")
    name: str | None = Field(None, max_length=40, description="user_update: the name shown on the terminal.")
    start: datetime | None = Field(None, description="query_attlog: from (terminal wall time).")
    end: datetime | None = Field(None, description="query_attlog: to (terminal wall time).")

    @field_validator("end")
    @classmethod
    def _order(cls, v: datetime | None, info: ValidationInfo) -> datetime | None:
        if v is not None:
            ends_after(info.data.get("start"), v)
        return v


class CommandOut(BaseModel):
    id: int
    device_sn: str
    text: str
    label: str
    status: str
    queued_at: datetime
    queued_by: str
    sent_at: datetime | None
    done_at: datetime | None
    return_code: int | None
    result: dict[str, Any]


def _command_out(c: store.CommandRow) -> CommandOut:
    return CommandOut(id=c.id, device_sn=c.device_sn, text=c.text, label=c.label, status=c.status,  # type: ignore[arg-type]
                      queued_at=store.aware(c.queued_at), queued_by=c.queued_by,  # type: ignore[arg-type]
                      sent_at=store.aware(c.sent_at), done_at=store.aware(c.done_at),
                      return_code=c.return_code, result=c.result)


_LABELS = {"reboot": "重启", "time_sync": "校准时间", "info": "读取设备信息", "check": "核对数据",
           "clear_log": "清除考勤记录", "set_option": "设置参数", "user_update": "下发人员",
           "user_delete": "删除人员", "query_attlog": "重新上传考勤记录"}


def _command_text(body: CommandIn, device: store.Device) -> tuple[str, str]:
    label = _LABELS[body.kind]
    try:
        if body.kind == "reboot":
            return iclock.reboot(), label
        if body.kind == "time_sync":
            local = datetime.now(ZoneInfo(device.time_zone)).replace(tzinfo=None)
            return iclock.time_sync(local), label
        if body.kind == "info":
            return iclock.info(), label
        if body.kind == "check":
            return iclock.check(), label
        if body.kind == "clear_log":
            return iclock.clear_log(), label
        if body.kind == "set_option":
            if not body.option or body.value is None:
                raise Problem(422, "设置参数需要参数名和参数值", field="option")
            return iclock.set_option(body.option, body.value), f"{label} {body.option}"
        if body.kind in ("user_update", "user_delete"):
            if not body.pin:
                raise Problem(422, "需要考勤机工号（PIN）", field="pin")
            if body.kind == "user_delete":
                return iclock.user_delete(body.pin), f"{label} {body.pin}"
            return iclock.user_update(body.pin, body.name or ""), f"{label} {body.pin}"
        if body.start is None or body.end is None:
            raise Problem(422, "需要起止时间，且结束晚于开始", field="end")
        return iclock.query_attlog(body.start, body.end), label
    except ValueError as exc:
        raise Problem(422, f"命令参数不正确：{exc}", field="option") from None


@router.post("/devices/{sn}/commands", status_code=201, summary="Queue a command for a terminal")
async def queue_command(sn: str, body: CommandIn, staff: CenterAdmin, uow: UoW) -> CommandOut:
    device = await uow.session.get(store.Device, sn)
    if device is None:
        raise Problem(404, f"没有序列号为 {sn} 的考勤机", field="sn")
    text, label = _command_text(body, device)
    row = store.CommandRow(device_sn=sn, text=text, label=label, queued_at=_now(), queued_by=staff.sub)
    uow.session.add(row)
    await uow.commit()
    return _command_out(row)


@router.get("/devices/{sn}/commands", summary="A terminal's commands and their results")
async def list_commands(sn: str, staff: Supervisor, uow: UoW,
                        limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[CommandOut]:
    q = (select(store.CommandRow).where(store.CommandRow.device_sn == sn)
         .order_by(store.CommandRow.id.desc()).limit(limit))  # type: ignore[union-attr]
    return [_command_out(c) for c in (await uow.session.exec(q)).all()]


async def _queue_user_everywhere(uow: Any, staff_row: store.StaffRow, by: str) -> int:
    devices = (await uow.session.exec(select(store.Device).where(store.Device.active == True))).all()  # noqa: E712
    now = _now()
    for d in devices:
        text = (iclock.user_update(staff_row.pin, staff_row.name) if staff_row.active
                else iclock.user_delete(staff_row.pin))
        uow.session.add(store.CommandRow(device_sn=d.sn, text=text, queued_at=now, queued_by=by,
                                         label=f"{'下发人员' if staff_row.active else '删除人员'} {staff_row.pin}"))
    return len(devices)


# --- staff ----------------------------------------------------------------------------------


class StaffFields(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    unit_code: UnitStr
    unit_name: str = Field(min_length=1, max_length=80)
    window_no: WindowStr | None = None
    role: StaffRole = StaffRole.WINDOW_CLERK
    pin: PinStr | None = Field(None, description="User number on the terminals.")
    mobile: str | None = Field(None, description="Mainland mobile, for staff alerts.")
    active: bool = True
    active_from: date | None = Field(None, description="First day at the center (default: today when created).")
    active_until: date | None = Field(None, description="Last day (default: today when set inactive).")


class StaffIn(StaffFields):
    @field_validator("active_until")
    @classmethod
    def _range(cls, v: date | None, info: ValidationInfo) -> date | None:
        # A field validator (not the model's) so that the refusal names the field.
        start = info.data.get("active_from")
        if v is not None and start is not None and v < start:
            raise ValueError("离岗日期不能早于到岗日期")
        return v

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        digits = "".join(ch for ch in v if ch.isdigit())
        if digits.startswith("86") and len(digits) == 13:
            digits = digits[2:]
        if len(digits) != 11 or not digits.startswith("1"):
            raise ValueError("手机号码应为11位数字")
        return digits


class StaffOut(StaffFields):
    """What is stored, as stored: the input checks are not run again on the way out."""

    staff_id: str
    updated_at: datetime


def _staff_out(r: store.StaffRow) -> StaffOut:
    return StaffOut(staff_id=r.staff_id, name=r.name, unit_code=r.unit_code, unit_name=r.unit_name,
                    window_no=r.window_no, role=StaffRole(r.role), pin=r.pin, mobile=r.mobile, active=r.active,
                    active_from=r.active_from, active_until=r.active_until,
                    updated_at=store.aware(r.updated_at))  # type: ignore[arg-type]


@router.get("/staff", summary="Staff (unit heads see their own unit)")
async def list_staff(staff: UnitHead, uow: UoW) -> list[StaffOut]:
    rows = await store.all_staff(uow.session)
    return [_staff_out(r) for r in rows if staff.center_wide or r.unit_code == staff.unit]


@router.put("/staff/{staff_id}", summary="Register or update a staff member")
async def put_staff(staff_id: StaffIdStr, body: StaffIn, staff: CenterAdmin, uow: UoW, service: ServiceDep) -> StaffOut:
    s = uow.session
    row = await s.get(store.StaffRow, staff_id)
    created = row is None
    old = (row.pin, row.name, row.active) if row else None
    if body.pin:
        holder = (await s.exec(select(store.StaffRow).where(store.StaffRow.pin == body.pin))).first()
        if holder is not None and holder.staff_id != staff_id:
            raise Problem(409, f"考勤机工号 {body.pin} 已分配给 {holder.name}", field="pin")
    today = domain.to_local(_now(), _settings(service).attendance_rules.zone).date()
    # Nobody owes attendance for the days before they joined or after they left. The range is
    # settled (defaults included) and checked before the row is touched: a refusal writes nothing.
    active_from = body.active_from or (row.active_from if row else None) or today
    active_until = body.active_until or (row.active_until if row and not body.active else None)
    if not body.active and active_until is None:
        active_until = today
    if active_until is not None and active_until < active_from:
        given = "" if body.active_until else f"（未填写时为{'原离岗日期' if row and row.active_until else '今天'}）"
        raise Problem(422, f"离岗日期 {active_until}{given}不能早于到岗日期 {active_from}", field="active_until")
    if row is None:
        row = store.StaffRow(staff_id=staff_id, name=body.name, unit_code=body.unit_code, unit_name=body.unit_name,
                             updated_at=_now())
    for k in ("name", "unit_code", "unit_name", "window_no", "pin", "mobile", "active"):
        setattr(row, k, getattr(body, k))
    row.role, row.updated_at = body.role.value, _now()
    row.active_from, row.active_until = active_from, active_until
    s.add(row)
    if row.pin:
        await store.attach_pin(s, staff_id, row.pin)
    fields = dict(staff_id=staff_id, name=row.name, unit_code=row.unit_code, unit_name=row.unit_name,
                  window_no=row.window_no, role=body.role, mobile=row.mobile, pin=row.pin, active=row.active)
    await uow.emit(StaffRegistered(**fields) if created else StaffUpdated(**fields))
    if _settings(service).attendance_push_staff_to_devices and row.pin and old != (row.pin, row.name, row.active):
        if old and old[0] and old[0] != row.pin:
            # The old PIN leaves the terminals so that nobody else's finger opens it.
            for d in (await s.exec(select(store.Device).where(store.Device.active == True))).all():  # noqa: E712
                s.add(store.CommandRow(device_sn=d.sn, text=iclock.user_delete(old[0]), queued_at=_now(),
                                       queued_by=staff.sub, label=f"删除人员 {old[0]}"))
        await _queue_user_everywhere(uow, row, staff.sub)
    try:
        await uow.commit()
    except IntegrityError:
        raise Problem(409, "考勤机工号已被占用", field="pin") from None
    return _staff_out(row)


# --- AB posts -------------------------------------------------------------------------------


class PostIn(BaseModel):
    unit_code: UnitStr
    unit_name: str = Field(min_length=1, max_length=80)
    post_a: StaffIdStr | None = Field(None, description="A post (A岗).")
    post_b: StaffIdStr | None = Field(None, description="B post (B岗).")
    weekend_service: bool = Field(True, description="Serves on weekends (双休日正常办理).")

    @model_validator(mode="after")
    def _distinct(self) -> "PostIn":
        if self.post_a and self.post_a == self.post_b:
            raise ValueError("A岗和B岗不能是同一人")
        return self


class PostOut(PostIn):
    window_no: str
    post_a_name: str | None = None
    post_b_name: str | None = None


@router.get("/posts", summary="Windows and their AB posts")
async def list_posts(staff: CurrentStaff, uow: UoW) -> list[PostOut]:
    names = {s.staff_id: s.name for s in await store.all_staff(uow.session)}
    return [PostOut(window_no=p.window_no, unit_code=p.unit_code, unit_name=p.unit_name, post_a=p.post_a,
                    post_b=p.post_b, weekend_service=p.weekend_service, post_a_name=names.get(p.post_a or ""),
                    post_b_name=names.get(p.post_b or "")) for p in await store.all_posts(uow.session)]


@router.put("/posts/{window_no}", summary="Set a window's AB posts")
async def put_post(window_no: WindowStr, body: PostIn, staff: CenterAdmin, uow: UoW) -> PostOut:
    s = uow.session
    names = {}
    for field, sid in (("post_a", body.post_a), ("post_b", body.post_b)):
        if sid:
            member = await s.get(store.StaffRow, sid)
            if member is None:
                raise Problem(422, f"没有工作人员 {sid}", field=field)
            names[field] = member.name
    row = await s.get(store.PostRow, window_no) or store.PostRow(window_no=window_no, unit_code=body.unit_code,
                                                                 unit_name=body.unit_name, updated_at=_now())
    row.unit_code, row.unit_name, row.post_a, row.post_b = body.unit_code, body.unit_name, body.post_a, body.post_b
    row.weekend_service, row.updated_at = body.weekend_service, _now()
    s.add(row)
    await uow.commit()
    return PostOut(window_no=window_no, **body.model_dump(), post_a_name=names.get("post_a"),
                   post_b_name=names.get("post_b"))


# --- weekend duty roster --------------------------------------------------------------------


class RosterIn(BaseModel):
    day: date
    window_no: WindowStr
    staff_id: StaffIdStr
    start: LocalTime
    end: LocalTime

    @field_validator("end")
    @classmethod
    def _order(cls, v: time, info: ValidationInfo) -> time:
        ends_after(info.data.get("start"), v)
        return v


class RosterOut(RosterIn):
    id: int
    name: str | None = None


@router.get("/roster", summary="Weekend duty roster between two days")
async def list_roster(staff: CurrentStaff, uow: UoW, start: Annotated[date, Query(alias="from")],
                      end: Annotated[date, Query(alias="to")]) -> list[RosterOut]:
    names = {s.staff_id: s.name for s in await store.all_staff(uow.session)}
    return [RosterOut(id=r.id, day=r.day, window_no=r.window_no, staff_id=r.staff_id, start=r.start, end=r.end,  # type: ignore[arg-type]
                      name=names.get(r.staff_id)) for r in await store.roster_between(uow.session, start, end)]


@router.post("/roster", status_code=201, summary="Add people to the weekend duty roster")
async def add_roster(body: list[RosterIn], staff: Supervisor, uow: UoW) -> list[RosterOut]:
    s = uow.session
    out = []
    for i, entry in enumerate(body):
        if await s.get(store.StaffRow, entry.staff_id) is None:
            raise Problem(422, f"没有工作人员 {entry.staff_id}", field=f"{i}.staff_id")
        if await s.get(store.PostRow, entry.window_no) is None:
            raise Problem(422, f"没有窗口 {entry.window_no}", field=f"{i}.window_no")
        row = store.RosterRow(**entry.model_dump())
        s.add(row)
        out.append(row)
    try:
        await uow.commit()
    except IntegrityError:
        raise Problem(409, "值班表中已有相同的安排") from None
    return [RosterOut(id=r.id, day=r.day, window_no=r.window_no, staff_id=r.staff_id, start=r.start, end=r.end)  # type: ignore[arg-type]
            for r in out]


@router.delete("/roster/{entry_id}", status_code=204, summary="Remove a roster entry")
async def delete_roster(entry_id: RowId, staff: Supervisor, uow: UoW) -> Response:
    row = await uow.session.get(store.RosterRow, entry_id)
    if row is None:
        raise Problem(404, "没有这条值班安排", field="entry_id")
    await uow.session.delete(row)
    await uow.commit()
    return Response(status_code=204)


# --- training -------------------------------------------------------------------------------


class TrainingIn(BaseModel):
    session_id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    day: date
    start: LocalTime
    end: LocalTime
    topic: str = Field(min_length=1, max_length=200)
    staff_ids: list[StaffIdStr] | None = Field(None, description="Who must attend; empty: everyone.")

    @field_validator("end")
    @classmethod
    def _order(cls, v: time, info: ValidationInfo) -> time:
        ends_after(info.data.get("start"), v)
        return v


class FridaysIn(BaseModel):
    month: MonthStr
    start: LocalTime = time(15, 0)
    end: LocalTime = time(17, 0)
    topic: str = Field("集中学习培训", min_length=1, max_length=200)


def _month_days(month: str) -> tuple[date, date]:
    """The first and last day of a validated month (:data:`MonthStr`)."""
    year, m = domain.parse_period(month)
    return store.month_range(date(year, m or 1, 1))


def _training_in(r: store.TrainingRow) -> TrainingIn:
    return TrainingIn(session_id=r.session_id, day=r.day, start=r.start, end=r.end, topic=r.topic,
                      staff_ids=r.staff_ids)


@router.get("/trainings", summary="Training sessions of a month")
async def list_trainings(staff: CurrentStaff, uow: UoW, month: Annotated[MonthStr, Query()]) -> list[TrainingIn]:
    first, last = _month_days(month)
    return [_training_in(r) for r in await store.trainings_between(uow.session, first, last)]


@router.put("/trainings/{session_id}", summary="Schedule or change a training session")
async def put_training(session_id: str, body: TrainingIn, staff: Supervisor, uow: UoW) -> TrainingIn:
    if body.session_id != session_id:
        raise Problem(422, "路径中的编号与提交内容不一致", field="session_id")
    row = await uow.session.get(store.TrainingRow, session_id) or store.TrainingRow(
        session_id=session_id, day=body.day, start=body.start, end=body.end, topic=body.topic)
    row.day, row.start, row.end, row.topic = body.day, body.start, body.end, body.topic
    row.staff_ids = list(body.staff_ids) if body.staff_ids else None
    uow.session.add(row)
    await uow.commit()
    return _training_in(row)


@router.post("/trainings/fridays", status_code=201, summary="Schedule every working Friday afternoon of a month")
async def schedule_fridays(body: FridaysIn, staff: Supervisor, uow: UoW) -> list[TrainingIn]:
    if body.end <= body.start:
        raise Problem(422, "结束时间应晚于开始时间", field="end")
    year, month = domain.parse_period(body.month)
    out = []
    for t in domain.friday_trainings(year, month, reporting.calendar(), body.start, body.end, body.topic):  # type: ignore[arg-type]
        if await uow.session.get(store.TrainingRow, t.session_id) is None:
            row = store.TrainingRow(session_id=t.session_id, day=t.day, start=t.start, end=t.end, topic=t.topic)
            uow.session.add(row)
            out.append(_training_in(row))
    await uow.commit()
    return out


# --- leave ----------------------------------------------------------------------------------


class LeaveIn(BaseModel):
    staff_id: StaffIdStr
    kind: domain.LeaveKind
    start: datetime = Field(description="Local wall time (Asia/Shanghai), e.g. 2025-06-11T08:30.")
    end: datetime
    reason: str = Field("", max_length=500)

    @field_validator("end")
    @classmethod
    def _order(cls, v: datetime, info: ValidationInfo) -> datetime:
        ends_after(info.data.get("start"), v)
        return v


class LeaveOut(LeaveIn):
    id: int
    approved: bool
    approved_by: str


def _leave_out(r: store.LeaveRow) -> LeaveOut:
    return LeaveOut(id=r.id, staff_id=r.staff_id, kind=domain.LeaveKind(r.kind), start=r.start, end=r.end,  # type: ignore[arg-type]
                    reason=r.reason, approved=r.approved, approved_by=r.approved_by)


@router.post("/leaves", status_code=201, summary="Record approved leave")
async def add_leave(body: LeaveIn, staff: UnitHead, uow: UoW, service: ServiceDep) -> LeaveOut:
    member = await uow.session.get(store.StaffRow, body.staff_id)
    if member is None:
        raise Problem(422, f"没有工作人员 {body.staff_id}", field="staff_id")
    staff.ensure_unit(member.unit_code)
    zone = _settings(service).attendance_rules.zone
    try:
        start = body.start if body.start.tzinfo is None else domain.to_local(body.start, zone)
    except OverflowError:
        raise Problem(422, "时间换算为本地时间后超出可处理的范围", field="start") from None
    try:
        end = body.end if body.end.tzinfo is None else domain.to_local(body.end, zone)
    except OverflowError:
        raise Problem(422, "时间换算为本地时间后超出可处理的范围", field="end") from None
    row = store.LeaveRow(staff_id=body.staff_id, kind=body.kind.value, start=start, end=end, approved=True,
                         approved_by=staff.sub, reason=body.reason, created_at=_now())
    uow.session.add(row)
    await uow.commit()
    return _leave_out(row)


@router.get("/leaves", summary="Leave of a month")
async def list_leaves(staff: UnitHead, uow: UoW, month: Annotated[MonthStr, Query()]) -> list[LeaveOut]:
    first, last = _month_days(month)
    rows = await store.leaves_between(uow.session, datetime.combine(first, time()),
                                      datetime.combine(last, time(23, 59, 59)))
    units = {s.staff_id: s.unit_code for s in await store.all_staff(uow.session)}
    return [_leave_out(r) for r in rows if staff.center_wide or units.get(r.staff_id) == staff.unit]


@router.delete("/leaves/{leave_id}", status_code=204, summary="Withdraw leave recorded by mistake")
async def delete_leave(leave_id: RowId, staff: UnitHead, uow: UoW) -> Response:
    row = await uow.session.get(store.LeaveRow, leave_id)
    if row is None:
        raise Problem(404, "没有这条请假记录", field="leave_id")
    member = await uow.session.get(store.StaffRow, row.staff_id)
    if member is not None:
        staff.ensure_unit(member.unit_code)
    await uow.session.delete(row)
    await uow.commit()
    return Response(status_code=204)


# --- weekend duty status ----------------------------------------------------------------------


class SlotOut(BaseModel):
    window_no: str
    unit_name: str
    day: date
    opening: time
    closing: time
    expected: list[str]
    covered_in_grace: bool
    first_arrival: str | None
    arrived_at: datetime | None
    alerted: bool


@router.get("/duty/{day}", summary="Weekend coverage of a day: every shift and who turned up")
async def duty_status(day: DayParam, staff: Supervisor, uow: UoW, service: ServiceDep) -> list[SlotOut]:
    rules = _settings(service).attendance_rules
    s = uow.session
    posts = [p.domain() for p in await store.all_posts(s)]
    roster = [r.domain() for r in await store.roster_between(s, day, day)]
    start = datetime.combine(day, time(), tzinfo=rules.zone)
    punches = store.local_punches(await store.punches_between(s, start, start + timedelta(days=1)), rules.zone)
    alerted = await store.alert_keys(s, day)
    out = []
    for slot in duty.duty_slots(day, posts, roster, rules, reporting.calendar()):
        c = duty.coverage(slot, punches, rules)
        out.append(SlotOut(window_no=slot.window_no, unit_name=slot.unit_name, day=day, opening=slot.opening,
                           closing=slot.closing, expected=list(slot.expected), covered_in_grace=c.in_grace,
                           first_arrival=c.first_arrival[0] if c.first_arrival else None,
                           arrived_at=c.first_arrival[1].replace(tzinfo=rules.zone) if c.first_arrival else None,
                           alerted=slot.key in alerted))
    return out


# --- reports, evaluation, rankings ------------------------------------------------------------


@router.get("/reports/monthly/{period}", summary="Monthly attendance per person and per window (JSON)")
async def monthly_json(period: MonthStr, staff: UnitHead, uow: UoW, service: ServiceDep,
                       details: bool = False) -> dict[str, Any]:
    data = await reporting.month_report(uow.session, period, _settings(service), _now())
    report = data.report if staff.center_wide else reporting.restrict_to_unit(data.report, staff.unit or "")
    return reports.report_json(report, details=details)


@router.get("/reports/monthly/{period}/xlsx", summary="Monthly attendance as a spreadsheet",
            response_class=Response, responses={200: {"content": {reports.XLSX_MEDIA_TYPE: {}}}})
async def monthly_xlsx(period: PeriodStr, staff: UnitHead, uow: UoW, service: ServiceDep) -> Response:
    data, ev = await reporting.evaluation(uow.session, period, _settings(service), _now())
    report = data.report
    if not staff.center_wide:
        report, ev = reporting.restrict_to_unit(report, staff.unit or ""), None  # type: ignore[assignment]
    names = {s.staff_id: s.name for s in data.staff}
    body = reports.to_bytes(reports.workbook(report, ev, names))
    return Response(body, media_type=reports.XLSX_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{reports.xlsx_filename(period)}"'})


@router.get("/evaluation/{period}", summary="Scores of windows and staff, the formula and the awards")
async def evaluation_json(period: PeriodStr, staff: CurrentStaff, uow: UoW, service: ServiceDep) -> dict[str, Any]:
    _, ev = await reporting.evaluation(uow.session, period, _settings(service), _now())
    return reports.evaluation_json(ev)


@router.get("/rankings/{period}", summary="Red-flag windows and service stars")
async def rankings(period: PeriodStr, staff: CurrentStaff, uow: UoW, service: ServiceDep) -> dict[str, Any]:
    _, ev = await reporting.evaluation(uow.session, period, _settings(service), _now())
    full = reports.evaluation_json(ev)
    published = await store.is_published(uow.session, period, "ranking")
    return {k: full[k] for k in ("period", "formula", "weights", "red_flag_windows", "service_stars")} | {
        "published": published}


class PublishOut(BaseModel):
    period: str
    events: list[str]


@router.post("/rankings/{period}/publish", summary="Publish a period's report and rankings now")
async def publish(period: PeriodStr, staff: CenterAdmin, service: ServiceDep, force: bool = False) -> PublishOut:
    events = await jobs.publish_period(service, period, _now(), force=force)
    return PublishOut(period=period, events=[type(e).__name__ for e in events])
