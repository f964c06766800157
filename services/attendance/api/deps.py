"""Dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.runtime import ServiceDep

from ..usecases.shared import Attendance, attendance


def get_attendance(service: ServiceDep) -> Attendance:
    return attendance(service)


#: The service's shared objects (settings, working-day calendar, metrics).
AttendanceDep = Annotated[Attendance, Depends(get_attendance)]


def staff_router() -> APIRouter:
    """A router of the staff API (bearer token; paths under ``/attendance``)."""
    return APIRouter(prefix="/attendance", tags=["attendance"])
