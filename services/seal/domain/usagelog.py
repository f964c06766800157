"""The seal usage log (用印登记): append-only and hash-chained (pure, no I/O).

Each entry's hash is SHA-256 over the previous entry's hash and the entry's content in canonical
JSON (sorted keys, no spaces, UTF-8), so changing, removing or reordering any entry breaks every
hash after it; :func:`verify_chain` names the first entry that does not fit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Iterable, Sequence

GENESIS = "0" * 64


def canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def entry_hash(prev_hash: str, content: dict[str, Any]) -> str:
    h = hashlib.sha256()
    h.update(prev_hash.encode("ascii"))
    h.update(b"\n")
    h.update(canonical(content))
    return h.hexdigest()


@dataclass(frozen=True)
class LogEntry:
    seq: int                 # 1, 2, 3, ... with no gaps
    at: datetime
    action: str              # sealed, refused, issued, revoked, old_registered
    unit_code: str
    seal_id: str | None
    document_no: str | None
    request_id: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    def content(self) -> dict[str, Any]:
        return content_of(
            self.seq, self.at, self.action, self.unit_code, self.seal_id, self.document_no, self.request_id, self.detail
        )


def content_of(
    seq: int,
    at: datetime,
    action: str,
    unit_code: str,
    seal_id: str | None,
    document_no: str | None,
    request_id: str | None,
    detail: dict[str, Any],
) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "action": action,
        "unit_code": unit_code,
        "seal_id": seal_id,
        "document_no": document_no,
        "request_id": request_id,
        "detail": detail,
    }


def append(
    prev: LogEntry | None,
    *,
    at: datetime,
    action: str,
    unit_code: str,
    seal_id: str | None = None,
    document_no: str | None = None,
    request_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> LogEntry:
    """The entry that follows ``prev`` (None: the first entry)."""
    seq = 1 if prev is None else prev.seq + 1
    prev_hash = GENESIS if prev is None else prev.hash
    at = at.astimezone(UTC)
    detail = dict(detail or {})
    content = content_of(seq, at, action, unit_code, seal_id, document_no, request_id, detail)
    return LogEntry(seq, at, action, unit_code, seal_id, document_no, request_id, detail, prev_hash,
                    entry_hash(prev_hash, content))


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    first_broken: int | None = None   # seq of the first entry that does not fit
    problem: str | None = None
    head: str = GENESIS               # hash of the last good entry


def verify_chain(entries: Iterable[LogEntry], *, after: int = 0, prev_hash: str = GENESIS) -> ChainReport:
    """Walk the log in order; stop at the first entry whose place, link or hash is wrong.

    ``after``/``prev_hash``: start after entry ``after`` whose hash is ``prev_hash`` (a checkpoint
    already trusted); ``entries`` then counts the entries walked after it."""
    expected_seq, count = after + 1, 0
    for e in entries:
        if e.seq != expected_seq:
            return ChainReport(False, count, expected_seq, f"entry {expected_seq} is missing (found {e.seq})", prev_hash)
        if e.prev_hash != prev_hash:
            return ChainReport(False, count, e.seq, "prev_hash does not match the previous entry", prev_hash)
        if entry_hash(prev_hash, e.content()) != e.hash:
            return ChainReport(False, count, e.seq, "content does not match the entry's hash", prev_hash)
        prev_hash, expected_seq, count = e.hash, expected_seq + 1, count + 1
    return ChainReport(True, count, None, None, prev_hash)


# -- checkpoints: the chain anchored outside the database -------------------------------------------

#: What a checkpoint signature is over (domain separation: no other signed object starts so).
CHECKPOINT_TYPE = "onewindow.seal.usage-log.checkpoint.v1"


@dataclass(frozen=True)
class Checkpoint:
    """The log had ``count`` entries ending in ``head_hash`` at ``at`` (signed and published)."""

    log_id: str          # SHA-256 of the county seal root certificate (DER), hex
    checkpoint_no: int   # 1, 2, 3, ... per log
    count: int
    head_hash: str
    at: datetime
    reason: str          # interval, revocation

    def payload(self) -> bytes:
        return checkpoint_payload(self.log_id, self.checkpoint_no, self.count, self.head_hash, self.at, self.reason)


def checkpoint_payload(log_id: str, checkpoint_no: int, count: int, head_hash: str, at: datetime, reason: str) -> bytes:
    """The bytes a checkpoint's signature covers: canonical JSON, the instant in UTC microseconds."""
    return canonical({
        "type": CHECKPOINT_TYPE,
        "log_id": log_id,
        "checkpoint_no": checkpoint_no,
        "count": count,
        "head_hash": head_hash,
        "checkpointed_at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "reason": reason,
    })


@dataclass(frozen=True)
class Mismatch:
    checkpoint_no: int
    count: int
    problem: str


@dataclass(frozen=True)
class AnchorReport:
    """The log as the database holds it, checked against the (signature-checked) checkpoints."""

    ok: bool
    chain: ChainReport
    checkpoints: int                        # checkpoints compared
    matched: int                            # of which the log still matches
    first_mismatch: Mismatch | None = None  # the first checkpoint the log no longer matches
    latest: Checkpoint | None = None        # the newest checkpoint compared
    missing: tuple[int, ...] = ()           # checkpoint numbers absent between 1 and the newest
    unanchored: int = 0                     # entries after the newest checkpoint (not yet anchored)


def check_checkpoints(entries: Sequence[LogEntry], checkpoints: Iterable[Checkpoint]) -> AnchorReport:
    """Compare the log with each checkpoint, oldest first: entry ``count`` must still exist and
    carry ``head_hash`` (an empty log: 64 zeros), and the chain must hold. An insider who rewrites
    the log and recomputes every hash keeps the chain whole but cannot keep the heads the county
    signed and published: the first checkpoint at or after the first changed entry is named."""
    chain = verify_chain(entries)
    by_seq = {e.seq: e.hash for e in entries}
    ordered = sorted(checkpoints, key=lambda c: c.checkpoint_no)
    first: Mismatch | None = None
    matched = 0
    for cp in ordered:
        problem = None
        if cp.count == 0:
            if cp.head_hash != GENESIS:
                problem = "an empty log's checkpoint must have the genesis hash"
        elif cp.count not in by_seq:
            problem = f"the log has no entry {cp.count} (it has {len(entries)}): entries were removed"
        elif by_seq[cp.count] != cp.head_hash:
            problem = f"entry {cp.count} no longer has the hash this checkpoint published"
        elif not chain.ok and chain.first_broken is not None and cp.count >= chain.first_broken:
            problem = f"the chain is broken at entry {chain.first_broken}, before this checkpoint's head"
        if problem is None:
            matched += 1
        elif first is None:
            first = Mismatch(cp.checkpoint_no, cp.count, problem)
    numbers = {c.checkpoint_no for c in ordered}
    top = max(numbers, default=0)
    missing = tuple(n for n in range(1, top + 1) if n not in numbers)
    latest = ordered[-1] if ordered else None
    unanchored = max(len(entries) - (latest.count if latest else 0), 0)
    return AnchorReport(chain.ok and first is None, chain, len(ordered), matched, first, latest, missing, unanchored)
