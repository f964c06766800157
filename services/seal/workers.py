"""Background loops of the seal service (registered with ``service.worker`` in ``app.py``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .usecases import root

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
