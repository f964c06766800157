"""Helpers for intake's service tests on the in-memory broker."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import AsyncIterator

import httpx
from sqlalchemy import select

from contracts.common import Role
from contracts.envelope import parse
from services.intake.app import create_service
from services.intake.config import IntakeSettings
from services.runtime.app import Service
from services.runtime.testing import in_memory

from .helpers import MONDAY

SECRET = "test-secret-for-intake-unit-tests-0123456789"


def settings(tmp: Path, **kw) -> IntakeSettings:
    kw.setdefault("intake_monthly_reports", False)
    return IntakeSettings(data_dir=tmp, auth_secret=SECRET, log_json=False, **kw)


@asynccontextmanager
async def intake_service(tmp: Path, now: datetime = MONDAY, **kw) -> AsyncIterator[Service]:
    svc = create_service(settings(tmp, **kw))
    clock = Clock(now)
    svc.state.intake.now = clock
    svc.state.intake.wall = clock  # the lookup's limits and locks: deterministic windows
    svc.clock = clock  # type: ignore[attr-defined]
    async with in_memory(svc):
        yield svc


class Clock:
    def __init__(self, now: datetime) -> None:
        self.value = now

    def __call__(self) -> datetime:
        return self.value


def client(svc: Service, role: Role | None = Role.CENTER_ADMIN, unit: str | None = None,
           sub: str = "staff-1", ip: str = "10.0.0.1") -> httpx.AsyncClient:
    headers = {}
    if role is not None:
        headers["Authorization"] = f"Bearer {svc.auth.issue(sub, role, unit)}"
    transport = httpx.ASGITransport(app=svc.api, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://intake.test", headers=headers)


def clerk(svc: Service, unit: str = "LYJ", sub: str = "C0001") -> httpx.AsyncClient:
    return client(svc, Role.CLERK, unit, sub)


async def outbox(svc: Service, topic: str | None = None) -> list:
    ob = svc.db.tables.outbox
    async with svc.uow() as uow:
        rows = (await uow.session.execute(select(ob.c.topic, ob.c.headers, ob.c.payload).order_by(ob.c.id))).all()
    return [parse(r.headers, r.payload) for r in rows if topic is None or r.topic == topic]


def types(envs) -> list[str]:
    return [type(e.data).__name__ for e in envs]


MATERIALS = [
    {"code": "M01", "name": "申请书", "form": "original", "copies": 1, "mandatory": True},
    {"code": "M02", "name": "申请人身份证明", "form": "original_and_copy", "copies": 1, "mandatory": True},
    {"code": "M03", "name": "林木权属证明", "form": "original_and_copy", "copies": 1, "mandatory": True},
    {"code": "M04", "name": "授权委托书", "form": "original", "copies": 1, "mandatory": False,
     "condition": "委托他人代为办理的"},
]


def item_body(code: str, kind: str = "promised", **over) -> dict:
    body = {
        "code": code, "unit_code": "LYJ", "name": "林木采伐许可证核发", "case_kind": kind,
        "legal_basis": ["《中华人民共和国森林法》第五十六条"], "procedure": ["受理", "审查", "决定"],
        "materials": MATERIALS, "statutory_days": 20, "promised_days": 0 if kind == "immediate" else 5,
        "fee": {"free": True, "standard": "不收费"}, "flow": "窗口受理→审查→决定",
    }
    if kind == "joint":
        body["joint_units"] = ["ZRJ", "RFB"]
    if kind == "reported_up":
        body["higher_authority"] = "省林业和草原局"
    body.update(over)
    return body


UNITS = [("LYJ", "青山县林业局"), ("ZRJ", "青山县自然资源局"), ("RFB", "青山县人民防空办公室"), ("SCJ", "青山县市场监督管理局")]
KIND_ITEMS = {"immediate": "LYJ-001", "promised": "LYJ-002", "joint": "LYJ-003", "reported_up": "LYJ-004"}


async def seed_catalog(svc: Service) -> None:
    async with client(svc) as c:
        for code, name in UNITS:
            r = await c.post("/intake/catalog/units", json={"code": code, "name": name, "window_numbers": ["01"],
                                                            "entered": True, "entered_since": "2024-01-01"})
            assert r.status_code == 201, r.text
        for kind, code in KIND_ITEMS.items():
            r = await c.post("/intake/catalog/items", json=item_body(code, kind))
            assert r.status_code == 201, r.text
            r = await c.post(f"/intake/catalog/items/{code}/publish")
            assert r.status_code == 200, r.text


def person(**over) -> dict:
    body = {"type": "person", "name": "张三丰", "resident_id": "11010519491231002X", "mobile": "13812345678"}
    body.update(over)
    return body


async def file(c: httpx.AsyncClient, kind: str = "promised", materials=("M01", "M02", "M03"), **over) -> httpx.Response:
    body = {"item_code": KIND_ITEMS[kind], "applicant": person(), "materials": list(materials)}
    body.update(over)
    return await c.post("/intake/applications", json=body)


class PageClient(httpx.AsyncClient):
    """A browser on the public pages: a form post carries the CSRF token of the page it came from
    (the token is read once from the status form; its cookie rides along)."""

    token: str | None = None

    async def csrf_token(self) -> str:
        if self.token is None:
            import re

            page = await self.get("/intake/public/status")
            self.token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        return self.token

    async def post(self, url, *, data=None, **kw):  # type: ignore[no-untyped-def, override]
        if isinstance(data, dict) and "csrf_token" not in data:
            data = {**data, "csrf_token": await self.csrf_token()}
        return await super().post(url, data=data, **kw)


def page_client(svc: Service, ip: str = "10.0.0.1") -> PageClient:
    transport = httpx.ASGITransport(app=svc.api, client=(ip, 40000))
    return PageClient(transport=transport, base_url="http://intake.test")
