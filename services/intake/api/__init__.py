"""intake's HTTP API, one router per resource (prefix ``/intake``); every route is a thin adapter
over :mod:`services.intake.usecases` (parse → use case → shape the answer).

- ``guide.py``: the public guide (办事指南);
- ``public.py``: the public status lookup and rating (rate-limited per client);
- ``pages.py``: the public HTML pages of those two (zh-CN, ``templates/``);
- ``catalog.py``: units and items (center admin);
- ``consultations.py``: consultations (首问负责);
- ``applications.py``: cases through the six kinds, joint tasks, overrides;
- ``search.py``: the applicant search (masked; each search on the access log);
- ``leads.py``: 领办代办 (a staff member takes charge of a case) and its counts per staff member;
- ``ratings.py``: rectification tasks (整改);
- ``outside.py``: 两头受理, decisions units report they made outside the center (API, CSV import), counted per unit;
- ``reports.py``: volume, weekends, monthly reports;
- ``audit.py``: the access log of reads of unmasked applicant data (auditors);
- ``deps.py``: the shared dependencies (``State``: ``service.state.intake``; the acting staff member).

Refusals are the runtime's ``DomainError``s (or a ``Problem``), made problem+json by the runtime;
a request either commits whole (state and events) or not at all.
"""

from __future__ import annotations

from fastapi import APIRouter

from . import applications, audit, catalog, consultations, guide, pages, public, ratings, reports, search
from . import leads
from . import outside

router = APIRouter(prefix="/intake")
for _module in (guide, public, catalog, consultations, applications, search, ratings, reports, audit):
    router.include_router(_module.router)
router.include_router(leads.router)  # 领办代办
router.include_router(outside.router)  # 两头受理

#: The HTML pages (prefix ``/intake/public``).
pages_router = pages.router

__all__ = ["pages_router", "router"]
