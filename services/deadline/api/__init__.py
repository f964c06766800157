"""HTTP API of the deadline service (prefix ``/deadline``), one router per resource; the routes
are thin over the use cases (``usecases/``), the models in ``schemas.py``.

Who may do what:
- any staff member: read clocks (clerks and unit heads: their own unit), statistics, bulletins,
  the calendar's history; record a stop (hearing, testing, ...) for a case of their unit;
- unit heads (their unit), supervisors and the center admin: grant extensions; reply to a
  supervision notice (unit heads: their unit);
- supervisors and the center admin: publish bulletins, raise supervision notices, draw
  inspection samples and record results;
- the center admin: change the calendar (county days, State Council schedules);
- everyone (public): the working-day calendar and due-date computation.

Refusals are the use cases' ``DomainError`` s: the runtime answers them as problem+json.
"""

from __future__ import annotations

from fastapi import APIRouter

from . import bulletins, calendar, clocks, inspections, notices, reports, summaries

router = APIRouter(prefix="/deadline", tags=["deadline"])
for _resource in (summaries, clocks, calendar, reports, bulletins, notices, inspections):
    router.include_router(_resource.router)
