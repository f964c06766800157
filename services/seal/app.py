"""Wiring of the seal service: settings, shared state, routes, the Kafka subscribers, the CRL
refresher, migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.runtime.app import Service

from . import api, handlers, workers
from .adapters.signing import SignerProvider
from .config import DECLARATION, SealSettings
from .domain import WorkingHours
from .store import metadata
from .usecases.documents import SealMetrics

MIGRATIONS = Path(__file__).parent / "migrations"


def create_service(settings: SealSettings | None = None, provider: SignerProvider | None = None) -> Service:
    """``provider``: where seal keys live (default: encrypted in the database; a PKCS#11 module
    plugs in here)."""
    service = Service(
        DECLARATION, settings or SealSettings(), metadata, MIGRATIONS,
        title="OneWindow seal (电子印章)",
        description="The county's dedicated approval seals (行政审批专用章) as verifiable electronic seals.",
    )
    settings = service.settings  # type: ignore[assignment]
    state = service.state
    state.provider = provider      # None: the software provider, made when the root opens
    state.protector = None         # the key protector, when the root opens (usecases.root)
    state.authority = None         # the county root, when it opens
    state.sm2 = None               # the SM2 root and seal maker (usecases.root.Sm2Parts), when it opens
    state.opening = asyncio.Lock()
    state.hours = WorkingHours(opens=settings.seal_hours_open, closes=settings.seal_hours_close)
    state.metrics = SealMetrics(service.metrics)
    state.log_mismatch = None      # the checkpoint the log no longer matches, once found (usecases.log)

    service.include_router(api.router)
    if settings.seal_auto_issue:
        service.subscribe("seal_auto_issue", handlers.unit_registered)
        service.worker(workers.center_seal_auto_issue, name="seal-center-auto-issue")
    service.subscribe("seal_documents", handlers.seal_document)
    service.worker(workers.crl_refresher, name="seal-crl")
    service.worker(workers.log_checkpointer, name="seal-log-checkpoints")
    return service
