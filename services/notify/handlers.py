"""Kafka subscribers: what intake, seal, deadline and attendance tell notify, turned into notices
and SMS. Each handler runs inside the runtime's transaction with the inbox (a redelivered event
is skipped); the notice and message tables' own unique keys make a replay after a restart
harmless too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts.attendance import DutyGapDetected, StaffRegistered, StaffRole, StaffUpdated
from contracts.common import CaseKind, DocumentType
from contracts.deadline import DeadlineMissed, DeadlineWarned, ExtensionGranted, SupervisionNoticeIssued
from contracts.intake import (
    ApplicantContactRecorded, ApplicationAccepted, ApplicationDecided, ApplicationForwarded, ApplicationNotAccepted,
    ApplicationReceived, Outcome as DecisionOutcome, SupplementRequested, UnitRegistered,
)
from contracts.notify import Recipient
from contracts.seal import DocumentSealed, SealingRefused
from services.runtime.app import Service
from services.runtime.consumer import HandlerContext

from . import store
from .config import NotifySettings
from .domain import Category
from .duty import DutyGaps
from .messaging import SmsMetrics, SmsRequest, queue_sms
from .notices import Notices, local_date
from .store import CaseRow, ContactRow, StaffRow, UnitRow


def _now() -> datetime:
    return datetime.now(UTC)


async def _case(ctx: HandlerContext, receipt_no: str, **values: Any) -> CaseRow:
    values = {k: v for k, v in values.items() if v is not None}
    row = await ctx.session.get(CaseRow, receipt_no)
    if row is None:
        row = CaseRow(receipt_no=receipt_no, **values)
        ctx.session.add(row)
    else:
        for k, v in values.items():
            setattr(row, k, v)
        row.updated_at = _now()
    await ctx.session.flush()
    return row


def register(service: Service, notices: Notices, metrics: SmsMetrics, duty_gaps: DutyGaps) -> None:
    settings: NotifySettings = service.settings  # type: ignore[assignment]

    async def staff_alert(ctx: HandlerContext, staff: list[StaffRow], template: str, context: dict[str, Any],
                          receipt_no: str | None = None) -> None:
        for person in staff:
            await queue_sms(ctx, settings, SmsRequest(
                cause_event_id=ctx.event_id, template=template, category=Category.STAFF_ALERT,
                recipient_kind=Recipient.STAFF, mobile=person.mobile or "", context=context,
                receipt_no=receipt_no, staff_id=person.staff_id), _now(), metrics)

    # ------------------------------------------------------------------ intake.contacts

    @service.handler(ApplicantContactRecorded, name="contacts")
    async def on_contact(event: ApplicantContactRecorded, ctx: HandlerContext) -> None:
        await store.upsert(ctx.session, ContactRow, {"receipt_no": event.receipt_no}, dict(
            applicant_type=event.applicant_type.value, name=event.name, company_name=event.company_name,
            mobile=event.mobile, recorded_at=event.recorded_at))
        await ctx.session.flush()
        now = _now()
        await notices.on_contact(ctx, event.receipt_no, now)  # also wakes the release worker after commit
        case = await ctx.session.get(CaseRow, event.receipt_no)
        if case is not None and case.survey_cause:
            await notices.invite_to_survey(ctx, case, event.mobile, case.survey_cause, now)
            case.survey_cause = None

    # ------------------------------------------------------------------ intake.units

    @service.handler(UnitRegistered, name="units")
    async def on_unit(event: UnitRegistered, ctx: HandlerContext) -> None:
        await store.upsert(ctx.session, UnitRow, {"unit_code": event.unit_code}, {"unit_name": event.unit_name})

    # ------------------------------------------------------------------ intake.applications

    @service.handler(ApplicationReceived, ApplicationAccepted, SupplementRequested, ApplicationNotAccepted,
                     ApplicationForwarded, ApplicationDecided, name="applications")
    async def on_application(event: Any, ctx: HandlerContext) -> None:
        now = _now()
        rn, unit = event.receipt_no, event.unit_code
        if isinstance(event, ApplicationReceived):
            await _case(ctx, rn, unit_code=unit, item_code=event.item_code, received_at=event.received_at)
            return
        case = await _case(ctx, rn, unit_code=unit, item_code=event.item_code, item_name=event.item_name,
                           unit_name=event.unit_name)

        async def notice(doc_type: DocumentType, **facts: Any) -> None:
            await notices.request(ctx, receipt_no=rn, unit_code=unit, document_type=doc_type,
                                  cause_event_id=ctx.event_id, facts={k: v for k, v in facts.items() if v is not None},
                                  now=now)

        if isinstance(event, ApplicationAccepted):
            case.case_kind, case.promised_days = event.case_kind.value, event.promised_days
            case.accepted_at, case.received_at = event.accepted_at, case.received_at or event.received_at
            case.clerk_staff_id = event.staff_id or case.clerk_staff_id
            if event.case_kind is CaseKind.IMMEDIATE:
                return  # decided on the spot: the decision itself is the written notice (Art. 34(2))
            await notice(DocumentType.ACCEPTANCE, case_kind=event.case_kind.value,
                         promised_days=event.promised_days or None)
            if event.case_kind is CaseKind.JOINT:
                partners = []
                for code in event.joint_units:
                    unit_row = await ctx.session.get(UnitRow, code)
                    partners.append(unit_row.unit_name if unit_row else code)
                await notice(DocumentType.JOINT, lead_unit=event.unit_name, partner_units=partners or [event.unit_name],
                             promised_days=event.promised_days or None)
        elif isinstance(event, SupplementRequested):
            await notice(DocumentType.SUPPLEMENT,
                         materials=[{"name": m.name, "reason": m.reason or "请按申报要求提交"} for m in event.missing],
                         supplement_days=settings.notify_supplement_days)
        elif isinstance(event, ApplicationNotAccepted):
            await notice(DocumentType.NOT_ACCEPTED, ground="other", reason=event.reason.rstrip("。"))
        elif isinstance(event, ApplicationForwarded):
            await notice(DocumentType.FORWARDED, higher_authority=event.authority,
                         forwarded_on=local_date(settings, event.forwarded_at),
                         accepted_on=local_date(settings, case.accepted_at or event.forwarded_at))
        elif isinstance(event, ApplicationDecided):
            accepted_on = local_date(settings, case.accepted_at or event.decided_at)
            if event.outcome is DecisionOutcome.APPROVED:
                await notice(DocumentType.APPROVAL, accepted_on=accepted_on, pickup_place=settings.notify_pickup_place,
                             decision_text=event.decision_text)
            else:
                await notice(DocumentType.DENIAL, accepted_on=accepted_on, reason=event.decision_text.rstrip("。"))
            contact = await ctx.session.get(ContactRow, rn)
            if contact is not None:
                await notices.invite_to_survey(ctx, case, contact.mobile, ctx.event_id, now)
            else:
                case.survey_cause = ctx.event_id  # sent when intake.contacts catches up
                notices.wake_after_commit(ctx.session)  # or by the release worker, if it is committing now

    # ------------------------------------------------------------------ seal.documents

    @service.handler(DocumentSealed, SealingRefused, name="sealing")
    async def on_sealing(event: Any, ctx: HandlerContext) -> None:
        if isinstance(event, DocumentSealed):
            await notices.on_sealed(ctx, event, _now())
        else:
            await notices.on_refused(ctx, event, _now())

    # ------------------------------------------------------------------ deadline

    @service.handler(ExtensionGranted, DeadlineWarned, DeadlineMissed, name="deadlines")
    async def on_clock(event: Any, ctx: HandlerContext) -> None:
        case = await ctx.session.get(CaseRow, event.receipt_no)
        item_name = case.item_name if case and case.item_name else (getattr(event, "item_code", "") or "")
        if isinstance(event, ExtensionGranted):
            accepted = case.accepted_at if case and case.accepted_at else event.granted_at
            await notices.request(ctx, receipt_no=event.receipt_no, unit_code=event.unit_code,
                                  document_type=DocumentType.EXTENSION, cause_event_id=ctx.event_id, now=_now(),
                                  facts={"reason": event.reason.rstrip("。"), "extension_days": event.days,
                                         "new_due_date": event.new_due_date.isoformat(),
                                         "accepted_on": local_date(settings, accepted),
                                         "joint": bool(case and case.case_kind == CaseKind.JOINT.value)})
        elif isinstance(event, DeadlineWarned):
            staff = await notices.responsible_staff(ctx, event.receipt_no, event.unit_code)
            await staff_alert(ctx, staff, "staff_deadline_warned", {
                "receipt_no": event.receipt_no, "item_name": item_name, "due_date": event.due_date,
                "days_left": event.days_left}, event.receipt_no)
        else:
            heads = list(await store.staff_by_role(ctx.session, "chief_representative", event.unit_code))
            clerk = None
            if case and case.clerk_staff_id:
                clerk = await ctx.session.get(StaffRow, case.clerk_staff_id)
            days = max(1, (_now().astimezone(settings.quiet_hours.tz).date() - event.due_date).days)
            await staff_alert(ctx, heads, "staff_deadline_overdue", {
                "receipt_no": event.receipt_no, "item_name": item_name,
                "unit_name": (case.unit_name if case and case.unit_name else event.unit_code),
                "days_overdue": days, "clerk_name": clerk.name if clerk else "未登记"}, event.receipt_no)

    @service.handler(SupervisionNoticeIssued, name="supervision")
    async def on_supervision(event: SupervisionNoticeIssued, ctx: HandlerContext) -> None:
        heads = list(await store.staff_by_role(ctx.session, "chief_representative", event.unit_code))
        unit = await ctx.session.get(UnitRow, event.unit_code)
        await staff_alert(ctx, heads, "staff_supervision", {
            "unit_name": unit.unit_name if unit else event.unit_code, "notice_no": event.notice_no,
            "summary": event.reason[:30], "reply_due": event.reply_due}, event.receipt_no)

    # ------------------------------------------------------------------ attendance

    @service.handler(StaffRegistered, StaffUpdated, name="staff")
    async def on_staff(event: Any, ctx: HandlerContext) -> None:
        await store.upsert(ctx.session, StaffRow, {"staff_id": event.staff_id}, dict(
            name=event.name, unit_code=event.unit_code, unit_name=event.unit_name, window_no=event.window_no,
            role=event.role.value, mobile=event.mobile, active=event.active))
        if event.role is StaffRole.DUTY_MANAGER and event.active and event.mobile:
            await ctx.session.flush()
            await duty_gaps.on_manager(ctx, _now())  # also wakes the release worker after commit

    @service.handler(DutyGapDetected, name="duty")
    async def on_duty_gap(event: DutyGapDetected, ctx: HandlerContext) -> None:
        # Held, not dropped, while no duty manager is known yet (duty.py).
        await duty_gaps.on_gap(ctx, event, ctx.event_id, _now())
