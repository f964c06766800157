"""Management pages: terminals, staff, AB posts, trainings, leaves, reports, awards (考勤). Same rules as every console page: the services' HTTP APIs with the
signed-in person's token; the services decide who may see and do what.

- ``/manage/attendance?month=``: the monthly report (per window with a chart, per person with the
  Friday training sign-ins, the duty gaps) and its XLSX, made by the attendance service;
- ``/manage/attendance/awards?period=``: window and staff scores, the red-flag windows and service
  stars, with the formula and weights the service applied;
- ``/manage/attendance/staff``: staff, AB posts, the weekend roster, and registering a person;
- ``/manage/attendance/terminals``: registered terminals and the serial numbers refused as unknown;
- ``/manage/attendance/duty?day=&month=``: a day's AB-post coverage, the month's training
  sessions and leaves;
- ``/manage/attendance/assessments?year=``: the year-end assessment (年终考核) — proposed grades with
  the formula, the center's decisions, and each decision's notice to the unit sealed by the center
  (notify), opened through ``/manage/attendance/assessments/notices/{id}.pdf``.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contracts.attendance import STAFF_ROLE_LABELS
from contracts.common import Role

from ... import charts, domain
from ...clients import optional
from ...store import SessionRow
from ...web import check_csrf, console, problem_page, redirect, render, require_role, staff, submit

router = APIRouter(prefix="/manage/attendance", tags=["console: management"])

Staff = Depends(staff)

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
PERIOD_RE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]))?$")
STAFF_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
TABS = (("", "月度考勤"), ("/awards", "评先评优"), ("/staff", "人员与AB岗"), ("/terminals", "考勤机"),
        ("/duty", "值守、学习与请假"), ("/assessments", "年终考核"))
ROLES = {r.value: label for r, label in STAFF_ROLE_LABELS.items()}
LEAVE_KINDS = {"personal": "事假", "sick": "病假", "annual": "年休假", "official": "公出", "compensatory": "调休",
               "other": "其他假"}
SESSION_STATUS = {"on_time": "正常", "late": "迟到", "early": "早退", "absent": "缺勤", "missing": "缺卡",
                  "leave": "请假"}
STAFF_FIELDS = ("staff_id", "name", "unit_code", "unit_name", "window_no", "role", "pin", "mobile")
REASONS = {"duty_gap": "有值守空岗", "no_cases": "当期无办件", "no_ratings": "当期无评价"}


def _manager(user: SessionRow) -> None:
    require_role(user, Role.SUPERVISOR, Role.CENTER_ADMIN)


def _this_month() -> str:
    return domain.local_today().strftime("%Y-%m")


def _month(value: str) -> str:
    value = (value or "").strip()
    return value if MONTH_RE.fullmatch(value) else _this_month()


def _shift(month: str, by: int) -> str:
    y, m = int(month[:4]), int(month[5:]) + by
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    return f"{y:04d}-{m:02d}" if 1 <= y <= 9999 else month


def _page(request: Request, template: str, tab: str, status: int = 200, **context: Any) -> Response:
    return render(request, template, status_code=status, title="考勤管理", tabs=TABS, tab=tab, **context)


def _local(value: Any) -> Any:
    """A wall time of the center without an offset (the report's ``as_of``) as an instant."""
    if isinstance(value, str) and value and domain.parse_instant(value) is not None:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (dt if dt.tzinfo else dt.replace(tzinfo=domain.CENTER_TZ)).isoformat()
    return value


def _rate(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


# ------------------------------------------------------------------------------------ the monthly report


@router.get("", summary="The monthly attendance report: per window (chart and table), per person, duty gaps")
async def report(request: Request, user: SessionRow = Staff, month: str = "") -> Response:
    _manager(user)
    month = _month(month)
    rep = await console(request).backends.get("attendance", f"/attendance/reports/monthly/{month}", token=user.token)
    rep["as_of"] = _local(rep.get("as_of"))
    windows = rep.get("windows", [])
    chart = None
    if windows:
        chart = charts.bar_chart(
            f"{month} 各窗口考勤异常（人次）", [f"{w['window_no']} {w['unit_name']}" for w in windows],
            {"迟到": [w["late"] for w in windows], "早退": [w["early_leave"] for w in windows],
             "缺卡": [w["missing_punches"] for w in windows], "缺勤": [w["absent_sessions"] for w in windows]})
    return _page(request, "manage/attendance.html", "", month=month, prev=_shift(month, -1), next=_shift(month, 1),
                 report=rep, chart=chart, rate=_rate, leave_kinds=LEAVE_KINDS)


@router.get("/report.xlsx", summary="The monthly report as the attendance service's spreadsheet")
async def report_xlsx(request: Request, user: SessionRow = Staff, month: str = "") -> Response:
    _manager(user)
    month = _month(month)
    r = await console(request).backends.request("attendance", "GET", f"/attendance/reports/monthly/{month}/xlsx",
                                                 token=user.token)
    name = f"考勤月报-{month}.xlsx"
    return Response(r.content, media_type=r.headers.get("content-type", "application/octet-stream"), headers={
        "Content-Disposition": f"attachment; filename=\"attendance-{month}.xlsx\"; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "private, no-store"})


# ------------------------------------------------------------------------------------ awards


@router.get("/awards", summary="Scores, red-flag windows and service stars, with the formula")
async def awards(request: Request, user: SessionRow = Staff, period: str = "") -> Response:
    _manager(user)
    period = period.strip() if PERIOD_RE.fullmatch(period.strip()) else _this_month()
    ev = await console(request).backends.get("attendance", f"/attendance/evaluation/{period}", token=user.token)
    published, _ = await optional(console(request).backends.get(
        "attendance", f"/attendance/rankings/{period}", token=user.token), service="attendance")
    scored = [w for w in ev.get("windows", []) if w.get("score") is not None]
    chart = charts.bar_chart(f"{period} 各窗口综合得分", [f"{w['window_no']} {w['unit_name']}" for w in scored],
                             {"综合得分": [w["score"] for w in scored]}) if scored else None
    return _page(request, "manage/attendance_awards.html", "/awards", period=period, ev=ev, chart=chart,
                 published=bool((published or {}).get("published")), rate=_rate, reasons=REASONS)


# ------------------------------------------------------------------------------------ staff and posts


async def _staff_page(request: Request, user: SessionRow, values: dict[str, str], errors: domain.FormErrors,
                      status: int = 200) -> Response:
    b = console(request).backends
    today = domain.local_today()
    people, posts, roster = await asyncio.gather(
        b.get("attendance", "/attendance/staff", token=user.token),
        b.get("attendance", "/attendance/posts", token=user.token),
        b.get("attendance", "/attendance/roster", token=user.token,
              params={"from": today.isoformat(), "to": (today + timedelta(days=30)).isoformat()}),
    )
    return _page(request, "manage/attendance_staff.html", "/staff", status=status, people=people, posts=posts,
                 roster=roster, roles=ROLES, values=values, errors=errors,
                 done=request.query_params.get("done") == "staff")


@router.get("/staff", summary="Staff, AB posts and the weekend roster")
async def staff_list(request: Request, user: SessionRow = Staff) -> Response:
    _manager(user)
    return await _staff_page(request, user, {"role": "window_clerk"}, domain.FormErrors())


@router.post("/staff", summary="Register or update a staff member (the center admin)")
async def staff_put(request: Request, user: SessionRow = Staff) -> Response:
    _manager(user)
    form = await request.form()
    await check_csrf(request, form)
    values = {k: str(form.get(k) or "").strip() for k in STAFF_FIELDS}
    errors = domain.FormErrors()
    if not values["staff_id"]:
        errors.add("staff_id", "请填写工号")
    elif not STAFF_ID_RE.fullmatch(values["staff_id"]):
        errors.add("staff_id", "工号只能由字母、数字、下划线或短横线组成，最多32位")
    for name, reason in (("name", "请填写姓名"), ("unit_code", "请填写单位编码"), ("unit_name", "请填写单位名称")):
        if not values[name]:
            errors.add(name, reason)
    if values["role"] not in ROLES:
        errors.add("role", "请选择岗位角色")
    if not errors:
        body = {k: values[k] or None for k in ("name", "unit_code", "unit_name", "window_no", "pin", "mobile")}
        body["role"] = values["role"]
        _, errors = await submit(console(request).backends.request(
            "attendance", "PUT", f"/attendance/staff/{values['staff_id']}", token=user.token, json=body), STAFF_FIELDS)
        if not errors:
            return redirect("/manage/attendance/staff?done=staff")
    return await _staff_page(request, user, values, errors, status=422)


# ------------------------------------------------------------------------------------ terminals


@router.get("/terminals", summary="Registered terminals and unknown serial numbers")
async def terminals(request: Request, user: SessionRow = Staff) -> Response:
    _manager(user)
    b = console(request).backends
    known, unknown = await asyncio.gather(b.get("attendance", "/attendance/devices", token=user.token),
                                          b.get("attendance", "/attendance/devices-unknown", token=user.token))
    return _page(request, "manage/attendance_terminals.html", "/terminals", known=known, unknown=unknown)


# ------------------------------------------------------------------------------------ duty, trainings, leaves


@router.get("/duty", summary="A day's AB-post coverage, the month's training sessions and leaves")
async def duty(request: Request, user: SessionRow = Staff, day: str = "", month: str = "") -> Response:
    _manager(user)
    try:
        the_day = date.fromisoformat(day.strip()) if day.strip() else domain.local_today()
    except ValueError:
        the_day = domain.local_today()
    month = _month(month or the_day.strftime("%Y-%m"))
    b = console(request).backends
    slots, trainings, leaves = await asyncio.gather(
        b.get("attendance", f"/attendance/duty/{the_day.isoformat()}", token=user.token),
        b.get("attendance", "/attendance/trainings", token=user.token, params={"month": month}),
        b.get("attendance", "/attendance/leaves", token=user.token, params={"month": month}),
    )
    return _page(request, "manage/attendance_duty.html", "/duty", day=the_day, month=month, slots=slots,
                 trainings=trainings, leaves=leaves, leave_kinds=LEAVE_KINDS)


# ------------------------------------------------------------------------------------ the year-end assessment

YEAR_RE = re.compile(r"^\d{4}$")
NOTICE_ID_RE = re.compile(r"^[0-9a-f]{32}$")
NOTICE_STATES = {"requested": "用印中", "released": "已盖章", "failed": "用印失败"}


@router.get("/assessments", summary="The year-end assessment: grades with the formula, decisions, sealed notices")
async def assessments(request: Request, user: SessionRow = Staff, year: str = "") -> Response:
    _manager(user)
    this_year = domain.local_today().year
    y = int(year.strip()) if YEAR_RE.fullmatch(year.strip()) and 2000 <= int(year.strip()) <= this_year else this_year
    b = console(request).backends
    rows, (notices, notices_missing) = await asyncio.gather(
        b.get("attendance", f"/attendance/assessments/{y}", token=user.token),
        optional(b.get("notify", "/notify/assessment-notices", token=user.token, params={"year": y, "limit": 200}),
                 service="notify"),
    )
    by_staff: dict[str, list[dict[str, Any]]] = {}
    for n in sorted((notices or {}).get("items", []), key=lambda n: n["created_at"]):
        by_staff.setdefault(n["staff_id"], []).append(n)
    return _page(request, "manage/attendance_assessments.html", "/assessments", year=y, rows=rows,
                 notices=by_staff, notices_missing=notices_missing, states=NOTICE_STATES,
                 formula=rows[0]["formula"] if rows else "")


@router.get("/assessments/notices/{notice_id}.pdf", summary="A sealed assessment notice, from notify")
async def assessment_notice_pdf(request: Request, notice_id: str, user: SessionRow = Staff) -> Response:
    _manager(user)
    if not NOTICE_ID_RE.fullmatch(notice_id):
        return problem_page(request, 404, "没有这份通知书", "没有这份年终考核结果通知书。")
    r = await console(request).backends.request("notify", "GET", f"/notify/assessment-notices/{notice_id}/file",
                                                 token=user.token, params={"format": "pdf"})
    name = "年终考核结果通知书.pdf"
    return Response(r.content, media_type="application/pdf", headers={
        "Content-Disposition": f"inline; filename=\"assessment-{notice_id}.pdf\"; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "private, no-store"})
