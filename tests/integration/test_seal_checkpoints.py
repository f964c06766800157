"""The seal usage log anchored on the real broker: the service publishes signed checkpoints on the
public topic seal.log (by its worker and at a revocation); the outside auditor's command, holding
only the broker and the root certificate (and the database to audit), finds the log matching;
a forged checkpoint on the topic is refused; after an insider rewrites the chain in the database,
recomputing every hash, the command fails naming the first checkpoint that no longer matches."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from contracts.common import Role
from contracts.envelope import Envelope
from contracts.seal import CheckpointReason, SealLogCheckpointed
from services.runtime.testing import running
from services.seal import store
from services.seal.adapters import logsign
from services.seal.adapters.authority import SealAuthority
from services.seal.app import create_service
from services.seal.config import SealSettings
from services.seal.domain.usagelog import GENESIS, entry_hash
from tools import seal_log

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]


def _service(tmp: Path, database_url: str, bootstrap: str):  # type: ignore[no-untyped-def]
    return create_service(SealSettings(
        data_dir=tmp, database_url=database_url, kafka_bootstrap_servers=bootstrap,
        seal_key_passphrase="integration-test-passphrase", http_port=8102, log_json=False,
        auth_secret="integration-secret-0123456789-abcdefghijkl", seal_checkpoint_seconds=1,
    ))


def _client(svc, role: Role | None = Role.CENTER_ADMIN) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {svc.auth.issue('admin-1', role)}"} if role else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://seal.test", headers=headers)


async def _published_until(root_pem: bytes, bootstrap: str, done, timeout: float = 60) -> seal_log.Published:  # type: ignore[no-untyped-def]
    end = asyncio.get_running_loop().time() + timeout
    while True:
        published = await seal_log.read_published(root_pem, bootstrap=bootstrap, timeout_ms=1000)
        if done(published):
            return published
        if asyncio.get_running_loop().time() > end:
            raise AssertionError(f"not on seal.log in {timeout}s: {[c for c, _, _ in published.checkpoints]}")
        await asyncio.sleep(0.5)


async def _rewrite_chain(svc, from_seq: int) -> None:  # type: ignore[no-untyped-def]
    """The insider: one entry changed in the database, every hash after it recomputed."""
    async with svc.uow() as uow:
        rows = list((await uow.session.execute(
            select(store.UsageLogRow).order_by(store.UsageLogRow.seq))).scalars().all())
        prev = rows[from_seq - 2].hash if from_seq > 1 else GENESIS
        for r in rows[from_seq - 1:]:
            if r.seq == from_seq:
                r.detail = {**r.detail, "by": "someone-else"}
            r.prev_hash = prev
            r.hash = entry_hash(prev, dataclasses.replace(r.entry(), prev_hash=prev).content())
            prev = r.hash
            uow.session.add(r)
        await uow.commit()


async def _verify_log_command(root_file: Path, database_url: str, bootstrap: str) -> tuple[int, dict]:
    """``onewindow seal verify-log`` as the auditor runs it (a process of its own)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tools.cli", "seal", "verify-log", "--root-cert", str(root_file),
        "--database-url", database_url, "--bootstrap", bootstrap,
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert out, err.decode()
    return proc.returncode, json.loads(out)


async def test_the_auditor_finds_a_rewritten_chain_from_the_broker_and_the_root_certificate(
    tmp_path: Path, database_url: str, kafka_bootstrap: str,
) -> None:
    units = [f"U{uuid.uuid4().hex[:8].upper()}" for _ in range(3)]
    svc = _service(tmp_path, database_url, kafka_bootstrap)
    async with running(svc):
        async with _client(svc) as admin:
            seals = []
            for unit, name in zip(units[:2], ("某某县民政局", "某某县教育局")):
                r = await admin.post("/seal/seals", json={"unit_code": unit, "unit_name": name,
                                                          "start_date": "2024-08-01"})
                assert r.status_code == 201, r.text
                seals.append(r.json())
            root_pem = (await admin.get("/seal/root.pem")).content
            # the worker (every second here) anchors the two issues
            await _published_until(root_pem, kafka_bootstrap,
                                   lambda p: any(c.count == 2 for c, _, _ in p.checkpoints))
            r = await admin.post(f"/seal/seals/{seals[0]['seal_id']}/revoke", json={"reason": "misuse"})
            assert r.status_code == 200, r.text
        published = await _published_until(
            root_pem, kafka_bootstrap, lambda p: any(c.reason == CheckpointReason.REVOCATION for c, _, _ in p.checkpoints))
        revocation = next(c for c, _, _ in published.checkpoints if c.reason == CheckpointReason.REVOCATION)
        assert revocation.count == 3  # the revoked entry itself is anchored
        root_file = tmp_path / "root.pem"
        root_file.write_bytes(root_pem)

        # every published checkpoint verifies with the root certificate alone
        root = logsign.load_root(root_pem)
        for c, cert_pem, signature in published.checkpoints:
            logsign.verify(root, c, cert_pem, signature)
        code, report = await _verify_log_command(root_file, database_url, kafka_bootstrap)
        assert code == 0 and report["ok"] and report["refused"] == [] and report["first_mismatch"] is None
        assert report["checkpoints"] == len(published.checkpoints) >= 2 and report["entries"] == 3

        # a forged checkpoint (the forger's own root and key, naming this log) is refused
        forger_root, forger_key = SealAuthority.create_root(authority_name="伪造根证书", organization="伪造")
        forger = logsign.issue_signer(forger_root, forger_key, county_name="伪造县", now=datetime.now(UTC))
        top = max(c.checkpoint_no for c, _, _ in published.checkpoints)
        fake = dataclasses.replace(revocation, checkpoint_no=top + 1, count=1, at=datetime.now(UTC))
        event = SealLogCheckpointed(
            log_id=fake.log_id, checkpoint_no=fake.checkpoint_no, count=fake.count, head_hash=fake.head_hash,
            checkpointed_at=fake.at, reason=CheckpointReason.INTERVAL, signer_cert_pem=forger.cert_pem,
            signature=logsign.sign(forger.key, fake),
        )
        env = Envelope.wrap(event)
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(env.topic, env.body(), key=env.key, headers=env.kafka_headers())
        finally:
            await producer.stop()
        code, report = await _verify_log_command(root_file, database_url, kafka_bootstrap)
        assert code == 1 and report["first_mismatch"] is None
        assert [r["checkpoint_no"] for r in report["refused"]] == [top + 1]
        assert "not issued by the county seal root" in report["refused"][0]["reason"]

        # the insider rewrites entry 2 and recomputes the chain: whole, but no longer what was published
        await _rewrite_chain(svc, 2)
        async with _client(svc, role=Role.SUPERVISOR) as sup:
            assert (await sup.get("/seal/log/verify")).json()["ok"]
            api = (await sup.get("/seal/log/checkpoints/verify")).json()
        expected = min(c.checkpoint_no for c, _, _ in published.checkpoints if c.count >= 2)
        assert not api["ok"] and api["first_mismatch"] == expected
        code, report = await _verify_log_command(root_file, database_url, kafka_bootstrap)
        assert code == 1 and report["chain_ok"] and report["first_mismatch"] == expected
        assert "entry 2" in report["problem"]

        # and the service refuses to anchor the rewritten log
        async with _client(svc) as admin:
            r = await admin.post("/seal/seals", json={"unit_code": units[2], "unit_name": "某某县财政局",
                                                      "start_date": "2024-08-01"})
            assert r.status_code == 201, r.text
        for _ in range(40):
            if svc.state.log_mismatch:
                break
            await asyncio.sleep(0.25)
        assert svc.state.log_mismatch and f"checkpoint {top}" in svc.state.log_mismatch
