"""The year-end assessment notice (年终考核结果通知书, issue 22): the center's decision on a staff
member's grade (``StaffAssessmentDecided``, attendance's internal topic) goes to the staff
member's unit as a notice sealed with the CENTER's seal — the center decides, so the center seals.

The saga is the case notices' (usecases/notices.py) without an applicant: render the notice
(templates/notices/assessment.xml.j2, the same layout and PDF renderer), ask seal to seal it with
a ``SealDocument`` v2 of no case (``receipt_no`` null, ``reference`` the assessment,
``document_type`` ``assessment``, the center's unit code), and keep the outcome. Nobody outside
gets an SMS: the unit's head and the center's supervisors and admins read the sealed notice
through notify's API (``api/assessments.py``). The staff member's name and grade stay in this
table and on internal topics; no public event is emitted.

Idempotent: one notice per decision event (``cause_event_id`` unique), a seal answer matched by
its ``request_id``; a redelivered answer changes nothing.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from datetime import datetime
from typing import Any, Sequence

import httpx
from sqlmodel import select

from contracts.attendance import GRADE_LABELS, StaffAssessmentDecided
from contracts.seal import (
    CENTER_DOCUMENT_TITLES, CenterDocumentType, DocumentFormat, DocumentSealed, SealBoxSpec, SealDocument,
    SealingRefused,
)
from services.runtime import clock
from services.runtime.auth import Staff
from services.runtime.errors import InvalidInput, InvalidState, NotAllowed, NotFound, Unavailable
from services.runtime.params import plausible_key

from .. import store
from ..adapters import notice_pdf, rendering
from ..config import NotifySettings
from ..store import AssessmentNoticeRow
from .messages import Emitter, SmsMetrics
from .notices import local_date, seal_content

log = logging.getLogger(__name__)

KIND = CenterDocumentType.ASSESSMENT
TITLE = CENTER_DOCUMENT_TITLES[KIND]
TEMPLATE = "notices/assessment.xml.j2"
#: The character in the notice's number (文号), e.g. 中心考〔2026〕0001号.
NUMBER_PREFIX = "考"

#: How long a reader waits for the sealed file from the seal service.
FETCH_TIMEOUT_SECONDS = 30

REQUESTED, RELEASED, FAILED = "requested", "released", "failed"
STATES = frozenset({REQUESTED, RELEASED, FAILED})


def _label(grade: Any) -> str:
    return GRADE_LABELS[grade] if grade is not None else ""


def facts_of(event: StaffAssessmentDecided) -> dict[str, Any]:
    """What the notice says, kept with the row (a retry renders the same words)."""
    p = event.parts
    return {
        "staff_name": event.name, "unit_name": event.unit_name or event.unit_code, "window_no": event.window_no,
        "year": event.year, "grade": event.grade.value, "grade_label": _label(event.grade),
        "proposed_grade_label": _label(event.proposed_grade), "score": event.score, "formula": event.formula,
        "parts": {
            "attendance_score": p.attendance_score, "satisfaction_index": p.satisfaction_index,
            "on_time_percent": round(p.on_time_rate * 100, 1) if p.on_time_rate is not None else None,
            "violations": p.violations, "awards": p.awards,
        },
        "note": event.note, "on_appeal": event.on_appeal, "previous_grade_label": _label(event.previous_grade),
        "appeal_reason": event.appeal_reason, "decided_by": event.decided_by,
        "decided_by_name": event.decided_by_name, "decided_at": event.decided_at.isoformat(),
    }


def render(settings: NotifySettings, row: AssessmentNoticeRow, issued_on: str) -> rendering.NoticeDocument:
    """The notice as a document (laid out by ``notice_pdf``), from the row's facts."""
    context = {**row.facts, "title": TITLE, "document_no": row.document_no, "issued_on": issued_on,
               "center_name": settings.notify_center_name, "center_phone": settings.notify_center_phone,
               "decided_on": row.facts.get("decided_at")}
    xml = rendering.environment().get_template(TEMPLATE).render(**context)
    return rendering.parse_notice_xml(xml)


# --------------------------------------------------------------------------- the saga


async def assessment_decided(uow: Emitter, settings: NotifySettings, metrics: SmsMetrics,
                             event: StaffAssessmentDecided, event_id: str, now: datetime) -> AssessmentNoticeRow | None:
    """A decision (first, or on appeal): its notice rendered and sent to the seal service; None
    when this event made one already (a replay past the inbox)."""
    session = uow.session
    existing = (await session.exec(select(AssessmentNoticeRow)
                                   .where(AssessmentNoticeRow.cause_event_id == event_id))).first()
    if existing is not None:
        return None
    row = AssessmentNoticeRow(
        id=uuid.uuid4().hex, cause_event_id=event_id, assessment_id=event.assessment_id, year=event.year,
        staff_id=event.staff_id, unit_code=event.unit_code, seal_unit_code=settings.notify_center_unit_code,
        on_appeal=event.on_appeal, state=REQUESTED, facts=facts_of(event), created_at=now, updated_at=now)
    session.add(row)
    await session.flush()
    await request_seal(uow, settings, metrics, row, now)
    return row


async def request_seal(uow: Emitter, settings: NotifySettings, metrics: SmsMetrics, row: AssessmentNoticeRow,
                       now: datetime) -> None:
    """Render the notice and ask for the center's seal (a notice that cannot be rendered fails
    visibly: state ``failed`` with the reason, for the center to retry)."""
    today = local_date(settings, now) or now.date().isoformat()
    if row.document_no is None:
        year = int(today[:4])
        serial = await store.next_serial(uow.session, row.seal_unit_code, NUMBER_PREFIX, year)
        row.document_no = f"中心{NUMBER_PREFIX}〔{year}〕{serial:04d}号"
    issued_on = row.facts.get("issued_on") or today
    row.facts = {**row.facts, "issued_on": issued_on}
    try:
        doc = render(settings, row, issued_on)
        rendered = await asyncio.to_thread(notice_pdf.render_pdf, doc, font_path=str(settings.notify_cjk_font))
    except Exception as exc:  # noqa: BLE001 - a notice that cannot be produced fails visibly
        log.exception("assessment notice %s could not be rendered", row.id)
        _fail(row, "render_failed", f"{type(exc).__name__}: {exc}", now, metrics)
        return
    row.attempts += 1
    row.request_id = f"{row.id}-{row.attempts}"
    row.state, row.requested_at, row.updated_at = REQUESTED, now, now
    row.failure_reason = row.failure_detail = None
    box = rendered.seal_box
    formats = [DocumentFormat(f) for f in settings.seal_formats]
    await uow.emit(SealDocument(
        request_id=row.request_id, receipt_no=None, reference=row.assessment_id, unit_code=row.seal_unit_code,
        document_type=KIND, title=TITLE,
        pdf_base64=base64.b64encode(rendered.pdf).decode() if DocumentFormat.PDF in formats else None,
        content=seal_content(doc, issued_on) if DocumentFormat.OFD in formats else None,
        seal_box=SealBoxSpec(page=box.page - 1, x1=box.x, y1=box.y, x2=box.x + box.width, y2=box.y + box.height),
        requested_by="notify", formats=formats, printed_no=row.document_no,
    ), id=f"seal-{row.request_id}")
    metrics.notices.labels(KIND.value, "requested").inc()


def _fail(row: AssessmentNoticeRow, reason: str, detail: str, now: datetime, metrics: SmsMetrics) -> None:
    row.state, row.failure_reason, row.failure_detail, row.updated_at = FAILED, reason, detail, now
    metrics.notices.labels(KIND.value, "failed").inc()


async def on_sealed(uow: Emitter, metrics: SmsMetrics, event: DocumentSealed, now: datetime) -> AssessmentNoticeRow | None:
    """Seal's answer: the notice is released to its unit (None: not one of ours, or answered already)."""
    row = await store.assessment_notice_by_request(uow.session, event.request_id)
    if row is None or row.state == RELEASED:
        return None
    row.state, row.sealed_at, row.sealed_document_no = RELEASED, event.signed_at, event.document_no
    row.sealed_files = [{"format": f.format.value, "url": f.url, "sha256": f.sha256, "size_bytes": f.size_bytes}
                        for f in event.files] or [{"format": "pdf", "url": event.url, "sha256": event.sha256,
                                                   "size_bytes": event.size_bytes}]
    row.failure_reason = row.failure_detail = None
    row.updated_at = now
    metrics.notices.labels(KIND.value, "released").inc()
    log.info("assessment notice %s sealed as %s", row.id, event.document_no)
    return row


async def on_refused(uow: Emitter, metrics: SmsMetrics, event: SealingRefused, now: datetime) -> AssessmentNoticeRow | None:
    row = await store.assessment_notice_by_request(uow.session, event.request_id)
    if row is None or row.state != REQUESTED:
        return None
    _fail(row, "sealing_refused", f"{event.reason}（{event.reason_code.value}）", now, metrics)
    log.warning("assessment notice %s refused by seal: %s", row.id, event.reason_code.value)
    return row


async def sweep_timeouts(service: Any, settings: NotifySettings, metrics: SmsMetrics,
                         now: datetime | None = None) -> int:
    """Fail (visibly, for the center to retry) the notices whose seal did not answer within
    ``notify_seal_timeout_seconds``, as the case notices do; a late answer still releases one."""
    now = now or clock.now()
    async with service.uow() as uow:
        rows = (await uow.session.exec(
            select(AssessmentNoticeRow)
            .where(AssessmentNoticeRow.state == REQUESTED, AssessmentNoticeRow.requested_at <= now - settings.seal_timeout)
            .order_by(AssessmentNoticeRow.requested_at).limit(100))).all()
        minutes = int(settings.seal_timeout.total_seconds() // 60)
        for row in rows:
            _fail(row, "sealing_timed_out", f"印章服务{minutes}分钟内未答复", now, metrics)
            uow.session.add(row)
        await uow.commit()
    return len(rows)


async def timeouts_forever(service: Any) -> None:
    """The sweep every quarter of the timeout (30 s at most): the worker ``app.py`` registers."""
    state = service.state
    while True:
        await sweep_timeouts(service, state.settings, state.metrics)
        await asyncio.sleep(min(30.0, state.settings.notify_seal_timeout_seconds / 4))


# --------------------------------------------------------------------------- staff's requests
# The unit's head reads its own unit's notices; supervisors and the center admin every unit's
# (the route admits only those roles: services.runtime.auth.UnitHead). Clerks: 403.


def _check_reader(staff: Staff, unit_code: str | None) -> str | None:
    """The unit whose notices ``staff`` may list (None: every unit, center-wide roles)."""
    if staff.center_wide:
        return unit_code
    if unit_code is not None and unit_code != staff.unit:
        raise NotAllowed("unit_code", "只能查看本单位的年终考核结果通知书")
    return staff.unit


async def search(uow: Emitter, staff: Staff, *, unit_code: str | None, year: int | None, staff_id: str | None,
                 limit: int, offset: int) -> tuple[int, Sequence[AssessmentNoticeRow]]:
    unit = _check_reader(staff, unit_code)
    return await store.search_assessment_notices(uow.session, unit_code=unit, year=year, staff_id=staff_id,
                                                 limit=limit, offset=offset)


async def get(uow: Emitter, staff: Staff, notice_id: str) -> AssessmentNoticeRow:
    row = await uow.session.get(AssessmentNoticeRow, notice_id) if plausible_key(notice_id, 32) else None
    if row is None:
        raise NotFound("notice_id", "没有这份年终考核结果通知书")
    if not staff.center_wide and staff.unit != row.unit_code:
        raise NotAllowed("notice_id", "只能查看本单位的年终考核结果通知书")
    return row


def sealed_file(row: AssessmentNoticeRow, fmt: str) -> dict[str, Any]:
    if fmt not in ("pdf", "ofd"):
        raise InvalidInput("format", "文件格式只能是 pdf 或 ofd")
    if row.state != RELEASED:
        raise InvalidState("notice_id", "通知书尚未加盖印章")
    for f in row.sealed_files or []:
        if f.get("format") == fmt:
            return f
    raise NotFound("format", f"这份通知书没有 {fmt} 格式的文件")


async def fetch_sealed(settings: NotifySettings, row: AssessmentNoticeRow, fmt: str) -> bytes:
    """The sealed file from the seal service (its capability URL stays between the services), its
    digest checked against the one seal announced."""
    import hashlib

    f = sealed_file(row, fmt)
    try:
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS) as client:
            r = await client.get(f["url"])
    except httpx.HTTPError as exc:
        log.warning("sealed file of assessment notice %s unreachable: %s", row.id, exc)
        raise Unavailable("notice_id", "印章服务暂时无法访问，请稍后重试") from None
    if r.status_code != 200 or hashlib.sha256(r.content).hexdigest() != f.get("sha256"):
        log.warning("sealed file of assessment notice %s: HTTP %s or digest mismatch", row.id, r.status_code)
        raise Unavailable("notice_id", "盖章文件暂时无法取得，请稍后重试")
    return r.content


async def retry(uow: Emitter, settings: NotifySettings, metrics: SmsMetrics, notice_id: str,
                now: datetime) -> AssessmentNoticeRow:
    """The center sends a failed notice to the seal service again (same number, same words)."""
    row = await uow.session.get(AssessmentNoticeRow, notice_id) if plausible_key(notice_id, 32) else None
    if row is None:
        raise NotFound("notice_id", "没有这份年终考核结果通知书")
    if row.state != FAILED:
        raise InvalidState("notice_id", f"通知书当前状态为 {row.state}，只有失败的通知书可以重新用印")
    await request_seal(uow, settings, metrics, row, now)
    return row
