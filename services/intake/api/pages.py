"""The public HTML pages (zh-CN) of the status lookup (办件查询) and the rating (好差评).

The SMS notify sends after a decision links to ``/intake/public/ratings/{receipt_no}``, and the
center's website links to ``/intake/public/status``. Both pages post ordinary HTML forms and
call the JSON routes' own functions (``public.public_status`` and ``public.public_rating``), so the
rate limit, the "a wrong pair answers exactly as an unknown number" rule, the masking and the
once-only rating with its rectification are the same code path as the API's. Refusals are shown
on the page in plain words with the HTTP status the API would give.

Hardening: every page carries a content security policy without any script (``default-src
'none'``, only the inline stylesheet), ``frame-ancestors 'none'`` (and ``X-Frame-Options``),
``Referrer-Policy: no-referrer``, ``nosniff`` and ``no-store``. Every form carries a CSRF token
(double submit: a random value in an HttpOnly, SameSite=Strict cookie — Secure, and named
``__Host-…``, when served over TLS — and the same value in a hidden field; a POST whose field does
not match its cookie, or that a browser marks ``Sec-Fetch-Site: cross-site``, answers 403 and a
fresh form). It needs no server-side state, so it holds across replicas.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from contracts.intake import RatingLevel
from services.runtime import PUBLIC, Problem, UoW
from services.runtime.errors import DomainError
from services.runtime.workdays import local

from ..domain.cases import MAX_COMMENT, normalize_receipt_no
from ..schemas import LookupIn, PublicRatingIn
from . import public
from .deps import State

TEMPLATES = Path(__file__).parent.parent / "templates"
_WEEKDAYS = "一二三四五六日"

# Longest values the page accepts before it stops reading them (the JSON API's limits).
MAX_RECEIPT_NO = 40
MAX_LAST4 = 8


def _datetime(value: datetime | None) -> str:
    return local(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _date(value: date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日（星期{_WEEKDAYS[value.weekday()]}）" if value else ""


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
    trim_blocks=True, lstrip_blocks=True,
)
_env.filters["datetime"] = _datetime
_env.filters["date"] = _date

# No scripts, no external assets: the pages need only their own inline stylesheet and forms.
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

CSRF_FIELD = "csrf_token"
CSRF_COOKIE = "intake_csrf"
CSRF_COOKIE_TLS = "__Host-intake_csrf"  # the __Host- prefix: Secure, Path=/, no Domain (no sibling may set it)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
CSRF_REFUSED = "页面已过期或来源不明，请重新填写后提交"


def _tls(request: Request) -> bool:
    if request.url.scheme == "https":
        return True
    st = request.app.state.service.state.intake
    return bool(st.settings.intake_trust_forwarded_for
                and request.headers.get("x-forwarded-proto", "").split(",")[0].strip() == "https")


def _cookie_name(request: Request) -> str:
    return CSRF_COOKIE_TLS if _tls(request) else CSRF_COOKIE


def _cookie_token(request: Request) -> str | None:
    value = request.cookies.get(_cookie_name(request), "")
    return value if _TOKEN.fullmatch(value) else None


def _csrf_ok(request: Request, submitted: str) -> bool:
    if request.headers.get("sec-fetch-site", "") == "cross-site":
        return False
    cookie = _cookie_token(request)
    return bool(cookie and submitted and hmac.compare_digest(cookie.encode(), submitted.encode()))

LEVELS = [(level, level.label) for level in (
    RatingLevel.VERY_SATISFIED, RatingLevel.SATISFIED, RatingLevel.BASICALLY_SATISFIED,
    RatingLevel.DISSATISFIED, RatingLevel.VERY_DISSATISFIED,
)]

router = APIRouter(prefix="/intake/public", tags=["public pages"])


def _paths(request: Request, receipt_no: str | None = None) -> dict[str, str]:
    """Absolute paths (with any root path) for the forms and links, whatever page is shown."""
    paths = {"status": request.url_for("status_page").path,
             "status_submit": request.url_for("status_page_result").path}
    if receipt_no:
        paths["rating"] = request.url_for("rating_page", receipt_no=receipt_no).path
    return paths


def _render(request: Request, template: str, status_code: int = 200, headers: dict[str, str] | None = None,
            **context: Any) -> HTMLResponse:
    context.setdefault("paths", _paths(request))
    token = _cookie_token(request)
    fresh = token is None
    if fresh:
        token = secrets.token_urlsafe(32)
    html = _env.get_template(template).render(csrf_token=token, **context)
    response = HTMLResponse(html, status_code=status_code, headers={**_HEADERS, **(headers or {})})
    if fresh:
        tls = _tls(request)
        response.set_cookie(_cookie_name(request), token, httponly=True, samesite="strict", secure=tls,
                            path="/" if tls else "/intake/public", max_age=2 * 3600)
    return response


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {"status": status, "message": message, "headers": headers}


def _refusal(exc: Problem | DomainError) -> dict[str, Any]:
    """What the API would answer, as a message for the page."""
    if isinstance(exc, Problem):
        message = exc.detail
        if exc.status == 429 and exc.headers and "Retry-After" in exc.headers:
            message = f"{exc.detail}（约 {exc.headers['Retry-After']} 秒后可再次查询）"
        return _error(exc.status, message, exc.headers)
    return _error(exc.status, exc.reason)


def _last4_problem(value: str) -> str | None:
    if not re.fullmatch(r"\d{4}", value):
        return "请填写申请时所留手机号码的后四位（4位数字）"
    return None


# ============================================================================ 办件查询


@router.get("/status", response_class=HTMLResponse, name="status_page",
            summary="办件查询页面（受理编号 + 手机号后四位）", **PUBLIC)
async def status_page(request: Request) -> HTMLResponse:
    return _render(request, "status.html.j2", form={"receipt_no": ""}, error=None, view=None)


@router.post("/status/page", response_class=HTMLResponse, name="status_page_result",
             summary="办件查询页面的查询结果（表单提交）", **PUBLIC)
async def status_page_result(
    request: Request, uow: UoW, st: State,
    receipt_no: Annotated[str, Form(description="受理编号")] = "",
    mobile_last4: Annotated[str, Form(description="手机号码后四位")] = "",
    csrf_token: Annotated[str, Form(description="表单令牌（防跨站请求伪造）")] = "",
) -> HTMLResponse:
    typed = receipt_no.strip()[:MAX_RECEIPT_NO]
    last4 = mobile_last4.strip()[:MAX_LAST4]
    form = {"receipt_no": typed}
    problem = None
    if not _csrf_ok(request, csrf_token):
        return _render(request, "status.html.j2", status_code=403, form=form, error=_error(403, CSRF_REFUSED),
                       view=None)
    if not typed:
        problem = "请填写受理编号"
    elif normalize_receipt_no(typed) is None:
        problem = "受理编号格式不正确，应类似 2026-LYJ-7K3M9Q2X（见受理通知书或短信）"
    else:
        problem = _last4_problem(last4)
    if problem:
        return _render(request, "status.html.j2", status_code=422, form=form, error=_error(422, problem), view=None)
    try:
        view = await public.public_status(LookupIn(receipt_no=typed, mobile_last4=last4), request, uow, st)
    except (Problem, DomainError) as exc:
        err = _refusal(exc)
        return _render(request, "status.html.j2", status_code=err["status"], headers=err["headers"], form=form,
                       error=err, view=None)
    return _render(request, "status.html.j2", form={"receipt_no": ""}, error=None, view=view,
                   paths=_paths(request, view.receipt_no))


# ============================================================================ 好差评


def _rating_context(request: Request, receipt_no: str) -> dict[str, Any]:
    return {"receipt_no": receipt_no, "levels": LEVELS, "max_comment": MAX_COMMENT,
            "paths": _paths(request, receipt_no)}


def _bad_link(request: Request, raw: str) -> HTMLResponse:
    # Neither page says anything about a case before the pair is given: only the link's shape.
    message = "链接中的受理编号不正确，请核对短信中的链接，或通过办件查询页面查找"
    return _render(request, "rating.html.j2", status_code=404, receipt_no=raw[:MAX_RECEIPT_NO], levels=LEVELS,
                   max_comment=MAX_COMMENT, form=None, ack=None, error=_error(404, message))


@router.get("/ratings/{receipt_no}", response_class=HTMLResponse, name="rating_page",
            summary="办件评价页面（短信中的评价链接）", **PUBLIC)
async def rating_page(request: Request, receipt_no: str) -> HTMLResponse:
    no = normalize_receipt_no(receipt_no)
    if no is None:
        return _bad_link(request, receipt_no)
    return _render(request, "rating.html.j2", form={"level": "", "comment": ""}, error=None, ack=None,
                   **_rating_context(request, no))


@router.post("/ratings/{receipt_no}", response_class=HTMLResponse, name="rating_page_submit",
             summary="办件评价页面的提交（表单），每件一次", **PUBLIC)
async def rating_page_submit(
    request: Request, receipt_no: str, uow: UoW, st: State,
    level: Annotated[str, Form(description="满意程度")] = "",
    comment: Annotated[str, Form(description="评价内容（选填）")] = "",
    mobile_last4: Annotated[str, Form(description="手机号码后四位")] = "",
    csrf_token: Annotated[str, Form(description="表单令牌（防跨站请求伪造）")] = "",
) -> HTMLResponse:
    no = normalize_receipt_no(receipt_no)
    if no is None:
        return _bad_link(request, receipt_no)
    context = _rating_context(request, no)
    known = level in {lv.value for lv in RatingLevel}
    form = {"level": level if known else "", "comment": comment[:MAX_COMMENT * 2]}
    if not _csrf_ok(request, csrf_token):
        return _render(request, "rating.html.j2", status_code=403, form=form, ack=None,
                       error=_error(403, CSRF_REFUSED), **context)
    last4 = mobile_last4.strip()[:MAX_LAST4]
    problem = None
    if not form["level"]:
        problem = "请选择满意程度"
    elif len(comment.strip()) > MAX_COMMENT:
        problem = f"评价内容不能超过{MAX_COMMENT}字"
    else:
        problem = _last4_problem(last4)
    body = None
    if problem is None:
        try:
            body = PublicRatingIn(receipt_no=no, mobile_last4=last4, level=RatingLevel(level),
                                  comment=comment.strip() or None)
        except ValidationError:
            problem = "填写的内容有误，请检查后重新提交"
    if problem or body is None:
        return _render(request, "rating.html.j2", status_code=422, form=form, ack=None,
                       error=_error(422, problem or "填写的内容有误"), **context)
    try:
        ack = await public.public_rating(body, request, uow, st)
    except (Problem, DomainError) as exc:
        err = _refusal(exc)
        # A refusal of the case itself (already rated, not yet decided) ends here: no form again.
        again = err["status"] != 409
        return _render(request, "rating.html.j2", status_code=err["status"], headers=err["headers"],
                       form=form if again else None, ack=None, error=err, **context)
    return _render(request, "rating.html.j2", status_code=201, form=None, error=None, ack=ack,
                   rectification_days=st.settings.intake_rectification_days, **context)
