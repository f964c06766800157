"""Sign in, sign out, the landing page and the elderly-friendly switch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.runtime import clock
from services.runtime.auth import PUBLIC
from services.runtime.problems import Problem

from .. import domain
from ..oidc import FLOW_COOKIE, FLOW_SECONDS, OidcError
from ..web import ELDERLY_COOKIE, SESSION_COOKIE, check_csrf, console, current_user, redirect, render

router = APIRouter(tags=["console: sign-in"])


@router.get("/", summary="Landing page", **PUBLIC, include_in_schema=True)
async def landing(request: Request) -> Response:
    user = await current_user(request)
    return render(request, "landing.html", title="首页", signed_in=user is not None)


@router.get("/signin", summary="Sign-in page", **PUBLIC)
async def signin_page(request: Request, next: str = "") -> Response:
    user = await current_user(request)
    target = domain.safe_next(next, "/desk")
    if user is not None:
        return redirect(target)
    return render(request, "signin.html", title="工作人员登录", next=target, username="", errors=domain.FormErrors(),
                  expired=bool(next), lockout_failures=console(request).settings.console_lockout_failures,
                  oidc=console(request).oidc.enabled)


@router.post("/signin", summary="Sign in with username and password", **PUBLIC)
async def signin(request: Request) -> Response:
    form = await request.form()
    await check_csrf(request, form)
    c = console(request)
    username = str(form.get("username") or "")
    password = str(form.get("password") or "")
    target = domain.safe_next(str(form.get("next") or ""), "/desk")
    result = await c.accounts.sign_in(username, password)
    if not hasattr(result, "session_id"):
        errors = domain.FormErrors()
        if not username.strip():
            errors.add("username", "请输入用户名")
        if not password:
            errors.add("password", "请输入密码")
        if not errors:
            errors.add("password", result.reason)  # type: ignore[union-attr]
        return render(request, "signin.html", status_code=423 if getattr(result, "locked", False) else 400,
                      title="工作人员登录", next=target, username=username, errors=errors, expired=False,
                      lockout_failures=c.settings.console_lockout_failures, oidc=c.oidc.enabled)
    response = redirect(target)
    response.set_cookie(SESSION_COOKIE, result.session_id, httponly=True, samesite="lax",  # type: ignore[union-attr]
                        secure=c.settings.console_cookie_secure, path="/")
    return response


@router.post("/signout", summary="Sign out", **PUBLIC)
async def signout(request: Request) -> Response:
    form = await request.form()
    await check_csrf(request, form)
    await console(request).accounts.sign_out(request.cookies.get(SESSION_COOKIE))
    response = redirect("/signin")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/prefs/elderly", summary="Turn the elderly-friendly mode on or off (remembered in a cookie)", **PUBLIC)
async def elderly(request: Request) -> Response:
    form = await request.form()
    await check_csrf(request, form)
    on = request.cookies.get(ELDERLY_COOKIE) != "1"
    response = redirect(domain.safe_next(str(form.get("next") or ""), "/portal"))
    response.set_cookie(ELDERLY_COOKIE, "1" if on else "0", httponly=True, samesite="lax",
                        secure=console(request).settings.console_cookie_secure, max_age=365 * 24 * 3600, path="/")
    return response


# ------------------------------------------------------------------------------------ OpenID Connect


def _callback_url(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


def _oidc_failed(request: Request, message: str) -> Response:
    return render(request, "error.html", status_code=400, title="登录未完成", message=message,
                  hint="没有保存任何内容。", service=None)


@router.get("/signin/oidc", summary="Sign in through the county's OpenID Connect provider", **PUBLIC)
async def oidc_start(request: Request, next: str = "") -> Response:
    c = console(request)
    if not c.oidc.enabled:
        return redirect("/signin")
    try:
        url, flow = await c.oidc.start(_callback_url(request), domain.safe_next(next, "/desk"))
    except OidcError as exc:
        return _oidc_failed(request, str(exc))
    response = redirect(url)
    response.set_cookie(FLOW_COOKIE, flow, httponly=True, samesite="lax", secure=c.settings.console_cookie_secure,
                        max_age=FLOW_SECONDS, path="/signin/oidc")
    return response


@router.get("/signin/oidc/callback", name="oidc_callback", summary="The provider sends the person back here", **PUBLIC)
async def oidc_callback(request: Request, code: str | None = None, state: str | None = None,
                        error: str | None = None) -> Response:
    c = console(request)
    if not c.oidc.enabled:
        return redirect("/signin")
    try:
        token, target = await c.oidc.finish(code, state, request.cookies.get(FLOW_COOKIE), _callback_url(request), error)
        staff = request.app.state.service.auth.verify(token)  # the services' own check (JWKS)
    except OidcError as exc:
        return _oidc_failed(request, str(exc))
    except Problem as exc:
        return _oidc_failed(request, f"统一身份认证的令牌未被接受：{exc.detail}")
    try:  # the session ends with the provider's token (the services would refuse it then)
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        exp = None
    now = clock.system_now()  # a cookie's lifetime: bookkeeping
    ends = now + timedelta(hours=c.settings.console_session_max_hours)
    if isinstance(exp, (int, float)):
        ends = min(ends, datetime.fromtimestamp(exp, UTC))
    signed = await c.accounts.open_session(staff.sub, staff.name, staff.role.value, staff.unit, token, ends, now=now)
    response = redirect(domain.safe_next(target, "/desk"))
    response.set_cookie(SESSION_COOKIE, signed.session_id, httponly=True, samesite="lax",
                        secure=c.settings.console_cookie_secure, path="/")
    response.delete_cookie(FLOW_COOKIE, path="/signin/oidc")
    return response
