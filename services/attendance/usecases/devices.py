"""Terminals as the staff manage them: registration and the command queue (the protocol's
side is :mod:`.terminals`)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from services.runtime import clock
from services.runtime.errors import InvalidInput, NotFound
from services.runtime.uow import UnitOfWork

from .. import store
from ..domain import iclock

if TYPE_CHECKING:
    from ..schemas import CommandIn, DeviceIn


async def register_device(uow: UnitOfWork, sn: str, body: "DeviceIn") -> store.Device:
    """Register or update a terminal; it leaves the list of refused serial numbers."""
    if body.sn != sn:
        raise InvalidInput("sn", "路径中的序列号与提交内容不一致")
    row = await uow.session.get(store.Device, sn)
    if row is None:
        row = store.Device(sn=sn, registered_at=clock.now())
    row.name, row.location, row.time_zone = body.name, body.location, body.time_zone
    row.charset, row.active = body.charset, body.active
    uow.session.add(row)
    unknown = await uow.session.get(store.UnknownDevice, sn)
    if unknown is not None:
        await uow.session.delete(unknown)
    await uow.commit()
    return row


COMMAND_LABELS = {"reboot": "重启", "time_sync": "校准时间", "info": "读取设备信息", "check": "核对数据",
                  "clear_log": "清除考勤记录", "set_option": "设置参数", "user_update": "下发人员",
                  "user_delete": "删除人员", "query_attlog": "重新上传考勤记录"}


def command_text(body: "CommandIn", device: store.Device) -> tuple[str, str]:
    """The protocol text of a command and its label (zh-CN)."""
    label = COMMAND_LABELS[body.kind]
    try:
        if body.kind == "reboot":
            return iclock.reboot(), label
        if body.kind == "time_sync":
            local = clock.now().astimezone(ZoneInfo(device.time_zone)).replace(tzinfo=None)
            return iclock.time_sync(local), label
        if body.kind == "info":
            return iclock.info(), label
        if body.kind == "check":
            return iclock.check(), label
        if body.kind == "clear_log":
            return iclock.clear_log(), label
        if body.kind == "set_option":
            if not body.option or body.value is None:
                raise InvalidInput("option", "设置参数需要参数名和参数值")
            return iclock.set_option(body.option, body.value), f"{label} {body.option}"
        if body.kind in ("user_update", "user_delete"):
            if not body.pin:
                raise InvalidInput("pin", "需要考勤机工号（PIN）")
            if body.kind == "user_delete":
                return iclock.user_delete(body.pin), f"{label} {body.pin}"
            return iclock.user_update(body.pin, body.name or ""), f"{label} {body.pin}"
        if body.start is None or body.end is None:
            raise InvalidInput("end", "需要起止时间，且结束晚于开始")
        return iclock.query_attlog(body.start, body.end), label
    except ValueError as exc:
        raise InvalidInput("option", f"命令参数不正确：{exc}") from None


async def queue_command(uow: UnitOfWork, sn: str, body: "CommandIn", by: str) -> store.CommandRow:
    """Queue a command for a registered terminal (handed out at its next poll)."""
    device = await uow.session.get(store.Device, sn)
    if device is None:
        raise NotFound("sn", f"没有序列号为 {sn} 的考勤机")
    text, label = command_text(body, device)
    row = store.CommandRow(device_sn=sn, text=text, label=label, queued_at=clock.now(), queued_by=by)
    uow.session.add(row)
    await uow.commit()
    return row


async def queue_user_everywhere(session: AsyncSession, staff_row: store.StaffRow, by: str) -> int:
    """Queue a staff member's PIN and name (their removal once inactive) on every active terminal."""
    devices = await store.active_devices(session)
    now = clock.now()
    for d in devices:
        text = (iclock.user_update(staff_row.pin, staff_row.name) if staff_row.active  # type: ignore[arg-type]
                else iclock.user_delete(staff_row.pin))  # type: ignore[arg-type]
        session.add(store.CommandRow(device_sn=d.sn, text=text, queued_at=now, queued_by=by,
                                     label=f"{'下发人员' if staff_row.active else '删除人员'} {staff_row.pin}"))
    return len(devices)
