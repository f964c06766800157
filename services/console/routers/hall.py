"""The hall screen (大厅屏): 1920×1080, nobody touches it, it reloads itself. Composed from the
services' APIs with the signed-in hall account's token (a supervisor or the center admin signs
the wall's browser in once). Each tile stands alone: a figure no service gives, or a service
that is away, shows that tile as unavailable and never an error page."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
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


async def received_today(request: Request, token: str, today: date) -> int:
    """Applications received today: intake lists cases newest first; the month's are read until
    the first one of an earlier day (intake has no count of a day)."""
    b = console(request).backends
    count, offset = 0, 0
    for _ in range(25):
        page = await b.get("intake", "/intake/applications", token=token,
                           params={"period": f"{today:%Y-%m}", "limit": 200, "offset": offset})
        for row in page:
            inst = domain.parse_instant(row["received_at"])
            if inst is None or inst.astimezone(domain.CENTER_TZ).date() != today:
                return count
            count += 1
        if len(page) < 200:
            return count
        offset += 200
    return count


async def decided_today(request: Request, token: str, today: date) -> dict[str, Any]:
    stats = await console(request).backends.get("deadline", "/deadline/statistics", token=token,
                                                params={"first": today.isoformat(), "last": today.isoformat()})
    total = next((u for u in stats.get("units", []) if u.get("unit_code") == "*"), None) or {}
    return {"decided": total.get("cases", 0), "immediate": total.get("immediate", 0)}


async def overdue(request: Request, token: str) -> dict[str, Any]:
    clocks = await console(request).backends.get("deadline", "/deadline/clocks", token=token,
                                                 params={"overdue": "true", "limit": 1000})
    by_unit: dict[str, int] = {}
    for c in clocks:
        if c.get("state") != "ended":
            by_unit[c["unit_code"]] = by_unit.get(c["unit_code"], 0) + 1
    return {"count": sum(by_unit.values()), "by_unit": sorted(by_unit.items(), key=lambda x: -x[1])[:6]}


async def latest_bulletin(request: Request, token: str, today: date) -> dict[str, Any] | None:
    """The latest published bulletin of the last three months (deadline has no 'latest')."""
    b = console(request).backends
    first = today.replace(day=1)
    months = []
    for _ in range(3):
        first = (first - timedelta(days=1)).replace(day=1)
        months.append(f"{first:%Y-%m}")
    answers = await asyncio.gather(*(b.get("deadline", f"/deadline/bulletins/{m}", token=token) for m in months))
    for m, doc in zip(months, answers):
        if doc.get("published"):
            total = doc.get("total") or {}
            rate = total.get("on_time_rate")
            y, mo = m.split("-")
            return {"no": doc.get("bulletin_no"), "period": f"{int(y)}年{int(mo)}月",
                    "overdue": len(doc.get("overdue_cases") or []), "cases": total.get("cases", 0),
                    "rate": f"{rate * 100:.1f}%" if isinstance(rate, (int, float)) else "—"}
    return None


@router.get("", summary="The hall screen (1920×1080, refreshes itself)")
async def hall(request: Request, user: SessionRow = Depends(staff)) -> Response:
    require_role(user, Role.SUPERVISOR, Role.CENTER_ADMIN)
    b = console(request).backends
    token = user.token
    today = domain.local_today()
    weekend = today.weekday() >= 5
    (received, r_err), (decided, d_err), (posts, p_err), (late, o_err), (bulletin, bl_err), (weekends, w_err), \
        (duty, duty_err) = await asyncio.gather(
            optional(received_today(request, token, today)),
            optional(decided_today(request, token, today)),
            optional(b.get("attendance", "/attendance/posts", token=token)),
            optional(overdue(request, token)),
            optional(latest_bulletin(request, token, today)),
            optional(b.get("intake", "/intake/reports/weekends", token=token)),
            optional(b.get("attendance", f"/attendance/duty/{today.isoformat()}", token=token)) if weekend
            else _nothing(),
        )
    arrived = {s["window_no"]: s.get("first_arrival") for s in (duty or [])}
    windows = []
    for p in posts or []:
        if weekend and not p.get("weekend_service"):
            continue
        windows.append({**p, "arrived": arrived.get(p["window_no"])})
    return render(request, "hall.html", title="大厅屏", today=today, weekend=weekend,
                  received=received, received_err=r_err, decided=decided, decided_err=d_err,
                  windows=windows[:24], windows_total=len(windows), posts_err=p_err,
                  weekend_posts=sum(1 for p in posts or [] if p.get("weekend_service")),
                  overdue=late, overdue_err=o_err, bulletin=bulletin, bulletin_err=bl_err,
                  weekends=weekends, weekends_err=w_err, duty_known=duty is not None,
                  refresh=console(request).settings.console_hall_refresh_seconds,
                  now=domain.zh_datetime(clock.now()))


async def _nothing() -> tuple[None, None]:
    return None, None
