"""The async HTTP clients to the five back-end services, carrying the signed-in person's token.

Every call ends in one of three ways: the JSON (or bytes) asked for; :class:`BackendProblem`
(the service refused: 4xx problem+json naming the field, shown next to it); or
:class:`ServiceDown` (no answer in time, connection refused, a 5xx or 503): the page then says
which service is away and that nothing was lost. The console never reaches a service's database
or Kafka, only these APIs.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

import httpx

from .config import BACKEND_LABELS, BACKENDS, ConsoleSettings

log = logging.getLogger(__name__)

T = TypeVar("T")


#: Seconds this request spent waiting for each service (the console's Server-Timing header).
spent_var: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar("console_spent", default=None)


class ServiceDown(Exception):
    """A back-end service did not answer (or answered 5xx): nothing was changed by this request
    as far as the console knows, and the service's own transaction was all or nothing."""

    def __init__(self, service: str, reason: str = "") -> None:
        super().__init__(f"{service} unavailable: {reason}")
        self.service = service
        self.reason = reason

    @property
    def label(self) -> str:
        return BACKEND_LABELS.get(self.service, self.service)


class BackendProblem(Exception):
    """The service refused the request (4xx); ``problem`` is its problem+json body."""

    def __init__(self, service: str, status: int, problem: Mapping[str, Any]) -> None:
        super().__init__(f"{service} answered {status}: {problem.get('detail')}")
        self.service = service
        self.status = status
        self.problem = dict(problem)

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or "请求未被受理")


class Backends:
    """One pooled async client per service. ``transport`` replaces the network (unit tests)."""

    def __init__(self, settings: ConsoleSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        timeout = httpx.Timeout(settings.console_backend_timeout_seconds, connect=min(2.0, settings.console_backend_timeout_seconds))
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        #: The public guide's answers by (path, query): (expiry, body bytes). Same for everyone.
        self._catalog: dict[tuple[str, str], tuple[float, bytes]] = {}
        self.clients = {
            name: httpx.AsyncClient(base_url=settings.backend_url(name), timeout=timeout, limits=limits,
                                    transport=transport, headers={"User-Agent": "onewindow-console"})
            for name in BACKENDS
        }

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients.values()), return_exceptions=True)

    async def request(self, service: str, method: str, path: str, *, token: str | None = None,
                      headers: Mapping[str, str] | None = None, follow_redirects: bool = False,
                      **kwargs: Any) -> httpx.Response:
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        client = self.clients[service]
        started = time.perf_counter()
        try:
            r = await client.request(method, path, headers=hdrs, follow_redirects=follow_redirects, **kwargs)
        except httpx.TimeoutException as exc:
            log.warning("%s did not answer %s %s in time", service, method, path)
            raise ServiceDown(service, "timeout") from exc
        except httpx.TransportError as exc:
            log.warning("%s unreachable for %s %s: %r", service, method, path, exc)
            raise ServiceDown(service, type(exc).__name__) from exc
        finally:
            spent = spent_var.get()
            if spent is not None:
                spent[service] = max(spent.get(service, 0.0), time.perf_counter() - started)
        if method != "GET" and service == "intake":
            self._catalog.clear()  # a change (a published item, a new unit) shows at once
        if r.status_code >= 500:
            log.warning("%s answered %s to %s %s", service, r.status_code, method, path)
            raise ServiceDown(service, f"HTTP {r.status_code}")
        if r.status_code >= 400:
            raise BackendProblem(service, r.status_code, _problem_body(r))
        return r

    async def get(self, service: str, path: str, *, token: str | None = None, **kwargs: Any) -> Any:
        ttl = self.settings.console_catalog_cache_seconds
        if ttl > 0 and token is None and service == "intake" and path.startswith(CATALOG_PREFIX):
            return await self._catalog_get(path, ttl, **kwargs)
        return (await self.request(service, "GET", path, token=token, **kwargs)).json()

    async def _catalog_get(self, path: str, ttl: float, **kwargs: Any) -> Any:
        """The public guide, reused for ``ttl`` seconds: every clerk's form and every visitor's
        page asks for the same items. Bytes are kept and parsed per call, so no caller can change
        another's copy; refusals are not kept."""
        key = (path, str(httpx.QueryParams(kwargs.get("params") or {})))
        now = time.monotonic()
        hit = self._catalog.get(key)
        if hit is not None and hit[0] > now:
            return json.loads(hit[1])
        r = await self.request("intake", "GET", path, **kwargs)
        if len(self._catalog) > 2000:  # bounded: the guide's pages are few, a search's words are not
            self._catalog.clear()
        self._catalog[key] = (now + ttl, r.content)
        return r.json()

    async def post(self, service: str, path: str, *, token: str | None = None, **kwargs: Any) -> Any:
        r = await self.request(service, "POST", path, token=token, **kwargs)
        return r.json() if r.content else None


#: The public item guide (办事指南): units and items, the same for everyone.
CATALOG_PREFIX = "/intake/guide/"


def _problem_body(r: httpx.Response) -> dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {"status": r.status_code, "detail": _FALLBACK.get(r.status_code, "请求未被受理")}


_FALLBACK = {400: "请求有误", 401: "登录已失效，请重新登录", 403: "无权办理此事项", 404: "未找到", 409: "与当前状态冲突",
             413: "文件过大", 415: "文件类型不对", 422: "提交的信息有误", 429: "操作过于频繁，请稍后再试"}


async def optional(call: Awaitable[T], default: T | None = None, *, within: float | None = None,
                   service: str = "") -> tuple[T | None, str | None]:
    """Run a call whose failure must not fail the page: (result, None) or (default, what failed).
    A refusal (403/404) or an away service leaves its part of the page marked unavailable; with
    ``within`` seconds, a slow one too ("show what is there, mark what is late")."""
    try:
        if within is not None:
            return await asyncio.wait_for(call, within), None
        return await call, None
    except asyncio.TimeoutError:
        label = BACKEND_LABELS.get(service, service or "相关服务")
        return default, f"{label}回应较慢，本次未取得，请稍后刷新"
    except ServiceDown as exc:
        return default, f"{exc.label}暂时无法访问"
    except BackendProblem as exc:
        return default, exc.detail
