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
from typing import Any, Iterable

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


def verify_chain(entries: Iterable[LogEntry]) -> ChainReport:
    """Walk the log in order; stop at the first entry whose place, link or hash is wrong."""
    prev_hash, expected_seq, count = GENESIS, 1, 0
    for e in entries:
        if e.seq != expected_seq:
            return ChainReport(False, count, expected_seq, f"entry {expected_seq} is missing (found {e.seq})", prev_hash)
        if e.prev_hash != prev_hash:
            return ChainReport(False, count, e.seq, "prev_hash does not match the previous entry", prev_hash)
        if entry_hash(prev_hash, e.content()) != e.hash:
            return ChainReport(False, count, e.seq, "content does not match the entry's hash", prev_hash)
        prev_hash, expected_seq, count = e.hash, expected_seq + 1, count + 1
    return ChainReport(True, count, None, None, prev_hash)
