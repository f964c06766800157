"""notify's tables and queries.

- cases, contacts, units, staff: what notify learns from intake and attendance to address notices
  and messages (the applicant's full name and mobile number only from the internal
  ``intake.contacts`` topic);
- notices: the saga of each notice (awaiting the contact -> requested from seal -> released or
  failed), unique per (causing event, document type);
- messages: every SMS, unique per idempotency key (event, recipient, template) — the constraint
  that makes a redelivered event or a restarted notify never queue a second copy;
- message_parts and receipts: provider ids of accepted parts and the delivery receipts for them
  (a receipt may arrive before the submit result is stored: it waits here to be matched);
- opt_outs (survey invitations only), short_links, document serials;
- duty_gaps: every weekend duty gap notify was told of and what became of its alert (held while
  no duty manager is known, see usecases/duty_gaps.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, Sequence

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, and_, bindparam, func, or_, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.runtime import clock
from services.runtime.db import service_registry
from services.runtime.access_log import access_log_table

from . import domain
from .domain import DutyGapState, MessageState, NoticeState

Base, metadata = service_registry()


def now_utc() -> datetime:
    """Housekeeping columns (created/updated) keep the system's clock."""
    return clock.system_now()


def aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


# --------------------------------------------------------------------------- reference data


class CaseRow(Base, table=True):
    __tablename__ = "notify_cases"
    __table_args__ = (
        # the release worker looks for waiting surveys on every look (once per application): only
        # the few cases with one are in this index, not a year of cases scanned each time
        Index("ix_notify_cases_survey_waiting", "receipt_no",
              sqlite_where=text("survey_cause IS NOT NULL"), postgresql_where=text("survey_cause IS NOT NULL")),
    )

    receipt_no: str = Field(primary_key=True, max_length=40)
    unit_code: str = Field(max_length=32, index=True)
    unit_name: str | None = Field(default=None, max_length=100)
    item_code: str | None = Field(default=None, max_length=64)
    item_name: str | None = Field(default=None, max_length=200)
    case_kind: str | None = Field(default=None, max_length=20)
    promised_days: int | None = None
    received_at: datetime | None = None
    accepted_at: datetime | None = None
    due_date: date | None = None
    clerk_staff_id: str | None = Field(default=None, max_length=64)
    #: A survey invitation waiting for the applicant's contact (cause event id).
    survey_cause: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(default_factory=now_utc)


class ContactRow(Base, table=True):
    __tablename__ = "notify_contacts"

    receipt_no: str = Field(primary_key=True, max_length=40)
    applicant_type: str = Field(max_length=10)
    name: str = Field(max_length=100)
    company_name: str | None = Field(default=None, max_length=200)
    mobile: str = Field(max_length=20)
    recorded_at: datetime


class UnitRow(Base, table=True):
    __tablename__ = "notify_units"

    unit_code: str = Field(primary_key=True, max_length=32)
    unit_name: str = Field(max_length=100)


class StaffRow(Base, table=True):
    __tablename__ = "notify_staff"

    staff_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=40)
    unit_code: str = Field(max_length=32, index=True)
    unit_name: str = Field(max_length=80)
    window_no: str | None = Field(default=None, max_length=16)
    role: str = Field(max_length=32, index=True)
    mobile: str | None = Field(default=None, max_length=20)
    active: bool = True


class OptOutRow(Base, table=True):
    __tablename__ = "notify_opt_outs"

    mobile: str = Field(primary_key=True, max_length=20)
    source: str = Field(max_length=20)  # 'api' or 'sms' (replied TD)
    created_at: datetime = Field(default_factory=now_utc)


# --------------------------------------------------------------------------- notices


class NoticeRow(Base, table=True):
    __tablename__ = "notify_notices"
    __table_args__ = (UniqueConstraint("cause_event_id", "document_type", name="uq_notice_cause"),)

    id: str = Field(primary_key=True, max_length=32)
    receipt_no: str = Field(max_length=40, index=True)
    unit_code: str = Field(max_length=32)
    document_type: str = Field(max_length=20)
    cause_event_id: str = Field(max_length=64)
    state: str = Field(max_length=20, index=True)  # 'awaiting_contact', 'rendering' or a domain.NoticeState
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    document_no: str | None = Field(default=None, max_length=60)
    request_id: str | None = Field(default=None, max_length=64, index=True)
    attempts: int = 0
    requested_at: datetime | None = None
    sealed_at: datetime | None = None
    sealed_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # every format the seal made (DocumentSealed.files): [{format, url, sha256, size_bytes}]
    sealed_files: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    short_code: str | None = Field(default=None, max_length=16)
    failure_reason: str | None = Field(default=None, max_length=30)
    failure_detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=now_utc)
    updated_at: datetime = Field(default_factory=now_utc)


AWAITING_CONTACT = "awaiting_contact"
#: Numbered, its PDF to be laid out outside any transaction (usecases/notices.py).
RENDERING = "rendering"


class SerialRow(Base, table=True):
    __tablename__ = "notify_serials"

    unit_code: str = Field(primary_key=True, max_length=32)
    prefix: str = Field(primary_key=True, max_length=8)
    year: int = Field(primary_key=True)
    last: int = 0


class ShortLinkRow(Base, table=True):
    __tablename__ = "notify_short_links"

    code: str = Field(primary_key=True, max_length=16)
    notice_id: str = Field(max_length=32, index=True)
    target_url: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=now_utc)


# --------------------------------------------------------------------------- duty gaps


class DutyGapRow(Base, table=True):
    """A weekend duty gap (attendance's DutyGapDetected) and its alert to the duty managers."""

    __tablename__ = "notify_duty_gaps"

    event_id: str = Field(primary_key=True, max_length=64)  # the DutyGapDetected: the alert SMS's cause
    window_no: str = Field(max_length=16)
    unit_code: str = Field(max_length=32)
    unit_name: str = Field(max_length=100)
    day: date
    posts: str = Field(max_length=8)  # the posts named in the alert: 'A', 'B' or 'A/B'
    opening_time: time
    detected_at: datetime
    state: str = Field(max_length=20, index=True)  # a domain.DutyGapState
    alerted_at: datetime | None = None
    updated_at: datetime = Field(default_factory=now_utc)


# --------------------------------------------------------------------------- messages


class MessageRow(Base, table=True):
    __tablename__ = "notify_messages"

    id: str = Field(primary_key=True, max_length=32)
    idempotency_key: str = Field(max_length=64, unique=True)
    template: str = Field(max_length=60)
    category: str = Field(max_length=20)
    recipient_kind: str = Field(max_length=10)
    mobile: str = Field(max_length=20, index=True)
    staff_id: str | None = Field(default=None, max_length=64)
    receipt_no: str | None = Field(default=None, max_length=40, index=True)
    notice_id: str | None = Field(default=None, max_length=32)
    text: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    params: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    parts: int = 1
    state: str = Field(max_length=12, index=True)
    not_before: datetime = Field(default_factory=now_utc, index=True)
    attempts: int = 0
    provider: str | None = Field(default=None, max_length=20)
    accepted_parts: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    code: str | None = Field(default=None, max_length=60)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    permanent: bool | None = None
    receipt_status: str | None = Field(default=None, max_length=12)
    created_at: datetime = Field(default_factory=now_utc)
    updated_at: datetime = Field(default_factory=now_utc)
    sent_at: datetime | None = None
    delivered_at: datetime | None = None


class MessagePartRow(Base, table=True):
    __tablename__ = "notify_message_parts"

    provider: str = Field(primary_key=True, max_length=20)
    provider_message_id: str = Field(primary_key=True, max_length=80)
    message_id: str = Field(max_length=32, index=True)
    seq: int


class ReceiptRow(Base, table=True):
    __tablename__ = "notify_receipts"
    __table_args__ = (UniqueConstraint("provider", "provider_message_id", "status", name="uq_receipt"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=20)
    provider_message_id: str = Field(max_length=80, index=True)
    status: str = Field(max_length=12)
    error: str | None = Field(default=None, max_length=40)
    done_at: datetime | None = None
    received_at: datetime = Field(default_factory=now_utc)


# --------------------------------------------------------------------------- queries


async def upsert(session: AsyncSession, model: type[Base], key: dict[str, Any], values: dict[str, Any]) -> Any:
    """Insert or update one row by primary key (portable across SQLite and PostgreSQL)."""
    row = await session.get(model, tuple(key.values()) if len(key) > 1 else next(iter(key.values())))
    if row is None:
        row = model(**key, **values)
        session.add(row)
    else:
        for k, v in values.items():
            setattr(row, k, v)
    return row


async def next_serial(session: AsyncSession, unit_code: str, prefix: str, year: int) -> int:
    """The next document serial. One UPDATE … RETURNING, so that two transactions numbering
    notices of the same unit at once (PostgreSQL) never read the same ``last``: the second waits
    for the first's row lock and increments what it committed."""
    key = {"u": unit_code, "p": prefix, "y": year}
    last = (await session.execute(_bump_serial, key)).scalar_one_or_none()
    if last is not None:
        return int(last)
    try:
        async with session.begin_nested():  # the year's first number; a concurrent twin collides here
            session.add(SerialRow(unit_code=unit_code, prefix=prefix, year=year, last=1))
            await session.flush()
        return 1
    except IntegrityError:
        return int((await session.execute(_bump_serial, key)).scalar_one())


_serials = SerialRow.__table__
#: Built once (a Core statement, run with its parameters): :func:`next_serial`'s increment.
_bump_serial = (update(_serials)
                .where(_serials.c.unit_code == bindparam("u"), _serials.c.prefix == bindparam("p"),
                       _serials.c.year == bindparam("y"))
                .values(last=_serials.c.last + 1).returning(_serials.c.last))


# The rendezvous of a notice and the applicant's contact (see usecases/notices.py).

async def claim_waiting(session: AsyncSession, receipt_no: str) -> Sequence[NoticeRow]:
    """The case's notices still awaiting the contact, locked for this transaction (the contact's
    handler, which has written the contact already). FOR UPDATE SKIP LOCKED on PostgreSQL: one
    the release worker is taking right now is left to it. SQLite renders no lock clause; its
    writers are serialised, and this transaction writes already, so what it reads is current."""
    q = (select(NoticeRow).where(NoticeRow.state == AWAITING_CONTACT, NoticeRow.receipt_no == receipt_no)
         .order_by(NoticeRow.created_at).with_for_update(skip_locked=True))
    return (await session.exec(q)).all()


async def claim_waiting_of(session: AsyncSession, receipt_nos: set[str]) -> Sequence[NoticeRow]:
    """:func:`claim_waiting` for the cases of a batch, in one query."""
    q = (select(NoticeRow).where(NoticeRow.state == AWAITING_CONTACT, NoticeRow.receipt_no.in_(sorted(receipt_nos)))
         .order_by(NoticeRow.created_at).with_for_update(skip_locked=True))
    return (await session.exec(q)).all()


async def cases_with_survey_waiting(session: AsyncSession, receipt_nos: set[str]) -> Sequence[CaseRow]:
    """Those of these cases whose survey invitation waits for the applicant's contact."""
    q = (select(CaseRow).where(CaseRow.receipt_no.in_(sorted(receipt_nos)), CaseRow.survey_cause.is_not(None))
         .order_by(CaseRow.receipt_no))
    return (await session.exec(q)).all()


async def notices_caused_by(session: AsyncSession, event_ids: Sequence[str]) -> set[tuple[str, str]]:
    """(cause event id, document type) of the notices these events have caused already."""
    if not event_ids:
        return set()
    q = select(NoticeRow.cause_event_id, NoticeRow.document_type).where(NoticeRow.cause_event_id.in_(sorted(set(event_ids))))
    return {(cause, doc_type) for cause, doc_type in (await session.exec(q)).all()}


async def claim_waiting_notice(session: AsyncSession, notice_id: str, now: datetime) -> NoticeRow | None:
    """Take one waiting notice for the release worker: a compare-and-set, the first statement of
    its transaction, so that two workers (replicas; or the contact's handler) never both take it —
    on SQLite too, where reading first would read outside the write lock."""
    taken = await session.execute(
        update(NoticeRow).where(NoticeRow.id == notice_id, NoticeRow.state == AWAITING_CONTACT)
        .values(updated_at=now).execution_options(synchronize_session=False))
    return await session.get(NoticeRow, notice_id) if taken.rowcount == 1 else None


async def rendering_notices(session: AsyncSession, limit: int) -> Sequence[NoticeRow]:
    """Notices numbered and waiting for their PDF, oldest first."""
    q = select(NoticeRow).where(NoticeRow.state == RENDERING).order_by(NoticeRow.updated_at).limit(limit)
    return (await session.exec(q)).all()


async def claim_rendered(session: AsyncSession, notices: Sequence[tuple[str, int]], now: datetime) -> dict[str, NoticeRow]:
    """Take the rendered notices of a render pass ((id, attempt) each) to send them: one UPDATE
    … RETURNING takes those still ``rendering`` at that attempt (a compare-and-set: a notice two
    passes rendered at once, replicas, is sent once), one query reads them; by id."""
    if not notices:
        return {}
    n = NoticeRow.__table__.c
    taken = (await session.execute(
        update(NoticeRow.__table__)
        .where(n.state == RENDERING, or_(*(and_(n.id == notice_id, n.attempts == attempts) for notice_id, attempts in notices)))
        .values(updated_at=now).returning(n.id))).scalars().all()
    if not taken:
        return {}
    rows = (await session.exec(select(NoticeRow).where(NoticeRow.id.in_(sorted(taken)))
                               .execution_options(populate_existing=True))).all()
    return {r.id: r for r in rows}


async def waiting_with_contact(session: AsyncSession, limit: int) -> list[str]:
    """Ids of notices awaiting a contact that is there: left behind by a concurrent commit."""
    q = (select(NoticeRow.id).join(ContactRow, ContactRow.receipt_no == NoticeRow.receipt_no)
         .where(NoticeRow.state == AWAITING_CONTACT).order_by(NoticeRow.created_at).limit(limit))
    return list((await session.exec(q)).all())


async def surveys_with_contact(session: AsyncSession, limit: int) -> list[tuple[str, str]]:
    """(receipt number, causing decision) of cases whose survey waits for a contact that is there."""
    q = (select(CaseRow.receipt_no, CaseRow.survey_cause).join(ContactRow, ContactRow.receipt_no == CaseRow.receipt_no)
         .where(CaseRow.survey_cause.is_not(None)).order_by(CaseRow.receipt_no).limit(limit))
    return [(rn, cause) for rn, cause in (await session.exec(q)).all()]


async def claim_survey(session: AsyncSession, receipt_no: str, cause: str) -> CaseRow | None:
    """Take a waiting survey for the release worker (compare-and-set, as :func:`claim_waiting_notice`)."""
    taken = await session.execute(
        update(CaseRow).where(CaseRow.receipt_no == receipt_no, CaseRow.survey_cause == cause)
        .values(survey_cause=None).execution_options(synchronize_session=False))
    return await session.get(CaseRow, receipt_no) if taken.rowcount == 1 else None


# The rendezvous of a duty gap and the duty managers (see usecases/duty_gaps.py): the same shape as above.

async def claim_duty_gaps(session: AsyncSession, limit: int = 100) -> Sequence[DutyGapRow]:
    """Gaps awaiting a duty manager, locked for this transaction (the staff handler, which has
    written a duty manager already); as :func:`claim_waiting`, one the release worker is taking
    is skipped (PostgreSQL) and SQLite's serialised writers make the read current."""
    q = (select(DutyGapRow).where(DutyGapRow.state == DutyGapState.AWAITING_MANAGER.value)
         .order_by(DutyGapRow.detected_at).limit(limit).with_for_update(skip_locked=True))
    return (await session.exec(q)).all()


async def awaiting_duty_gaps(session: AsyncSession, limit: int) -> list[str]:
    """Event ids of the gaps still awaiting a duty manager, oldest first."""
    q = (select(DutyGapRow.event_id).where(DutyGapRow.state == DutyGapState.AWAITING_MANAGER.value)
         .order_by(DutyGapRow.detected_at).limit(limit))
    return list((await session.exec(q)).all())


async def claim_duty_gap(session: AsyncSession, event_id: str, now: datetime) -> DutyGapRow | None:
    """Take one waiting gap for the release worker: a compare-and-set, the first statement of its
    transaction (see :func:`claim_waiting_notice`), so two replicas never both alert it."""
    taken = await session.execute(
        update(DutyGapRow).where(DutyGapRow.event_id == event_id,
                                 DutyGapRow.state == DutyGapState.AWAITING_MANAGER.value)
        .values(updated_at=now).execution_options(synchronize_session=False))
    return await session.get(DutyGapRow, event_id) if taken.rowcount == 1 else None


async def count_duty_gaps(session: AsyncSession, state: DutyGapState) -> int:
    return int((await session.exec(select(func.count()).select_from(DutyGapRow).where(DutyGapRow.state == state.value))).one())


async def notice_by_request(session: AsyncSession, request_id: str) -> NoticeRow | None:
    res = await session.exec(select(NoticeRow).where(NoticeRow.request_id == request_id))
    return res.first()


async def notices_by_requests(session: AsyncSession, request_ids: Sequence[str]) -> dict[str, NoticeRow]:
    """:func:`notice_by_request` for a batch's answers, in one query, by request id."""
    res = await session.exec(select(NoticeRow).where(NoticeRow.request_id.in_(sorted(set(request_ids)))))
    return {r.request_id: r for r in res.all() if r.request_id is not None}


async def contacts_of(session: AsyncSession, receipt_nos: set[str]) -> dict[str, ContactRow]:
    """The applicants' contacts of these cases (those known), in one query."""
    if not receipt_nos:
        return {}
    res = await session.exec(select(ContactRow).where(ContactRow.receipt_no.in_(sorted(receipt_nos))))
    return {r.receipt_no: r for r in res.all()}


async def cases_of(session: AsyncSession, receipt_nos: set[str]) -> dict[str, CaseRow]:
    """These cases (those known), in one query."""
    if not receipt_nos:
        return {}
    res = await session.exec(select(CaseRow).where(CaseRow.receipt_no.in_(sorted(receipt_nos))))
    return {r.receipt_no: r for r in res.all()}


_insert_links = ShortLinkRow.__table__.insert()


async def insert_short_links(session: AsyncSession, links: Sequence[dict[str, Any]]) -> None:
    if links:
        await session.execute(_insert_links, list(links))


async def overdue_notices(session: AsyncSession, older_than: datetime, limit: int = 100) -> Sequence[NoticeRow]:
    res = await session.exec(
        select(NoticeRow).where(NoticeRow.state == NoticeState.REQUESTED.value, NoticeRow.requested_at <= older_than)
        .order_by(NoticeRow.requested_at).limit(limit)
    )
    return res.all()


async def message_by_key(session: AsyncSession, key: str) -> MessageRow | None:
    res = await session.exec(select(MessageRow).where(MessageRow.idempotency_key == key))
    return res.first()


async def insert_message(session: AsyncSession, row: MessageRow, *, looked_up: bool = False) -> bool:
    """Add a message unless one with its idempotency key exists. True when it was added.
    ``looked_up``: the caller found no message with the key earlier in this transaction (the
    savepoint below still catches a concurrent twin)."""
    if not looked_up and await message_by_key(session, row.idempotency_key) is not None:
        return False
    try:
        async with session.begin_nested():  # a concurrent twin hits the unique constraint here
            session.add(row)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def claim(session: AsyncSession, message_id: str, now: datetime) -> bool:
    """Compare-and-set a due message to 'sending' (two workers cannot both take it)."""
    result = await session.execute(
        update(MessageRow).where(
            MessageRow.id == message_id, MessageRow.state.in_([s.value for s in domain.DUE_STATES]),
        ).values(state=MessageState.SENDING.value, attempts=MessageRow.attempts + 1, updated_at=now)
    )
    return result.rowcount == 1


async def unclaim(session: AsyncSession, message_id: str, now: datetime) -> int:
    """Undo :func:`claim` for a message never handed to the provider (1 if it was claimed)."""
    result = await session.execute(
        update(MessageRow).where(MessageRow.id == message_id, MessageRow.state == MessageState.SENDING.value)
        .values(state=MessageState.QUEUED.value, attempts=MessageRow.attempts - 1, updated_at=now)
    )
    return result.rowcount


# The delivery worker's batches (workers.py): a batch of due messages claimed and read in one
# statement, the providers' answers stored with one read and one write per batch. Core
# statements built once; rows come back as plain objects with MessageRow's attribute names.

_messages = MessageRow.__table__
_parts = MessagePartRow.__table__
_DUE = sorted(s.value for s in domain.DUE_STATES)
#: What the worker needs of a claimed message to hand it to the provider (and in what order).
_CLAIMED = ("id", "mobile", "text", "template", "body", "params", "accepted_parts", "parts", "not_before",
            "created_at")
#: What storing an attempt's outcome may change (messages.apply_attempt, mark_unknown, settle_from_receipts).
_OUTCOME = ("state", "provider", "parts", "accepted_parts", "code", "reason", "permanent", "receipt_status",
            "not_before", "updated_at", "sent_at", "delivered_at")
_claim_statements: dict[int, Any] = {}


def _claim_due_statement(limit: int) -> Any:
    stmt = _claim_statements.get(limit)
    if stmt is None:
        m = _messages.c
        due = (sa_select(m.id).where(m.state.in_(_DUE), m.not_before <= bindparam("now", type_=m.not_before.type))
               .order_by(m.not_before, m.created_at).limit(limit)
               # PostgreSQL: a due message another worker is claiming right now is left to it
               .with_for_update(skip_locked=True))
        stmt = (update(_messages).where(m.id.in_(due.scalar_subquery()), m.state.in_(_DUE))
                .values(state=MessageState.SENDING.value, attempts=m.attempts + 1,
                        updated_at=bindparam("at", type_=m.updated_at.type))
                .returning(*(m[c] for c in _CLAIMED)))
        _claim_statements[limit] = stmt
    return stmt


async def claim_due(session: AsyncSession, now: datetime, limit: int, at: datetime) -> list[Any]:
    """Claim up to ``limit`` messages due at ``now`` (oldest first): one UPDATE … RETURNING that
    sets them 'sending' (a compare-and-set on their due state: two workers never take the same
    message) and returns what the provider needs. ``at``: the lease's timestamp."""
    rows = (await session.execute(_claim_due_statement(limit), {"now": now, "at": at})).all()
    return sorted(rows, key=lambda r: (r.not_before, r.created_at, r.id))


_unclaim_many = (update(_messages)
                 .where(_messages.c.id.in_(bindparam("ids", expanding=True)),
                        _messages.c.state == MessageState.SENDING.value)
                 .values(state=MessageState.QUEUED.value, attempts=_messages.c.attempts - 1,
                         updated_at=bindparam("at", type_=_messages.c.updated_at.type)))


async def unclaim_many(session: AsyncSession, message_ids: Sequence[str], now: datetime) -> int:
    """:func:`unclaim` for several messages in one statement."""
    if not message_ids:
        return 0
    return (await session.execute(_unclaim_many, {"ids": list(message_ids), "at": now})).rowcount


class MessageData:
    """A message as read by :func:`messages_by_ids`: the attributes of :class:`MessageRow`, no
    session behind it; :func:`store_outcomes` writes back what changed."""

    def __init__(self, mapping: Any) -> None:
        self.__dict__.update(mapping)


_by_ids = sa_select(_messages).where(_messages.c.id.in_(bindparam("ids", expanding=True)))
_write_outcome = (update(_messages)
                  .where(_messages.c.id == bindparam("b_id"), _messages.c.state == MessageState.SENDING.value)
                  .values({c: bindparam(f"b_{c}", type_=_messages.c[c].type) for c in _OUTCOME}))


async def messages_by_ids(session: AsyncSession, message_ids: Sequence[str]) -> dict[str, Any]:
    """The messages with these ids, as plain rows (see :class:`MessageData`), by id."""
    res = await session.execute(_by_ids, {"ids": list(message_ids)})
    return {r.id: MessageData(r._mapping) for r in res}


async def store_outcomes(session: AsyncSession, rows: Sequence[Any]) -> None:
    """Write back the outcome columns of rows read by :func:`messages_by_ids` that are still
    'sending' in the database (one executemany)."""
    if rows:
        await session.execute(_write_outcome, [{"b_id": r.id, **{f"b_{c}": getattr(r, c) for c in _OUTCOME}}
                                               for r in rows])


async def insert_parts(session: AsyncSession, parts: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
    """Store accepted parts (provider, provider_message_id, message_id, seq) in one INSERT; a
    provider id already stored is left as it is. Returns the (provider, id) pairs not stored."""
    if not parts:
        return set()
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = (dialect_insert(_parts).on_conflict_do_nothing()
            .returning(_parts.c.provider, _parts.c.provider_message_id))
    stored = {(p, i) for p, i in (await session.execute(stmt, list(parts))).all()}
    return {(p["provider"], p["provider_message_id"]) for p in parts} - stored


_keys_among = sa_select(_messages.c.idempotency_key).where(
    _messages.c.idempotency_key.in_(bindparam("keys", expanding=True)))
_insert_messages = _messages.insert()


async def existing_message_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of these idempotency keys have a message already (one query)."""
    if not keys:
        return set()
    return set((await session.execute(_keys_among, {"keys": list(keys)})).scalars())


async def opted_out_among(session: AsyncSession, mobiles: set[str]) -> set[str]:
    res = await session.execute(sa_select(OptOutRow.__table__.c.mobile)
                                .where(OptOutRow.__table__.c.mobile.in_(sorted(mobiles))))
    return set(res.scalars())


async def insert_messages(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """New messages (every column given) in one INSERT; the unique idempotency key refuses a twin
    (IntegrityError: the caller's transaction fails, see ``messages.queue_sms_many``)."""
    if rows:
        await session.execute(_insert_messages, list(rows))


async def stuck_sending(session: AsyncSession) -> Sequence[MessageRow]:
    res = await session.exec(select(MessageRow).where(MessageRow.state == MessageState.SENDING.value))
    return res.all()


async def part_owner(session: AsyncSession, provider: str, provider_message_id: str) -> MessagePartRow | None:
    return await session.get(MessagePartRow, (provider, provider_message_id))


async def receipts_for(session: AsyncSession, provider: str, ids: list[str]) -> list[domain.Receipt]:
    if not ids:
        return []
    res = await session.exec(select(ReceiptRow).where(ReceiptRow.provider == provider, ReceiptRow.provider_message_id.in_(ids)))
    return [domain.Receipt(r.provider, r.provider_message_id, r.status, aware(r.done_at), r.error or "") for r in res.all()]


async def staff_by_role(session: AsyncSession, role: str, unit_code: str | None = None) -> Sequence[StaffRow]:
    q = select(StaffRow).where(StaffRow.role == role, StaffRow.active == True, StaffRow.mobile.is_not(None))  # noqa: E712
    if unit_code is not None:
        q = q.where(StaffRow.unit_code == unit_code)
    return (await session.exec(q.order_by(StaffRow.staff_id))).all()


async def is_opted_out(session: AsyncSession, mobile: str) -> bool:
    return await session.get(OptOutRow, mobile) is not None


async def search_messages(session: AsyncSession, *, receipt_no: str | None = None, mobile: str | None = None,
                          state: str | None = None, template: str | None = None, limit: int = 50,
                          offset: int = 0) -> tuple[int, Sequence[MessageRow]]:
    q = select(MessageRow)
    if receipt_no:
        q = q.where(MessageRow.receipt_no == receipt_no)
    if mobile:
        q = q.where(MessageRow.mobile == mobile)
    if state:
        q = q.where(MessageRow.state == state)
    if template:
        q = q.where(MessageRow.template == template)
    # id breaks the ties: the messages of one batch share their created_at, and pages of a sort
    # with ties may overlap and skip (PostgreSQL orders tied rows as it likes, query by query)
    rows = (await session.exec(q.order_by(MessageRow.created_at.desc(), MessageRow.id.desc())
                               .offset(offset).limit(limit))).all()
    return await _total(session, q, offset, limit, rows), rows


async def search_notices(session: AsyncSession, *, receipt_no: str | None = None, state: str | None = None,
                         limit: int = 50, offset: int = 0) -> tuple[int, Sequence[NoticeRow]]:
    q = select(NoticeRow)
    if receipt_no:
        q = q.where(NoticeRow.receipt_no == receipt_no)
    if state:
        q = q.where(NoticeRow.state == state)
    rows = (await session.exec(q.order_by(NoticeRow.created_at.desc(), NoticeRow.id.desc())  # ties: see above
                               .offset(offset).limit(limit))).all()
    return await _total(session, q, offset, limit, rows), rows


async def _total(session: AsyncSession, q: Any, offset: int, limit: int, rows: Sequence[Any]) -> int:
    """How many rows ``q`` matches in all. A first page that is not full is all of them: no
    count query then (a case's few notices and messages, the case page's usual read)."""
    if offset == 0 and len(rows) < limit:
        return len(rows)
    return int((await session.exec(select(func.count()).select_from(q.subquery()))).one())


async def message_counts(session: AsyncSession) -> dict[str, int]:
    res = await session.exec(select(MessageRow.state, func.count()).group_by(MessageRow.state))
    return {state: int(n) for state, n in res.all()}



# --------------------------------------------------------------------------- assessment notices


class AssessmentNoticeRow(Base, table=True):
    """A year-end assessment notice (年终考核结果通知书, usecases/assessments.py): one per decision
    (first, and on appeal), to the staff member's unit, sealed with the center's seal. Staff data
    (name, grade) stays here and on internal topics; readable by that unit's head and the center."""

    __tablename__ = "notify_assessment_notices"

    id: str = Field(primary_key=True, max_length=32)
    cause_event_id: str = Field(max_length=64, unique=True)  # the StaffAssessmentDecided: one notice each
    assessment_id: str = Field(max_length=64, index=True)
    year: int = Field(index=True)
    staff_id: str = Field(max_length=32)
    unit_code: str = Field(max_length=32, index=True)  # the staff member's unit: the addressee
    seal_unit_code: str = Field(max_length=32)          # whose seal: the center's
    on_appeal: bool = False
    state: str = Field(max_length=20, index=True)       # requested, released, failed
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    document_no: str | None = Field(default=None, max_length=60)
    request_id: str | None = Field(default=None, max_length=64, index=True)
    attempts: int = 0
    requested_at: datetime | None = None
    sealed_at: datetime | None = None
    sealed_document_no: str | None = Field(default=None, max_length=64)  # seal's number (verification page)
    sealed_files: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    failure_reason: str | None = Field(default=None, max_length=30)
    failure_detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=now_utc)
    updated_at: datetime = Field(default_factory=now_utc)


async def assessment_notice_by_request(session: AsyncSession, request_id: str) -> AssessmentNoticeRow | None:
    return (await session.exec(select(AssessmentNoticeRow).where(AssessmentNoticeRow.request_id == request_id))).first()


async def search_assessment_notices(session: AsyncSession, *, unit_code: str | None, year: int | None,
                                    staff_id: str | None, limit: int, offset: int
                                    ) -> tuple[int, Sequence[AssessmentNoticeRow]]:
    q = select(AssessmentNoticeRow)
    if unit_code:
        q = q.where(AssessmentNoticeRow.unit_code == unit_code)
    if year is not None:
        q = q.where(AssessmentNoticeRow.year == year)
    if staff_id:
        q = q.where(AssessmentNoticeRow.staff_id == staff_id)
    rows = (await session.exec(q.order_by(AssessmentNoticeRow.created_at.desc(), AssessmentNoticeRow.id)
                               .offset(offset).limit(limit))).all()
    return await _total(session, q, offset, limit, rows), rows


# --------------------------------------------------------------------------- access log

#: Who read an applicant's unmasked data here (an SMS text naming them, a sealed notice's link):
#: append-only, the migration's triggers refuse UPDATE and DELETE (services/runtime/access_log.py).
access_log = access_log_table(metadata, "notify_access_log")
