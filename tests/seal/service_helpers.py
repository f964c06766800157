"""Helpers for the seal service's unit tests on the in-memory broker."""

from __future__ import annotations

import base64
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import httpx
from sqlalchemy import select

from contracts.common import DocumentType, Role
from contracts.envelope import parse
from contracts.seal import NoticeContent, SealDocument
from services.runtime.app import Service
from services.runtime.testing import in_memory
from services.seal.app import create_service
from services.seal.config import SealSettings

from .conftest import PASSPHRASE

UNIT_CODE = "SCJG"
UNIT_NAME = "某某县市场监督管理局"


def settings(tmp: Path, **kw) -> SealSettings:
    return SealSettings(data_dir=tmp, seal_key_passphrase=PASSPHRASE, http_port=8102, log_json=False,
                        auth_secret="test-secret-for-seal-unit-tests-0123456789", **kw)


@asynccontextmanager
async def seal_service(tmp: Path, **kw) -> AsyncIterator[Service]:
    svc = create_service(settings(tmp, **kw))
    async with in_memory(svc):
        yield svc


def client(svc: Service, role: Role | None = Role.CENTER_ADMIN, unit: str | None = None) -> httpx.AsyncClient:
    headers = {}
    if role is not None:
        headers["Authorization"] = f"Bearer {svc.auth.issue('staff-1', role, unit)}"
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://seal.test", headers=headers)


async def issue_no2(svc: Service, start_date: str = "2024-08-01", unit_code: str = UNIT_CODE,
                    unit_name: str = UNIT_NAME, **extra) -> dict:
    async with client(svc) as c:
        r = await c.post("/seal/seals", json={"unit_code": unit_code, "unit_name": unit_name,
                                              "start_date": start_date, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def command(request_id: str = "req-1", *, pdf: bytes | None = None, content: bool = True,
            document_type: DocumentType = DocumentType.ACCEPTANCE, **kw) -> SealDocument:
    data = dict(
        request_id=request_id, receipt_no="SL-2024-000123", unit_code=UNIT_CODE, document_type=document_type,
        title="受理通知书", requested_by="notify",
    )
    if pdf is not None:
        data["pdf_base64"] = base64.b64encode(pdf).decode()
    elif content:
        data["content"] = NoticeContent(addressee="张三", paragraphs=["经审查，申请材料齐全、符合法定形式，决定予以受理。"],
                                        numbers={"受理编号": "SL-2024-000123"})
    data.update(kw)
    return SealDocument(**data)


async def outbox(svc: Service, topic: str | None = None) -> list:
    """Every event the service has put in its outbox, in order (parsed envelopes)."""
    ob = svc.db.tables.outbox
    async with svc.uow() as uow:
        rows = (await uow.session.execute(select(ob.c.topic, ob.c.headers, ob.c.payload).order_by(ob.c.id))).all()
    return [parse(r.headers, r.payload) for r in rows if topic is None or r.topic == topic]
