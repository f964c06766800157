"""The hall screen (大厅屏): 1920×1080, nobody touches it, it reloads itself. Composed from the
services' read endpoints made for it, with the signed-in hall account's token (a supervisor or
the center admin signs the wall's browser in once): intake's counts of today, deadline's clock
summary and latest bulletin, attendance's windows open now with who is on duty — counts and
duty names only, so refreshing the wall reads nobody's case. The calls run side by side, and
each tile stands alone: a figure no service gives, or a service that is away, shows that
tile as unavailable and never an error page."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contracts.common import Role
from services.runtime import clock

from .. import domain
from ..clients import optional
from ..store import SessionRow
from ..web import console, render, require_role, staff

router = APIRouter(prefix="/hall", tags=["console: hall screen"])
log = logging.getLogger(__name__)

#: The most units named under the overdue figure, and windows listed.
TOP_UNITS = 6
MAX_WINDOWS = 24


async def today_counts(request: Request, token: str) -> dict[str, int]:
    """Today's applications received and immediate cases decided, center-wide (intake counts)."""
    report = await console(request).backends.get("intake", "/intake/reports/today", token=token)
    total = report.get("total") or {}
    return {"received": int(total.get("received", 0)), "immediate": int(total.get("immediate_done", 0))}


async def decided_today(request: Request, token: str, today: date) -> int:
    stats = await console(request).backends.get("deadline", "/deadline/statistics", token=token,
                                                params={"first": today.isoformat(), "last": today.isoformat()})
    total = next((u for u in stats.get("units", []) if u.get("unit_code") == "*"), None) or {}
    return int(total.get("cases", 0))


async def overdue(request: Request, token: str) -> dict[str, Any]:
    summary = await console(request).backends.get("deadline", "/deadline/clocks/summary", token=token)
    units = [u for u in summary.get("units", []) if u.get("overdue")]
    units.sort(key=lambda u: (-u["overdue"], u["unit_code"]))
    return {"count": int((summary.get("total") or {}).get("overdue", 0)),
            "by_unit": [(u.get("unit_name") or u["unit_code"], u["overdue"]) for u in units[:TOP_UNITS]]}


async def latest_bulletin(request: Request, token: str) -> dict[str, Any] | None:
    doc = await console(request).backends.get("deadline", "/deadline/bulletins/latest", token=token)
    if not doc:
        return None
    rate = doc.get("on_time_rate")
    y, mo = str(doc.get("period", "0-0")).split("-")[:2]
    return {"no": doc.get("bulletin_no"), "period": f"{int(y)}年{int(mo)}月", "overdue": doc.get("overdue_cases", 0),
            "cases": doc.get("cases", 0), "rate": f"{rate * 100:.1f}%" if isinstance(rate, (int, float)) else "—"}


async def windows_now(request: Request, token: str) -> dict[str, Any]:
    """The windows serving today (attendance gives a window a session only on a day it serves:
    weekend service or a roster on a weekend), each with its A/B posts and who is at it now; and
    how many windows give weekend service."""
    presence = await console(request).backends.get("attendance", "/attendance/presence", token=token)
    every = presence.get("windows", [])
    return {"windows": _windows(every), "weekend_posts": sum(1 for w in every if w.get("weekend_service"))}


def _windows(every: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for w in every:
        if w.get("opening") is None:  # no shift or session today (a weekend without weekend service, a holiday)
            continue
        duty = w.get("on_duty") or {}
        out.append({"window_no": w["window_no"], "unit_name": w.get("unit_name"),
                    "post_a_name": (w.get("post_a") or {}).get("name"), "post_b_name": (w.get("post_b") or {}).get("name"),
                    "open_now": bool(w.get("open_now")), "on_duty": duty.get("name") or duty.get("staff_id"),
                    "post": w.get("on_duty_post"), "hours": _hours(w)})
    return out


def _hours(w: dict[str, Any]) -> str:
    opening, closing = w.get("opening"), w.get("closing")
    return f"{str(opening)[:5]}–{str(closing)[:5]}" if opening and closing else ""


@router.get("", summary="The hall screen (1920×1080, refreshes itself)")
async def hall(request: Request, user: SessionRow = Depends(staff)) -> Response:
    require_role(user, Role.SUPERVISOR, Role.CENTER_ADMIN)
    c = console(request)
    token = user.token
    today = domain.local_today()
    weekend = today.weekday() >= 5

    async def part(call: Any, service: str) -> tuple[Any, str | None]:
        # No short "late" bound: nobody waits at the wall, and a tile marked late for a whole
        # refresh period says less than one that came a second later. Away is still away; an
        # answer of a shape the tile cannot read marks that tile only (logged), not the wall.
        try:
            return await optional(call, service=service)
        except (KeyError, TypeError, AttributeError, ValueError):
            log.exception("hall: %s gave an answer the tile cannot read", service)
            return None, "暂不可用"

    (counts, counts_err), (decided, d_err), (presence, p_err), (late, o_err), (bulletin, bl_err), \
        (weekends, w_err) = await asyncio.gather(
            part(today_counts(request, token), "intake"),
            part(decided_today(request, token, today), "deadline"),
            part(windows_now(request, token), "attendance"),
            part(overdue(request, token), "deadline"),
            part(latest_bulletin(request, token), "deadline"),
            part(c.backends.get("intake", "/intake/reports/weekends", token=token), "intake"),
        )
    windows = presence["windows"] if presence else []
    return render(request, "hall.html", title="大厅屏", today=today, weekend=weekend,
                  received=counts["received"] if counts else None, received_err=counts_err,
                  immediate=counts["immediate"] if counts else None, decided=decided, decided_err=d_err,
                  windows=windows[:MAX_WINDOWS], windows_total=len(windows), posts_err=p_err,
                  open_now=sum(1 for w in windows if w["open_now"]),
                  weekend_posts=presence["weekend_posts"] if presence else 0,
                  overdue=late, overdue_err=o_err, bulletin=bulletin, bulletin_err=bl_err,
                  weekends=weekends, weekends_err=w_err,
                  refresh=c.settings.console_hall_refresh_seconds, now=domain.zh_datetime(clock.now()))
