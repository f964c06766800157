"""The use cases called directly (no HTTP): each refuses with the runtime's errors (status,
field, zh-CN reason) and changes what it says it changes."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from contracts.common import Role
from services.attendance import store
from services.attendance.schemas import CommandIn, DeviceIn, LeaveIn, PostIn, RosterIn, StaffIn
from services.attendance.usecases import devices, duty, staffing, terminals
from services.attendance.usecases.shared import Attendance, attendance
from services.runtime.auth import Staff
from services.runtime.errors import InvalidInput, InvalidState, NotFound

from .service_fixture import SN, attendance_service, setup_center

ADMIN = Staff(sub="admin01", role=Role.CENTER_ADMIN)


@pytest.fixture
async def svc(tmp_path):
    async with attendance_service(tmp_path) as service:
        await setup_center(service)
        yield service


def att(svc) -> Attendance:  # type: ignore[no-untyped-def]
    return attendance(svc)


async def test_register_device_refuses_a_serial_number_that_differs_from_the_path(svc):
    async with svc.uow() as uow:
        with pytest.raises(InvalidInput) as e:
            await devices.register_device(uow, "SN-A", DeviceIn(sn="SN-B"))
    assert (e.value.status, e.value.field, e.value.reason) == (422, "sn", "路径中的序列号与提交内容不一致")


async def test_register_device_takes_it_off_the_refused_list(svc):
    async with svc.uow() as uow:
        device, why = await terminals.terminal_lookup(uow, "NEW0001", "10.0.0.9")
    assert device is None and why == "not registered"
    async with svc.uow() as uow:
        await devices.register_device(uow, "NEW0001", DeviceIn(sn="NEW0001", location="二楼"))
    async with svc.uow() as uow:
        assert await uow.session.get(store.UnknownDevice, "NEW0001") is None
        device, why = await terminals.terminal_lookup(uow, "NEW0001", None)
    assert device is not None and device.location == "二楼" and why == ""


async def test_queue_command_needs_a_known_terminal_and_complete_arguments(svc):
    async with svc.uow() as uow:
        with pytest.raises(NotFound) as e:
            await devices.queue_command(uow, "NOPE", CommandIn(kind="reboot"), "admin01")
        assert (e.value.status, e.value.field) == (404, "sn")
        with pytest.raises(InvalidInput) as e:
            await devices.queue_command(uow, SN, CommandIn(kind="set_option", option="Delay"), "admin01")
        assert (e.value.field, e.value.reason) == ("option", "设置参数需要参数名和参数值")
        with pytest.raises(InvalidInput) as e:
            await devices.queue_command(uow, SN, CommandIn(kind="user_delete"), "admin01")
        assert e.value.field == "pin"
        row = await devices.queue_command(uow, SN, CommandIn(kind="user_delete", pin="1001"), "admin01")
    assert (row.text, row.label, row.status) == ("DATA DELETE USERINFO PIN=1001", "删除人员 1001", "queued")


async def test_put_staff_refuses_a_pin_held_by_somebody_else(svc):
    body = StaffIn(name="新人", unit_code="FGJ", unit_name="发展和改革局", pin="1002")
    async with svc.uow() as uow:
        with pytest.raises(InvalidState) as e:
            await staffing.put_staff(uow, att(svc), "S30", body, "admin01")
    assert (e.value.status, e.value.field, e.value.reason) == (409, "pin", "考勤机工号 1002 已分配给 王芳")


async def test_put_staff_queues_the_new_pin_to_every_terminal(svc):
    body = StaffIn(name="新人", unit_code="FGJ", unit_name="发展和改革局", pin="1030", active_from=date(2025, 1, 1))
    async with svc.uow() as uow:
        row = await staffing.put_staff(uow, att(svc), "S30", body, "admin01")
        assert [e.type for e in uow.emitted] == ["onewindow.attendance.StaffRegistered.v1"]
    assert row.active_from == date(2025, 1, 1) and row.active_until is None
    async with svc.uow() as uow:
        cmds = await store.commands_of(uow.session, SN, 10)
    assert cmds[0].label == "下发人员 1030"


async def test_put_post_names_the_unknown_staff_member(svc):
    async with svc.uow() as uow:
        with pytest.raises(InvalidInput) as e:
            await staffing.put_post(uow, "05", PostIn(unit_code="FGJ", unit_name="发展和改革局", post_b="S99"))
    assert (e.value.field, e.value.reason) == ("post_b", "没有工作人员 S99")


async def test_roster_refusals_name_the_entry(svc):
    entry = RosterIn(day=date(2025, 6, 14), window_no="03", staff_id="S09", start=time(9), end=time(12))
    async with svc.uow() as uow:
        with pytest.raises(InvalidInput) as e:
            await staffing.add_roster(uow, [entry, entry.model_copy(update={"window_no": "99"})])
    assert e.value.field == "1.window_no"
    async with svc.uow() as uow:
        [row] = await staffing.add_roster(uow, [entry])
    async with svc.uow() as uow:
        with pytest.raises(InvalidState) as e:
            await staffing.add_roster(uow, [entry])
    assert (e.value.status, e.value.field, e.value.reason) == (409, None, "值班表中已有相同的安排")
    async with svc.uow() as uow:
        await staffing.delete_roster(uow, row.id)  # type: ignore[arg-type]
    async with svc.uow() as uow:
        with pytest.raises(NotFound):
            await staffing.delete_roster(uow, row.id)  # type: ignore[arg-type]


async def test_leave_is_kept_in_wall_time_and_withdrawn_by_its_unit(svc):
    from zoneinfo import ZoneInfo

    body = LeaveIn(staff_id="S05", kind="annual", start=datetime(2025, 6, 16, 0, 30, tzinfo=ZoneInfo("UTC")),
                   end=datetime(2025, 6, 16, 10, tzinfo=ZoneInfo("UTC")))
    async with svc.uow() as uow:
        row = await staffing.add_leave(uow, att(svc), body, ADMIN)
    assert (row.start, row.end) == (datetime(2025, 6, 16, 8, 30), datetime(2025, 6, 16, 18, 0))
    head = Staff(sub="head", role=Role.UNIT_HEAD, unit="ZJJ")
    async with svc.uow() as uow:
        assert [r.id for r in await staffing.leaves_of_month(uow, "2025-06", head)] == [row.id]
        await staffing.delete_leave(uow, row.id, head)  # type: ignore[arg-type]
    async with svc.uow() as uow:
        with pytest.raises(NotFound) as e:
            await staffing.delete_leave(uow, row.id, head)  # type: ignore[arg-type]
    assert e.value.field == "leave_id"


async def test_duty_status_lists_the_weekend_shifts(svc):
    async with svc.uow() as uow:
        slots = await duty.duty_status(uow, att(svc), date(2025, 6, 7))
    assert sorted({s.slot.window_no for s in slots}) == ["01", "02", "03"]
    assert not any(s.alerted or s.coverage.first_arrival for s in slots)
    async with svc.uow() as uow:
        weekday = await duty.duty_status(uow, att(svc), date(2025, 6, 3))  # a working Tuesday
    # Weekdays: every window with posts (window 04 too: weekend service is another matter) has its
    # two office sessions watched (AB posts on weekdays, issue 22 item 8).
    assert sorted((s.slot.window_no, s.slot.opening.isoformat("minutes")) for s in weekday) == [
        (w, t) for w in ("01", "02", "03", "04") for t in ("08:30", "14:30")]
    assert all(s.slot.weekday for s in weekday)
