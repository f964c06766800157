"""The console fuzzed: its pages are HTML forms, not an OpenAPI document, so Hypothesis posts
random and hostile values to every console route (the form fields its templates name, the query
parameters its routes declare, hostile path segments) — signed out and signed in as each role,
each form with the session's valid CSRF token, so the values get past the door into the code.

The console runs in-process (ASGI) against a stand-in for the five services (the unit tests'
``Stand``) that refuses every change with a Chinese problem+json naming one of the fields sent —
what the services do with bad input. No answer may be a server error (5xx), none may carry a
stack trace or echo a hostile ``<script>`` unescaped, and every refusal page (4xx) speaks Chinese.

``ONEWINDOW_FUZZ_EXAMPLES`` sets the examples per route (default 6, about a minute); the draws
are the same every run unless ``ONEWINDOW_FUZZ_RANDOM=1``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.console import test_console_unit as unit

EXAMPLES = int(os.environ.get("ONEWINDOW_FUZZ_EXAMPLES", "6"))
DERANDOMIZE = os.environ.get("ONEWINDOW_FUZZ_RANDOM") != "1"

TEMPLATES = Path(__file__).resolve().parents[2] / "services" / "console" / "templates"
STACK_TRACE_MARKERS = ("Traceback (most recent call last)", 'File "/', "sqlalchemy.exc", "pydantic_core",
                       "jinja2.exceptions")
SCRIPT = "<script>alert(1)</script>"
HOSTILE = [
    SCRIPT, '"><img src=x onerror=alert(1)>', "' OR '1'='1' --", "../../etc/passwd", "%00", "\x00", "\x1b[31m",
    "A" * 5000, "０１２３", "٢٠٢٦-١٢", "2026-13-45", "9999-99-99", "0000-00", "-1", "0", "1e309", "NaN",
    "99999999999999999999999", "2026-FGJ-00001", "2026-fgj-00001\n", "FGJ-001", "𠮷野家", "\u202e反转", " ",
    "javascript:alert(1)", "//evil.example/", "{{7*7}}", "{% raw %}", "${jndi:ldap://x}", "张三", "110101199003071234",
]
#: Text without lone surrogates (no client can send them) and with everything else allowed.
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
VALUE = st.one_of(st.sampled_from(HOSTILE), TEXT)
ROLES = {"anonymous": None, "clerk": "Chuangkou2026", "head": "Fuzeren2026", "supervisor": "Ducha2026",
         "admin": "Guanli2026"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def form_fields() -> list[str]:
    """Every field name the console's templates put in a form (so new forms are fuzzed too)."""
    names: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        names.update(re.findall(r'\bname="([A-Za-z_][\w.\-]*)"', text))
        names.update(re.findall(r"m\.(?:input|textarea|select)\('([\w.\-]+)'", text))
    names.discard("viewport")
    names.discard("csrf")
    return sorted(names)


FIELDS = form_fields()


class HostileStand(unit.Stand):
    """The five services: reads answered as the unit tests' stand answers them; every change
    refused with 422 problem+json naming one of the fields sent, in Chinese."""

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            try:
                body = json.loads(request.content or b"{}")
            except ValueError:
                body = {}
            field = next(iter(body), None) if isinstance(body, dict) else None
            return httpx.Response(422, headers={"content-type": "application/problem+json"}, json={
                "type": "about:blank", "title": "提交的信息有误", "status": 422, "detail": "提交的信息有误，请核对",
                "errors": [{"field": field or "body", "reason": "格式不正确"}]})
        canned = CANNED.get(request.url.path)
        if canned is not None:
            return httpx.Response(200, json=canned)
        return super().handler(request)


#: Reads whose answers are objects (the unit tests' stand answers a list for every clocks path).
CANNED: dict[str, Any] = {
    "/deadline/clocks/summary": {"today": "2026-12-07", "yellow_days": 2, "units": [], "total": {
        "unit_code": "*", "unit_name": None, "open": 0, "yellow": 0, "red": 0, "overdue": 0}},
    "/intake/reports/today": {"day": "2026-12-07", "units": [], "total": {
        "unit_code": "*", "unit_name": None, "received": 0, "immediate_done": 0}},
    "/attendance/presence": {"at": "2026-12-07T09:00:00+08:00", "windows": [], "open_count": 0, "staffed_count": 0},
    "/intake/reports/weekends": {"weekends": [], "total": 0, "average_per_weekend": 0},
}


class Console:
    """The console in-process on an event loop of its own (Hypothesis drives a plain function),
    with one signed-in client per role."""

    def __init__(self, tmp: Path) -> None:
        from asgi_lifespan import LifespanManager

        from services.console.app import create_service
        from services.console.config import ConsoleSettings

        # The console's loop runs on a thread of its own, so its background tasks keep running
        # between the draws (Hypothesis calls a plain function; each request is handed over).
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="console-fuzz", daemon=True)
        self.thread.start()
        self.stand = HostileStand()
        cfg = ConsoleSettings(data_dir=tmp, auth_secret=unit.SECRET, console_demo_accounts=True,
                              console_lockout_failures=100, log_json=False)
        self.svc = create_service(cfg, transport=httpx.MockTransport(self.stand.handler))

        async def start() -> LifespanManager:
            manager = LifespanManager(self.svc.api)  # it detects the loop it is made on
            await manager.__aenter__()
            return manager

        self.lifespan = self.run(start())
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.csrf: dict[str, str] = {}
        for role, password in ROLES.items():
            c = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.svc.api), base_url="http://console")
            if password:
                r = self.run(unit.sign_in(c, role, password))
                assert r.status_code == 303, (role, r.status_code, r.text[:300])
                page = self.run(c.get("/desk" if role in ("clerk", "head") else "/portal"))
            else:
                page = self.run(c.get("/signin"))
            self.csrf[role] = unit.csrf_of(page.text)
            self.clients[role] = c

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def close(self) -> None:
        for c in self.clients.values():
            self.run(c.aclose())
        self.run(self.lifespan.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    c = Console(tmp_path_factory.mktemp("console-fuzz"))
    try:
        yield c
    finally:
        c.close()


def routes() -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, path template, query parameter names) of every console page and form, from the
    OpenAPI document the console builds (every router's routes, however FastAPI nests them).
    Signing out is left out: it would end the session the other draws use."""
    import tempfile

    from services.console.app import create_service
    from services.console.config import ConsoleSettings

    svc = create_service(ConsoleSettings(data_dir=Path(tempfile.mkdtemp()), auth_secret=unit.SECRET))
    out = []
    for path, ops in svc.api.openapi()["paths"].items():
        if path in ("/healthz", "/readyz", "/signout"):
            continue
        for method, op in ops.items():
            if method in ("get", "post"):
                query = tuple(p["name"] for p in op.get("parameters", []) if p.get("in") == "query")
                out.append((method.upper(), path, query))
    return out


ROUTES = routes()


def check(method: str, path: str, role: str, r: httpx.Response) -> None:
    where = f"{role} {method} {path} -> {r.status_code}: {r.text[:300]!r}"
    assert r.status_code < 500, where
    for marker in STACK_TRACE_MARKERS:
        assert marker not in r.text, where
    ctype = r.headers.get("content-type", "")
    if "html" in ctype:
        assert SCRIPT not in r.text, f"unescaped script echoed: {where}"
        # Every HTML answer, whatever was sent (issue 20, item 5): the hardening headers.
        csp = r.headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp and "frame-ancestors" in csp and "'unsafe-inline'" not in csp, where
        assert r.headers.get("x-content-type-options") == "nosniff" and r.headers.get("referrer-policy"), where
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", r.text), f"an inline event handler: {where}"
        assert "<script>" not in r.text, f"an inline script: {where}"
    for cookie in r.headers.get_list("set-cookie"):
        assert "HttpOnly" in cookie and "samesite" in cookie.lower(), f"{cookie}: {where}"
        if 400 <= r.status_code < 500:
            assert CJK.search(r.text), f"a refusal not in Chinese: {where}"


def test_every_console_route_is_known() -> None:
    """The fuzzing covers the desk, the portal, the hall, sign-in and the management pages."""
    paths = {p for _, p, _ in ROUTES}
    assert {"/desk", "/desk/search", "/desk/new", "/hall", "/signin", "/portal/items/{item_code}"} <= paths, paths
    assert any(m == "POST" for m, _, _ in ROUTES) and len(FIELDS) > 20


@pytest.mark.timeout(240)
@pytest.mark.parametrize("method, path, query", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_hostile_values_never_break_a_page(app: Console, method: str, path: str, query: tuple[str, ...]) -> None:
    params = re.findall(r"\{(\w+)(?::\w+)?\}", path)

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
              suppress_health_check=list(HealthCheck))
    @given(role=st.sampled_from(sorted(ROLES)),
           segments=st.fixed_dictionaries({p: st.one_of(st.sampled_from(HOSTILE), TEXT.filter(bool)) for p in params}),
           values=st.dictionaries(st.sampled_from(list(query) + FIELDS), VALUE, max_size=8),
           many=st.lists(st.sampled_from(HOSTILE), max_size=3))
    def fuzz(role: str, segments: dict[str, str], values: dict[str, str], many: list[str]) -> None:
        url = path
        for name, value in segments.items():
            url = re.sub(r"\{" + name + r"(?::\w+)?\}", quote(value, safe="") or "x", url)
        client = app.clients[role]
        if method == "GET":
            r = app.run(client.get(url, params=values))
        else:
            data: dict[str, Any] = {**values, "csrf": app.csrf[role]}
            if many:
                data["materials"] = many  # a repeated field (checkboxes)
            r = app.run(client.post(url, data=data))
        check(method, url, role, r)

    fuzz()
