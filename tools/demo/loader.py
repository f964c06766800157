"""Loads the demo catalog into a running intake through its HTTP API (a center admin's token).

Units and items that exist are left alone, so a second run loads nothing twice and a run cut
short is finished by the next one. A catalog of its own (the guide lists items that are not
the demo's) is never mixed with the demo: nothing is loaded then. Publishing goes through
intake's own rules, so every item passes the center's catalog checks.
"""

from __future__ import annotations

import asyncio
import logging
import os

import httpx

from contracts.common import Role

from . import STAFF_ID, items, units

log = logging.getLogger(__name__)

#: ``ONEWINDOW_INTAKE_DEMO_CATALOG``: whether ``onewindow up`` loads the demo catalog (default yes).
ENV = "ONEWINDOW_INTAKE_DEMO_CATALOG"


def wanted(environ: os._Environ[str] | dict[str, str] | None = None) -> bool:
    value = (environ if environ is not None else os.environ).get(ENV, "1").strip().lower()
    return value not in ("0", "false", "no", "off", "")


class DemoLoadError(RuntimeError):
    """intake refused part of the demo catalog."""


def _ok(r: httpx.Response, what: str) -> httpx.Response:
    if r.status_code >= 400:
        raise DemoLoadError(f"{what}: HTTP {r.status_code} {r.text[:500]}")
    return r


async def load(client: httpx.AsyncClient, *, concurrency: int = 4) -> tuple[int, int]:
    """Load the demo catalog through ``client`` (intake's base URL, a center admin's bearer
    token). Returns the numbers of units registered and items published by this run."""
    demo_units, demo_items = units(), items()
    codes = {i["code"] for i in demo_items}
    current = {i["code"] for i in _ok(await client.get("/intake/guide/items"), "guide").json()}
    if current - codes or not await _all_ours(client, current):
        log.info("catalog not empty: demo catalog not loaded")
        return 0, 0
    existing = {u["code"] for u in _ok(await client.get("/intake/catalog/units"), "units").json()}
    new_units = 0
    for u in demo_units:
        if u["code"] in existing:
            continue
        _ok(await client.post("/intake/catalog/units", json=u), f"unit {u['code']}")
        new_units += 1

    gate = asyncio.Semaphore(concurrency)

    async def one(item: dict) -> int:  # type: ignore[type-arg]
        code = item["code"]
        async with gate:
            r = await client.get(f"/intake/catalog/items/{code}")
            if r.status_code == 404:
                r = _ok(await client.post("/intake/catalog/items", json=item), f"item {code}")
            state = _ok(r, f"item {code}").json()
            if state["current"] is not None:
                return 0  # published before (current or retired): left alone
            if (state["draft"] or {}).get("name") != item["name"]:
                return 0  # someone else's draft under this code: not ours to publish
            _ok(await client.post(f"/intake/catalog/items/{code}/publish"), f"publish {code}")
            return 1

    new_items = sum(await asyncio.gather(*(one(i) for i in demo_items if i["code"] not in current)))
    log.info("demo catalog loaded: %d units, %d items", new_units, new_items)
    return new_units, new_items


async def _all_ours(client: httpx.AsyncClient, current: set[str]) -> bool:
    """Whether every current item was published by the demo loader (a catalog of its own may use
    the demo's codes). Nothing to check when every demo item is current already."""
    if current >= {i["code"] for i in items()}:
        return True
    for code in sorted(current):
        versions = _ok(await client.get(f"/intake/catalog/items/{code}"), f"item {code}").json()["versions"]
        if any(v["published_by"] != STAFF_ID for v in versions):
            return False
    return True


def admin_token(data_dir=None) -> str:  # type: ignore[no-untyped-def]
    """A local center admin's token for the demo loader (the local HS256 key, as ``onewindow token``)."""
    from services.runtime.auth import Authenticator
    from services.runtime.settings import ServiceSettings

    settings = ServiceSettings(data_dir=data_dir) if data_dir is not None else ServiceSettings()
    return Authenticator(settings).issue(STAFF_ID, Role.CENTER_ADMIN, None, "演示事项目录")


def load_into(url: str, token: str, *, timeout: float = 60) -> tuple[int, int]:
    """Load the demo catalog into the intake at ``url`` (blocking)."""

    async def run() -> tuple[int, int]:
        async with httpx.AsyncClient(base_url=url, timeout=timeout,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            return await load(client)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run())
    # Called from code that runs an event loop (a sync fixture of an async test): a thread of its own.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()
