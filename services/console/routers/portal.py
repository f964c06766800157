"""The public portal (网上办事): the item guide (办事指南) by unit and by search, the status
lookup, the rating and the seal verification. No sign-in; phone-friendly; the elderly-friendly
switch on every page."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.runtime.auth import PUBLIC

from .. import domain, labels
from ..clients import BackendProblem
from ..web import check_csrf, console, redirect, render

router = APIRouter(prefix="/portal", tags=["console: public portal"])

MAX_PDF = 20 * 1024 * 1024


def _client_headers(request: Request) -> dict[str, str]:
    """The public's own address for intake's per-client lookup limit (honoured when intake is
    told to trust the console: ONEWINDOW_INTAKE_TRUST_FORWARDED_FOR)."""
    host = request.client.host if request.client else "unknown"
    return {"X-Forwarded-For": host}


@router.get("", summary="The portal: units and search", **PUBLIC)
async def portal(request: Request) -> Response:
    units = await console(request).backends.get("intake", "/intake/guide/units")
    return render(request, "portal/index.html", title="网上办事", units=units)


@router.get("/units/{unit_code}", summary="A unit's items", **PUBLIC)
async def unit_items(unit_code: str, request: Request) -> Response:
    b = console(request).backends
    code = unit_code.strip().upper()[:12]
    units, items = await asyncio.gather(b.get("intake", "/intake/guide/units"),
                                        b.get("intake", "/intake/guide/items", params={"unit": code}))
    unit = next((u for u in units if u["code"] == code), None)
    if unit is None:
        raise BackendProblem("intake", 404, {"detail": "没有这个单位"})
    return render(request, "portal/items.html", title=unit["name"], unit=unit, items=items, q="")


@router.get("/search", summary="Search the item guide", **PUBLIC)
async def search(request: Request, q: str = "") -> Response:
    q = q.strip()[:100]
    items: list[dict[str, Any]] = []
    if q:
        items = await console(request).backends.get("intake", "/intake/guide/items", params={"q": q})
    return render(request, "portal/items.html", title="搜索事项", unit=None, items=items, q=q)


@router.get("/items/{item_code}", summary="An item's guide (办事指南)", **PUBLIC)
async def item_guide(item_code: str, request: Request) -> Response:
    item = await console(request).backends.get("intake", f"/intake/guide/items/{quote(item_code.strip().upper()[:20], safe='')}")
    return render(request, "portal/item.html", title=item["name"], item=item)


# ------------------------------------------------------------------------------------ status lookup

LOOKUP_FIELDS = ("receipt_no", "mobile_last4")


def _lookup_errors(values: dict[str, str]) -> domain.FormErrors:
    e = domain.FormErrors()
    if not values["receipt_no"]:
        e.add("receipt_no", "请填写受理编号")
    if not values["mobile_last4"]:
        e.add("mobile_last4", "请填写申请时所留手机号码的后四位")
    elif not (values["mobile_last4"].isdigit() and len(values["mobile_last4"]) == 4):
        e.add("mobile_last4", "请填写4位数字")
    return e


@router.get("/status", summary="Status lookup (受理编号 + 手机号后四位)", **PUBLIC)
async def status_page(request: Request, no: str = "") -> Response:
    return render(request, "portal/status.html", title="办件查询", values={"receipt_no": no[:40], "mobile_last4": ""},
                  errors=domain.FormErrors(), result=None)


@router.post("/status", summary="Status lookup result", **PUBLIC)
async def status_result(request: Request) -> Response:
    form = await request.form()
    await check_csrf(request, form)
    values = {k: str(form.get(k) or "").strip()[:40] for k in LOOKUP_FIELDS}
    errors = _lookup_errors(values)
    result = None
    if not errors:
        try:
            result = await console(request).backends.post(
                "intake", "/intake/public/status", json=values, headers=_client_headers(request))
        except BackendProblem as exc:
            errors = domain.errors_from_problem(exc.problem, LOOKUP_FIELDS)
    if result:
        values = {"receipt_no": values["receipt_no"], "mobile_last4": ""}  # a shared kiosk keeps no digits
    return render(request, "portal/status.html", status_code=200 if result else 422, title="办件查询", values=values,
                  errors=errors, result=result, levels=labels.RATING_LEVELS)


# ------------------------------------------------------------------------------------ rating

RATING_FIELDS = ("receipt_no", "mobile_last4", "level", "comment")


@router.get("/rate", summary="Rate a case (好差评)", **PUBLIC)
async def rate_page(request: Request, no: str = "") -> Response:
    return render(request, "portal/rate.html", title="办件评价", values={"receipt_no": no[:40]}, errors=domain.FormErrors(),
                  levels=labels.RATING_LEVELS, ack=None)


@router.post("/rate", summary="Submit the rating, once per case", **PUBLIC)
async def rate(request: Request) -> Response:
    form = await request.form()
    await check_csrf(request, form)
    values = {k: str(form.get(k) or "").strip() for k in RATING_FIELDS}
    values["comment"] = values["comment"][:500]
    errors = _lookup_errors(values)
    if values["level"] not in labels.RATING_LEVELS:
        errors.add("level", "请选择一项评价")
    ack = None
    if not errors:
        try:
            ack = await console(request).backends.post(
                "intake", "/intake/public/ratings", headers=_client_headers(request),
                json={**values, "comment": values["comment"] or None})
        except BackendProblem as exc:
            errors = domain.errors_from_problem(exc.problem, RATING_FIELDS)
    return render(request, "portal/rate.html", status_code=201 if ack else 422, title="办件评价", values=values,
                  errors=errors, levels=labels.RATING_LEVELS, ack=ack)


# ------------------------------------------------------------------------------------ seal verification


@router.get("/verify", summary="Verify a sealed PDF (upload)", **PUBLIC)
async def verify_page(request: Request) -> Response:
    return render(request, "portal/verify.html", title="电子印章验证", errors=domain.FormErrors(), answer=None)


@router.post("/verify", summary="Verify a sealed PDF: the answer of the seal service", **PUBLIC)
async def verify(request: Request) -> Response:
    form = await request.form(max_part_size=MAX_PDF + 1)
    await check_csrf(request, form)
    errors = domain.FormErrors()
    upload = form.get("file")
    data = b""
    if upload is None or isinstance(upload, str) or not getattr(upload, "filename", ""):
        errors.add("file", "请选择要验证的PDF文件")
    else:
        data = await upload.read(MAX_PDF + 1)  # type: ignore[union-attr]
        if not data:
            errors.add("file", "文件为空")
        elif len(data) > MAX_PDF:
            errors.add("file", "文件超过20MB")
    answer = None
    if not errors:
        try:
            answer = await console(request).backends.post(
                "seal", "/seal/verify", files={"file": ("document.pdf", data, "application/pdf")})
        except BackendProblem as exc:
            errors = domain.errors_from_problem(exc.problem, ("file",))
    return render(request, "portal/verify.html", status_code=200 if answer else 422, title="电子印章验证",
                  errors=errors, answer=answer)


@router.get("/verify/{rest:path}", include_in_schema=False, **PUBLIC)
async def verify_other(rest: str) -> Response:
    return redirect("/portal/verify")
