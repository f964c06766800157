"""Management pages: deadline board and calendar (期限看板). Same rules as every console page: the services' HTTP APIs with the
signed-in person's token; the services decide who may see and do what.

- ``/manage/deadlines``: open cases per unit with their yellow and red cards (deadline's
  ``/clocks/summary``), the cases stopped or extended (with the approver), cards per week and the
  on-time rate per month as charts with their tables;
- ``/manage/deadlines/units/{code}``: one unit's open cases, each linking to the desk's case page;
- ``/manage/deadlines/calendar``: the working-day calendar (national holidays, make-up days, the
  county's overrides, the State Council schedules loaded) and, for the center admin, the form to
  change a day: previewed first (the open due dates it would move), saved only when confirmed."""

from __future__ import annotations

import asyncio
import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contracts.common import Role
from contracts.deadline import StopReason

from ... import domain, labels
from ...charts import bar_chart, line_chart
from ...clients import BackendProblem, optional
from ...store import SessionRow
from ...web import check_csrf, console, redirect, render, require_role, staff, submit

router = APIRouter(prefix="/manage/deadlines", tags=["console: management"])

Staff = Depends(staff)
#: Who may open the board: the services then narrow a unit head to the own unit.
BOARD_ROLES = (Role.SUPERVISOR, Role.CENTER_ADMIN, Role.UNIT_HEAD)
UNIT_RE = re.compile(r"^[A-Z][A-Z0-9]{1,31}$")
#: Open clocks read per state (deadline's largest page); the counts come from the summary.
CLOCK_PAGE = 1000
WEEKS = 8
MONTHS = 6
STOP_REASONS = {r.value: r.label for r in StopReason}
#: The calendar form's actions: the service's ``working`` value for each.
DAY_ACTIONS = {"off": "设为本县放假日（不计工作日）", "working": "设为本县工作日（计入工作日）", "remove": "撤销本县调整，恢复国家安排"}
DAY_WORKING: dict[str, bool | None] = {"off": False, "working": True, "remove": None}
CALENDAR_FIELDS = ("day", "action", "reason")
CALENDAR_ALIASES = {"working": "action"}
SOURCES = {"county": "本县调整", "schedule": "国务院安排（中心载入）", "national": "国家法定节假日", "weekdays": "周一至周五"}
ACTION_LABELS = {"add_holiday": "本县放假", "add_working_day": "本县工作日", "remove_override": "撤销本县调整",
                 "load_schedule": "载入国务院放假安排"}


def _board_user(user: SessionRow) -> None:
    require_role(user, *BOARD_ROLES)


async def _unit_names(request: Request) -> dict[str, str]:
    units, _ = await optional(console(request).backends.get("intake", "/intake/guide/units"), service="intake")
    return {u["code"]: u["name"] for u in units or []}


async def _open_clocks(request: Request, user: SessionRow, unit: str | None = None) -> list[dict[str, Any]]:
    """Running and stopped clocks (the service keeps a unit head to the own unit)."""
    b = console(request).backends
    params: dict[str, Any] = {"limit": CLOCK_PAGE}
    if unit:
        params["unit_code"] = unit
    running, stopped = await asyncio.gather(
        b.get("deadline", "/deadline/clocks", token=user.token, params={**params, "state": "running"}),
        b.get("deadline", "/deadline/clocks", token=user.token, params={**params, "state": "stopped"}),
    )
    return sorted(running + stopped, key=lambda c: (c["due_date"], c["receipt_no"]))


def _months(today: date, n: int) -> list[str]:
    out, y, m = [], today.year, today.month
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return list(reversed(out))


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def cards_per_week(clocks: list[dict[str, Any]], working: set[date], known_until: date, today: date,
                   yellow_days: int, weeks: int = WEEKS) -> list[dict[str, Any]]:
    """Yellow and red cards per week (Monday to Sunday), the current week last, from the clocks'
    due dates as they stand: the red card falls on the day after the due date of a case decided
    late or still open past it; the yellow card on the first day with ``yellow_days`` working
    days left, for a case still open then. ``working``: the working days up to ``known_until``
    (a case due later has its yellow day after today: not counted)."""
    first = _monday(today) - timedelta(weeks=weeks - 1)
    rows = [{"week": first + timedelta(weeks=i), "yellow": 0, "red": 0} for i in range(weeks)]

    def bucket(day: date) -> dict[str, Any] | None:
        if day < first or day > today:
            return None
        return rows[(day - first).days // 7]

    for c in clocks:
        due = domain.parse_day(c.get("due_date"))
        if due is None or due > known_until:
            continue
        decided = domain.parse_instant(c.get("decided_at"))
        decided_on = decided.astimezone(domain.CENTER_TZ).date() if decided else None
        red_day = due + timedelta(days=1)
        if (c.get("state") != "ended" and c.get("overdue")) or (c.get("state") == "ended" and c.get("on_time") is False):
            if (row := bucket(red_day)) is not None:
                row["red"] += 1
        # The (yellow_days + 1)-th working day back from the due date (the due date the 1st) is the
        # first day with ``yellow_days`` working days after it. No yellow card for a limit that short.
        back = [d for d in (due - timedelta(days=i) for i in range(0, 60)) if d in working][: yellow_days + 1]
        if yellow_days <= 0 or len(back) <= yellow_days or c.get("promised_days", 0) <= yellow_days:
            continue
        yellow_day = back[-1]
        if decided_on is not None and decided_on < yellow_day:
            continue
        if (row := bucket(yellow_day)) is not None:
            row["yellow"] += 1
    return rows


# ------------------------------------------------------------------------------------ the board


@router.get("", summary="Deadline board: open cases per unit with their cards, stops and extensions, charts")
async def board(request: Request, user: SessionRow = Staff) -> Response:
    _board_user(user)
    c = console(request)
    b = c.backends
    within = c.settings.console_part_seconds
    today = domain.local_today()
    months = _months(today, MONTHS)
    start = _monday(today) - timedelta(weeks=WEEKS - 1) - timedelta(days=40)
    # Far enough ahead that a case due later has its yellow day after today.
    known_until = today + timedelta(days=60)
    summary, names, clocks, (ended, ended_problem), (days, days_problem), stats, (notices, notice_problem) = await asyncio.gather(
        b.get("deadline", "/deadline/clocks/summary", token=user.token),
        _unit_names(request),
        _open_clocks(request, user),
        optional(b.get("deadline", "/deadline/clocks", token=user.token, params={"state": "ended", "limit": CLOCK_PAGE}),
                 within=within, service="deadline"),
        optional(b.get("deadline", "/deadline/calendar/days", params={"start": start.isoformat(), "end": known_until.isoformat()}),
                 within=within, service="deadline"),
        asyncio.gather(*(optional(b.get("deadline", "/deadline/statistics", token=user.token, params={"period": p}),
                                  within=within, service="deadline") for p in months)),
        # Open supervision notices: how a unit head finds the ones to reply to.
        optional(b.get("deadline", "/deadline/notices", token=user.token, params={"open_only": "true", "limit": 50}),
                 within=within, service="deadline"),
    )
    units = [{**u, "unit_name": u.get("unit_name") or names.get(u["unit_code"], "")} for u in summary["units"]]
    yellow_days = summary.get("yellow_days") or c.settings.console_yellow_card_days
    stopped = [k for k in clocks if k["state"] == "stopped" or any(s.get("ended_at") is None for s in k["stops"])]
    extended = [k for k in clocks if k["extensions"]]
    weeks = None
    if ended is not None and days is not None:
        working = {domain.parse_day(d["day"]) for d in days if d["working"]}
        weeks = cards_per_week(clocks + ended, working, known_until, today, yellow_days)  # type: ignore[arg-type]
    week_problem = ended_problem or days_problem
    rates = []
    for period, (s, _problem) in zip(months, stats):
        total = next((u for u in (s or {}).get("units", []) if u["unit_code"] == "*"), None) if s else None
        mine = [u for u in (s or {}).get("units", []) if u["unit_code"] != "*"] if s else []
        if total is None and len(mine) == 1:
            total = mine[0]  # a unit head: the own unit's figures
        rates.append({"period": period, "cases": total["cases"] if total else (0 if s else None),
                      "on_time": total["on_time"] if total else 0, "rate": total["on_time_rate"] if total else None,
                      "failed": s is None})
    charts: dict[str, Any] = {}
    if units:
        charts["units"] = bar_chart("各单位在办件黄牌红牌", [u["unit_name"] or u["unit_code"] for u in units],
                                    {"黄牌": [u["yellow"] for u in units], "红牌": [u["red"] for u in units]})
    if weeks:
        charts["weeks"] = bar_chart("每周黄牌红牌", [f"{w['week'].month}/{w['week'].day}" for w in weeks],
                                    {"黄牌": [w["yellow"] for w in weeks], "红牌": [w["red"] for w in weeks]})
    known = [r for r in rates if r["rate"] is not None]
    if known:
        charts["rate"] = line_chart("按时办结率（按月）", [r["period"] for r in known], {"按时办结率": [r["rate"] for r in known]},
                                    percent=True)
    return render(request, "manage/board.html", title="期限看板", units=units, total=summary["total"],
                  yellow_days=yellow_days, stopped=stopped, extended=extended, weeks=weeks, week_problem=week_problem,
                  rates=rates, charts=charts, names=names, reasons=STOP_REASONS, today=today,
                  can_change_calendar=Role(user.role) is Role.CENTER_ADMIN, notices=notices, notice_problem=notice_problem,
                  notice_status={"open": "待回复", "reply_overdue": "逾期未回复"})


@router.get("/units/{unit_code}", summary="One unit's open cases with their cards, stops and extensions")
async def unit_board(unit_code: str, request: Request, user: SessionRow = Staff) -> Response:
    _board_user(user)
    code = unit_code.strip().upper()
    if not UNIT_RE.fullmatch(code):
        raise BackendProblem("deadline", 404, {"detail": f"没有编码为 {unit_code[:32]} 的单位"})
    if Role(user.role) is Role.UNIT_HEAD and user.unit_code != code:
        # The service would answer with the own unit's clocks; say so instead of showing them under another name.
        raise BackendProblem("deadline", 403, {"detail": f"您只能查看本单位（{user.unit_code}）的在办件"})
    names, clocks = await asyncio.gather(_unit_names(request), _open_clocks(request, user, code))
    yellow = console(request).settings.console_yellow_card_days
    rows = [{**k, "card": domain.card_for(k, yellow)} for k in clocks]
    counts = {"open": len(rows), "yellow": sum(1 for r in rows if r["card"].colour == "yellow"),
              "red": sum(1 for r in rows if r["card"].colour == "red"),
              "stopped": sum(1 for r in rows if r["state"] == "stopped")}
    return render(request, "manage/board_unit.html", title=f"期限看板 · {names.get(code, code)}", code=code,
                  unit_name=names.get(code, code), rows=rows, counts=counts, reasons=STOP_REASONS,
                  states=labels.CLOCK_STATES, full=len(clocks) >= CLOCK_PAGE)


# ------------------------------------------------------------------------------------ the calendar


async def _calendar_page(request: Request, user: SessionRow, *, values: dict[str, str], errors: domain.FormErrors,
                         preview: dict[str, Any] | None = None, status: int = 200) -> Response:
    b = console(request).backends
    today = domain.local_today()
    start = today.replace(day=1)
    end = start + timedelta(days=395)
    days, changes, names = await asyncio.gather(
        b.get("deadline", "/deadline/calendar/days", params={"start": start.isoformat(), "end": end.isoformat()}),
        b.get("deadline", "/deadline/calendar/changes", token=user.token),
        _unit_names(request),
    )
    # The days that are not plain Monday-to-Friday working days and weekends off.
    special = [{**d, "weekday": date.fromisoformat(d["day"]).weekday()} for d in days
               if d["working"] == d["weekend"] or d["source"] == "county"]
    years: dict[int, dict[str, Any]] = {}
    for d in days:
        y = years.setdefault(int(d["day"][:4]), {"official": d["official"], "loaded": False})
        y["official"] = y["official"] and d["official"]
    for ch in changes:
        if ch["action"] == "load_schedule" and ch["year"] in years:
            years[ch["year"]]["loaded"] = True
    return render(request, "manage/board_calendar.html", status_code=status, title="工作日历", special=special,
                  years=years, changes=list(reversed(changes)), sources=SOURCES, action_labels=ACTION_LABELS,
                  values=values, errors=errors, preview=preview, actions=DAY_ACTIONS, names=names,
                  can_change=Role(user.role) is Role.CENTER_ADMIN, today=today,
                  done=request.query_params.get("done") == "1")


def _calendar_form(form: Any) -> tuple[dict[str, str], domain.FormErrors, date | None]:
    values = {k: str(form.get(k) or "").strip() for k in CALENDAR_FIELDS}
    errors = domain.FormErrors()
    day = None
    if not values["day"]:
        errors.add("day", "请选择要调整的日期")
    else:
        try:
            day = date.fromisoformat(values["day"])
        except ValueError:
            errors.add("day", "日期格式应为 2026-12-31")
    if values["action"] not in DAY_ACTIONS:
        errors.add("action", "请选择调整方式")
    if len(values["reason"]) < 2:
        errors.add("reason", "请写明调整原因（如县政府文件文号），至少2个字")
    return values, errors, day


@router.get("/calendar", summary="The working-day calendar, its history and (center admin) the change form")
async def calendar(request: Request, user: SessionRow = Staff) -> Response:
    _board_user(user)
    return await _calendar_page(request, user, values={"action": "off"}, errors=domain.FormErrors())


@router.post("/calendar/preview", summary="Preview a day change: the open due dates it would move (nothing saved)")
async def calendar_preview(request: Request, user: SessionRow = Staff) -> Response:
    require_role(user, Role.CENTER_ADMIN)
    form = await request.form()
    await check_csrf(request, form)
    values, errors, day = _calendar_form(form)
    preview = None
    if not errors:
        body = {"day": values["day"], "working": DAY_WORKING[values["action"]], "reason": values["reason"]}
        preview, errors = await submit(
            console(request).backends.post("deadline", "/deadline/calendar/preview", token=user.token, json=body),
            CALENDAR_FIELDS, CALENDAR_ALIASES)
    return await _calendar_page(request, user, values=values, errors=errors, preview=preview,
                                status=422 if errors else 200)


@router.post("/calendar", summary="Save a day change (after its preview): the open due dates are recomputed")
async def calendar_change(request: Request, user: SessionRow = Staff) -> Response:
    require_role(user, Role.CENTER_ADMIN)
    form = await request.form()
    await check_csrf(request, form)
    values, errors, day = _calendar_form(form)
    if not errors and day is not None:
        b = console(request).backends
        path = f"/deadline/calendar/days/{quote(day.isoformat(), safe='')}"
        change = (b.request("deadline", "DELETE", path, token=user.token, params={"reason": values["reason"]})
                  if values["action"] == "remove" else
                  b.request("deadline", "PUT", path, token=user.token,
                            json={"working": DAY_WORKING[values["action"]], "reason": values["reason"]}))
        _, errors = await submit(change, CALENDAR_FIELDS, CALENDAR_ALIASES)
        if not errors:
            return redirect("/manage/deadlines/calendar?done=1#history")
    return await _calendar_page(request, user, values=values, errors=errors, status=422)
