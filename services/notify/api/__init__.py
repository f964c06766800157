"""notify's HTTP API, one router per resource (prefix ``/notify``, like every service's; each a thin
adapter over ``usecases/``; the request and response models are in ``schemas.py``):

- ``opt_outs``: ``POST /notify/opt-outs``, ``DELETE /notify/opt-outs/{mobile}`` (public);
- ``receipts``: ``POST /notify/sms/receipts/aliyun``, the cloud provider's delivery-receipt push;
- ``messages``: ``GET /notify/messages``, ``GET /notify/messages/{id}``, ``POST /notify/messages/{id}/resolve`` (staff);
- ``notices``: ``GET /notify/notices``, ``POST /notify/notices/{id}/retry`` (staff);
- ``providers``: ``GET /notify/providers/health`` (staff);
- ``audit``: ``GET /notify/access-log``, who read an applicant's unmasked data (supervisors, center admin);
- ``assessments``: ``GET /notify/assessment-notices``, ``GET /notify/assessment-notices/{id}`` and its
  sealed ``/file``, ``POST /notify/assessment-notices/{id}/retry``: the year-end assessment notices
  (the unit's head, supervisors, center admin).

Two exceptions stay outside the prefix: ``links``, ``GET /s/{code}``, the short links to sealed
notices (public), because every character counts in a text message; and the receipt push at its
old path ``POST /sms/receipts/aliyun`` (``receipts.legacy_router``), because providers already
have that callback URL configured.

Refusals are :class:`services.runtime.errors.DomainError`\\ s raised by the use cases; the runtime
turns them into problem+json.
"""

from __future__ import annotations

from fastapi import APIRouter

from . import assessments, audit, links, messages, notices, opt_outs, providers, receipts

#: Everything under the service's prefix.
router = APIRouter(prefix="/notify")
for _resource in (opt_outs, receipts, messages, notices, providers, audit, assessments):
    router.include_router(_resource.router)

ROUTERS: tuple[APIRouter, ...] = (router, links.router, receipts.legacy_router)

__all__ = ["ROUTERS", "router"]
