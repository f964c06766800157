"""Wiring of the seal service: settings, the seal office, routes, the SealDocument handler, the CRL
refresher, migrations."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from services.runtime.app import Service

from . import api, handlers
from .config import SealSettings
from .office import SealOffice
from .signing import SignerProvider
from .store import metadata
from .config import DECLARATION

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
CRL_CHECK_SECONDS = 3600


def create_service(settings: SealSettings | None = None, provider: SignerProvider | None = None) -> Service:
    """``provider``: where seal keys live (default: encrypted in the database; a PKCS#11 module
    plugs in here)."""
    service = Service(
        DECLARATION, settings or SealSettings(), metadata, MIGRATIONS,
        title="OneWindow seal (电子印章)",
        description="The county's dedicated approval seals (行政审批专用章) as verifiable electronic seals.",
    )
    office = SealOffice(service.settings, provider)  # type: ignore[arg-type]
    service.api.state.seal_office = office
    service.office = office  # type: ignore[attr-defined]
    service.include_router(api.router)
    handlers.register(service, office)

    @service.worker(name="seal-crl")
    async def crl_refresher(svc: Service) -> None:
        await office.ensure_open(svc.db)
        while True:
            await office.refresh_crl_if_due(svc.db)
            await asyncio.sleep(CRL_CHECK_SECONDS)

    return service
