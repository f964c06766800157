"""HTTP errors as RFC 9457 problem+json, naming the field and the reason in words a window
clerk understands (zh-CN), never a stack trace."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .db import database_unavailable
from .errors import DomainError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "请求有误",
    401: "未登录或登录已失效",
    403: "无权办理此事项",
    404: "未找到",
    405: "不支持该操作",
    409: "与当前状态冲突",
    413: "提交的内容过大",
    415: "不支持的内容类型",
    422: "提交的信息有误",
    429: "请求过于频繁，请稍后再试",
    500: "系统内部错误",
    503: "服务暂不可用",
}

# Pydantic error types, said plainly.
_REASONS = {
    "missing": "必填项，不能为空",
    "string_too_short": "内容太短",
    "string_too_long": "内容太长",
    "string_pattern_mismatch": "格式不正确",
    "string_type": "应为文字",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为是或否",
    "date_parsing": "日期格式不正确，应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式不正确，应为 YYYY-MM-DD",
    "datetime_parsing": "时间格式不正确",
    "datetime_from_date_parsing": "时间格式不正确",
    "enum": "不是可选的值之一",
    "literal_error": "不是可选的值之一",
    "greater_than": "数值太小",
    "greater_than_equal": "数值太小",
    "less_than": "数值太大",
    "less_than_equal": "数值太大",
    "too_short": "条目太少",
    "too_long": "条目太多",
    "json_invalid": "不是有效的 JSON",
    "model_attributes_type": "格式不正确",
    "dict_type": "格式不正确",
    "list_type": "应为列表",
    "uuid_parsing": "编号格式不正确",
    "extra_forbidden": "不允许的字段",
}


class Problem(Exception):
    """Raise from a route (or the domain's adapter) to answer with problem+json.

    ``errors`` is a list of ``{"field": "applicant.mobile", "reason": "手机号码无效"}``.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        type: str = "about:blank",
        field: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or _TITLES.get(status, "错误")
        self.type = type
        self.errors = list(errors or [])
        if field is not None:
            self.errors.insert(0, {"field": field, "reason": detail})
        self.headers = headers
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status, "detail": self.detail}
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(request.url.path if request else None),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) if parts else str(loc[-1] if loc else "")


_CJK = re.compile(r"[\u3400-\u9fff]")


def _reason(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "value_error":
        # Our own validators raise ValueError with a zh-CN message; a library's (FastAPI's
        # "Expected UploadFile, received: …") is English and is said plainly instead.
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        if _CJK.search(msg):
            return msg
        return "应上传文件" if "UploadFile" in msg else "格式不正确"
    base = _REASONS.get(kind)
    ctx = err.get("ctx") or {}
    if base and kind in ("string_too_short", "too_short") and "min_length" in ctx:
        return f"{base}（至少 {ctx['min_length']} 个）"
    if base and kind in ("string_too_long", "too_long") and "max_length" in ctx:
        return f"{base}（最多 {ctx['max_length']} 个）"
    if base:
        return base
    msg = str(err.get("msg", ""))
    return msg if _CJK.search(msg) else "格式不正确"  # never English to a window clerk


def _item(err: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"field": _field(tuple(err.get("loc", ()))), "reason": _reason(err)}
    if err.get("type") in ("enum", "literal_error") and "expected" in (err.get("ctx") or {}):
        # The allowed codes for programs (a form shows their labels); never inside the sentence.
        item["expected"] = re.findall(r"'([^']*)'", str(err["ctx"]["expected"]))
    return item


def validation_problem(errors: list[dict[str, Any]]) -> Problem:
    items = [_item(e) for e in errors]
    first = items[0] if items else {"field": "", "reason": "格式不正确"}
    detail = f"{first['field']}：{first['reason']}" if first["field"] else first["reason"]
    if len(items) > 1:
        detail += f"（共 {len(items)} 处问题）"
    return Problem(422, detail, errors=items)


def domain_problem(exc: DomainError) -> Problem:
    """The problem+json of a domain refusal: its status and title, the field it names."""
    return Problem(exc.status, exc.reason, title=exc.title, field=exc.field)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(domain_problem(exc), request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(validation_problem(list(exc.errors())), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "错误")
        if exc.status_code == 404 and detail == "Not Found":
            detail = "没有这个地址"
        elif exc.status_code == 405 and detail == "Method Not Allowed":
            detail = "该地址不支持此操作"
        return problem_response(Problem(exc.status_code, detail, headers=getattr(exc, "headers", None)), request)

    @app.exception_handler(SQLAlchemyError)
    @app.exception_handler(ConnectionError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):
            # An outage, not a bug: one line in the log (no trace), and the client is told when to
            # come back; the transaction was rolled back, so nothing is half-written.
            log.error("database unavailable on %s %s: %r", request.method, request.url.path, exc)
            return problem_response(
                Problem(503, "系统暂时无法访问数据库，本次操作未保存，请稍后再试", headers={"Retry-After": "5"}), request
            )
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(Problem(500, "系统内部错误，已记录，请稍后再试"), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(Problem(500, "系统内部错误，已记录，请稍后再试"), request)
