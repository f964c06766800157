"""The services' HTTP metrics (``services.runtime.metrics.HttpMetrics``, a plain ASGI middleware):
requests by method, route template and status, and their latency, for matched routes, unmatched
paths, refusals and a handler that raised."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from starlette.middleware.base import BaseHTTPMiddleware

from services.runtime.auth import PUBLIC
from services.runtime.metrics import HttpMetrics
from services.runtime.testing import in_memory

from .example import make


def count(svc, method: str, route: str, status: str) -> float:  # type: ignore[no-untyped-def]
    return svc.metrics.registry.get_sample_value(
        "onewindow_http_requests_total", {"method": method, "route": route, "status": status}) or 0.0


def observed(svc, method: str, route: str) -> float:  # type: ignore[no-untyped-def]
    return svc.metrics.registry.get_sample_value(
        "onewindow_http_request_duration_seconds_count", {"method": method, "route": route}) or 0.0


@pytest.fixture
async def svc(tmp_path: Path):  # type: ignore[no-untyped-def]
    service = make(tmp_path)
    router = APIRouter()

    @router.get("/boom/{n}", **PUBLIC)
    async def boom(n: int) -> dict[str, int]:
        raise RuntimeError(f"boom {n}")

    service.include_router(router)
    async with in_memory(service):
        yield service


async def test_requests_are_counted_by_route_template_status_and_timed(svc) -> None:  # type: ignore[no-untyped-def]
    # Plain ASGI, not Starlette's BaseHTTPMiddleware (its task group and streams per request).
    kinds = [m.cls for m in svc.api.user_middleware]
    assert HttpMetrics in kinds and BaseHTTPMiddleware not in kinds
    transport = httpx.ASGITransport(app=svc.api, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        for w in ("a", "b", "c"):
            assert (await c.get(f"/widgets/{w}")).status_code == 200
        assert (await c.post("/units/U01/widgets/w")).status_code == 401
        assert (await c.get("/nowhere")).status_code == 404
        r = await c.get("/boom/7")
        assert r.status_code == 500
        assert (await c.get("/boom/x")).status_code == 422
        assert (await c.get("/metrics")).status_code == 200
    assert count(svc, "GET", "/widgets/{widget}", "200") == 3
    assert observed(svc, "GET", "/widgets/{widget}") == 3
    assert count(svc, "POST", "/units/{unit}/widgets/{widget}", "401") == 1
    assert count(svc, "GET", "unmatched", "404") == 1
    # A handler that raised: the server answered 500, and it is counted as such.
    assert count(svc, "GET", "/boom/{n}", "500") == 1
    assert count(svc, "GET", "/boom/{n}", "422") == 1
    assert count(svc, "GET", "/metrics", "200") == 1
    total = svc.metrics.registry.get_sample_value(
        "onewindow_http_request_duration_seconds_sum", {"method": "GET", "route": "/widgets/{widget}"})
    assert 0 < total < 30
