"""The seal service on the real Kafka broker (SQLite, and PostgreSQL when configured): a stamp
request on seal.commands comes back as DocumentSealed on seal.documents, with a PDF that poppler's
pdfsig accepts; a repeated request gets the same answer; a revoked seal's next use is refused."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.common import Role
from contracts.envelope import Envelope, parse
from contracts.seal import DocumentSealed, RefusalCode, SealDocument, SealingRefused
from services.runtime.testing import running
from services.seal.app import create_service
from services.seal.config import SealSettings
from tests.seal.conftest import pdfsig, trusting_nss_db

pytestmark = pytest.mark.integration


@pytest.fixture
def nss_db_for(tmp_path: Path):  # type: ignore[no-untyped-def]
    return lambda root_pem: trusting_nss_db(tmp_path / "nss-root", root_pem)


def _service(tmp: Path, database_url: str, bootstrap: str):  # type: ignore[no-untyped-def]
    return create_service(SealSettings(
        data_dir=tmp, database_url=database_url, kafka_bootstrap_servers=bootstrap,
        seal_key_passphrase="integration-test-passphrase", http_port=8102, log_json=False,
        auth_secret="integration-secret-0123456789-abcdefghijkl",
    ))


def _client(svc, role: Role | None = Role.CENTER_ADMIN) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {svc.auth.issue('admin-1', role)}"} if role else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://seal.test", headers=headers)


class Outcomes:
    """Reads seal.documents from the end (as of start) and collects outcomes by request id."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(
            "seal.documents", bootstrap_servers=bootstrap, group_id=f"test-seal-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="latest", enable_auto_commit=False,
        )
        self.seen: dict[str, list[Envelope]] = {}

    async def __aenter__(self) -> "Outcomes":
        await self.consumer.start()
        # wait for the assignment so that "latest" is fixed before anything is produced
        while not self.consumer.assignment():
            await asyncio.sleep(0.1)
            await self.consumer.getmany(timeout_ms=100)
        for tp in self.consumer.assignment():
            await self.consumer.position(tp)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def wait(self, request_id: str, count: int = 1, timeout: float = 60) -> list[Envelope]:
        end = asyncio.get_running_loop().time() + timeout
        while len(self.seen.get(request_id, [])) < count:
            if asyncio.get_running_loop().time() > end:
                raise AssertionError(f"no outcome for {request_id} in {timeout}s")
            batches = await self.consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for rec in records:
                    env = parse(rec.headers, rec.value)
                    self.seen.setdefault(env.data.request_id, []).append(env)
        return self.seen[request_id]


async def _produce(bootstrap: str, *envs: Envelope) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for env in envs:
            await producer.send_and_wait(env.topic, env.body(), key=env.key, headers=env.kafka_headers())
    finally:
        await producer.stop()


def _command(request_id: str, unit_code: str) -> SealDocument:
    return SealDocument(
        request_id=request_id, receipt_no="SL-2024-000777", unit_code=unit_code, document_type="acceptance",
        title="受理通知书", requested_by="notify",
        content={"addressee": "李四", "paragraphs": ["经审查，申请材料齐全、符合法定形式，决定予以受理。"]},
    )


async def test_stamp_request_over_kafka_is_sealed_once_and_verifies(
    tmp_path: Path, database_url: str, kafka_bootstrap: str, nss_db_for
) -> None:
    unit = f"U{uuid.uuid4().hex[:8].upper()}"
    svc = _service(tmp_path, database_url, kafka_bootstrap)
    async with running(svc), Outcomes(kafka_bootstrap) as outcomes:
        async with _client(svc) as admin:
            r = await admin.post("/seal/seals", json={"unit_code": unit, "unit_name": "某某县市场监督管理局",
                                                      "start_date": "2024-08-01"})
            assert r.status_code == 201, r.text
        rid = f"req-{uuid.uuid4().hex[:8]}"
        first = Envelope.wrap(_command(rid, unit))
        await _produce(kafka_bootstrap, first, first)                       # a redelivery too
        [answer] = await outcomes.wait(rid)
        sealed = answer.data
        assert isinstance(sealed, DocumentSealed) and sealed.unit_code == unit
        await _produce(kafka_bootstrap, Envelope.wrap(_command(rid, unit)))  # the requester retries
        answers = await outcomes.wait(rid, count=2)
        assert answers[1].data == sealed and answers[1].id != answers[0].id

        async with _client(svc, role=None) as public:
            pdf = (await public.get(sealed.url.removeprefix(svc.settings.public_url))).content
            root = (await public.get("/seal/root.pem")).content
            verdict = (await public.post("/seal/verify", content=pdf, headers={"Content-Type": "application/pdf"})).json()
        assert verdict["ok"] and verdict["registered_document"]["document_no"] == sealed.document_no
        out = pdfsig(pdf, tmp_path, nss_db_for(root))
        assert "Signature Validation: Signature is Valid." in out
        assert "Certificate Validation: Certificate is Trusted." in out

        async with _client(svc, role=Role.SUPERVISOR) as sup:
            chain = (await sup.get("/seal/log/verify")).json()
            entries = (await sup.get("/seal/log", params={"limit": 1000})).json()
        # (the broker's topic may hold other runs' commands, refused here for unknown units)
        assert chain["ok"] and chain["entries"] == len(entries)
        assert [e["action"] for e in entries if e["unit_code"] == unit] == ["issued", "sealed"]  # the repeat seals nothing


async def test_revoked_seal_is_refused_over_kafka(tmp_path: Path, database_url: str, kafka_bootstrap: str) -> None:
    unit = f"U{uuid.uuid4().hex[:8].upper()}"
    svc = _service(tmp_path, database_url, kafka_bootstrap)
    async with running(svc), Outcomes(kafka_bootstrap) as outcomes:
        async with _client(svc) as admin:
            seal = (await admin.post("/seal/seals", json={"unit_code": unit, "unit_name": "某某县民政局",
                                                          "start_date": "2024-08-01"})).json()
            r = await admin.post(f"/seal/seals/{seal['seal_id']}/revoke", json={"reason": "misuse"})
            assert r.status_code == 200, r.text
        rid = f"req-{uuid.uuid4().hex[:8]}"
        await _produce(kafka_bootstrap, Envelope.wrap(_command(rid, unit)))
        [answer] = await outcomes.wait(rid)
        assert isinstance(answer.data, SealingRefused)
        assert answer.data.reason_code == RefusalCode.SEAL_REVOKED and answer.data.reason == "印章已注销，不得使用"
