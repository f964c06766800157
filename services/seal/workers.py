"""Background loops of the seal service (registered with ``service.worker`` in ``app.py``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .usecases import log, root

if TYPE_CHECKING:
    from services.runtime.app import Service

#: How often the CRL's remaining validity is checked (it is reissued a day before it ends).
CRL_CHECK_SECONDS = 3600


async def crl_refresher(svc: "Service") -> None:
    """Open the root, then keep the published CRL current."""
    await root.ensure_open(svc)
    while True:
        await root.refresh_crl_if_due(svc)
        await asyncio.sleep(CRL_CHECK_SECONDS)


async def log_checkpointer(svc: "Service") -> None:
    """Publish a signed checkpoint of the usage log every ``seal_checkpoint_seconds`` when it has
    grown (revocations publish their own, in their transaction). The first comes one interval
    after the start: replicas starting together do not each sign one at once."""
    await root.ensure_open(svc)
    interval = root.settings_of(svc).seal_checkpoint_seconds
    while True:
        await asyncio.sleep(interval)
        await log.checkpoint_now(svc)


async def center_seal_auto_issue(svc: "Service") -> None:
    """The demo run: the center's own seal once at start (``seals.auto_issue_center``)."""
    from .usecases import seals

    await seals.auto_issue_center(svc)
