"""Wiring of the console: settings, its database (accounts, sessions), the clients to the five
services, the templates and static files, the routers. No Kafka (see config.DECLARATION)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from fastapi.staticfiles import StaticFiles

from services.runtime.app import Service

from . import web
from .clients import Backends
from .config import DECLARATION, ConsoleSettings
from .oidc import Oidc
from .routers import auth, desk, hall, portal
from .routers.manage import ROUTERS as MANAGE_ROUTERS
from .store import metadata
from .usecases import Accounts

MIGRATIONS = Path(__file__).parent / "migrations"


class _Static(StaticFiles):
    """Static files with a long cache life (their URLs carry a version)."""

    def file_response(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response


def create_service(settings: ConsoleSettings | None = None, *, transport=None) -> Service:  # type: ignore[no-untyped-def]
    """``transport``: an httpx transport standing in for the five services (unit tests)."""
    service = Service(
        DECLARATION, settings or ConsoleSettings(), metadata, MIGRATIONS,
        description="The suite's web front: the window clerk's desk, the public portal and the hall screen.",
    )
    s: ConsoleSettings = service.settings  # type: ignore[assignment]
    secret = s.console_secret.get_secret_value() if s.console_secret else None
    csrf_key = hashlib.sha256(("onewindow-console-csrf:" + (secret or s.resolved_auth_secret)).encode()).digest()
    backends = Backends(s, transport=transport)
    accounts = Accounts(service.db, s, service.auth)
    oidc = Oidc(s, csrf_key, transport=transport)
    console = web.Console(settings=s, accounts=accounts, backends=backends, templates=web.make_templates(),
                          csrf_key=csrf_key, oidc=oidc)
    service.state.console = console
    web.install(service.api, console)
    for r in (auth.router, desk.router, portal.router, hall.router, *MANAGE_ROUTERS):
        service.include_router(r)
    service.api.mount("/static", _Static(directory=Path(__file__).parent / "static"), name="static")

    @service.worker(name="console-clients")
    async def _keep(svc: Service) -> None:
        try:
            await accounts.ready()
            await asyncio.Event().wait()
        finally:
            await backends.aclose()
            await oidc.aclose()

    return service
