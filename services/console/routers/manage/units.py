"""Management pages: units' volume, dormant units, ratings, rectification (单位与办件量). Same rules as every console page: the services' HTTP APIs with the
signed-in person's token; the services decide who may see and do what.

Everything here is intake's: the monthly volume per unit (``/intake/reports/volume``), each unit's
应进不进 standing computed for the month (``/intake/reports/inactivity``), the ratings of the
month's cases (``/intake/reports/ratings``), the rectification tasks (``/intake/rectifications``,
those past their due date marked overdue) and the decisions units reported making outside the
center with those flagged 两头受理 per unit (``/intake/outside-decisions/summary``)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contracts.common import Role
from contracts.intake import RatingLevel

from ... import domain
from ...charts import bar_chart
from ...clients import optional
from ...store import SessionRow
from ...web import console, render, require_role, staff

router = APIRouter(prefix="/manage/units", tags=["console: management"])

MONTHS = 6
#: Units drawn in the chart (the busiest); the table below it lists every unit.
CHART_UNITS = 6
PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
RECT_STATUS = {"open": "整改中", "closed": "已整改"}


def months_up_to(period: str, n: int) -> list[str]:
    y, m = int(period[:4]), int(period[5:])
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return list(reversed(out))


def volume_table(periods: list[str], volumes: list[list[dict[str, Any]] | None]) -> list[dict[str, Any]]:
    """One row per unit: received per month (None where the month could not be read) and the total."""
    units: dict[str, dict[str, Any]] = {}
    for i, rows in enumerate(volumes):
        for r in rows or []:
            u = units.setdefault(r["unit_code"], {"unit_code": r["unit_code"], "unit_name": r["unit_name"],
                                                  "months": [None] * len(periods)})
            u["months"][i] = r["received"]
    for u in units.values():
        u["total"] = sum(v or 0 for v in u["months"])
    return sorted(units.values(), key=lambda u: (-u["total"], u["unit_code"]))


def volume_chart(periods: list[str], table: list[dict[str, Any]]) -> Any:
    busiest = [u for u in table if u["total"] > 0][:CHART_UNITS]
    if not busiest:
        return None
    # Short labels (the year only where it starts or changes) so six months fit side by side.
    cats = [f"{p[:4]}年{int(p[5:])}月" if i == 0 or p.endswith("-01") else f"{int(p[5:])}月" for i, p in enumerate(periods)]
    return bar_chart(f"各单位月度收件量（收件最多的{len(busiest)}个单位）", cats,
                     {u["unit_name"]: [float(v or 0) for v in u["months"]] for u in busiest})


@router.get("", summary="Units: monthly volume (chart and table), dormant units, ratings, rectification tasks")
async def units_page(request: Request, user: SessionRow = Depends(staff), period: str = "") -> Response:
    require_role(user, Role.SUPERVISOR, Role.CENTER_ADMIN)
    c = console(request)
    b = c.backends
    today = domain.local_today()
    this_month = f"{today:%Y-%m}"
    period = period if PERIOD_RE.fullmatch(period) and period <= this_month else this_month
    periods = months_up_to(period, MONTHS)
    within = c.settings.console_part_seconds
    # The dormant list decides the page (the area's point); the rest is shown if it comes.
    inactivity, volumes, (ratings, ratings_problem), (rects, rect_problem), (outside, outside_problem) = await asyncio.gather(
        b.get("intake", "/intake/reports/inactivity", token=user.token, params={"period": period}),
        asyncio.gather(*(optional(b.get("intake", "/intake/reports/volume", token=user.token, params={"period": p}),
                                  within=within, service="intake") for p in periods)),
        optional(b.get("intake", "/intake/reports/ratings", token=user.token, params={"period": period}),
                 within=within, service="intake"),
        optional(b.get("intake", "/intake/rectifications", token=user.token, params={"limit": 200}),
                 within=within, service="intake"),
        optional(b.get("intake", "/intake/outside-decisions/summary", token=user.token, params={"period": period}),
                 within=within, service="intake"),
    )
    volume_problem = next((p for _, p in volumes if p), None)
    table = volume_table(periods, [v for v, _ in volumes])
    dormant = [u for u in inactivity if u["flagged"]]
    rated = [r for r in ratings or [] if r["rated"]]
    open_rects = [r for r in rects or [] if r["status"] == "open"]
    overdue = [r for r in open_rects if (domain.parse_day(r["due_on"]) or today) < today]
    return render(
        request, "manage/units.html", title="单位与办件量", period=period, periods=periods,
        months=months_up_to(this_month, 12), table=table, chart=volume_chart(periods, table),
        volume_problem=volume_problem, inactivity=inactivity, dormant=dormant,
        threshold=inactivity[0]["threshold"] if inactivity else None, ratings=rated, ratings_problem=ratings_problem,
        levels={lv.value: lv.label for lv in RatingLevel}, rects=rects or [], rect_problem=rect_problem,
        open_rects=open_rects, overdue={r["rectification_id"] for r in overdue}, rect_status=RECT_STATUS,
        names={u["unit_code"]: u["unit_name"] for u in inactivity}, today=today,
        outside=outside or [], outside_problem=outside_problem,
        two_ends=sum(int(r["flagged"]) for r in outside or []),
        period_label=f"{period[:4]}年{int(period[5:])}月",
    )
