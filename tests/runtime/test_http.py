"""The runtime's HTTP house: staff auth, problem+json, health, metrics, the route policy."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import jwt
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, Field

from contracts.common import Role
from services.runtime.auth import PUBLIC
from services.runtime.problems import PROBLEM_JSON
from services.runtime.testing import in_memory

from .example import make


class Body(BaseModel):
    name: str = Field(min_length=2)
    copies: int


@pytest.fixture
async def client(tmp_path: Path):
    svc = make(tmp_path)
    async with in_memory(svc):
        transport = httpx.ASGITransport(app=svc.api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            c.service = svc  # type: ignore[attr-defined]
            yield c


def _auth(c: httpx.AsyncClient, role: Role, unit: str | None) -> dict[str, str]:
    token = c.service.auth.issue("s1", role, unit, "张三")  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {token}"}


async def test_clerk_acts_for_own_unit_only(client: httpx.AsyncClient) -> None:
    ok = await client.post("/units/U01/widgets/w", headers=_auth(client, Role.CLERK, "U01"))
    assert ok.status_code == 200 and ok.json() == {"count": 1}
    other = await client.post("/units/U02/widgets/w", headers=_auth(client, Role.CLERK, "U01"))
    assert other.status_code == 403
    assert other.headers["content-type"] == PROBLEM_JSON
    assert other.json()["errors"][0]["field"] == "unit_code"
    # nothing was written by the refused request
    assert (await client.get("/widgets/w")).json() == {"count": 1}
    sup = await client.post("/units/U02/widgets/w", headers=_auth(client, Role.SUPERVISOR, None))
    assert sup.status_code == 200 and sup.json() == {"count": 2}


async def test_missing_forged_and_expired_tokens_are_refused(client: httpx.AsyncClient) -> None:
    r = await client.post("/units/U01/widgets/w")
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM_JSON
    assert r.headers["www-authenticate"] == "Bearer"
    good = client.service.auth.issue("s1", Role.CLERK, "U01")  # type: ignore[attr-defined]
    claims = jwt.decode(good, options={"verify_signature": False})
    forged = jwt.encode(claims, "another-key-of-sufficient-length-123456", algorithm="HS256")
    r = await client.post("/units/U01/widgets/w", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and r.json()["detail"] == "身份凭证无效"
    none_alg = jwt.encode(claims | {"role": "center_admin"}, None, algorithm="none")
    r = await client.post("/units/U01/widgets/w", headers={"Authorization": f"Bearer {none_alg}"})
    assert r.status_code == 401
    expired = client.service.auth.issue("s1", Role.CLERK, "U01", ttl=-10)  # type: ignore[attr-defined]
    r = await client.post("/units/U01/widgets/w", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "过期" in r.json()["detail"]


async def test_validation_errors_name_the_field(client: httpx.AsyncClient) -> None:
    router = APIRouter()

    @router.post("/echo", **PUBLIC)
    async def echo(body: Body) -> Body:
        return body

    client.service.api.include_router(router)  # type: ignore[attr-defined]
    r = await client.post("/echo", json={"name": "x", "copies": "many"})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM_JSON
    errors = {e["field"]: e["reason"] for e in r.json()["errors"]}
    assert errors == {"name": "内容太短（至少 2 个）", "copies": "应为整数"}
    r = await client.get("/nowhere")
    assert r.status_code == 404 and r.json()["detail"] == "没有这个地址"


class Order(BaseModel):
    items: list[Body]
    note: str = ""


async def test_control_characters_are_refused_at_the_door(client: httpx.AsyncClient) -> None:
    router = APIRouter()

    @router.post("/orders/{ref}", **PUBLIC)
    async def order(ref: str, body: Order, q: str = "") -> dict[str, str]:
        return {"ref": ref, "note": body.note, "q": q}

    client.service.api.include_router(router)  # type: ignore[attr-defined]
    good = {"items": [{"name": "表格", "copies": 1}], "note": "第一行\n第二行\t完"}
    r = await client.post("/orders/A1", json=good, params={"q": "ok"})
    assert r.status_code == 200 and r.json()["note"] == "第一行\n第二行\t完"
    # NUL deep in the body (PostgreSQL cannot store it): refused, naming the field
    r = await client.post("/orders/A1", json={"items": [{"name": "表\x00格", "copies": 1}]})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM_JSON
    assert r.json()["errors"] == [{"field": "items.0.name", "reason": "不能含有控制字符（如 NUL）"}]
    r = await client.post("/orders/A1", json={"items": [], "note": "\x85"})  # a C1 control, raw UTF-8
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "note"
    r = await client.post("/orders/A1", json=good, params={"q": "a\x00"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "q"
    r = await client.post("/orders/A%00", json=good)  # no row has such a key
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM_JSON


async def test_health_ready_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json()["status"] == "alive"
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["database"] == "ok" and r.json()["migrations"] == "ok"
    await client.get("/widgets/zz")
    text = (await client.get("/metrics")).text
    assert 'onewindow_http_requests_total{method="GET",route="/widgets/{widget}",status="200"} 1.0' in text
    assert "onewindow_outbox_backlog_events" in text


async def test_readyz_turns_red_when_the_database_is_unreachable(tmp_path: Path) -> None:
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    svc = make(tmp_path, database_url=f"sqlite+aiosqlite:///{db_dir / 'x.db'}")
    async with in_memory(svc):
        transport = httpx.ASGITransport(app=svc.api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            assert (await c.get("/readyz")).status_code == 200
            # The database's folder disappears (a lost mount): no connection can be opened.
            await svc.db.engine.dispose()
            db_dir.rename(tmp_path / "away")
            r = await c.get("/readyz")
            assert r.status_code == 503
            assert r.json()["database"].startswith("unreachable") and r.json()["ready"] is False
            # The API says so too: 503 with when to come back, not a 500 with a trace.
            r = await c.get("/widgets/w")
            assert r.status_code == 503 and r.headers["content-type"] == PROBLEM_JSON
            assert r.headers["retry-after"] == "5" and "数据库" in r.json()["detail"]
            (tmp_path / "away").rename(db_dir)
            assert (await c.get("/widgets/w")).status_code == 200
            r = await c.get("/readyz")
            assert r.status_code == 200, r.json()


class _BrokenProducer:
    """A sender whose producer has failed for good, as after OutOfOrderSequenceNumber."""

    async def send_batch(self, records: list) -> None:
        raise RuntimeError("OutOfOrderSequenceNumber: the broker lost this producer's sequence")


async def test_readyz_turns_red_while_the_relay_cannot_publish(tmp_path: Path) -> None:
    svc = make(tmp_path, relay_unready_after_seconds=0.3)
    async with in_memory(svc):
        transport = httpx.ASGITransport(app=svc.api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            c.service = svc  # type: ignore[attr-defined]
            working = svc.relay.sender
            svc.relay.sender = _BrokenProducer()
            assert (await c.post("/units/U01/widgets/w", headers=_auth(c, Role.CLERK, "U01"))).status_code == 200
            for _ in range(100):  # the relay retries with back-off; readiness follows
                r = await c.get("/readyz")
                if r.status_code == 503:
                    break
                await asyncio.sleep(0.05)
            assert r.status_code == 503 and r.json()["kafka"] == "ok", r.json()
            assert r.json()["outbox"].startswith("failing for") and "OutOfOrderSequenceNumber" in r.json()["outbox"]
            svc.relay.sender = working  # a working producer again: the backlog goes out, ready again
            for _ in range(300):
                r = await c.get("/readyz")
                if r.status_code == 200:
                    break
                await asyncio.sleep(0.05)
            assert r.status_code == 200, r.json()


def test_a_route_neither_public_nor_authenticated_is_refused_at_start(tmp_path: Path) -> None:
    svc = make(tmp_path)
    router = APIRouter()

    @router.get("/leaky")
    async def leaky() -> dict[str, str]:
        return {}

    svc.include_router(router)
    with pytest.raises(RuntimeError, match="GET /leaky"):
        svc._check_routes()


def test_a_librarys_english_message_never_reaches_the_clerk() -> None:
    from services.runtime.problems import validation_problem

    p = validation_problem([
        {"type": "value_error", "loc": ("body", "file"), "msg": "Value error, Expected UploadFile, received: <class 'str'>"},
        {"type": "value_error", "loc": ("body", "mobile"), "msg": "Value error, 手机号码无效"},
        {"type": "some_new_type", "loc": ("query", "x"), "msg": "Input should be a fancy thing"},
    ])
    assert [e["reason"] for e in p.errors] == ["应上传文件", "手机号码无效", "格式不正确"]
