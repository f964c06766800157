"""Terminals and their command queues (supervisor / center admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from services.runtime import CenterAdmin, Supervisor, UoW

from .. import store
from ..schemas import CommandIn, CommandOut, DeviceIn, DeviceOut, UnknownDeviceOut
from ..usecases import devices
from .deps import staff_router

router = staff_router()


@router.get("/devices", summary="Registered terminals")
async def list_devices(staff: Supervisor, uow: UoW) -> list[DeviceOut]:
    return [DeviceOut.of(d) for d in await store.all_devices(uow.session)]


@router.put("/devices/{sn}", summary="Register or update a terminal")
async def put_device(sn: str, body: DeviceIn, staff: CenterAdmin, uow: UoW) -> DeviceOut:
    return DeviceOut.of(await devices.register_device(uow, sn, body))


@router.get("/devices-unknown", summary="Terminals refused for an unknown serial number")
async def unknown_devices(staff: Supervisor, uow: UoW) -> list[UnknownDeviceOut]:
    return [UnknownDeviceOut.of(r) for r in await store.unknown_devices(uow.session)]


@router.post("/devices/{sn}/commands", status_code=201, summary="Queue a command for a terminal")
async def queue_command(sn: str, body: CommandIn, staff: CenterAdmin, uow: UoW) -> CommandOut:
    return CommandOut.of(await devices.queue_command(uow, sn, body, staff.sub))


@router.get("/devices/{sn}/commands", summary="A terminal's commands and their results")
async def list_commands(sn: str, staff: Supervisor, uow: UoW,
                        limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[CommandOut]:
    return [CommandOut.of(c) for c in await store.commands_of(uow.session, sn, limit)]
