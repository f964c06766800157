"""The usage log (用印登记) for supervisors: its hash chain checked, its entries in order, and the
supervision queries (uses per unit per month, uses outside the hall's hours, refusals); and its
anchor outside the database: signed checkpoints published on ``seal.log`` (at intervals and at
every revocation) and the log checked against them."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from cryptography import x509

from contracts.seal import CheckpointReason, SealLogCheckpointed
from services.runtime import clock
from services.runtime.uow import UnitOfWork

from .. import domain, store
from ..adapters import logsign
from ..domain.usagelog import GENESIS, AnchorReport, ChainReport, Checkpoint, check_checkpoints, verify_chain
from . import root

if TYPE_CHECKING:
    from services.runtime.app import Service

log = logging.getLogger(__name__)

#: Entries read per query while walking the whole chain.
CHAIN_BATCH = 5000


async def verify_log(uow: UnitOfWork) -> ChainReport:
    """Walk the whole log: ok, or the first entry that does not fit, and the head hash."""
    return verify_chain(await all_entries(uow.session))


async def all_entries(session) -> list:  # type: ignore[no-untyped-def]
    entries = []
    after = 0
    while batch := await store.log_entries(session, after=after, limit=CHAIN_BATCH):
        entries.extend(r.entry() for r in batch)
        after = batch[-1].seq
    return entries


# -- checkpoints ---------------------------------------------------------------------------------

def log_id(svc: "Service") -> str:
    return logsign.log_id_of(root.authority(svc).root_cert)


async def _signer(svc: "Service", row: store.AuthorityRow, now: datetime):  # type: ignore[no-untyped-def]
    """The log-signing certificate (PEM) and key, certified by the root on first use (or when the
    last one has run out), in the caller's transaction (the authority row is locked)."""
    protector = root.protector(svc)
    if row.log_signer_cert_pem:
        cert = x509.load_pem_x509_certificate(row.log_signer_cert_pem.encode())
        if cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
            return row.log_signer_cert_pem, protector.open(row.log_signer_key_pem.encode())
    ca = root.authority(svc)
    root_key = protector.open(row.root_key_pem.encode())
    issued = await asyncio.to_thread(logsign.issue_signer, ca.root_cert, root_key,
                                     county_name=root.settings_of(svc).seal_county_name, now=now)
    row.log_signer_cert_pem = issued.cert_pem
    row.log_signer_key_pem = protector.protect(issued.key).decode()
    log.info("usage-log signing certificate issued by the county seal root")
    return issued.cert_pem, issued.key


async def _still_matches(svc: "Service", session, last: store.CheckpointRow) -> str | None:  # type: ignore[no-untyped-def]
    """Why the log no longer fits the last checkpoint (None: it does): that checkpoint's own
    signature, its head entry, and the chain from there to the head."""
    try:
        logsign.verify(root.authority(svc).root_cert, last.checkpoint(), last.signer_cert_pem, last.signature)
    except logsign.CheckpointRefused as exc:
        return f"the stored checkpoint {last.checkpoint_no} does not verify: {exc}"
    if last.count == 0:
        rows = await store.log_entries(session, after=0)
        report = verify_chain([r.entry() for r in rows])
    else:
        rows = await store.log_entries(session, after=last.count - 1)
        if not rows or rows[0].seq != last.count or rows[0].hash != last.head_hash:
            return f"entry {last.count} no longer has the hash checkpoint {last.checkpoint_no} published"
        report = verify_chain([r.entry() for r in rows[1:]], after=last.count, prev_hash=last.head_hash)
    if not report.ok:
        return f"the chain after checkpoint {last.checkpoint_no} is broken at entry {report.first_broken}"
    return None


async def record_checkpoint(
    svc: "Service", uow: UnitOfWork, reason: CheckpointReason,
) -> store.CheckpointRow | None:
    """Sign the log's count and head hash now, keep it, and publish it (``SealLogCheckpointed``)
    in the caller's transaction. An interval checkpoint of a log that has not grown is skipped.
    None, without signing, when the log no longer fits the last checkpoint: signing a rewritten
    log would anchor the rewrite (the mismatch is logged and kept in ``state.log_mismatch``)."""
    await root.ensure_open(svc)
    session = uow.session
    row = await store.authority_row(session, lock=True)  # one writer: appends and checkpoints in order
    assert row is not None
    head = await store.log_head(session)
    count, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    last = await store.last_checkpoint(session)
    if last is not None:
        if reason == CheckpointReason.INTERVAL and last.count == count and last.head_hash == head_hash:
            return None
        problem = await _still_matches(svc, session, last)
        if problem is not None:
            svc.state.log_mismatch = problem
            log.error("usage log NOT checkpointed: %s", problem)
            return None
    now = clock.now()
    if row.log_signer_cert_pem is None:
        await session.refresh(row)  # another replica may have certified one meanwhile
    cert_pem, key = await _signer(svc, row, now)
    session.add(row)
    cp = Checkpoint(log_id(svc), (last.checkpoint_no if last else 0) + 1, count, head_hash, now, reason.value)
    signature = logsign.sign(key, cp)
    stored = store.CheckpointRow(
        checkpoint_no=cp.checkpoint_no, log_id=cp.log_id, count=count, head_hash=head_hash, checkpointed_at=now,
        reason=cp.reason, signer_cert_pem=cert_pem, signature=signature,
    )
    session.add(stored)
    await session.flush()
    await uow.emit(SealLogCheckpointed(
        log_id=cp.log_id, checkpoint_no=cp.checkpoint_no, count=count, head_hash=head_hash, checkpointed_at=now,
        reason=reason, signer_cert_pem=cert_pem, signature=signature,
    ))
    return stored


async def checkpoint_now(svc: "Service", reason: CheckpointReason = CheckpointReason.INTERVAL) -> store.CheckpointRow | None:
    """One checkpoint in its own transaction (the worker; tests)."""
    async with svc.uow() as uow:
        stored = await record_checkpoint(svc, uow, reason)
        if stored is not None:
            await uow.commit()
        return stored


@dataclass(frozen=True)
class AnchorCheck:
    report: AnchorReport
    refused: list[tuple[int, str]]   # stored checkpoints whose signature does not verify: (number, why)


def verified_checkpoints(
    root_cert: x509.Certificate, rows: list[tuple[Checkpoint, str, str]],
) -> tuple[list[Checkpoint], list[tuple[int, str]]]:
    """Split (checkpoint, signer certificate PEM, signature) into the ones the root vouches for and
    the refused ones with the reason."""
    good, refused = [], []
    for cp, cert_pem, signature in rows:
        try:
            logsign.verify(root_cert, cp, cert_pem, signature)
            good.append(cp)
        except logsign.CheckpointRefused as exc:
            refused.append((cp.checkpoint_no, str(exc)))
    return good, refused


async def verify_against_checkpoints(svc: "Service", uow: UnitOfWork) -> AnchorCheck:
    """The log as the database holds it against the checkpoints this service published (its own
    table; each signature checked with the root, so a row an insider altered is refused, not
    trusted). The outside auditor's check reads the checkpoints from the topic instead
    (``onewindow seal verify-log``)."""
    await root.ensure_open(svc)
    rows = await store.checkpoints(uow.session)
    good, refused = verified_checkpoints(
        root.authority(svc).root_cert, [(r.checkpoint(), r.signer_cert_pem, r.signature) for r in rows])
    return AnchorCheck(check_checkpoints(await all_entries(uow.session), good), refused)


async def read_checkpoints(uow: UnitOfWork, after: int, limit: int) -> list[store.CheckpointRow]:
    return await store.checkpoints(uow.session, after=after, limit=limit)


async def read_log(uow: UnitOfWork, after: int, limit: int) -> list[store.UsageLogRow]:
    return list(await store.log_entries(uow.session, after=after, limit=limit))


def period(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    """The instants of a query's local days; default from the first of this month to today."""
    today = clock.today()
    return domain.query_window(start or today.replace(day=1), end or today)


async def usage_per_month(uow: UnitOfWork, start: date | None, end: date | None) -> list[domain.MonthlyUse]:
    lo, hi = period(start, end)
    rows = await store.log_between(uow.session, lo, hi, actions=("sealed", "refused"))
    return domain.monthly_use((r.unit_code, store.aware(r.at), r.action) for r in rows)


async def after_hours(
    svc: "Service", uow: UnitOfWork, start: date | None, end: date | None, unit_code: str | None,
) -> list[store.UsageLogRow]:
    """Documents sealed outside the hall's working hours (``service.state.hours``, local time)."""
    lo, hi = period(start, end)
    hours: domain.WorkingHours = svc.state.hours
    rows = await store.log_between(uow.session, lo, hi, actions=("sealed",), unit_code=unit_code)
    return [r for r in rows if hours.outside(store.aware(r.at))]


async def refusals(
    uow: UnitOfWork, start: date | None, end: date | None, unit_code: str | None,
) -> list[store.UsageLogRow]:
    lo, hi = period(start, end)
    return await store.log_between(uow.session, lo, hi, actions=("refused",), unit_code=unit_code)
