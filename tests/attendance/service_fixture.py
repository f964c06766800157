"""A running attendance service (in-memory broker) with a registered terminal, staff and posts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy import select

from contracts.common import Role
from services.attendance.app import create_service
from services.attendance.config import AttendanceSettings
from services.runtime.app import Service

from .conftest import POSTS, STAFF

SN = "CQZ7232460012"


def client(service: Service, role: Role | None = Role.CENTER_ADMIN, unit: str | None = None) -> httpx.AsyncClient:
    headers = {}
    if role is not None:
        headers["Authorization"] = f"Bearer {service.auth.issue('admin01', role, unit, name='管理员')}"
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=service.api), base_url="http://attendance",
                             headers=headers)


async def setup_center(service: Service, *, sn: str = SN) -> None:
    async with client(service) as c:
        r = await c.put(f"/attendance/devices/{sn}", json={"sn": sn, "name": "大厅考勤机", "location": "一楼大厅东侧"})
        assert r.status_code == 200, r.text
        for s in STAFF:
            r = await c.put(f"/attendance/staff/{s.staff_id}", json={
                "name": s.name, "unit_code": s.unit_code, "unit_name": s.unit_name, "window_no": s.window_no,
                "pin": s.pin, "mobile": s.mobile, "role": "duty_manager" if s.staff_id == "S09" else "window_clerk",
                "active_from": "2025-01-01"})
            assert r.status_code == 200, r.text
        for p in POSTS:
            r = await c.put(f"/attendance/posts/{p.window_no}", json={
                "unit_code": p.unit_code, "unit_name": p.unit_name, "post_a": p.post_a, "post_b": p.post_b,
                "weekend_service": p.weekend_service})
            assert r.status_code == 200, r.text


@asynccontextmanager
async def attendance_service(tmp_path: Path, **overrides) -> AsyncIterator[Service]:  # type: ignore[no-untyped-def]
    from services.runtime.testing import in_memory

    values = {"data_dir": tmp_path, "auth_secret": "k" * 40, "attendance_iclock_date_header": True,
              "attendance_background_jobs": False, **overrides}
    settings = AttendanceSettings(**values)
    svc = create_service(settings)
    async with in_memory(svc):
        yield svc


async def outbox(service: Service, topic: str | None = None) -> list[tuple[str, str | None, bytes]]:
    """(ce_type, key, payload) of every event the service emitted, oldest first."""
    ob = service.db.tables.outbox
    async with service.uow() as uow:
        q = select(ob.c.headers, ob.c.key, ob.c.payload, ob.c.topic).order_by(ob.c.id)
        rows = (await uow.session.execute(q)).all()
    return [(r.headers["ce_type"], r.key, r.payload) for r in rows if topic is None or r.topic == topic]
