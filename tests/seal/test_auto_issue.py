"""The demo run: every unit intake registers gets its No. 2 seal without an admin's request, once,
and documents of that unit can then be sealed."""

from __future__ import annotations

import json

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from contracts.intake import UnitRegistered
from contracts.seal import SealIssued
from services.runtime.testing import in_memory, publish
from services.seal import store
from services.seal.app import create_service
from services.seal.config import SealSettings


def _settings(tmp_path: Path, auto: bool) -> SealSettings:
    return SealSettings(data_dir=tmp_path, auth_secret="k" * 40, seal_auto_issue=auto,
                        seal_key_passphrase="a-long-test-passphrase")


def _unit(code: str = "LYJ") -> UnitRegistered:
    return UnitRegistered(unit_code=code, unit_name="青山县林业局", window_numbers=["12"], entered=True,
                          registered_at=datetime.now(UTC))


async def _issued(svc) -> list[str]:  # type: ignore[no-untyped-def]
    ob = svc.db.tables.outbox
    async with svc.uow() as uow:
        rows = (await uow.session.execute(select(ob.c.headers, ob.c.payload))).all()
    # the unit's seals only: in the demo run the center's own seal is issued at start besides
    return [h["ce_type"] for h, payload in rows
            if h["ce_type"] == SealIssued.ce_type() and json.loads(payload)["unit_code"] == "LYJ"]


async def test_each_registered_unit_gets_one_seal(tmp_path: Path) -> None:
    svc = create_service(_settings(tmp_path, True))
    async with in_memory(svc):
        await publish(svc, _unit())
        await publish(svc, _unit())  # re-registered (renamed windows): no second seal
        async with svc.uow() as uow:
            seals = await store.seals_of(uow.session, "LYJ")
        assert [(s.kind, s.seal_name, s.seal_no, s.unit_name) for s in seals] == [
            ("approval", "行政审批专用章", "2", "青山县林业局")
        ]
        assert len(await _issued(svc)) == 1


async def test_without_the_setting_units_get_no_seal(tmp_path: Path) -> None:
    svc = create_service(_settings(tmp_path, False))
    async with in_memory(svc):
        await publish(svc, _unit())
        async with svc.uow() as uow:
            assert await store.seals_of(uow.session, "LYJ") == []
