"""The outside auditor's check of the seal usage log (用印登记): the log as the seal database holds it,
against the signed checkpoints published on the public topic ``seal.log``.

What the auditor needs: the broker (read access to ``seal.log``), the county seal root certificate
(``/seal/root.pem`` or ``/seal/root.crt``, obtained once and kept), and the log itself, read from
the seal database (``--database-url``) or from the seal API (``--seal-url`` with a supervisor's
token). Every checkpoint on the topic is checked with the root certificate alone: one that names
another root's log is ignored, one that names this log but does not verify (another key, an
altered value) is refused and listed; the log is then compared with every accepted checkpoint, and
the first one it no longer matches is named.

    onewindow seal verify-log --root-cert root.pem --database-url postgresql://...
    python -m tools.seal_log --root-cert root.pem --seal-url https://... --token ...

Exit status: 0 the log matches every checkpoint; 1 it does not (or the chain is broken, or a
checkpoint was refused, or none was found).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts.envelope import EnvelopeError, parse
from contracts.seal import LOG, SealLogCheckpointed
from services.runtime.settings import ServiceSettings
from services.seal.domain.usagelog import AnchorReport, Checkpoint, LogEntry, check_checkpoints

# The seal service's store, signing adapters and use cases (cryptography, and through the use
# cases' package pyHanko and ReportLab) are imported by the functions that need them, not with
# this module: `onewindow` imports it for its `seal verify-log` command on every run, `serve`
# of each service included, and those libraries cost every service's process tens of MiB.

PAGE = 1000


@dataclass
class Published:
    """What the topic holds for one root: the checkpoints, and what was set aside."""

    checkpoints: list[tuple[Checkpoint, str, str]] = field(default_factory=list)  # (cp, cert pem, signature)
    other_logs: int = 0          # checkpoints of other roots' logs (ignored)
    unreadable: list[str] = field(default_factory=list)  # records that are no SealLogCheckpointed


async def read_published(root_pem: bytes, *, bootstrap: str | None = None, topic: str = LOG.name,
                         timeout_ms: int = 3000) -> Published:
    """Every checkpoint of this root's log on ``topic``, from the beginning to the current end."""
    from services.seal.adapters import logsign

    root_cert = logsign.load_root(root_pem)
    log_id = logsign.log_id_of(root_cert)
    opts = ServiceSettings().aiokafka_options()
    if bootstrap:
        opts["bootstrap_servers"] = bootstrap
    out = Published()
    parts = await partitions(opts, topic)
    if not parts:
        return out
    consumer = AIOKafkaConsumer(enable_auto_commit=False, group_id=None, **opts)
    await consumer.start()
    seen: set[tuple[int, str, str]] = set()
    try:
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        remaining = {tp: end for tp, end in ends.items() if end > 0}
        while remaining:
            batch = await consumer.getmany(*remaining.keys(), timeout_ms=timeout_ms)
            if not batch:
                break
            for tp, records in batch.items():
                for r in records:
                    if r.offset + 1 >= remaining.get(tp, 0):
                        remaining.pop(tp, None)
                    try:
                        env = parse(r.headers, r.value)
                    except EnvelopeError as exc:
                        out.unreadable.append(f"{tp.partition}:{r.offset}: {exc.reason}")
                        continue
                    ev = env.data
                    if not isinstance(ev, SealLogCheckpointed):
                        out.unreadable.append(f"{tp.partition}:{r.offset}: {env.type}")
                        continue
                    if ev.log_id != log_id:
                        out.other_logs += 1
                        continue
                    if (ev.checkpoint_no, ev.head_hash, ev.signature) in seen:  # a redelivery
                        continue
                    seen.add((ev.checkpoint_no, ev.head_hash, ev.signature))
                    out.checkpoints.append((checkpoint_of(ev), ev.signer_cert_pem, ev.signature))
    finally:
        await consumer.stop()
    return out


async def partitions(opts: dict[str, Any], topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(**opts)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    for t in described:
        if t.get("topic") == topic and not t.get("error_code"):
            return sorted(p["partition"] for p in t.get("partitions", []))
    return []


def checkpoint_of(ev: SealLogCheckpointed) -> Checkpoint:
    return Checkpoint(ev.log_id, ev.checkpoint_no, ev.count, ev.head_hash, ev.checkpointed_at, ev.reason.value)


async def entries_from_database(database_url: str) -> list[LogEntry]:
    """The usage log as the seal database holds it (read only)."""
    from services.runtime.db import Database
    from services.seal import store

    db = Database(database_url, store.metadata)
    try:
        async with db.session() as session:
            out: list[LogEntry] = []
            after = 0
            while batch := await store.log_entries(session, after=after, limit=PAGE):
                out.extend(r.entry() for r in batch)
                after = batch[-1].seq
            return out
    finally:
        await db.engine.dispose()


async def entries_from_api(client: httpx.AsyncClient) -> list[LogEntry]:
    """The usage log as the seal API serves it (``GET /seal/log``, a supervisor's token)."""
    out: list[LogEntry] = []
    after = 0
    while True:
        r = await client.get("/seal/log", params={"after": after, "limit": PAGE})
        r.raise_for_status()
        page = r.json()
        if not page:
            return out
        for e in page:
            out.append(LogEntry(
                seq=e["seq"], at=datetime.fromisoformat(e["at"]), action=e["action"], unit_code=e["unit_code"],
                seal_id=e["seal_id"], document_no=e["document_no"], request_id=e["request_id"],
                detail=e["detail"], prev_hash=e["prev_hash"], hash=e["hash"],
            ))
        after = page[-1]["seq"]


@dataclass(frozen=True)
class Audit:
    report: AnchorReport
    refused: list[tuple[int, str]]
    published: Published
    entries: int

    @property
    def ok(self) -> bool:
        return self.report.ok and not self.refused and self.report.checkpoints > 0

    def summary(self) -> dict[str, Any]:
        r = self.report
        m = r.first_mismatch
        return {
            "ok": self.ok,
            "entries": self.entries,
            "chain_ok": r.chain.ok,
            "chain_first_broken": r.chain.first_broken,
            "checkpoints": r.checkpoints,
            "matched": r.matched,
            "first_mismatch": m.checkpoint_no if m else None,
            "first_mismatch_count": m.count if m else None,
            "problem": m.problem if m else (r.chain.problem if not r.chain.ok else None),
            "latest": r.latest.checkpoint_no if r.latest else None,
            "unanchored_entries": r.unanchored,
            "missing_checkpoints": list(r.missing),
            "refused": [{"checkpoint_no": n, "reason": why} for n, why in self.refused],
            "other_logs": self.published.other_logs,
            "unreadable": self.published.unreadable,
        }


def audit(root_pem: bytes, published: Published, entries: list[LogEntry]) -> Audit:
    from services.seal.adapters import logsign
    from services.seal.usecases.log import verified_checkpoints

    good, refused = verified_checkpoints(logsign.load_root(root_pem), published.checkpoints)
    return Audit(check_checkpoints(entries, good), refused, published, len(entries))


async def verify_log(root_pem: bytes, *, bootstrap: str | None = None, database_url: str | None = None,
                     client: httpx.AsyncClient | None = None) -> Audit:
    published = await read_published(root_pem, bootstrap=bootstrap)
    if database_url:
        entries = await entries_from_database(database_url)
    elif client is not None:
        entries = await entries_from_api(client)
    else:
        raise ValueError("give the seal database's URL or the seal API")
    return audit(root_pem, published, entries)


def command(
    root_cert: Path = typer.Option(..., "--root-cert", exists=True, dir_okay=False,
                                   help="The county seal root certificate (PEM or DER), as published."),
    database_url: str = typer.Option(None, "--database-url", help="Read the log from the seal database."),
    seal_url: str = typer.Option(None, "--seal-url", help="Or from the seal API (GET /seal/log) at this base URL."),
    token: str = typer.Option(None, "--token", envvar="ONEWINDOW_TOKEN", help="A supervisor's bearer token for --seal-url."),
    bootstrap: str = typer.Option(None, "--bootstrap", help="Kafka bootstrap servers (default: ONEWINDOW_KAFKA_*)."),
) -> None:
    """Check the seal usage log against the signed checkpoints on seal.log (root certificate only)."""
    if not database_url and not seal_url:
        raise typer.BadParameter("give --database-url or --seal-url")
    root_pem = root_cert.read_bytes()

    async def run() -> Audit:
        if database_url:
            return await verify_log(root_pem, bootstrap=bootstrap, database_url=database_url)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(base_url=seal_url, headers=headers, timeout=30) as client:
            return await verify_log(root_pem, bootstrap=bootstrap, client=client)

    result = asyncio.run(run())
    typer.echo(json.dumps(result.summary(), ensure_ascii=False, indent=2))
    raise typer.Exit(0 if result.ok else 1)


def main() -> None:  # pragma: no cover
    typer.run(command)


if __name__ == "__main__":  # pragma: no cover
    main()
