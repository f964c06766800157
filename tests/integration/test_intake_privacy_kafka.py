"""Issue 20 on the real broker, with two intake replicas on one database: adversarial free text
typed into every field that feeds a public event never reaches a public topic (read as a bureau
reads them), while the suite's internal topic carries it; the public lookup's rate limit and the
receipt-number lock hold across the replicas."""

from __future__ import annotations

import asyncio
import random
import string
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

import contracts
from contracts.common import Role
from contracts.envelope import parse
from contracts.topics import get_topic
from services.intake.app import create_service
from services.intake.config import IntakeSettings
from services.runtime.testing import running
from tests.intake.privacy_flow import EVIL, drive, leaks
from tests.intake.service_helpers import item_body

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

SECRET = "intake-privacy-integration-secret-0123456789"


def _code(prefix: str) -> str:
    return prefix + "".join(random.choices(string.ascii_uppercase, k=6))


def _client(svc, role: Role | None, unit: str | None = None, sub: str = "staff", ip: str = "10.20.0.1"):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {svc.auth.issue(sub, role, unit)}"} if role else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api, client=(ip, 40000)),
                             base_url="http://intake", headers=headers)


class Bureau:
    """A county bureau's consumer: every public topic of the catalog (plus, to prove the texts went
    somewhere, the suite's internal case-texts topic, read separately), from the current end."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.records: list[tuple[str, list[tuple[str, bytes]], bytes | None, bytes | None]] = []

    async def start(self) -> None:
        await self.consumer.start()
        topics = [t.name for t in contracts.all_topics() if t.public] + ["intake.case-texts"]
        parts = [TopicPartition(t, p) for t in topics for p in range(get_topic(t).partitions)]
        self.consumer.assign(parts)
        await self.consumer.seek_to_end(*parts)
        for tp in parts:
            await self.consumer.position(tp)

    def mine(self, codes: tuple[str, ...]) -> list[tuple[str, list[tuple[str, bytes]], bytes | None]]:
        return [(t, h, v) for t, h, v, k in self.records if k and any(c in k.decode() for c in codes)]

    async def until(self, check, timeout: float = 90.0) -> None:  # type: ignore[no-untyped-def]
        end = asyncio.get_running_loop().time() + timeout
        while not check():
            if asyncio.get_running_loop().time() > end:
                raise AssertionError(f"not seen in time: {len(self.records)} records")
            batch = await self.consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    self.records.append((r.topic, list(r.headers), r.value, r.key))

    async def stop(self) -> None:
        await self.consumer.stop()


def _types(records, topic: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [type(parse(h, v).data).__name__ for t, h, v in records if t == topic]


async def test_two_replicas_publish_no_typed_text_and_share_the_lookup_limits(
        tmp_path: Path, database_url: str, kafka_bootstrap: str) -> None:
    lead, p1, p2 = _code("P"), _code("Q"), _code("S")
    codes = (lead, p1, p2)

    def settings(name: str) -> IntakeSettings:
        (tmp_path / name).mkdir(exist_ok=True)
        return IntakeSettings(
            data_dir=tmp_path / name, database_url=database_url, kafka_bootstrap_servers=kafka_bootstrap,
            auth_secret=SECRET, log_json=False, intake_monthly_reports=False,
            intake_lookup_rate_limit="5/minute", intake_lookup_max_failures=3, intake_lookup_lock_minutes=10)

    a, b = create_service(settings("a")), create_service(settings("b"))
    bureau = Bureau(kafka_bootstrap)
    await bureau.start()
    try:
        async with running(a), running(b):
            async with _client(a, Role.CENTER_ADMIN, sub="admin") as admin:
                for code, name in ((lead, "青山县林业局"), (p1, "青山县自然资源局"), (p2, "青山县人民防空办公室")):
                    r = await admin.post("/intake/catalog/units", json={
                        "code": code, "name": name, "entered": True, "entered_since": "2024-01-01"})
                    assert r.status_code == 201, r.text
                items = {}
                for n, kind in enumerate(("promised", "joint", "reported_up"), start=1):
                    code = f"{lead}-{n:03d}"
                    extra = {"joint_units": [p1, p2]} if kind == "joint" else {}
                    r = await admin.post("/intake/catalog/items", json=item_body(code, kind, unit_code=lead, **extra))
                    assert r.status_code == 201, r.text
                    assert (await admin.post(f"/intake/catalog/items/{code}/publish")).status_code == 200
                    items[kind] = code

            # Staff act on replica a, the public on replica b (one database behind both).
            def clients(role, unit, sub):  # type: ignore[no-untyped-def]
                return _client(a if role else b, role, unit, sub, ip="10.20.0.9")

            cases = await drive(clients, lead, (p1, p2), items)

            def done() -> bool:
                mine = bureau.mine(codes)
                return (_types(mine, "intake.applications").count("ApplicationDecided") >= 2
                        and "RectificationClosed" in _types(mine, "intake.ratings")
                        and "ConsultationRecorded" in _types(mine, "intake.consultations")
                        and _types(mine, "intake.case-texts").count("DecisionTextRecorded") >= 2)

            await bureau.until(done)
            mine = bureau.mine(codes)
            public = [r for r in mine if get_topic(r[0]).public]
            assert len(public) >= 30 and {r[0] for r in public} >= {
                "intake.applications", "intake.ratings", "intake.consultations", "intake.catalog", "intake.units"}
            assert leaks(mine) == []
            texts = [v.decode() for t, _, v in mine if t == "intake.case-texts"]
            assert sum(EVIL in t for t in texts) >= 10

            # The rate limit holds across the replicas: 5 a minute for one client, wherever it lands.
            fixed = datetime(2026, 12, 7, 12, 0, 5, tzinfo=UTC)
            for svc in (a, b):
                svc.state.intake.wall = lambda: fixed
            probe = {"receipt_no": "2026-ZZ-ABCDEFGH", "mobile_last4": "0000"}
            codes_seen = []
            for n in range(6):
                async with _client((a, b)[n % 2], None, ip="10.20.1.1") as pub:
                    probe["receipt_no"] = f"2026-ZZ-{'ABCDEFGHJK'[n]}BCDEFGH"
                    codes_seen.append((await pub.post("/intake/public/status", json=probe)).status_code)
            assert codes_seen == [404, 404, 404, 404, 404, 429]

            # A receipt number locks across the replicas after 3 wrong tails.
            no = cases["decided"]
            for n in range(3):
                async with _client((a, b)[n % 2], None, ip=f"10.20.2.{n}") as pub:
                    r = await pub.post("/intake/public/status", json={"receipt_no": no, "mobile_last4": "0000"})
                    assert r.status_code == 404
            for svc in (a, b):
                async with _client(svc, None, ip="10.20.3.1") as pub:
                    r = await pub.post("/intake/public/status", json={"receipt_no": no, "mobile_last4": "5678"})
                    assert r.status_code == 429 and "锁定" in r.json()["detail"]
    finally:
        await bureau.stop()
