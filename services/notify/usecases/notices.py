"""The notice saga as state changes in the caller's transaction: request (render, send to seal),
release once sealed (short link + SMS to the applicant), fail visibly when refused or timed out,
retry on staff request.

A notice is addressed to the applicant by full name, which only the private contact topic carries,
so a notice whose application event comes first waits (``awaiting_contact``) until the contact's
handler releases it. The two handlers are separate consumers: on PostgreSQL their transactions
run at once, and each may miss what the other has not committed yet (the application's looks for
the contact, the contact's for waiting notices). Whichever of the two commits last therefore
wakes :meth:`Notices.release_waiting`, which starts after both commits and so sees both; that
sweep also runs periodically, for a process that died between the commit and the sweep.

A notice is rendered outside any transaction: the transaction that decides to send it gives it
its number and leaves it ``rendering``; the release worker (woken by that commit) reads the
rendering notices, lays out their PDFs with no transaction open, and then, in one short
transaction, takes each (a compare-and-set on its state and attempt) and sends it to the seal.
Rendering inside the deciding transaction held SQLite's one write lock for the whole layout
(~10 ms a notice, a batch of them together), and every other writer of the service waited in
SQLite's busy handler. A process that stops between the two finds its ``rendering`` notices again
on its next sweep; two replicas may both render one, only one takes it.

:class:`Notices` is shared state (``service.state.notices``: the settings, the metrics and the
rendezvous event the release worker waits on); the module's functions are the use cases of the
sweeps and of the staff's requests about notices."""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Sequence

from sqlalchemy import event as sa_event
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.common import CaseKind, DocumentType
from contracts.notify import NoticeFailed, NoticeFailureReason, NoticeReleased, NoticeRequested, Recipient
from contracts.seal import DocumentFormat, DocumentSealed, NoticeContent, SealBoxSpec, SealDocument, SealingRefused

from services.runtime import clock
from services.runtime.auth import Staff
from services.runtime.db import inline_sqlite
from services.runtime.errors import InvalidInput, InvalidState, NotFound
from services.runtime.params import plausible_key

from .. import domain, store
from ..adapters import notice_pdf, rendering
from ..config import NotifySettings
from ..domain import Category, NoticeState, SealAnswer
from ..store import AWAITING_CONTACT, RENDERING, CaseRow, ContactRow, NoticeRow, ShortLinkRow, StaffRow
from .access import check_case_access
from .messages import Emitter, SmsMetrics, SmsRequest, queue_sms, queue_sms_many

log = logging.getLogger(__name__)


def local_date(settings: NotifySettings, moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return store.aware(moment).astimezone(settings.quiet_hours.tz).date().isoformat()  # type: ignore[union-attr]


def _strip(text: str | None) -> str | None:
    return text.rstrip("。.；; ") if text else text


#: Notice fields from notify's settings: the same in every notice, so part of the wording.
_SETTINGS_FIELDS = frozenset({"center_name", "center_phone", "center_address", "reconsideration_body", "court"})

_WAKE = "notify.release_waiting"
_LOOK_UP = object()  # Notices.advance: the contact not given, read it
_RENDER_WAKE = "notify.render_waiting"
_DUTY_GAPS_WAKE = "notify.release_duty_gaps"


@dataclass
class Prefetched:
    """What a consumer's batch handler has read for its events in one query each (usecases/
    cases.py): the cases and the applicants' contacts by receipt number (those added by the
    batch included), and the (cause event, document type) of the notices already requested."""

    cases: dict[str, CaseRow] = field(default_factory=dict)
    contacts: dict[str, ContactRow] = field(default_factory=dict)
    notices: set[tuple[str, str]] = field(default_factory=set)


class Notices:
    def __init__(self, settings: NotifySettings, metrics: SmsMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        #: Set after a commit that may have left a notice (or a survey) waiting for a contact
        #: that is there, or a duty gap waiting for a duty manager who is known (duty_gaps.py):
        #: the release worker (workers.py) waits on it.
        self.rendezvous = asyncio.Event()
        #: Set after a commit that numbered a notice: the render worker (workers.py) waits on it.
        self.render_wake = asyncio.Event()
        #: Set with ``rendezvous`` after a commit that may have left a duty gap waiting for a
        #: duty manager who is known (duty_gaps.py): only then (and every sweep period) does
        #: the release worker look at the duty gaps, not after every applicant's contact.
        self.duty_gaps_asked = False
        #: One render pass at a time in this process (the render worker, a sweep, a test's pass):
        #: two at once would lay out the same notices twice (only one would be sent).
        self._render_lock = asyncio.Lock()

    def wake_after_commit(self, session: AsyncSession) -> None:
        """Run :meth:`release_waiting` once this transaction has committed (not before: it must
        see what this transaction wrote; not at all if it rolls back)."""
        if session.info.get(_WAKE):
            return
        session.info[_WAKE] = True
        sa_event.listen(session.sync_session, "after_commit", lambda _s: self.rendezvous.set())

    def wake_duty_gaps_after_commit(self, session: AsyncSession) -> None:
        """As :meth:`wake_after_commit`, for the duty gaps' rendezvous (the same release worker)."""
        if session.info.get(_DUTY_GAPS_WAKE):
            return
        session.info[_DUTY_GAPS_WAKE] = True

        def asked(_s: Any) -> None:
            self.duty_gaps_asked = True
            self.rendezvous.set()

        sa_event.listen(session.sync_session, "after_commit", asked)

    # ------------------------------------------------------------------ request

    async def request(self, uow: Emitter, *, receipt_no: str, unit_code: str, document_type: DocumentType,
                      cause_event_id: str, facts: dict[str, Any], now: datetime,
                      known: "Prefetched | None" = None) -> NoticeRow | None:
        """Start the saga for one notice; None when this cause already made it (redelivery).
        ``known``: what a consumer's batch has read already (the notices its events caused, the
        contacts) — then nothing is looked up and nothing flushed here."""
        if known is not None:
            key = (cause_event_id, document_type.value)
            if key in known.notices:
                return None
            known.notices.add(key)
        else:
            existing = (await uow.session.exec(
                select(NoticeRow).where(NoticeRow.cause_event_id == cause_event_id,
                                        NoticeRow.document_type == document_type.value))).first()
            if existing is not None:
                return None
        row = NoticeRow(id=uuid.uuid4().hex, receipt_no=receipt_no, unit_code=unit_code,
                        document_type=document_type.value, cause_event_id=cause_event_id, state=AWAITING_CONTACT,
                        facts=facts, created_at=now, updated_at=now)
        uow.session.add(row)
        if known is None:
            await uow.session.flush()
            await self.advance(uow, row, now)
        else:
            await self.advance(uow, row, now, contact=known.contacts.get(receipt_no))
        return row

    async def on_contact(self, uow: Emitter, receipt_no: str, now: datetime) -> int:
        """The applicant's contact arrived (written in this transaction): every notice waiting for
        it goes to the seal. Those committed by a concurrent transaction after this one looked
        are the release worker's, woken by whichever commit comes last."""
        self.wake_after_commit(uow.session)
        n = 0
        for row in await store.claim_waiting(uow.session, receipt_no):
            await self.advance(uow, row, now)
            n += 1
        return n

    async def advance(self, uow: Emitter, row: NoticeRow, now: datetime, *,
                      contact: ContactRow | None | object = _LOOK_UP) -> None:
        """To the render pass once the applicant's contact is known (``contact``: given by a
        caller that has read it, else looked up here), else waiting for it."""
        if contact is _LOOK_UP:
            contact = await uow.session.get(ContactRow, row.receipt_no)
        if contact is None:
            row.state = AWAITING_CONTACT  # addressed by full name: wait for intake.contacts
            self.wake_after_commit(uow.session)  # the contact may be committing right now
            return
        if row.document_no is None:
            await self._number_new(uow, row, now)
        else:
            self._number(uow, row, now)  # a retry keeps its number

    async def release_waiting(self, uow: Callable[[], AbstractAsyncContextManager[Any]],
                              now: datetime | None = None, limit: int = 100) -> tuple[int, bool]:
        """Send to the seal the notices still awaiting a contact that has arrived, and send the
        surveys likewise waiting, each in a transaction of its own (``uow`` makes one). Returns
        how many notices went and whether more may be left (``limit`` reached)."""
        async with uow() as u:
            notice_ids = await store.waiting_with_contact(u.session, limit)
            surveys = await store.surveys_with_contact(u.session, limit)
        released = surveyed = 0
        for notice_id in notice_ids:
            async with uow() as u:
                at = now or clock.now()
                row = await store.claim_waiting_notice(u.session, notice_id, at)
                if row is None:
                    continue  # released meanwhile (the contact's handler, another replica)
                await self.advance(u, row, at)
                await u.commit()
                released += 1
        for receipt_no, cause in surveys:
            async with uow() as u:
                at = now or clock.now()
                case = await store.claim_survey(u.session, receipt_no, cause)
                contact = await u.session.get(ContactRow, receipt_no)
                if case is None or contact is None:
                    continue
                await self.invite_to_survey(u, case, contact.mobile, cause, at)
                await u.commit()
                surveyed += 1
        if released or surveyed:
            log.info("released %d notice(s) and %d survey(s) left waiting for a contact that had arrived "
                     "(a concurrent commit or an interrupted process)", released, surveyed)
        # More may be left past the limit; not when nothing could be taken (another replica has them).
        more = (len(notice_ids) >= limit or len(surveys) >= limit) and bool(released or surveyed)
        return released, more

    async def invite_to_survey(self, uow: Emitter, case: CaseRow, mobile: str, cause: str, now: datetime) -> None:
        """The satisfaction survey SMS after a decision (once per decision: the idempotency key)."""
        s = self.settings
        await queue_sms(uow, s, SmsRequest(
            cause_event_id=cause, template="survey", category=Category.SURVEY, recipient_kind=Recipient.APPLICANT,
            mobile=mobile, context={"item_name": case.item_name or "",
                                    "rating_url": s.notify_rating_url_template.format(receipt_no=case.receipt_no)},
            receipt_no=case.receipt_no), now, self.metrics)

    def _context(self, row: NoticeRow, case: CaseRow | None, contact: ContactRow) -> dict[str, Any]:
        s = self.settings
        facts = dict(row.facts)
        applicant = contact.company_name if contact.applicant_type == "company" and contact.company_name else contact.name
        return {
            "unit_name": facts.pop("unit_name", None) or (case.unit_name if case else None) or row.unit_code,
            "applicant_name": applicant,
            "item_name": facts.pop("item_name", None) or (case.item_name if case else None),
            "receipt_no": row.receipt_no,
            "submitted_on": facts.pop("submitted_on", None) or local_date(s, case.received_at if case else None)
            or local_date(s, contact.recorded_at),
            "issued_on": facts.pop("issued_on", None),
            "document_no": row.document_no,
            "center_name": s.notify_center_name,
            "center_phone": s.notify_center_phone,
            "center_address": s.notify_center_address,
            "reconsideration_body": s.notify_county_government,
            "court": s.notify_county_court,
            **facts,
        }

    async def _number_new(self, uow: Emitter, row: NoticeRow, now: datetime) -> None:
        kind = domain.NOTICE_KINDS[DocumentType(row.document_type)]
        year = int(local_date(self.settings, now)[:4])  # type: ignore[index]
        serial = await store.next_serial(uow.session, row.unit_code, kind.number_prefix, year)
        row.document_no = domain.document_number(kind, row.unit_code, year, serial)
        self._number(uow, row, now)

    def _number(self, uow: Emitter, row: NoticeRow, now: datetime) -> None:
        """The notice has its number (kept on a retry) and its date: it waits for the render pass,
        which this transaction's commit wakes."""
        row.facts = {**row.facts, "issued_on": row.facts.get("issued_on") or local_date(self.settings, now)}
        row.state, row.updated_at = RENDERING, now
        row.failure_reason = row.failure_detail = None
        if not uow.session.info.get(_RENDER_WAKE):
            uow.session.info[_RENDER_WAKE] = True
            sa_event.listen(uow.session.sync_session, "after_commit", lambda _s: self.render_wake.set())

    async def render_waiting(self, uow: Callable[[], AbstractAsyncContextManager[Any]],
                             now: datetime | None = None, limit: int = 16) -> tuple[int, bool]:
        """One pass: render up to ``limit`` notices left ``rendering`` with no transaction open,
        then send those still waiting (same state, same attempt) to the seal in one transaction.
        Returns how many went and whether more may be left."""
        async with self._render_lock:
            return await self._render_pass(uow, now, limit)

    async def _render_pass(self, uow: Callable[[], AbstractAsyncContextManager[Any]],
                           now: datetime | None, limit: int) -> tuple[int, bool]:
        s = self.settings
        with inline_sqlite():  # short indexed reads
            async with uow() as u:  # reads only: no write lock taken
                rows = await store.rendering_notices(u.session, limit)
                receipts = {row.receipt_no for row in rows}
                cases = await store.cases_of(u.session, receipts)
                contacts = await store.contacts_of(u.session, receipts)
                jobs = []
                for row in rows:
                    contact = contacts.get(row.receipt_no)
                    if contact is not None:
                        jobs.append((row.id, row.attempts, DocumentType(row.document_type),
                                     self._context(row, cases.get(row.receipt_no), contact)))
        done: list[tuple[str, int, Any, Any, Exception | None]] = []
        for notice_id, attempts, doc_type, context in jobs:
            try:
                doc = rendering.render_notice(doc_type, context)
                stable = rendering.stable_text(doc_type, context, keep=_SETTINGS_FIELDS)
                rendered = await asyncio.to_thread(notice_pdf.render_pdf, doc, font_path=str(s.notify_cjk_font),
                                                   stable_text=stable, reuse_subsets=s.notify_notice_font_reuse)
                done.append((notice_id, attempts, doc, rendered, None))
            except Exception as exc:  # noqa: BLE001 - a notice that cannot be produced fails visibly
                log.exception("notice %s could not be rendered", notice_id)
                done.append((notice_id, attempts, None, None, exc))
        sent = 0
        if done:
            with inline_sqlite():  # one UPDATE and one read of the notices taken, then the commit
                async with uow() as u:
                    at = now or clock.now()
                    taken = await store.claim_rendered(u.session, [(notice_id, attempts) for notice_id, attempts, *_ in done],
                                                       at)
                    for notice_id, _attempts, doc, rendered, exc in done:
                        row = taken.get(notice_id)
                        if row is None:
                            continue  # taken meanwhile (another replica's pass)
                        if exc is not None:
                            await self._fail(u, row, NoticeFailureReason.RENDER_FAILED, f"{type(exc).__name__}: {exc}", at)
                        else:
                            await self._send(u, row, doc, rendered, at)
                            sent += 1
                    await u.commit()
        return sent, len(rows) >= limit

    async def _send(self, uow: Emitter, row: NoticeRow, doc: Any, rendered: Any, now: datetime) -> None:
        s = self.settings
        doc_type = DocumentType(row.document_type)
        kind = domain.NOTICE_KINDS[doc_type]
        row.attempts += 1
        row.request_id = f"{row.id}-{row.attempts}"
        row.state, row.requested_at, row.updated_at = NoticeState.REQUESTED.value, now, now
        row.failure_reason = row.failure_detail = None
        box = rendered.seal_box
        formats = [DocumentFormat(f) for f in s.seal_formats]
        await uow.emit(SealDocument(
            request_id=row.request_id, receipt_no=row.receipt_no, unit_code=row.unit_code, document_type=doc_type,
            title=kind.title,
            pdf_base64=base64.b64encode(rendered.pdf).decode() if DocumentFormat.PDF in formats else None,
            content=seal_content(doc, row.facts.get("issued_on")) if DocumentFormat.OFD in formats else None,
            seal_box=SealBoxSpec(page=box.page - 1, x1=box.x, y1=box.y, x2=box.x + box.width, y2=box.y + box.height),
            requested_by="notify", formats=formats, printed_no=row.document_no,
        ), id=f"seal-{row.request_id}")
        await uow.emit(NoticeRequested(notice_id=row.id, receipt_no=row.receipt_no, document_type=doc_type,
                                       document_no=row.document_no, unit_code=row.unit_code,
                                       cause_event_id=row.cause_event_id), id=f"notice-{row.request_id}-requested")
        self.metrics.notices.labels(row.document_type, "requested").inc()

    # ------------------------------------------------------------------ answers from seal

    async def on_sealed(self, uow: Emitter, event: DocumentSealed, now: datetime) -> NoticeRow | None:
        row = await store.notice_by_request(uow.session, event.request_id)
        if row is None:
            return None  # a document intake (or staff) had sealed, not one of ours
        url = await self._release(uow, row, event, now)
        if url is None:
            return None
        contact = await uow.session.get(ContactRow, row.receipt_no)
        case = await uow.session.get(CaseRow, row.receipt_no)
        req = self._applicant_sms(row, url, contact, case)
        if req is not None:
            await queue_sms(uow, self.settings, req, now, self.metrics)
        return row

    async def on_sealed_many(self, uow: Emitter, events: Sequence[DocumentSealed], now: datetime) -> int:
        """:meth:`on_sealed` for the answers of a consumer's batch, in order: the notices, their
        contacts and cases read with one query each, the short links and the SMS written with one
        INSERT each. Returns how many notices were released."""
        session = uow.session
        rows = await store.notices_by_requests(session, [e.request_id for e in events])
        receipts = {r.receipt_no for r in rows.values()}
        contacts = await store.contacts_of(session, receipts)
        cases = await store.cases_of(session, receipts)
        links: list[dict[str, Any]] = []
        sms: list[SmsRequest] = []
        for event in events:
            row = rows.get(event.request_id)
            if row is None:
                continue  # a document intake (or staff) had sealed, not one of ours
            url = await self._release(uow, row, event, now, links)
            if url is None:
                continue
            req = self._applicant_sms(row, url, contacts.get(row.receipt_no), cases.get(row.receipt_no))
            if req is not None:
                sms.append(req)
        await store.insert_short_links(session, links)
        await queue_sms_many(uow, self.settings, sms, now, self.metrics)
        return len(links)

    async def _release(self, uow: Emitter, row: NoticeRow, event: DocumentSealed, now: datetime,
                       links: list[dict[str, Any]] | None = None) -> str | None:
        """The sealed notice released (its short link, NoticeReleased): the short link's URL, or
        None when this answer releases nothing (already released, failed meanwhile). The short
        link goes into ``links`` when given (the caller writes them), else into the session."""
        # awaiting the contact or rendering (a retry): the seal answered an earlier request
        nxt = domain.notice_next(NoticeState(row.state) if row.state not in (AWAITING_CONTACT, RENDERING)
                                 else NoticeState.REQUESTED,
                                 SealAnswer.SEALED,
                                 failed_by_refusal=row.failure_reason == NoticeFailureReason.SEALING_REFUSED.value)
        if nxt is not NoticeState.RELEASED:
            return None
        code = domain.short_code()
        if links is None:
            uow.session.add(ShortLinkRow(code=code, notice_id=row.id, target_url=event.url, created_at=now))
        else:
            links.append({"code": code, "notice_id": row.id, "target_url": event.url, "created_at": now})
        row.state, row.sealed_at, row.sealed_url, row.short_code = NoticeState.RELEASED.value, event.signed_at, event.url, code
        row.sealed_files = [{"format": f.format.value, "url": f.url, "sha256": f.sha256, "size_bytes": f.size_bytes}
                            for f in event.files] or None
        row.updated_at = now
        short_url = f"{self.settings.public_url}/s/{code}"
        await uow.emit(NoticeReleased(notice_id=row.id, receipt_no=row.receipt_no,
                                      document_type=DocumentType(row.document_type), document_no=row.document_no or "",
                                      url=short_url, sealed_at=event.signed_at), id=f"notice-{row.id}-released")
        self.metrics.notices.labels(row.document_type, "released").inc()
        return short_url

    def _applicant_sms(self, row: NoticeRow, url: str, contact: ContactRow | None,
                       case: CaseRow | None) -> SmsRequest | None:
        """The SMS telling the applicant the notice is out (its short link); None with no contact."""
        if contact is None:
            return None
        kind = domain.NOTICE_KINDS[DocumentType(row.document_type)]
        facts = row.facts
        ctx = {
            "applicant_name": contact.name, "item_name": facts.get("item_name") or (case.item_name if case else ""),
            "receipt_no": row.receipt_no, "url": url,
            "promised_days": facts.get("promised_days") or (case.promised_days if case else "") or "",
            "material_count": len(facts.get("materials") or []),
            "supplement_days": facts.get("supplement_days", self.settings.notify_supplement_days),
            "pickup_place": facts.get("pickup_place", self.settings.notify_pickup_place),
            "higher_authority": facts.get("higher_authority", ""),
            "lead_unit": facts.get("lead_unit", ""),
            "new_due_date": facts.get("new_due_date") or "",
        }
        if ctx["new_due_date"]:
            ctx["new_due_date"] = date.fromisoformat(str(ctx["new_due_date"])[:10])
        return SmsRequest(
            cause_event_id=f"notice-{row.id}", template=kind.sms_template.removesuffix(".txt.j2"),
            category=Category.LEGAL_NOTICE, recipient_kind=Recipient.APPLICANT, mobile=contact.mobile, context=ctx,
            receipt_no=row.receipt_no, notice_id=row.id)

    async def on_refused(self, uow: Emitter, event: SealingRefused, now: datetime) -> NoticeRow | None:
        row = await store.notice_by_request(uow.session, event.request_id)
        if row is None or row.state != NoticeState.REQUESTED.value:
            return None
        await self._fail(uow, row, NoticeFailureReason.SEALING_REFUSED, f"{event.reason}（{event.reason_code.value}）", now)
        return row

    async def time_out(self, uow: Emitter, row: NoticeRow, now: datetime) -> None:
        if not domain.timed_out(NoticeState(row.state), store.aware(row.requested_at) or now, now, self.settings.seal_timeout):
            return
        minutes = int(self.settings.seal_timeout.total_seconds() // 60)
        await self._fail(uow, row, NoticeFailureReason.SEALING_TIMED_OUT, f"印章服务{minutes}分钟内未答复", now)

    async def _fail(self, uow: Emitter, row: NoticeRow, reason: NoticeFailureReason, detail: str, now: datetime) -> None:
        row.state, row.failure_reason, row.failure_detail, row.updated_at = NoticeState.FAILED.value, reason.value, detail, now
        await uow.emit(NoticeFailed(notice_id=row.id, receipt_no=row.receipt_no,
                                    document_type=DocumentType(row.document_type), reason=reason, detail=detail),
                       id=f"notice-{row.id}-failed-{row.attempts}-{reason.value}")
        self.metrics.notices.labels(row.document_type, "failed").inc()
        kind = domain.NOTICE_KINDS[DocumentType(row.document_type)]
        for staff in await self.responsible_staff(uow, row.receipt_no, row.unit_code):
            await queue_sms(uow, self.settings, SmsRequest(
                cause_event_id=f"notice-{row.id}-failed-{row.attempts}", template="staff_notice_failed",
                category=Category.STAFF_ALERT, recipient_kind=Recipient.STAFF, mobile=staff.mobile or "",
                context={"receipt_no": row.receipt_no, "title": kind.title, "reason": detail[:40]},
                receipt_no=row.receipt_no, staff_id=staff.staff_id), now, self.metrics)

    async def retry(self, uow: Emitter, row: NoticeRow, now: datetime) -> bool:
        if row.state in (AWAITING_CONTACT, RENDERING) or \
                domain.notice_next(NoticeState(row.state), SealAnswer.RETRY) is not NoticeState.REQUESTED:
            return False
        await self.advance(uow, row, now)
        return True

    async def responsible_staff(self, uow: Emitter, receipt_no: str | None, unit_code: str) -> list[StaffRow]:
        """The clerk who accepted the case, else the unit's chief representatives."""
        case = await uow.session.get(CaseRow, receipt_no) if receipt_no else None
        if case and case.clerk_staff_id:
            clerk = await uow.session.get(StaffRow, case.clerk_staff_id)
            if clerk and clerk.active and clerk.mobile:
                return [clerk]
        return list(await store.staff_by_role(uow.session, "chief_representative", unit_code))


def seal_content(doc: rendering.NoticeDocument, issued_on: str | None) -> NoticeContent:
    """The notice as content the seal service lays out itself (the OFD is rendered there, from the
    same words as the PDF: number, addressee, every paragraph and item, the notes)."""
    paragraphs = [b.text for b in doc.blocks if b.text] + [n for n in doc.notes if n]
    return NoticeContent(
        addressee=doc.addressee.rstrip("：:") or None, paragraphs=paragraphs[:50],
        issued_on=date.fromisoformat(issued_on[:10]) if issued_on else None,
        numbers={"文号": doc.number} if doc.number else {},
    )


def acceptance_facts(case_kind: CaseKind, promised_days: int) -> dict[str, Any]:
    return {"case_kind": case_kind.value, "promised_days": promised_days or None}


# --------------------------------------------------------------------------- sweeps


async def release_waiting(service: Any, notices: Notices, now: datetime | None = None, *, render: bool = True) -> int:
    """Release every notice (and survey) left waiting for a contact that has arrived, then render
    and send every notice left ``rendering`` (unless ``render`` is false: the release worker leaves
    that to the render worker); returns how many notices were released from waiting (``service``
    gives the units of work)."""
    total, more = 0, True
    while more:
        released, more = await notices.release_waiting(service.uow, now)
        total += released
    if render:
        await render_waiting(service, notices, now)
    return total


async def render_waiting(service: Any, notices: Notices, now: datetime | None = None) -> int:
    """Render and send every notice left ``rendering``; returns how many went to the seal."""
    total, more = 0, True
    while more:
        sent, more = await notices.render_waiting(service.uow, now)
        total += sent
        more = more and sent > 0  # a full pass that sent nothing: another replica has them
    return total


async def sweep_timeouts(service: Any, notices: Notices, now: datetime | None = None) -> int:
    """Fail notices whose seal did not come in time (visibly: NoticeFailed, staff alerted)."""
    now = now or clock.now()
    async with service.uow() as uow:
        rows = await store.overdue_notices(uow.session, now - notices.settings.seal_timeout)
        for row in rows:
            await notices.time_out(uow, row, now)
        await uow.commit()
    return len(rows)


# --------------------------------------------------------------------------- requests

#: A notice's states as stored: waiting for the applicant's contact, then the saga's.
NOTICE_STATES = frozenset({AWAITING_CONTACT, RENDERING, *(s.value for s in NoticeState)})


async def search_notices(uow: Emitter, staff: Staff, *, receipt_no: str | None, state: str | None, limit: int,
                         offset: int) -> tuple[int, Sequence[NoticeRow]]:
    """Notices a member of staff may see, with their saga state."""
    await check_case_access(uow, staff, receipt_no)
    if state is not None and state not in NOTICE_STATES:
        raise InvalidInput("state", "文书状态无效")
    return await store.search_notices(uow.session, receipt_no=receipt_no, state=state, limit=limit, offset=offset)


async def retry_notice(uow: Emitter, notices: Notices, staff: Staff, notice_id: str, now: datetime) -> NoticeRow:
    """Staff of the notice's unit send a failed notice to the seal service again."""
    row = await uow.session.get(NoticeRow, notice_id) if plausible_key(notice_id, 32) else None
    if row is None:
        raise NotFound("notice_id", "没有这份文书")
    staff.ensure_unit(row.unit_code)
    if not await notices.retry(uow, row, now):
        raise InvalidState("notice_id", f"文书当前状态为 {row.state}，只有失败的文书可以重新用印")
    return row
