"""Use cases of what notify is told about cases: the directory it keeps to address notices and
messages (cases, contacts, units), the notices the application events cause, the seal's answers,
and the deadline alerts to staff. One function per event, each inside the caller's transaction
(``uow``: a HandlerContext or a UnitOfWork), ``event_id`` the causing event's id."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from contracts.common import CaseKind, DocumentType
from contracts.kinds import KINDS
from contracts.deadline import DeadlineMissed, DeadlineWarned, ExtensionGranted, SupervisionNoticeIssued
from contracts.intake import (
    ApplicantContactRecorded, ApplicationAccepted, ApplicationDecidedV1, ApplicationForwardedV1,
    ApplicationNotAcceptedV1, ApplicationReceived, Outcome as DecisionOutcome, SupplementRequestedV1, UnitRegistered,
)
from contracts.seal import DocumentSealed, SealingRefused
from services.runtime import clock

from .. import store
from ..store import CaseRow, ContactRow, StaffRow, UnitRow
from .messages import Emitter, staff_alert
from .notices import Notices, Prefetched, local_date

# --------------------------------------------------------------------------- the directory


async def _case(uow: Emitter, receipt_no: str, known: Prefetched | None = None, **values: Any) -> CaseRow:
    """The case row, created or updated with ``values`` (those not None). ``known``: the cases a
    batch has read (or added) already; then nothing is looked up and nothing flushed here."""
    values = {k: v for k, v in values.items() if v is not None}
    if known is not None:
        row = known.cases.get(receipt_no)
        if row is None:
            row = CaseRow(receipt_no=receipt_no, updated_at=clock.system_now(), **values)
            uow.session.add(row)
            known.cases[receipt_no] = row
        else:
            for k, v in values.items():
                setattr(row, k, v)
            row.updated_at = clock.system_now()
        return row
    row = await uow.session.get(CaseRow, receipt_no)
    if row is None:
        row = CaseRow(receipt_no=receipt_no, **values)
        uow.session.add(row)
    else:
        for k, v in values.items():
            setattr(row, k, v)
        row.updated_at = clock.system_now()
    await uow.session.flush()
    return row


async def contact_recorded(uow: Emitter, notices: Notices, event: ApplicantContactRecorded, now: datetime) -> None:
    """The applicant's full name and mobile: notices waiting for them go to the seal, and a
    survey waiting for them goes out (each also by the release worker, woken after the commit)."""
    await store.upsert(uow.session, ContactRow, {"receipt_no": event.receipt_no}, dict(
        applicant_type=event.applicant_type.value, name=event.name, company_name=event.company_name,
        mobile=event.mobile, recorded_at=event.recorded_at))
    await uow.session.flush()
    await notices.on_contact(uow, event.receipt_no, now)  # also wakes the release worker after commit
    case = await uow.session.get(CaseRow, event.receipt_no)
    if case is not None and case.survey_cause:
        await notices.invite_to_survey(uow, case, event.mobile, case.survey_cause, now)
        case.survey_cause = None


async def contacts_recorded(uow: Emitter, notices: Notices, events: Sequence[ApplicantContactRecorded],
                            now: datetime) -> None:
    """:func:`contact_recorded` for the events of a consumer's batch: the contacts, the notices
    waiting for them and the cases with a survey waiting each read with one query, nothing
    flushed before the commit (the batch's caller holds the session's autoflush off)."""
    session = uow.session
    receipts = {e.receipt_no for e in events}
    contacts = await store.contacts_of(session, receipts)
    for event in events:
        values = dict(applicant_type=event.applicant_type.value, name=event.name, company_name=event.company_name,
                      mobile=event.mobile, recorded_at=event.recorded_at)
        row = contacts.get(event.receipt_no)
        if row is None:
            row = ContactRow(receipt_no=event.receipt_no, **values)
            session.add(row)
            contacts[event.receipt_no] = row
        else:
            for k, v in values.items():
                setattr(row, k, v)
    notices.wake_after_commit(session)  # for notices a concurrent transaction is committing
    for notice in await store.claim_waiting_of(session, receipts):
        await notices.advance(uow, notice, now, contact=contacts[notice.receipt_no])
    for case in await store.cases_with_survey_waiting(session, receipts):
        await notices.invite_to_survey(uow, case, contacts[case.receipt_no].mobile, case.survey_cause or "", now)
        case.survey_cause = None


async def unit_registered(uow: Emitter, event: UnitRegistered) -> None:
    """A unit's name (partner units on a joint notice)."""
    await store.upsert(uow.session, UnitRow, {"unit_code": event.unit_code}, {"unit_name": event.unit_name})


# --------------------------------------------------------------------------- applications


async def application_received(uow: Emitter, event: ApplicationReceived, known: Prefetched | None = None) -> None:
    await _case(uow, event.receipt_no, known, unit_code=event.unit_code, item_code=event.item_code,
                received_at=event.received_at)


async def applications(uow: Emitter, notices: Notices,
                       items: Sequence[tuple[ApplicationReceived | ApplicationAccepted, str]], now: datetime) -> None:
    """:func:`application_received` and :func:`application_accepted` for the events of a
    consumer's batch (``(event, event id)``, in order): the cases, the applicants' contacts and
    the notices the events caused already each read with one query, nothing flushed before the
    commit (the batch's caller holds the session's autoflush off)."""
    session = uow.session
    accepted = [(e, event_id) for e, event_id in items if isinstance(e, ApplicationAccepted)]
    known = Prefetched(cases=await store.cases_of(session, {e.receipt_no for e, _ in items}))
    if accepted:
        known.contacts = await store.contacts_of(session, {e.receipt_no for e, _ in accepted})
        known.notices = await store.notices_caused_by(session, [event_id for _, event_id in accepted])
    for event, event_id in items:
        if isinstance(event, ApplicationAccepted):
            await application_accepted(uow, notices, event, event_id, now, known)
        else:
            await application_received(uow, event, known)


async def _decided_case(uow: Emitter, event: Any, known: Prefetched | None = None) -> CaseRow:
    return await _case(uow, event.receipt_no, known, unit_code=event.unit_code, item_code=event.item_code,
                       item_name=event.item_name, unit_name=event.unit_name)


async def _notice(uow: Emitter, notices: Notices, event: Any, event_id: str, now: datetime,
                  doc_type: DocumentType, known: Prefetched | None = None, **facts: Any) -> None:
    await notices.request(uow, receipt_no=event.receipt_no, unit_code=event.unit_code, document_type=doc_type,
                          cause_event_id=event_id, facts={k: v for k, v in facts.items() if v is not None}, now=now,
                          known=known)


async def application_accepted(uow: Emitter, notices: Notices, event: ApplicationAccepted, event_id: str,
                               now: datetime, known: Prefetched | None = None) -> None:
    """The acceptance notice (not for immediate items: their decision is the written notice,
    Art. 34(2)); the joint-handling notice for joint items."""
    case = await _decided_case(uow, event, known)
    case.case_kind, case.promised_days = event.case_kind.value, event.promised_days
    case.accepted_at, case.received_at = event.accepted_at, case.received_at or event.received_at
    case.clerk_staff_id = event.staff_id or case.clerk_staff_id
    # The kind's acceptance notices (contracts/kinds.py): none for a case decided on the spot, whose
    # decision itself is the written notice (Art. 34(2)); the joint-handling notice for joint ones.
    wanted = KINDS[event.case_kind].acceptance_notices
    if DocumentType.ACCEPTANCE in wanted:
        await _notice(uow, notices, event, event_id, now, DocumentType.ACCEPTANCE, known,
                      case_kind=event.case_kind.value, promised_days=event.promised_days or None)
    if DocumentType.JOINT in wanted:
        partners = []
        for code in event.joint_units:
            unit_row = await uow.session.get(UnitRow, code)
            partners.append(unit_row.unit_name if unit_row else code)
        await _notice(uow, notices, event, event_id, now, DocumentType.JOINT, known, lead_unit=event.unit_name,
                      partner_units=partners or [event.unit_name], promised_days=event.promised_days or None)


async def supplement_requested(uow: Emitter, notices: Notices, event: SupplementRequestedV1, event_id: str,
                               now: datetime) -> None:
    """The supplement notice, listing every missing material."""
    await _decided_case(uow, event)
    await _notice(uow, notices, event, event_id, now, DocumentType.SUPPLEMENT,
                  materials=[{"name": m.name, "reason": m.reason or "请按申报要求提交"} for m in event.missing],
                  supplement_days=notices.settings.notify_supplement_days)


async def application_not_accepted(uow: Emitter, notices: Notices, event: ApplicationNotAcceptedV1, event_id: str,
                                   now: datetime) -> None:
    await _decided_case(uow, event)
    await _notice(uow, notices, event, event_id, now, DocumentType.NOT_ACCEPTED, ground="other",
                  reason=event.reason.rstrip("。"))


async def application_forwarded(uow: Emitter, notices: Notices, event: ApplicationForwardedV1, event_id: str,
                                now: datetime) -> None:
    settings = notices.settings
    case = await _decided_case(uow, event)
    await _notice(uow, notices, event, event_id, now, DocumentType.FORWARDED, higher_authority=event.authority,
                  forwarded_on=local_date(settings, event.forwarded_at),
                  accepted_on=local_date(settings, case.accepted_at or event.forwarded_at))


async def application_decided(uow: Emitter, notices: Notices, event: ApplicationDecidedV1, event_id: str,
                              now: datetime) -> None:
    """The approval or denial decision, then the survey SMS (once the contact is known)."""
    settings = notices.settings
    case = await _decided_case(uow, event)
    accepted_on = local_date(settings, case.accepted_at or event.decided_at)
    if event.outcome is DecisionOutcome.APPROVED:
        await _notice(uow, notices, event, event_id, now, DocumentType.APPROVAL, accepted_on=accepted_on,
                      pickup_place=settings.notify_pickup_place, decision_text=event.decision_text)
    else:
        await _notice(uow, notices, event, event_id, now, DocumentType.DENIAL, accepted_on=accepted_on,
                      reason=event.decision_text.rstrip("。"))
    contact = await uow.session.get(ContactRow, event.receipt_no)
    if contact is not None:
        await notices.invite_to_survey(uow, case, contact.mobile, event_id, now)
    else:
        case.survey_cause = event_id  # sent when intake.contacts catches up
        notices.wake_after_commit(uow.session)  # or by the release worker, if it is committing now


# --------------------------------------------------------------------------- the seal's answers


async def document_sealed(uow: Emitter, notices: Notices, event: DocumentSealed, now: datetime) -> None:
    """Release: short link and SMS to the applicant (a document not ours is ignored)."""
    await notices.on_sealed(uow, event, now)


async def sealing_refused(uow: Emitter, notices: Notices, event: SealingRefused, now: datetime) -> None:
    """The notice fails visibly (and the clerk is alerted)."""
    await notices.on_refused(uow, event, now)


# --------------------------------------------------------------------------- deadlines


def _item_name(case: CaseRow | None, event: Any) -> str:
    return case.item_name if case and case.item_name else (getattr(event, "item_code", "") or "")


async def extension_granted(uow: Emitter, notices: Notices, event: ExtensionGranted, event_id: str,
                            now: datetime) -> None:
    """The extension notice."""
    case = await uow.session.get(CaseRow, event.receipt_no)
    accepted = case.accepted_at if case and case.accepted_at else event.granted_at
    await notices.request(uow, receipt_no=event.receipt_no, unit_code=event.unit_code,
                          document_type=DocumentType.EXTENSION, cause_event_id=event_id, now=now,
                          facts={"reason": event.reason.rstrip("。"), "extension_days": event.days,
                                 "new_due_date": event.new_due_date.isoformat(),
                                 "accepted_on": local_date(notices.settings, accepted),
                                 "joint": bool(case and case.case_kind and KINDS[CaseKind(case.case_kind)].joint_tasks)})


async def deadline_warned(uow: Emitter, notices: Notices, event: DeadlineWarned, event_id: str,
                          now: datetime) -> None:
    """A warning to the clerk who accepted the case (else the unit's chief representatives)."""
    case = await uow.session.get(CaseRow, event.receipt_no)
    staff = await notices.responsible_staff(uow, event.receipt_no, event.unit_code)
    await staff_alert(uow, notices.settings, notices.metrics, cause_event_id=event_id, staff=staff,
                      template="staff_deadline_warned", context={
                          "receipt_no": event.receipt_no, "item_name": _item_name(case, event),
                          "due_date": event.due_date, "days_left": event.days_left},
                      receipt_no=event.receipt_no, now=now)


async def deadline_missed(uow: Emitter, notices: Notices, event: DeadlineMissed, event_id: str,
                          now: datetime) -> None:
    """Overdue: an alert to the unit's chief representatives, naming the clerk."""
    settings = notices.settings
    case = await uow.session.get(CaseRow, event.receipt_no)
    heads = list(await store.staff_by_role(uow.session, "chief_representative", event.unit_code))
    clerk = None
    if case and case.clerk_staff_id:
        clerk = await uow.session.get(StaffRow, case.clerk_staff_id)
    days = max(1, (now.astimezone(settings.quiet_hours.tz).date() - event.due_date).days)
    await staff_alert(uow, settings, notices.metrics, cause_event_id=event_id, staff=heads,
                      template="staff_deadline_overdue", context={
                          "receipt_no": event.receipt_no, "item_name": _item_name(case, event),
                          "unit_name": (case.unit_name if case and case.unit_name else event.unit_code),
                          "days_overdue": days, "clerk_name": clerk.name if clerk else "未登记"},
                      receipt_no=event.receipt_no, now=now)


async def supervision_notice_issued(uow: Emitter, notices: Notices, event: SupervisionNoticeIssued, event_id: str,
                                    now: datetime) -> None:
    """An alert to the unit's chief representatives."""
    heads = list(await store.staff_by_role(uow.session, "chief_representative", event.unit_code))
    unit = await uow.session.get(UnitRow, event.unit_code)
    await staff_alert(uow, notices.settings, notices.metrics, cause_event_id=event_id, staff=heads,
                      template="staff_supervision", context={
                          "unit_name": unit.unit_name if unit else event.unit_code, "notice_no": event.notice_no,
                          "summary": event.reason[:30], "reply_due": event.reply_due},
                      receipt_no=event.receipt_no, now=now)
