"""领办代办 (lead and agent handling): a staff member takes charge of a case for an applicant who
needs it (an elderly or disabled person, a key project) and sees it through every unit and step
until it is finished or handed back. Pure rules, no I/O.

Privacy: why a case is led says something about the applicant (age, disability), so the reason
and the note stay in intake's store and the staff view; the public status says only that a
dedicated person leads the case and from which unit (有专人领办), and the public events carry
the staff id (as every public case event does) but no reason.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel

from contracts.common import Role
from contracts.intake import CaseLeadReleased, CaseLeadTaken
from services.runtime.errors import InvalidInput, InvalidState, NotAllowed

from .access import UNIT_ROLES, Actor

if TYPE_CHECKING:
    from .cases import Application

MAX_NOTE = 500

#: Who may take charge of a case: window staff (of a unit the case involves) and the center's admin.
LEAD_ROLES = UNIT_ROLES | {Role.CENTER_ADMIN}


class LeadReason(StrEnum):
    ELDERLY = "elderly"          # 老年人
    DISABLED = "disabled"        # 残疾人
    KEY_PROJECT = "key_project"  # 重点项目
    OTHER = "other"              # 其他（须说明）

    @property
    def label(self) -> str:
        return LEAD_REASON_LABELS[self]


LEAD_REASON_LABELS = {
    LeadReason.ELDERLY: "老年人",
    LeadReason.DISABLED: "残疾人",
    LeadReason.KEY_PROJECT: "重点项目",
    LeadReason.OTHER: "其他",
}


class CaseLead(BaseModel):
    """One staff member's charge of a case: who, why, when, and when it ended."""

    lead_id: str
    staff_id: str
    staff_name: str | None = None
    staff_unit: str | None = None
    staff_unit_name: str | None = None
    reason: LeadReason
    note: str | None = None
    taken_at: datetime
    released_at: datetime | None = None
    released_by: str | None = None
    release_note: str | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None


def current_lead(app: "Application") -> CaseLead | None:
    return next((lead for lead in app.leads if lead.active), None)


def holding_units(app: "Application") -> list[str]:
    """The unit(s) that hold the case now: during a joint review (联办) the participating units
    that have not answered yet; otherwise the unit whose window handles it (none once finished)."""
    if app.status.final:
        return []
    if app.status.value == "joint_review":
        waiting = [t.unit_name for t in app.joint_tasks if t.answer is None]
        if waiting:
            return waiting
    return [app.unit_name]


def _note(value: str | None, field: str) -> str | None:
    text = (value or "").strip() or None
    if text and len(text) > MAX_NOTE:
        raise InvalidInput(field, f"说明不能超过{MAX_NOTE}字")
    return text


def take_lead(app: "Application", actor: Actor, at: datetime, *, lead_id: str, reason: LeadReason,
              note: str | None = None, staff_name: str | None = None,
              staff_unit_name: str | None = None) -> list[CaseLeadTaken]:
    """``actor`` takes charge of the case. One person leads a case at a time; a finished case
    needs nobody; "other" needs a note saying why."""
    if actor.role not in LEAD_ROLES:
        raise NotAllowed(None, "领办代办由窗口工作人员或中心管理员承担")
    # Window staff lead the cases their unit takes part in (its own, or as a joint unit); the
    # center's admin any case. Taking charge must not open other units' cases to anybody.
    units = {app.unit_code, *(t.unit_code for t in app.joint_tasks)}
    if actor.role is not Role.CENTER_ADMIN and actor.unit_code not in units:
        raise NotAllowed(None, "只能领办本单位办理或参与联办的案件")
    if app.status.final:
        raise InvalidState("receipt_no", "案件已办结，无需领办")
    held = current_lead(app)
    if held is not None:
        who = "您" if held.staff_id == actor.staff_id else (held.staff_name or held.staff_id)
        raise InvalidState("receipt_no", f"该案件已由{who}领办，请先解除后再由他人领办")
    text = _note(note, "note")
    if reason is LeadReason.OTHER and not text:
        raise InvalidInput("note", "领办原因为“其他”时，请说明原因")
    lead = CaseLead(lead_id=lead_id, staff_id=actor.staff_id, staff_name=(staff_name or "").strip() or None,
                    staff_unit=actor.unit_code, staff_unit_name=staff_unit_name, reason=reason, note=text,
                    taken_at=at)
    app.leads.append(lead)
    # The public timeline names the unit, never the person or the reason.
    app._step(at, "lead_taken", f"已安排专人领办（{staff_unit_name or '政务服务中心'}）")
    event = CaseLeadTaken(lead_id=lead_id, receipt_no=app.receipt_no, unit_code=app.unit_code,
                          staff_id=actor.staff_id, staff_unit=actor.unit_code, taken_at=at)
    app._emit(event)
    return [event]


def release_lead(app: "Application", actor: Actor, at: datetime, *, note: str | None = None) -> list[CaseLeadReleased]:
    """The lead ends: by the person in charge, or by the center (supervisor, admin)."""
    lead = current_lead(app)
    if lead is None:
        raise InvalidState("receipt_no", "该案件当前没有领办人")
    if actor.staff_id != lead.staff_id and not actor.oversees:
        raise NotAllowed(None, "只有领办人本人或中心督查、管理员可以解除领办")
    lead.release_note = _note(note, "note")
    lead.released_at, lead.released_by = at, actor.staff_id
    app._step(at, "lead_released", "专人领办结束")
    event = CaseLeadReleased(lead_id=lead.lead_id, receipt_no=app.receipt_no, unit_code=app.unit_code,
                             staff_id=lead.staff_id, released_by=actor.staff_id, taken_at=lead.taken_at,
                             released_at=at)
    app._emit(event)
    return [event]


class LeadCount(BaseModel):
    """Cases one staff member led in a period (领办代办统计)."""

    staff_id: str
    staff_name: str | None = None
    staff_unit: str | None = None
    taken: int = 0
    active: int = 0
    released: int = 0
    by_reason: dict[str, int] = {}


def count_leads(leads: list[CaseLead]) -> list[LeadCount]:
    """Per staff member: leads taken, still active, released, and by reason (most taken first)."""
    out: dict[str, LeadCount] = {}
    for lead in leads:
        c = out.setdefault(lead.staff_id, LeadCount(staff_id=lead.staff_id, staff_name=lead.staff_name,
                                                    staff_unit=lead.staff_unit, by_reason={}))
        c.staff_name = c.staff_name or lead.staff_name
        c.taken += 1
        c.active += lead.active
        c.released += not lead.active
        c.by_reason[lead.reason.value] = c.by_reason.get(lead.reason.value, 0) + 1
    return sorted(out.values(), key=lambda c: (-c.taken, c.staff_id))
