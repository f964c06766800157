"""Consultations (咨询) under first-inquiry responsibility (首问负责制): the staff member who
first receives a question is recorded as responsible for seeing it through."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from contracts.common import Channel
from contracts.intake import ConsultationOutcome, ConsultationRecorded

from .access import UNIT_ROLES, Actor
from services.runtime.errors import InvalidInput, NotAllowed

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
