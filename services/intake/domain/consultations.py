"""Consultations (咨询) under first-inquiry responsibility (首问负责制): the staff member who
first receives a question is recorded as responsible for seeing it through."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from contracts.common import Channel
from contracts.intake import ConsultationAnswered, ConsultationOutcome, ConsultationRecorded

from .access import UNIT_ROLES, Actor
from services.runtime.errors import InvalidInput, InvalidState, NotAllowed

MAX_TEXT = 1000


class Consultation(BaseModel):
    consultation_id: str
    unit_code: str
    staff_id: str
    channel: Channel
    item_code: str | None = None
    question: str
    outcome: ConsultationOutcome
    answer: str | None = None
    referred_to_unit: str | None = None
    recorded_at: datetime


def record_consultation(actor: Actor, at: datetime, *, consultation_id: str, channel: Channel,
                        question: str, outcome: ConsultationOutcome, item_code: str | None = None,
                        item_unit: str | None = None, answer: str | None = None,
                        referred_to_unit: str | None = None) -> tuple[Consultation, list[ConsultationRecorded]]:
    """Record a consultation received by `actor` (the first-inquiry person). `item_unit` is the
    unit owning `item_code` (any unit's item may be asked about; the first receiver stays
    responsible)."""
    if actor.role not in UNIT_ROLES or not actor.unit_code:
        raise NotAllowed(None, "咨询由窗口工作人员登记（首问负责人）")
    question = (question or "").strip()
    if not question:
        raise InvalidInput("question", "请简要记录咨询内容")
    if len(question) > MAX_TEXT:
        raise InvalidInput("question", f"咨询内容不能超过{MAX_TEXT}字")
    if item_code and item_unit is None:
        raise InvalidInput("item_code", f"事项编码 {item_code} 不存在")
    if outcome is ConsultationOutcome.REFERRED:
        if not referred_to_unit:
            raise InvalidInput("referred_to_unit", "转交其他单位的咨询，请填写转交单位（首问负责人继续跟踪）")
        if referred_to_unit == actor.unit_code:
            raise InvalidInput("referred_to_unit", "不能转交给本单位")
    elif referred_to_unit:
        raise InvalidInput("referred_to_unit", "只有转交其他单位时才填写转交单位")
    c = Consultation(consultation_id=consultation_id, unit_code=actor.unit_code, staff_id=actor.staff_id,
                     channel=channel, item_code=item_code, question=question, outcome=outcome,
                     answer=(answer or "").strip() or None, referred_to_unit=referred_to_unit, recorded_at=at)
    # The question and answer are free text (may name people): they stay in intake's store.
    return c, [ConsultationRecorded(consultation_id=consultation_id, unit_code=actor.unit_code,
                                    staff_id=actor.staff_id, channel=channel, item_code=item_code,
                                    outcome=outcome, referred_to_unit=referred_to_unit, recorded_at=at)]


# --------------------------------------------------------------------------- followed to closure

#: Outcomes that leave a consultation open until somebody answers it.
OPEN_OUTCOMES = frozenset({ConsultationOutcome.REFERRED, ConsultationOutcome.FOLLOW_UP})


def answer_consultation(c: Consultation, actor: Actor, at: datetime, *, answer: str,
                        already_answered: bool) -> tuple[str, list[ConsultationAnswered]]:
    """Close a consultation left open. A referred one is answered by the unit it was referred to
    (or relayed by the first-inquiry person); one to be followed up, by its own unit. Once only.
    Returns the cleaned answer and the event."""
    if c.outcome not in OPEN_OUTCOMES:
        raise InvalidState("consultation_id", "该咨询已当场答复，无需再答复")
    if already_answered:
        raise InvalidState("consultation_id", "该咨询已答复")
    if actor.role not in UNIT_ROLES or not actor.unit_code:
        raise NotAllowed(None, "咨询由窗口单位工作人员答复")
    answering_unit = c.referred_to_unit if c.outcome is ConsultationOutcome.REFERRED else c.unit_code
    if actor.staff_id != c.staff_id and actor.unit_code != answering_unit:
        raise NotAllowed(None, "只有转交的单位或首问负责人可以答复该咨询")
    text = (answer or "").strip()
    if not text:
        raise InvalidInput("answer", "请填写答复内容")
    if len(text) > MAX_TEXT:
        raise InvalidInput("answer", f"答复内容不能超过{MAX_TEXT}字")
    if at < c.recorded_at:
        raise InvalidInput("answered_at", "答复时间早于咨询登记时间")
    return text, [ConsultationAnswered(
        consultation_id=c.consultation_id, unit_code=c.unit_code, staff_id=c.staff_id,
        referred_to_unit=c.referred_to_unit, answered_by=actor.staff_id, answered_by_unit=actor.unit_code,
        recorded_at=c.recorded_at, answered_at=at)]


class FirstInquiryCount(BaseModel):
    """One first-inquiry staff member's consultations in a month (首问负责统计)."""

    staff_id: str
    unit_code: str
    received: int = 0            # consultations they first received
    answered_at_once: int = 0    # answered, guide given or application filed at once
    referred: int = 0            # referred to another unit
    followed_up: int = 0         # to be answered later by their own unit
    closed_later: int = 0        # of the referred and followed up: answered since
    still_open: int = 0          # of the referred and followed up: not answered yet
    average_hours_to_answer: float | None = None


def first_inquiry_counts(rows: list[tuple[Consultation, datetime | None]]) -> list[FirstInquiryCount]:
    """Per first-inquiry staff member: ``rows`` are consultations with when each open one was
    answered (None: not yet)."""
    out: dict[str, FirstInquiryCount] = {}
    waits: dict[str, list[float]] = {}
    for c, answered_at in rows:
        n = out.setdefault(c.staff_id, FirstInquiryCount(staff_id=c.staff_id, unit_code=c.unit_code))
        n.received += 1
        if c.outcome is ConsultationOutcome.REFERRED:
            n.referred += 1
        elif c.outcome is ConsultationOutcome.FOLLOW_UP:
            n.followed_up += 1
        else:
            n.answered_at_once += 1
            continue
        if answered_at is None:
            n.still_open += 1
        else:
            n.closed_later += 1
            waits.setdefault(c.staff_id, []).append((answered_at - c.recorded_at).total_seconds() / 3600)
    for staff_id, hours in waits.items():
        out[staff_id].average_hours_to_answer = round(sum(hours) / len(hours), 1)
    return sorted(out.values(), key=lambda n: (-n.received, n.staff_id))
