"""The seal service's tables and queries: the authority (root, encrypted root key, current CRL),
the seals (certificates and encrypted keys), stamp requests, sealed documents (the PDF itself is a
file under the data folder; the row keeps its SHA-256) and the hash-chained usage log."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Sequence

from sqlalchemy import JSON, Column, LargeBinary, Text, UniqueConstraint, func, insert
from sqlmodel import Field, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.common import DocumentType
from contracts.seal import SealKind
from services.runtime.db import service_registry
from services.runtime.params import SQL_INT_MAX

from . import domain
from .domain.usagelog import Checkpoint, LogEntry, append

Base, metadata = service_registry()


def aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


class AuthorityRow(Base, table=True):
    __tablename__ = "seal_authority"

    id: int = Field(default=1, primary_key=True)
    root_cert_pem: str = Field(sa_column=Column(Text, nullable=False))
    root_key_pem: str = Field(sa_column=Column(Text, nullable=False))  # PKCS#8, encrypted
    created_at: datetime
    imported: bool = False
    crl_number: int = 0
    crl_der: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    crl_this_update: datetime | None = None
    crl_next_update: datetime | None = None
    # the 国密 (SM2) root beside it, its seal maker (制章者) and its CRL (migration seal_0002)
    sm2_root_cert_pem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sm2_root_key_pem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # encrypted
    sm2_maker_cert_pem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sm2_maker_key_pem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # encrypted
    sm2_crl_number: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    sm2_crl_der: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    sm2_crl_this_update: datetime | None = None
    sm2_crl_next_update: datetime | None = None
    # the usage log's signing key, certified by the root for checkpoints only (migration seal_0003)
    log_signer_cert_pem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    log_signer_key_pem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # encrypted


class SealRow(Base, table=True):
    __tablename__ = "seals"

    seal_id: str = Field(primary_key=True, max_length=40)
    unit_code: str = Field(index=True, max_length=32)
    unit_name: str = Field(max_length=100)
    seal_name: str = Field(max_length=50)
    seal_no: str = Field(max_length=8)
    kind: str = Field(max_length=16)
    start_date: date
    scope: list[str] = Field(sa_column=Column(JSON, nullable=False))
    cert_pem: str = Field(sa_column=Column(Text, nullable=False))
    cert_serial: str = Field(unique=True, max_length=64)
    cert_sha256: str = Field(max_length=64)
    key_pem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # encrypted; None: in a token
    key_ref: str | None = Field(default=None, max_length=200)  # PKCS#11 label when the key is in hardware
    valid_from: datetime
    valid_until: datetime
    approvals_until: date | None = None
    issued_at: datetime
    issued_by: str = Field(max_length=64)
    revoked_at: datetime | None = None
    revocation_reason: str | None = Field(default=None, max_length=32)
    revocation_note: str | None = Field(default=None, max_length=500)
    revoked_by: str | None = Field(default=None, max_length=64)
    # the seal's SM2 twin for OFD (GB/T 38540): certificate, encrypted key, the SESeal (migration seal_0002)
    sm2_cert_pem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sm2_cert_serial: str | None = Field(default=None, max_length=64, index=True)
    sm2_key_pem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ses_seal: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))

    def rule_view(self) -> domain.Seal:
        return domain.Seal(
            seal_id=self.seal_id,
            unit_code=self.unit_code,
            unit_name=self.unit_name,
            kind=SealKind(self.kind),
            seal_no=self.seal_no,
            start_date=self.start_date,
            valid_from=aware(self.valid_from),
            valid_until=aware(self.valid_until),
            scope=frozenset(DocumentType(s) for s in self.scope),
            revoked_at=aware(self.revoked_at),
            approvals_until=self.approvals_until,
        )


class RequestRow(Base, table=True):
    """One stamp request and its outcome: a repeated request_id gets the same answer."""

    __tablename__ = "seal_requests"

    request_id: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(max_length=64)
    # null for a document of no case (SealDocument v2, e.g. the year-end assessment): see reference
    receipt_no: str | None = Field(default=None, index=True, max_length=40)
    reference: str | None = Field(default=None, max_length=64)
    unit_code: str = Field(index=True, max_length=32)
    document_type: str = Field(max_length=32)
    requested_by: str = Field(max_length=64)
    received_at: datetime
    outcome: str = Field(max_length=16)  # sealed / refused
    document_no: str | None = Field(default=None, max_length=64)
    reason_code: str | None = Field(default=None, max_length=40)


class DocumentRow(Base, table=True):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("unit_code", "year", "seq", name="uq_documents_unit_year_seq"),)

    document_no: str = Field(primary_key=True, max_length=64)
    token: str = Field(unique=True, max_length=64)  # capability for downloading the PDF
    request_id: str = Field(unique=True, max_length=64)
    receipt_no: str | None = Field(default=None, index=True, max_length=40)  # null: a document of no case
    reference: str | None = Field(default=None, max_length=64)  # what a document of no case is about
    unit_code: str = Field(index=True, max_length=32)
    year: int
    seq: int
    seal_id: str = Field(index=True, max_length=40)
    document_type: str = Field(max_length=32)
    title: str = Field(max_length=100)
    sha256: str = Field(index=True, max_length=64)
    size_bytes: int
    path: str = Field(max_length=300)  # relative to the documents folder
    signed_at: datetime
    requested_by: str = Field(max_length=64)
    # the number the requester printed on it (文号, SealDocument.printed_no): the files' names
    printed_no: str | None = Field(default=None, max_length=60)


class DocumentFileRow(Base, table=True):
    """One format (pdf, ofd) of a sealed document; the document row names its primary file."""

    __tablename__ = "document_files"

    document_no: str = Field(primary_key=True, max_length=64)
    format: str = Field(primary_key=True, max_length=8)
    token: str = Field(unique=True, max_length=64)
    signature: str = Field(max_length=20)
    sha256: str = Field(index=True, max_length=64)
    size_bytes: int
    path: str = Field(max_length=300)
    cert_serial: str = Field(max_length=64)


#: ``seq`` is a 32-bit INTEGER column: a larger number names no entry (and PostgreSQL refuses it).
MAX_SEQ = SQL_INT_MAX


class UsageLogRow(Base, table=True):
    """用印登记. ``seq`` as primary key: two writers racing for the same place cannot fork the chain."""

    __tablename__ = "usage_log"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(index=True)
    action: str = Field(max_length=20, index=True)
    unit_code: str = Field(max_length=32, index=True)
    seal_id: str | None = Field(default=None, max_length=40)
    document_no: str | None = Field(default=None, max_length=64)
    request_id: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)

    def entry(self) -> LogEntry:
        return LogEntry(
            seq=self.seq, at=aware(self.at), action=self.action, unit_code=self.unit_code, seal_id=self.seal_id,
            document_no=self.document_no, request_id=self.request_id, detail=dict(self.detail),
            prev_hash=self.prev_hash, hash=self.hash,
        )

    @classmethod
    def of(cls, e: LogEntry) -> "UsageLogRow":
        return cls(seq=e.seq, at=e.at, action=e.action, unit_code=e.unit_code, seal_id=e.seal_id,
                   document_no=e.document_no, request_id=e.request_id, detail=e.detail,
                   prev_hash=e.prev_hash, hash=e.hash)


class CheckpointRow(Base, table=True):
    """A usage-log checkpoint this service signed and published on ``seal.log`` (migration seal_0003)."""

    __tablename__ = "usage_log_checkpoints"

    checkpoint_no: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    log_id: str = Field(max_length=64)
    count: int
    head_hash: str = Field(max_length=64)
    checkpointed_at: datetime
    reason: str = Field(max_length=16)
    signer_cert_pem: str = Field(sa_column=Column(Text, nullable=False))
    signature: str = Field(sa_column=Column(Text, nullable=False))

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.log_id, self.checkpoint_no, self.count, self.head_hash,
                          aware(self.checkpointed_at), self.reason)


# -- queries -----------------------------------------------------------------------------------

async def authority_row(session: AsyncSession, *, lock: bool = False) -> AuthorityRow | None:
    if lock:
        await lock_authority(session)
    return await session.get(AuthorityRow, 1)


async def lock_authority(session: AsyncSession) -> None:
    """Hold the authority row until commit (PostgreSQL row lock; SQLite serialises writers
    anyway): taken before appending to the usage log or reissuing the CRL, so that two writers
    cannot both read the same log head, nor two revocations each publish a CRL missing the
    other's. An explicit statement, never the identity map, so the lock is really taken."""
    await session.exec(select(AuthorityRow.id).where(AuthorityRow.id == 1).with_for_update())


async def seals_of(session: AsyncSession, unit_code: str) -> list[SealRow]:
    return list((await session.exec(select(SealRow).where(SealRow.unit_code == unit_code))).all())


async def all_seals(session: AsyncSession) -> list[SealRow]:
    return list((await session.exec(select(SealRow).order_by(SealRow.unit_code, SealRow.issued_at))).all())


async def revoked_seals(session: AsyncSession) -> list[SealRow]:
    return list((await session.exec(select(SealRow).where(SealRow.revoked_at.is_not(None)))).all())


async def seal_by_serial(session: AsyncSession, serial: str) -> SealRow | None:
    return (await session.exec(select(SealRow).where(SealRow.cert_serial == serial))).first()


async def document_by_token(session: AsyncSession, token: str) -> DocumentRow | None:
    return (await session.exec(select(DocumentRow).where(DocumentRow.token == token))).first()


async def documents_by_sha256(session: AsyncSession, sha256: str) -> list[DocumentRow]:
    """Documents one of whose files (any format) has this SHA-256."""
    rows = list((await session.exec(select(DocumentRow).where(DocumentRow.sha256 == sha256))).all())
    if rows:
        return rows
    q = select(DocumentRow).join(DocumentFileRow, DocumentFileRow.document_no == DocumentRow.document_no).where(
        DocumentFileRow.sha256 == sha256)
    return list((await session.exec(q)).all())


async def document_files(session: AsyncSession, document_no: str) -> list[DocumentFileRow]:
    q = select(DocumentFileRow).where(DocumentFileRow.document_no == document_no).order_by(DocumentFileRow.format)
    return list((await session.exec(q)).all())


async def file_by_token(session: AsyncSession, token: str) -> DocumentFileRow | None:
    return (await session.exec(select(DocumentFileRow).where(DocumentFileRow.token == token))).first()


async def seal_by_sm2_serial(session: AsyncSession, serial: str) -> SealRow | None:
    return (await session.exec(select(SealRow).where(SealRow.sm2_cert_serial == serial))).first()


async def next_document_seq(session: AsyncSession, unit_code: str, year: int) -> int:
    q = select(func.max(DocumentRow.seq)).where(DocumentRow.unit_code == unit_code, DocumentRow.year == year)
    current = (await session.exec(q)).one()
    return (current or 0) + 1


async def log_head(session: AsyncSession) -> LogEntry | None:
    q = select(UsageLogRow).order_by(UsageLogRow.seq.desc()).limit(1).execution_options(populate_existing=True)
    row = (await session.exec(q)).first()
    return row.entry() if row else None


async def log_entries(
    session: AsyncSession, *, after: int = 0, limit: int | None = None
) -> Sequence[UsageLogRow]:
    q = select(UsageLogRow).where(UsageLogRow.seq > after).order_by(UsageLogRow.seq)
    if limit is not None:
        q = q.limit(limit)
    return list((await session.exec(q)).all())


async def log_between(
    session: AsyncSession, start: datetime, end: datetime, actions: Sequence[str] | None = None,
    unit_code: str | None = None,
) -> list[UsageLogRow]:
    q = select(UsageLogRow).where(UsageLogRow.at >= start, UsageLogRow.at < end)
    if actions:
        q = q.where(UsageLogRow.action.in_(list(actions)))
    if unit_code:
        q = q.where(UsageLogRow.unit_code == unit_code)
    return list((await session.exec(q.order_by(UsageLogRow.seq))).all())


async def append_log(session: AsyncSession, *, at: datetime, action: str, unit_code: str, **kw: Any) -> LogEntry:
    """Add the next usage-log entry in the caller's transaction."""
    return (await append_logs(session, [dict(at=at, action=action, unit_code=unit_code, **kw)]))[0]


#: ``session.info`` key: (the transaction, the log's head in it) after this session's last append.
_HEAD = "seal.usage_log_head"


async def append_logs(session: AsyncSession, specs: Sequence[dict[str, Any]]) -> list[LogEntry]:
    """Add the next usage-log entries (``append``'s keywords each), in order, in the caller's
    transaction: one INSERT for them all. The authority row is locked and the head read once per
    transaction; later appends in it chain on from the head kept in the session (nobody else can
    append while the lock is held, and on SQLite this transaction is the only writer once it has
    written)."""
    if not specs:
        return []
    tx = session.sync_session.get_transaction()
    kept = session.info.get(_HEAD)
    if tx is not None and kept is not None and kept[0] is tx:
        head = kept[1]
    else:
        await lock_authority(session)
        head = await log_head(session)
    entries: list[LogEntry] = []
    for spec in specs:
        head = append(head, **spec)
        entries.append(head)
    await session.execute(insert(UsageLogRow.__table__), [_log_values(e) for e in entries])
    session.info[_HEAD] = (session.sync_session.get_transaction(), head)
    return entries


def _log_values(e: LogEntry) -> dict[str, Any]:
    return {"seq": e.seq, "at": e.at, "action": e.action, "unit_code": e.unit_code, "seal_id": e.seal_id,
            "document_no": e.document_no, "request_id": e.request_id, "detail": e.detail,
            "prev_hash": e.prev_hash, "hash": e.hash}


async def insert_rows(session: AsyncSession, requests: Sequence[dict[str, Any]] = (),
                      documents: Sequence[dict[str, Any]] = (), files: Sequence[dict[str, Any]] = ()) -> None:
    """Stamp requests, documents and their files written as they are (each a complete row of
    its table), one INSERT per table: the sealing path's rows without the ORM's per-object work."""
    for table, rows in ((RequestRow.__table__, requests), (DocumentRow.__table__, documents),
                        (DocumentFileRow.__table__, files)):
        if rows:
            await session.execute(insert(table), list(rows))


async def last_checkpoint(session: AsyncSession) -> CheckpointRow | None:
    q = select(CheckpointRow).order_by(CheckpointRow.checkpoint_no.desc()).limit(1)
    return (await session.exec(q)).first()


async def checkpoints(session: AsyncSession, *, after: int = 0, limit: int | None = None) -> list[CheckpointRow]:
    q = select(CheckpointRow).where(CheckpointRow.checkpoint_no > after).order_by(CheckpointRow.checkpoint_no)
    if limit is not None:
        q = q.limit(limit)
    return list((await session.exec(q)).all())
