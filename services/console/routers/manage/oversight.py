"""Management pages: bulletins, supervision notices, random inspection (督查). Same rules as every console page: the services' HTTP APIs with the
signed-in person's token; the services decide who may see and do what.

- ``/manage/oversight?period=YYYY-MM``: the month's bulletin (published, or the live draft) with
  its downloads (JSON, and the zh-CN document in Markdown, as the deadline service produces
  them), the supervision notices with their reply dates and replies, the inspection samples
  with their seeds; the forms to publish, to issue a notice and to draw a sample;
- ``/manage/oversight/notices/{no}``: one notice; the unit head of its unit replies here;
- ``/manage/oversight/inspections/{id}``: one sample, its seed, the findings, the form to record one."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contracts.common import Role
from contracts.deadline import InspectionResult, NoticeSource

from ... import domain
from ...clients import BackendProblem, optional
from ...store import SessionRow
from ...web import check_csrf, console, redirect, render, require_role, staff, submit

router = APIRouter(prefix="/manage/oversight", tags=["console: management"])

Staff = Depends(staff)
OVERSIGHT_ROLES = (Role.SUPERVISOR, Role.CENTER_ADMIN)
PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
NOTICE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,40}$")
SAMPLE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,60}$")

NOTICE_STATUS = {"open": "待回复", "reply_overdue": "逾期未回复", "replied": "已回复"}
NOTICE_ORIGINS = {NoticeSource.MANUAL.value: "督查发现", NoticeSource.OVERDUE.value: "案件超期",
                  NoticeSource.INSPECTION.value: "随机抽查", NoticeSource.INACTIVITY.value: "应进不进"}
RESULTS = {r.value: r.label for r in InspectionResult}

NOTICE_FIELDS = ("unit_code", "receipt_no", "reason", "reply_days", "origin")
SAMPLE_FIELDS = ("unit_code", "period", "share", "seed")
RESULT_FIELDS = ("receipt_no", "result", "notes", "raise_notice", "reply_days")
DONE = {
    "published": "月度通报已发布。",
    "notice": "督办通知书已发出，等待被督办单位回复。",
    "sampled": "抽查样本已抽取（随机种子已记录，可复核）。",
    "recorded": "抽查结果已记录。",
    "replied": "回复已提交，督办通知书已办结。",
}


def _period(value: str | None) -> str:
    if value and PERIOD_RE.fullmatch(value):
        return value
    today = domain.local_today()
    y, m = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{y:04d}-{m:02d}"


def _int(value: str) -> int | str:
    try:
        return int(value)
    except ValueError:
        return value  # the service names the field


async def _page(request: Request, user: SessionRow, period: str, *, errors: dict[str, domain.FormErrors] | None = None,
                values: dict[str, dict[str, Any]] | None = None, status: int = 200) -> Response:
    c = console(request)
    b = c.backends
    within = c.settings.console_part_seconds
    bulletin, notices, samples, units = await asyncio.gather(
        b.get("deadline", f"/deadline/bulletins/{period}", token=user.token),
        b.get("deadline", "/deadline/notices", token=user.token, params={"limit": 200}),
        b.get("deadline", "/deadline/inspections", token=user.token, params={"limit": 100}),
        optional(b.get("intake", "/intake/guide/units"), within=within, service="intake"),
    )
    unit_list = units[0] or []
    names = {u["code"]: u["name"] for u in unit_list}
    unit_options = {"": "（请选择单位）"} | {u["code"]: f"{u['code']} {u['name']}" for u in unit_list}
    defaults = {"notice": {"reply_days": "5", "origin": "manual"}, "sample": {"period": period, "share": "5"}}
    # the unit's staff violations of the month (违规违章, withdrawn ones not counted by deadline)
    staff_violations = {v["unit_code"]: v["total"] for v in bulletin.get("staff_violations") or []}
    reply_overdue = [n for n in notices if n["status"] == "reply_overdue"]
    return render(request, "manage/oversight.html", status_code=status, title="督查督办", period=period,
                  bulletin=bulletin, notices=notices, samples=samples, names=names, unit_options=unit_options,
                  staff_violations=staff_violations, reply_overdue=reply_overdue,
                  statuses=NOTICE_STATUS, origins=NOTICE_ORIGINS, errors=errors or {},
                  values=defaults | (values or {}), done=DONE.get(request.query_params.get("done", "")))


@router.get("", summary="Oversight: the month's bulletin, supervision notices, inspection samples")
async def oversight(request: Request, user: SessionRow = Staff, period: str | None = None) -> Response:
    require_role(user, *OVERSIGHT_ROLES)
    return await _page(request, user, _period(period))


# ------------------------------------------------------------------------------------ the bulletin


@router.post("/bulletins", summary="Publish the month's bulletin")
async def publish(request: Request, user: SessionRow = Staff) -> Response:
    require_role(user, *OVERSIGHT_ROLES)
    form = await request.form()
    await check_csrf(request, form)
    period = _period(str(form.get("period") or ""))
    _, errors = await submit(console(request).backends.post(
        "deadline", "/deadline/bulletins", token=user.token, json={"period": period}), ())
    if errors:
        return await _page(request, user, period, errors={"bulletin": errors}, status=422)
    return redirect(f"/manage/oversight?period={period}&done=published#bulletin")


@router.get("/bulletins/{period}/document", summary="Download the bulletin as the deadline service writes it (Markdown)")
async def bulletin_document(period: str, request: Request, user: SessionRow = Staff) -> Response:
    require_role(user, *OVERSIGHT_ROLES)
    if not PERIOD_RE.fullmatch(period):
        raise BackendProblem("deadline", 404, {"detail": "月份格式应为 2026-11"})
    r = await console(request).backends.request("deadline", "GET", f"/deadline/bulletins/{period}/document",
                                                token=user.token)
    name = f"督查通报-{period}.md"
    return Response(r.content, media_type="text/markdown; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}", "Cache-Control": "private, no-store"})


@router.get("/bulletins/{period}/json", summary="Download the bulletin as JSON (the deadline service's)")
async def bulletin_json(period: str, request: Request, user: SessionRow = Staff) -> Response:
    require_role(user, *OVERSIGHT_ROLES)
    if not PERIOD_RE.fullmatch(period):
        raise BackendProblem("deadline", 404, {"detail": "月份格式应为 2026-11"})
    r = await console(request).backends.request("deadline", "GET", f"/deadline/bulletins/{period}", token=user.token)
    name = f"督查通报-{period}.json"
    return Response(r.content, media_type="application/json", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}", "Cache-Control": "private, no-store"})


# ------------------------------------------------------------------------------------ notices


@router.post("/notices", summary="Issue a supervision notice (督办通知书)")
async def issue_notice(request: Request, user: SessionRow = Staff) -> Response:
    require_role(user, *OVERSIGHT_ROLES)
    form = await request.form()
    await check_csrf(request, form)
    period = _period(str(form.get("period") or ""))
    values = {k: str(form.get(k) or "").strip() for k in NOTICE_FIELDS}
    errors = domain.FormErrors()
    if not values["unit_code"]:
        errors.add("unit_code", "请选择被督办单位")
    if len(values["reason"]) < 2:
        errors.add("reason", "请写明督办事由，至少2个字")
    if not errors:
        body = {"unit_code": values["unit_code"], "receipt_no": values["receipt_no"].upper() or None,
                "reason": values["reason"], "reply_days": _int(values["reply_days"]) if values["reply_days"] else None,
                "origin": values["origin"] or "manual"}
        notice, errors = await submit(
            console(request).backends.post("deadline", "/deadline/notices", token=user.token, json=body), NOTICE_FIELDS)
        if not errors:
            return redirect(f"/manage/oversight/notices/{quote(notice['notice_no'], safe='')}?done=notice")
    return await _page(request, user, period, errors={"notice": errors}, values={"notice": values}, status=422)


async def _with_unit_names(request: Request, user: SessionRow, path: str) -> tuple[dict[str, Any], dict[str, str]]:
    """One of deadline's records and the units' names (the codes alone when intake is away)."""
    b = console(request).backends
    record, (units, _) = await asyncio.gather(
        b.get("deadline", path, token=user.token),
        optional(b.get("intake", "/intake/guide/units"), service="intake"),
    )
    return record, {u["code"]: u["name"] for u in units or []}


async def _notice_page(request: Request, user: SessionRow, notice_no: str, *, values: dict[str, Any] | None = None,
                       errors: domain.FormErrors | None = None, status: int = 200) -> Response:
    if not NOTICE_RE.fullmatch(notice_no):
        raise BackendProblem("deadline", 404, {"detail": f"没有编号为 {notice_no[:40]} 的督办通知书"})
    notice, names = await _with_unit_names(request, user, f"/deadline/notices/{quote(notice_no, safe='')}")
    may_reply = notice["status"] != "replied" and (
        Role(user.role) in OVERSIGHT_ROLES or (Role(user.role) is Role.UNIT_HEAD and user.unit_code == notice["unit_code"]))
    return render(request, "manage/oversight_notice.html", status_code=status, title=f"督办通知书 {notice['notice_no']}",
                  notice=notice, names=names, statuses=NOTICE_STATUS, origins=NOTICE_ORIGINS, may_reply=may_reply,
                  values=values or {}, errors=errors or domain.FormErrors(),
                  done=DONE.get(request.query_params.get("done", "")))


@router.get("/notices/{notice_no}", summary="A supervision notice, its reply date and reply")
async def notice_page(notice_no: str, request: Request, user: SessionRow = Staff) -> Response:
    # The unit head of the notice's unit opens it to reply; the service refuses anyone else's.
    require_role(user, Role.SUPERVISOR, Role.CENTER_ADMIN, Role.UNIT_HEAD)
    return await _notice_page(request, user, notice_no)


@router.post("/notices/{notice_no}/reply", summary="Reply to a supervision notice (the unit head of its unit)")
async def reply(notice_no: str, request: Request, user: SessionRow = Staff) -> Response:
    require_role(user, Role.SUPERVISOR, Role.CENTER_ADMIN, Role.UNIT_HEAD)
    form = await request.form()
    await check_csrf(request, form)
    values = {"reply": str(form.get("reply") or "").strip()}
    errors = domain.FormErrors()
    if len(values["reply"]) < 2:
        errors.add("reply", "请填写整改情况，至少2个字")
    if not errors and NOTICE_RE.fullmatch(notice_no):
        _, errors = await submit(console(request).backends.post(
            "deadline", f"/deadline/notices/{quote(notice_no, safe='')}/reply", token=user.token, json=values),
            ("reply",), passthrough=(401, 403, 404))
        if not errors:
            return redirect(f"/manage/oversight/notices/{quote(notice_no, safe='')}?done=replied")
    return await _notice_page(request, user, notice_no, values=values, errors=errors, status=422)


# ------------------------------------------------------------------------------------ inspections


@router.post("/inspections", summary="Draw a month's random inspection sample of a unit")
async def draw(request: Request, user: SessionRow = Staff) -> Response:
    require_role(user, *OVERSIGHT_ROLES)
    form = await request.form()
    await check_csrf(request, form)
    values = {k: str(form.get(k) or "").strip() for k in SAMPLE_FIELDS}
    period = _period(str(form.get("page_period") or values["period"]))
    errors = domain.FormErrors()
    if not values["unit_code"]:
        errors.add("unit_code", "请选择被抽查单位")
    share: float | str | None = None
    if values["share"]:
        try:
            share = float(values["share"]) / 100
        except ValueError:
            errors.add("share", "抽查比例应为1到100之间的数字")
    if not errors:
        body = {"unit_code": values["unit_code"], "period": values["period"], "share": share,
                "seed": values["seed"] or None}
        sample, errors = await submit(
            console(request).backends.post("deadline", "/deadline/inspections", token=user.token, json=body), SAMPLE_FIELDS)
        if not errors:
            return redirect(f"/manage/oversight/inspections/{quote(sample['sample_id'], safe='')}?done=sampled")
    return await _page(request, user, period, errors={"sample": errors}, values={"sample": values}, status=422)


async def _sample_page(request: Request, user: SessionRow, sample_id: str, *, values: dict[str, Any] | None = None,
                       errors: domain.FormErrors | None = None, status: int = 200) -> Response:
    if not SAMPLE_RE.fullmatch(sample_id):
        raise BackendProblem("deadline", 404, {"detail": f"没有编号为 {sample_id[:60]} 的抽查样本"})
    sample, names = await _with_unit_names(request, user, f"/deadline/inspections/{quote(sample_id, safe='')}")
    done = {r["receipt_no"] for r in sample["results"]}
    pending = [n for n in sample["receipt_nos"] if n not in done]
    return render(request, "manage/oversight_sample.html", status_code=status, title=f"抽查样本 {sample['sample_id']}",
                  sample=sample, names=names, results=RESULTS, pending=pending,
                  values=values or {"result": "compliant", "receipt_no": pending[0] if pending else ""},
                  errors=errors or domain.FormErrors(), done=DONE.get(request.query_params.get("done", "")))


@router.get("/inspections/{sample_id}", summary="An inspection sample, its seed and findings")
async def sample_page(sample_id: str, request: Request, user: SessionRow = Staff) -> Response:
    require_role(user, *OVERSIGHT_ROLES)
    return await _sample_page(request, user, sample_id)


@router.post("/inspections/{sample_id}/results", summary="Record the finding on one sampled case")
async def record(sample_id: str, request: Request, user: SessionRow = Staff) -> Response:
    require_role(user, *OVERSIGHT_ROLES)
    form = await request.form()
    await check_csrf(request, form)
    values = {k: str(form.get(k) or "").strip() for k in RESULT_FIELDS}
    errors = domain.FormErrors()
    if not values["receipt_no"]:
        errors.add("receipt_no", "请选择抽查的案件")
    if values["result"] not in RESULTS:
        errors.add("result", "请选择抽查结论")
    if not errors and SAMPLE_RE.fullmatch(sample_id):
        body = {"receipt_no": values["receipt_no"], "result": values["result"], "notes": values["notes"] or None,
                "raise_notice": values["raise_notice"] == "1",
                "reply_days": _int(values["reply_days"]) if values["reply_days"] else None}
        _, errors = await submit(console(request).backends.post(
            "deadline", f"/deadline/inspections/{quote(sample_id, safe='')}/results", token=user.token, json=body),
            RESULT_FIELDS, passthrough=(401, 403, 404))
        if not errors:
            return redirect(f"/manage/oversight/inspections/{quote(sample_id, safe='')}?done=recorded")
    return await _sample_page(request, user, sample_id, values=values, errors=errors, status=422)
