"""notify's HTTP API, one router per resource (each a thin adapter over ``usecases/``; the
request and response models are in ``schemas.py``):

- ``links``: ``GET /s/{code}``, the short links to sealed notices (public);
- ``opt_outs``: ``POST /opt-outs``, ``DELETE /opt-outs/{mobile}`` (public);
- ``receipts``: ``POST /sms/receipts/aliyun``, the cloud provider's delivery-receipt push;
- ``messages``: ``GET /messages``, ``GET /messages/{id}``, ``POST /messages/{id}/resolve`` (staff);
- ``notices``: ``GET /notices``, ``POST /notices/{id}/retry`` (staff);
- ``providers``: ``GET /providers/health`` (staff).

Refusals are :class:`services.runtime.errors.DomainError`\\ s raised by the use cases; the runtime
turns them into problem+json.
"""

from __future__ import annotations

from fastapi import APIRouter

from . import links, messages, notices, opt_outs, providers, receipts

ROUTERS: tuple[APIRouter, ...] = (links.router, opt_outs.router, receipts.router, messages.router, notices.router,
                                  providers.router)

__all__ = ["ROUTERS"]
