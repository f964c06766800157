"""The usage log anchored outside the database: signed checkpoints (count, head hash, time) checked
with the county root certificate alone, and the log compared with them — an insider who rewrites
the chain and recomputes every hash is found, the first checkpoint that no longer matches named."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from contracts.common import Role
from contracts.seal import CheckpointReason, SealLogCheckpointed
from services.seal import store
from services.seal.adapters import logsign
from services.seal.adapters.authority import SealAuthority
from services.seal.domain.usagelog import (
    GENESIS, Checkpoint, LogEntry, append, check_checkpoints, checkpoint_payload, entry_hash,
)
from services.seal.usecases import log as log_uc
from tools import seal_log

from .conftest import County
from .service_helpers import client, issue_no2, outbox, seal_service

pytestmark = pytest.mark.timeout(120)

T = datetime(2024, 8, 5, 2, 0, tzinfo=UTC)
LOG_ID = "ab" * 32


def entries(n: int, unit: str = "SCJG") -> list[LogEntry]:
    out: list[LogEntry] = []
    for i in range(n):
        out.append(append(out[-1] if out else None, at=T + timedelta(minutes=i), action="sealed", unit_code=unit,
                          seal_id="s2", document_no=f"{unit}-2024-{i + 1:06d}", request_id=f"r{i}",
                          detail={"sha256": f"{i:064x}"}))
    return out


def rewrite(log: list[LogEntry], from_seq: int, **change) -> list[LogEntry]:
    """What an insider with write access does: change an entry and recompute every hash after it."""
    out = log[:from_seq - 1]
    for e in log[from_seq - 1:]:
        fields = {k: getattr(e, k) for k in ("at", "action", "unit_code", "seal_id", "document_no", "request_id",
                                             "detail")}
        if e.seq == from_seq:
            fields.update(change)
        out.append(append(out[-1] if out else None, **fields))
    return out


def cp(no: int, log: list[LogEntry], count: int) -> Checkpoint:
    head = log[count - 1].hash if count else GENESIS
    return Checkpoint(LOG_ID, no, count, head, T + timedelta(hours=no), "interval")


# -- the pure parts ------------------------------------------------------------------------------

def test_payload_is_canonical_and_covers_every_field() -> None:
    c = Checkpoint(LOG_ID, 3, 7, "cd" * 32, datetime(2024, 8, 5, 10, 0, tzinfo=UTC), "revocation")
    assert c.payload() == checkpoint_payload(LOG_ID, 3, 7, "cd" * 32, c.at, "revocation")
    assert b'"checkpointed_at":"2024-08-05T10:00:00.000000+00:00"' in c.payload()
    assert b'"type":"onewindow.seal.usage-log.checkpoint.v1"' in c.payload()
    for change in ({"count": 8}, {"head_hash": "ce" * 32}, {"checkpoint_no": 4}, {"reason": "interval"},
                   {"at": c.at + timedelta(microseconds=1)}, {"log_id": "cd" * 32}):
        assert dataclasses.replace(c, **change).payload() != c.payload()


def test_an_intact_log_matches_its_checkpoints() -> None:
    log = entries(10)
    report = check_checkpoints(log, [cp(1, log, 0), cp(2, log, 4), cp(3, log, 10)])
    assert report.ok and report.checkpoints == report.matched == 3 and report.first_mismatch is None
    assert report.unanchored == 0 and report.latest.checkpoint_no == 3
    assert check_checkpoints(entries(12), [cp(1, log, 10)]).unanchored == 2  # grown since: fine


def test_a_rewritten_chain_is_whole_but_misses_the_checkpoints_from_the_change_on() -> None:
    log = entries(10)
    cps = [cp(1, log, 3), cp(2, log, 6), cp(3, log, 10)]
    forged = rewrite(log, 5, document_no="SCJG-2024-999999")
    report = check_checkpoints(forged, cps)
    assert report.chain.ok                                   # the chain alone sees nothing
    assert not report.ok and report.matched == 1
    assert report.first_mismatch.checkpoint_no == 2 and report.first_mismatch.count == 6
    assert "entry 6" in report.first_mismatch.problem


def test_removed_entries_and_a_broken_chain_are_named() -> None:
    log = entries(8)
    cps = [cp(1, log, 4), cp(2, log, 8)]
    truncated = check_checkpoints(log[:6], cps)
    assert truncated.first_mismatch.checkpoint_no == 2 and "removed" in truncated.first_mismatch.problem
    edited = list(log)
    edited[1] = dataclasses.replace(edited[1], detail={"sha256": "0" * 64})  # not recomputed
    broken = check_checkpoints(edited, cps)
    assert not broken.chain.ok and broken.chain.first_broken == 2
    assert broken.first_mismatch.checkpoint_no == 1 and "broken at entry 2" in broken.first_mismatch.problem


def test_missing_checkpoint_numbers_are_reported() -> None:
    log = entries(6)
    report = check_checkpoints(log, [cp(1, log, 2), cp(3, log, 6)])
    assert report.ok and report.missing == (2,)


# -- signatures: the root certificate alone --------------------------------------------------------

@pytest.fixture(scope="module")
def signer(county: County) -> logsign.IssuedSigner:
    return logsign.issue_signer(county.authority.root_cert, county.authority._root_key, county_name="某某县",
                                now=datetime.now(UTC))


def _signed(county: County, signer: logsign.IssuedSigner, **kw) -> tuple[Checkpoint, str, str]:
    c = Checkpoint(logsign.log_id_of(county.authority.root_cert), kw.pop("no", 1), kw.pop("count", 5),
                   kw.pop("head", "ab" * 32), kw.pop("at", datetime.now(UTC)), "interval")
    return c, signer.cert_pem, logsign.sign(signer.key, c)


def test_a_checkpoint_verifies_with_the_published_root_certificate_alone(county: County, signer) -> None:
    c, cert_pem, signature = _signed(county, signer)
    published_root = logsign.load_root(county.authority.root_cert.public_bytes(serialization.Encoding.DER))
    logsign.verify(published_root, c, cert_pem, signature)
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).critical
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_an_altered_checkpoint_is_refused(county: County, signer) -> None:
    c, cert_pem, signature = _signed(county, signer)
    for change in ({"count": 6}, {"head_hash": "cd" * 32}, {"checkpoint_no": 2}):
        with pytest.raises(logsign.CheckpointRefused, match="forged or altered"):
            logsign.verify(county.authority.root_cert, dataclasses.replace(c, **change), cert_pem, signature)
    with pytest.raises(logsign.CheckpointRefused):
        logsign.verify(county.authority.root_cert, c, cert_pem, "not base64!")


def test_a_checkpoint_signed_with_another_key_is_refused(county: County, signer) -> None:
    c, cert_pem, _ = _signed(county, signer)
    # a key of the forger's own, under the genuine certificate
    stranger = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(logsign.CheckpointRefused, match="forged or altered"):
        logsign.verify(county.authority.root_cert, c, cert_pem, logsign.sign(stranger, c))
    # a log-signing certificate of another root (the forger's), naming this log
    other_root, other_key = SealAuthority.create_root(authority_name="伪造根证书", organization="伪造")
    forger = logsign.issue_signer(other_root, other_key, county_name="伪造县", now=datetime.now(UTC))
    with pytest.raises(logsign.CheckpointRefused, match="not issued by the county seal root"):
        logsign.verify(county.authority.root_cert, c, forger.cert_pem, logsign.sign(forger.key, c))
    # a unit's seal key: certified by the same root, but not for checkpoints
    seal_key = county.protector.open(county.seal.encrypted_key_pem)
    seal_pem = county.seal.cert.public_bytes(serialization.Encoding.PEM).decode()
    with pytest.raises(logsign.CheckpointRefused, match="not a log-signing certificate"):
        logsign.verify(county.authority.root_cert, c, seal_pem, logsign.sign(seal_key, c))


def test_another_logs_checkpoint_and_a_time_outside_the_certificate_are_refused(county: County, signer) -> None:
    c, cert_pem, signature = _signed(county, signer)
    other = dataclasses.replace(c, log_id="cd" * 32)
    with pytest.raises(logsign.CheckpointRefused, match="another log"):
        logsign.verify(county.authority.root_cert, other, cert_pem, logsign.sign(signer.key, other))
    early = dataclasses.replace(c, at=datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(logsign.CheckpointRefused, match="not valid at"):
        logsign.verify(county.authority.root_cert, early, cert_pem, logsign.sign(signer.key, early))


# -- the service: checkpoints at intervals and at revocation, the API check ------------------------

async def _rewrite_in_database(svc, from_seq: int) -> None:  # type: ignore[no-untyped-def]
    """An insider rewrites the log in the database: one entry changed, every hash after recomputed."""
    async with svc.uow() as uow:
        rows = list((await uow.session.execute(select(store.UsageLogRow).order_by(store.UsageLogRow.seq))).scalars().all())
        prev = rows[from_seq - 2].hash if from_seq > 1 else GENESIS
        for r in rows[from_seq - 1:]:
            if r.seq == from_seq:
                r.detail = {**r.detail, "by": "someone-else"}
            e = r.entry()
            r.prev_hash = prev
            r.hash = entry_hash(prev, dataclasses.replace(e, prev_hash=prev).content())
            prev = r.hash
            uow.session.add(r)
        await uow.commit()


async def test_checkpoints_at_intervals_and_revocations_are_signed_kept_and_published(
    tmp_path: Path, database_url: str,
) -> None:
    async with seal_service(tmp_path, database_url=database_url) as svc:
        assert await log_uc.checkpoint_now(svc) is not None             # the empty log: count 0
        first = await issue_no2(svc)
        first_cp = await log_uc.checkpoint_now(svc)
        assert first_cp.count == 1 and first_cp.checkpoint_no == 2
        assert await log_uc.checkpoint_now(svc) is None                  # nothing new: none
        second = await issue_no2(svc, unit_code="FGW", unit_name="某某县发展和改革局")
        async with client(svc) as admin:
            r = await admin.post(f"/seal/seals/{first['seal_id']}/revoke", json={"reason": "lost"})
            assert r.status_code == 200, r.text
        events = [e.data for e in await outbox(svc, "seal.log")]
        assert [(e.checkpoint_no, e.count, e.reason) for e in events] == [
            (1, 0, CheckpointReason.INTERVAL), (2, 1, CheckpointReason.INTERVAL), (3, 3, CheckpointReason.REVOCATION)]
        assert all(isinstance(e, SealLogCheckpointed) for e in events)
        root_pem = svc.state.authority.root_pem
        root = logsign.load_root(root_pem)
        for e in events:
            logsign.verify(root, seal_log.checkpoint_of(e), e.signer_cert_pem, e.signature)
        assert events[2].head_hash == (await _head(svc)).hash

        async with client(svc, role=None) as public:
            listed = (await public.get("/seal/log/checkpoints")).json()
        assert [c["checkpoint_no"] for c in listed] == [1, 2, 3]
        async with client(svc, role=Role.SUPERVISOR) as sup:
            answer = (await sup.get("/seal/log/checkpoints/verify")).json()
            assert answer["ok"] and answer["checkpoints"] == 3 and answer["first_mismatch"] is None

            # the insider: entry 2 (the second seal's issue) changed, the chain recomputed
            await _rewrite_in_database(svc, 2)
            assert (await sup.get("/seal/log/verify")).json()["ok"]        # the chain alone: whole
            answer = (await sup.get("/seal/log/checkpoints/verify")).json()
            assert not answer["ok"] and answer["chain"]["ok"]
            assert answer["first_mismatch"] == 3 and answer["matched"] == 2 and "entry 3" in answer["problem"]

            # the next checkpoint refuses to anchor the rewrite
            await issue_no2(svc, unit_code="JYJ", unit_name="某某县教育局")
            assert await log_uc.checkpoint_now(svc) is None
            assert "checkpoint 3" in svc.state.log_mismatch

            # a checkpoint row altered to fit the rewrite is refused, not trusted
            async with svc.uow() as uow:
                row = await uow.session.get(store.CheckpointRow, 3)
                row.head_hash = (await _head(svc, seq=3)).hash
                uow.session.add(row)
                await uow.commit()
            answer = (await sup.get("/seal/log/checkpoints/verify")).json()
            assert not answer["ok"] and [r["checkpoint_no"] for r in answer["refused"]] == [3]
        assert second


async def _head(svc, seq: int | None = None) -> store.UsageLogRow:  # type: ignore[no-untyped-def]
    async with svc.uow() as uow:
        q = select(store.UsageLogRow).order_by(store.UsageLogRow.seq.desc())
        if seq is not None:
            q = select(store.UsageLogRow).where(store.UsageLogRow.seq == seq)
        return (await uow.session.execute(q)).scalars().first()


async def test_the_auditors_check_reads_the_log_through_the_api(tmp_path: Path, database_url: str) -> None:
    async with seal_service(tmp_path, database_url=database_url) as svc:
        await issue_no2(svc)
        await log_uc.checkpoint_now(svc)
        events = [e.data for e in await outbox(svc, "seal.log")]
        root_pem = svc.state.authority.root_pem
        published = seal_log.Published(checkpoints=[
            (seal_log.checkpoint_of(e), e.signer_cert_pem, e.signature) for e in events])
        async with client(svc, role=Role.SUPERVISOR) as sup:
            result = seal_log.audit(root_pem, published, await seal_log.entries_from_api(sup))
            assert result.ok and result.summary()["matched"] == 1 and result.entries == 1
            await _rewrite_in_database(svc, 1)
            result = seal_log.audit(root_pem, published, await seal_log.entries_from_api(sup))
        assert not result.ok and result.summary()["first_mismatch"] == 1 and result.summary()["chain_ok"]
        # a forged checkpoint beside them (the forger's own key, this log's id) is refused
        forged = dataclasses.replace(published.checkpoints[0][0], checkpoint_no=2)
        stranger = ec.generate_private_key(ec.SECP256R1())
        published.checkpoints.append((forged, events[0].signer_cert_pem, logsign.sign(stranger, forged)))
        result = seal_log.audit(root_pem, published, [])
        assert [n for n, _ in result.refused] == [2]
        assert base64.b64decode(events[0].signature)
