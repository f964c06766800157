"""The console's web plumbing: templates, the signed-in person, CSRF, the elderly-friendly
switch, and the pages that say what went wrong (a service away, no access, not found) without
a stack trace."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Iterable, Mapping
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import APIKeyCookie
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts.common import Role
from services.runtime.auth import ROLE_LABELS

from . import domain
from .clients import BackendProblem, Backends, ServiceDown, spent_var
from .config import ConsoleSettings
from .store import SessionRow
from .usecases import Accounts, csrf_matches

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SESSION_COOKIE = "ow_session"
ANON_COOKIE = "ow_anon"
ELDERLY_COOKIE = "ow_elderly"

#: Marks the staff pages in the OpenAPI document as authenticated (the session cookie).
session_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="The console's session (HttpOnly).")


class SignInRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class CsrfRefused(Exception):
    pass


class NoAccess(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


@dataclass
class Console:
    settings: ConsoleSettings
    accounts: Accounts
    backends: Backends
    templates: Environment
    csrf_key: bytes
    oidc: Any = None


def make_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["zh_date"] = domain.zh_date
    env.filters["zh_datetime"] = domain.zh_datetime
    env.filters["masked"] = domain.masked
    env.filters["mask_mobile"] = domain.mask_mobile_display
    env.filters["mask_id"] = domain.mask_id_display
    env.globals["step_bar"] = domain.step_bar
    env.globals["ROLE_LABELS"] = {r.value: label for r, label in ROLE_LABELS.items()}
    return env


def console(request: Request) -> Console:
    return request.app.state.console


def static_version() -> str:
    """Changes when a static file changes (cache busting of /static/...?v=)."""
    h = hashlib.sha256()
    for p in sorted((HERE / "static").glob("*")):
        if p.is_file():
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:10]


_STATIC_V = static_version()


# ------------------------------------------------------------------------------------------ who


async def current_user(request: Request) -> SessionRow | None:
    if "user" not in request.state._state:
        request.state.user = await console(request).accounts.session(request.cookies.get(SESSION_COOKIE))
    return request.state.user


def _here(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return path


async def staff(request: Request, _cookie: str | None = Depends(session_cookie)) -> SessionRow:
    """The signed-in staff member; a page asked without one goes to sign-in and comes back."""
    user = await current_user(request)
    if user is None:
        back = _here(request) if request.method == "GET" else (_referer_path(request) or "/desk")
        raise SignInRequired(back)
    return user


def _referer_path(request: Request) -> str | None:
    ref = request.headers.get("referer")
    if not ref:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(ref)
    if parts.netloc and parts.netloc != request.url.netloc:
        return None
    return domain.safe_next(parts.path + (f"?{parts.query}" if parts.query else ""), "/desk")


def require_role(user: SessionRow, *roles: Role) -> None:
    if Role(user.role) not in roles:
        names = "、".join(ROLE_LABELS[r] for r in roles)
        raise NoAccess(f"此页面仅供{names}使用，您的角色是{ROLE_LABELS[Role(user.role)]}。")


# ------------------------------------------------------------------------------------------ CSRF


def anon_id(request: Request) -> str:
    value = request.cookies.get(ANON_COOKIE) or request.state._state.get("new_anon")
    if not value:
        value = secrets.token_urlsafe(18)
        request.state.new_anon = value
    return value


def csrf_token(request: Request) -> str:
    user = request.state._state.get("user")
    if user is not None:
        return user.csrf
    key = console(request).csrf_key
    return hmac.new(key, ("anon:" + anon_id(request)).encode(), hashlib.sha256).hexdigest()[:43]


async def check_csrf(request: Request, form: Mapping[str, Any]) -> None:
    """Every form carries the token of the person's session (or, signed out, of the browser's
    anonymous cookie); a POST without the right one is refused."""
    await current_user(request)
    given = form.get("csrf")
    user = request.state.user
    if user is not None and csrf_matches(user.csrf, given):  # type: ignore[arg-type]
        return
    if request.cookies.get(ANON_COOKIE):
        key = console(request).csrf_key
        expected = hmac.new(key, ("anon:" + request.cookies[ANON_COOKIE]).encode(), hashlib.sha256).hexdigest()[:43]
        if csrf_matches(expected, given):  # type: ignore[arg-type]
            return
    raise CsrfRefused()


# ------------------------------------------------------------------------------------------ render


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    c = console(request)
    user = request.state._state.get("user")
    elderly = request.cookies.get(ELDERLY_COOKIE) == "1"
    html = c.templates.get_template(template).render(
        request=request, user=user, csrf=csrf_token(request), elderly=elderly,
        county=c.settings.console_county_name, center=c.settings.console_center_name,
        here=_here(request), static_v=_STATIC_V, **context,
    )
    return HTMLResponse(html, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def submit(call: Awaitable[Any], fields: Iterable[str], aliases: Mapping[str, str] | None = None, *,
                 passthrough: tuple[int, ...] = (401, 403)) -> tuple[Any, domain.FormErrors]:
    """A form's request to a service: (its answer, no errors), or (None, the service's refusal as
    errors next to ``fields``, never empty). A refusal in ``passthrough`` (the sign-in, the role;
    a 404 of what the page is about) still raises, to its own page."""
    try:
        return await call, domain.FormErrors()
    except BackendProblem as exc:
        if exc.status in passthrough:
            raise
        return None, domain.errors_from_problem(exc.problem, fields, aliases)


def problem_page(request: Request, status: int, title: str, message: str, *, hint: str = "",
                 service: str | None = None) -> HTMLResponse:
    return render(request, "error.html", status_code=status, title=title, message=message, hint=hint, service=service)


# ------------------------------------------------------------------------------------------ install


def install(app: FastAPI, c: Console) -> None:
    app.state.console = c

    @app.middleware("http")
    async def _cookies_and_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        spent: dict[str, float] = {}
        spent_var.set(spent)
        response: Response = await call_next(request)
        new_anon = request.state._state.get("new_anon")
        if new_anon and not request.cookies.get(ANON_COOKIE):
            response.set_cookie(ANON_COOKIE, new_anon, httponly=True, samesite="lax",
                                secure=c.settings.console_cookie_secure, max_age=365 * 24 * 3600)
        ctype = response.headers.get("content-type", "")
        if ctype.startswith("text/html"):
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                "object-src 'none'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("Cache-Control", "no-store")
        # app: the whole answer; <service>: the longest single wait for that service (calls run side by side)
        timing = [f"app;dur={(time.perf_counter() - started) * 1000:.1f}"]
        timing += [f"{name};dur={sec * 1000:.1f}" for name, sec in sorted(spent.items())]
        response.headers["Server-Timing"] = ", ".join(timing)
        return response

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return redirect("/signin?next=" + quote(exc.next_url, safe="/"))

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return problem_page(request, 403, "页面已过期", "为保护您的账户，本次提交未被接受（页面已过期或来自其他网站）。",
                            hint="请返回上一页，刷新后重新提交。没有保存任何内容。")

    @app.exception_handler(NoAccess)
    async def _no_access(request: Request, exc: NoAccess) -> Response:
        return problem_page(request, 403, "无权访问", exc.message)

    @app.exception_handler(ServiceDown)
    async def _down(request: Request, exc: ServiceDown) -> Response:
        return problem_page(
            request, 503, "服务暂时无法访问",
            f"{exc.label}暂时无法访问，本次操作没有完成。",
            hint="您的数据是安全的：已保存的信息不会丢失，本次操作也没有只完成一半。请稍后再试；如持续出现，请联系中心信息管理员。",
            service=exc.service)

    @app.exception_handler(BackendProblem)
    async def _refused(request: Request, exc: BackendProblem) -> Response:
        if exc.status == 401:
            await console(request).accounts.sign_out(request.cookies.get(SESSION_COOKIE))
            return redirect("/signin?next=" + quote(_here(request) if request.method == "GET" else "/desk", safe="/"))
        if exc.status == 403:
            return problem_page(request, 403, "无权访问", exc.detail,
                                hint="工作人员只能查看和办理本单位的业务。如需协助，请联系本单位负责人或中心督查人员。")
        if exc.status == 404:
            return problem_page(request, 404, "未找到", exc.detail)
        return problem_page(request, exc.status if 400 <= exc.status < 500 else 400, "未能办理", exc.detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path in ("/healthz", "/readyz", "/metrics"):
            from services.runtime.problems import Problem, problem_response

            return problem_response(Problem(exc.status_code, str(exc.detail)), request)
        if exc.status_code == 404:
            return problem_page(request, 404, "页面不存在", "没有这个页面，请检查地址是否正确。")
        if exc.status_code == 405:
            return problem_page(request, 405, "不支持该操作", "该页面不支持这种访问方式。")
        return problem_page(request, exc.status_code, "未能办理", str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_page(request, 500, "系统出错了", "系统处理时出错，已记录，本次操作没有完成。",
                            hint="您的数据是安全的。请稍后再试；如持续出现，请联系中心信息管理员。")
