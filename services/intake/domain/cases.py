"""The rules of a case (办件) from the window to the decision, through the six kinds (六件管理).

States::

    received ──(materials complete)──────────────> accepted ──decide──> decided
       │  └──(incomplete: one-time notice)──> awaiting_supplement ──(all brought)──┘
       └──not_accept──> not_accepted (退回件)  <──not_accept── awaiting_supplement

    accepted ──request (in review, clock stops)──> supplement_in_review ──(all brought)──> back
    joint:       accepted as joint_review; when every participating unit answered ──> accepted
    reported-up: accepted ──forward──> forwarded ──higher authority answered──> accepted

Every transition returns the events it causes (and the aggregate collects them).
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Iterable

from pydantic import BaseModel, Field, PrivateAttr

from contracts.base import Event
from contracts.common import ApplicantType, CaseKind, Channel, mask_mobile, mask_name, mask_resident_id
from contracts.kinds import CaseStep, KindRules, rules_of
from contracts.intake import (
    ApplicantContactRecorded,
    ApplicantPublic,
    ApplicationAccepted,
    ApplicationDecided,
    ApplicationForwarded,
    ApplicationNotAccepted,
    ApplicationReceived,
    DecisionTextRecorded,
    ForwardingTextRecorded,
    HigherAnswerTextRecorded,
    HigherAuthorityAnswered,
    JointAnswer,
    JointOpinionRecorded,
    JointTaskAnswered,
    JointTaskOpened,
    MaterialRef,
    MissingMaterial,
    NotAcceptedReason,
    NotAcceptedTextRecorded,
    Outcome,
    OverrideTextRecorded,
    RatingLevel,
    RatingSubmitted,
    SupplementOverrideRecorded,
    SupplementProvided,
    SupplementRequested,
    SupplementStage,
    SupplementTextRecorded,
)

from . import identifiers
from .access import Actor, require_oversight, require_unit_staff
from .catalog import ItemVersion
from .leads import CaseLead, current_lead, holding_units
from services.runtime.errors import InvalidInput, InvalidState, NotAllowed
from services.runtime.workdays import WorkCalendar, is_weekend, local_date, national_calendar

# --------------------------------------------------------------------------- receipt numbers

#: The random part of a receipt number: no 0/O, 1/I/L (read out over the phone, typed by the public).
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECEIPT_RANDOM_LENGTH = 8
# Old numbers (``2024-LYJ-00042``, sequential) stay valid; new ones end in 8 random characters.
RECEIPT_NO = re.compile(r"^(\d{4})-([A-Z][A-Z0-9]{1,11})-(\d{5,}|[2-9A-HJKMNP-Z]{8})$")


def receipt_number(year: int, unit_code: str, seq: int) -> str:
    """``<year>-<unit>-<sequence>``: the unit's register number (登记序号), gap-free, restarting
    every year. It was the receipt number until receipt numbers became unguessable; it stays the
    case's internal register number (staff only) and old receipt numbers have this form."""
    if seq < 1:
        raise ValueError("sequence starts at 1")
    return f"{year:04d}-{unit_code}-{seq:05d}"


def random_receipt_number(year: int, unit_code: str) -> str:
    """``<year>-<unit>-<8 random characters>`` (31^8 ≈ 8.5·10^11 per unit and year): it reveals
    neither the unit's volume nor the next number, so numbers cannot be enumerated."""
    tail = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_RANDOM_LENGTH))
    return f"{year:04d}-{unit_code}-{tail}"


def normalize_receipt_no(value: str) -> str | None:
    """The canonical receipt number, or None when it cannot be one (typed by the public)."""
    v = re.sub(r"\s+", "", value or "").upper()
    return v if RECEIPT_NO.fullmatch(v) else None


# --------------------------------------------------------------------------- applicant


class Applicant(BaseModel):
    """The applicant with full data (kept in intake's store and the internal contacts topic)."""

    type: ApplicantType
    name: str  # a person's name, or a company's contact person (经办人)
    mobile: str
    resident_id: str | None = None
    company_name: str | None = None
    credit_code: str | None = None

    @classmethod
    def person(cls, *, name: str, resident_id: str, mobile: str, today: date | None = None) -> "Applicant":
        return cls(
            type=ApplicantType.PERSON,
            name=identifiers.person_name(name, field="applicant.name"),
            resident_id=identifiers.resident_id(resident_id, field="applicant.resident_id", today=today),
            mobile=identifiers.mobile(mobile, field="applicant.mobile"),
        )

    @classmethod
    def company(cls, *, company_name: str, credit_code: str, contact_name: str, mobile: str) -> "Applicant":
        company_name = identifiers.company_name(company_name, field="applicant.company_name")
        return cls(
            type=ApplicantType.COMPANY,
            name=identifiers.person_name(contact_name, field="applicant.name"),
            company_name=company_name,
            credit_code=identifiers.credit_code(credit_code, field="applicant.credit_code"),
            mobile=identifiers.mobile(mobile, field="applicant.mobile"),
        )

    def public(self) -> ApplicantPublic:
        return ApplicantPublic(
            type=self.type,
            masked_name=mask_name(self.name),
            masked_resident_id=mask_resident_id(self.resident_id) if self.resident_id else None,
            company_name=self.company_name,
            credit_code=self.credit_code,
            masked_mobile=mask_mobile(self.mobile),
        )

    @property
    def display_name(self) -> str:
        """What the public page shows: a company in full, a person masked."""
        return self.company_name or mask_name(self.name)


# --------------------------------------------------------------------------- the case


class Status(StrEnum):
    RECEIVED = "received"
    AWAITING_SUPPLEMENT = "awaiting_supplement"
    NOT_ACCEPTED = "not_accepted"
    ACCEPTED = "accepted"
    SUPPLEMENT_IN_REVIEW = "supplement_in_review"
    JOINT_REVIEW = "joint_review"
    FORWARDED = "forwarded"
    DECIDED = "decided"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def final(self) -> bool:
        return self in (Status.NOT_ACCEPTED, Status.DECIDED)


STATUS_LABELS = {
    Status.RECEIVED: "已收件",
    Status.AWAITING_SUPPLEMENT: "待补正材料",
    Status.NOT_ACCEPTED: "不予受理（退回）",
    Status.ACCEPTED: "已受理，审查中",
    Status.SUPPLEMENT_IN_REVIEW: "审查中补正材料（暂停计时）",
    Status.JOINT_REVIEW: "联办单位会签中",
    Status.FORWARDED: "已上报上级机关",
    Status.DECIDED: "已办结",
}


class JointTask(BaseModel):
    task_id: str
    unit_code: str
    unit_name: str
    opened_at: datetime
    answer: JointAnswer | None = None
    opinion: str | None = None
    answered_at: datetime | None = None
    answered_by: str | None = None


class Override(BaseModel):
    override_id: str
    supervisor_id: str
    materials: list[MissingMaterial]
    reason: str
    recorded_at: datetime
    used: bool = False


class SupplementRequest(BaseModel):
    request_no: int
    stage: SupplementStage
    missing: list[MissingMaterial]
    requested_at: datetime
    requested_by: str | None
    override_id: str | None = None


class Step(BaseModel):
    """One line of the case's timeline (what the public status page shows)."""

    at: datetime
    code: str
    label: str


class Rating(BaseModel):
    level: RatingLevel
    comment: str | None = None
    rated_at: datetime


@dataclass(frozen=True)
class RequestedMaterial:
    """What a clerk asks for: an item material by code, or an ad-hoc one by name."""

    code: str | None = None
    name: str | None = None
    reason: str | None = None


MAX_COMMENT = 500
#: What replaces a typed text once the retention period has passed.
ERASED = "（已按保存期限删除）"


class Application(BaseModel):
    """A case (办件). Holds a copy of the item version it follows."""

    receipt_no: str
    item: ItemVersion
    unit_name: str
    applicant: Applicant
    channel: Channel
    status: Status
    received_at: datetime
    received_by: str | None
    weekend: bool
    submitted: list[str] = Field(default_factory=list)        # material codes handed in
    required: list[str] = Field(default_factory=list)         # mandatory + applicable conditional
    outstanding: list[MissingMaterial] = Field(default_factory=list)
    requests: list[SupplementRequest] = Field(default_factory=list)
    overrides: list[Override] = Field(default_factory=list)
    adhoc: dict[str, str] = Field(default_factory=dict)       # ad-hoc material name -> code X01..
    resume_status: Status | None = None
    accepted_at: datetime | None = None
    accepted_by: str | None = None
    after_supplement: bool = False
    joint_tasks: list[JointTask] = Field(default_factory=list)
    joint_unit_names: dict[str, str] = Field(default_factory=dict)
    authority: str | None = None
    forwarded_at: datetime | None = None
    higher_approved: bool | None = None
    higher_answer: str | None = None
    outcome: Outcome | None = None
    decision_text: str | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    not_accepted_reason: NotAcceptedReason | None = None
    not_accepted_text: str | None = None
    rating: Rating | None = None
    due_on: date | None = None
    timeline: list[Step] = Field(default_factory=list)
    register_seq: int | None = None  # the unit's gap-free register sequence of the year (staff only)
    erased: bool = False             # personal data pseudonymised after the retention period
    leads: list[CaseLead] = Field(default_factory=list)  # 领办代办: who took charge, why, when, released

    _events: list[Event] = PrivateAttr(default_factory=list)

    # ------------------------------------------------------------------ plumbing

    @property
    def events(self) -> list[Event]:
        return self._events

    def pull_events(self) -> list[Event]:
        out, self._events = self._events, []
        return out

    def _emit(self, *events: Event) -> list[Event]:
        self._events.extend(events)
        return list(events)

    def _step(self, at: datetime, code: str, label: str) -> None:
        self.timeline.append(Step(at=at, code=code, label=label))

    @property
    def unit_code(self) -> str:
        return self.item.unit_code

    @property
    def kind(self) -> CaseKind:
        return self.item.case_kind

    @property
    def rules(self) -> KindRules:
        """The rules of the case's kind (contracts/kinds.py)."""
        return rules_of(self.kind)

    @property
    def six_kind(self) -> CaseKind:
        """The kind the case is counted under: returned, supplement, or its item's kind."""
        if self.status is Status.NOT_ACCEPTED:
            return CaseKind.RETURNED
        if self.requests:
            return CaseKind.SUPPLEMENT
        return self.kind

    def _case(self, actor: Actor | None) -> dict:
        return {"receipt_no": self.receipt_no, "unit_code": self.unit_code, "item_code": self.item.item_code,
                "item_version": self.item.version, "staff_id": actor.staff_id if actor else None}

    def _public_and_full(self, public: type[Event], full: type[Event], **fields) -> list[Event]:  # type: ignore[no-untyped-def]
        """A step whose clerk-typed text must not reach a public topic: the public event (codes,
        ``extra="ignore"`` drops the text fields) and its internal twin on ``intake.case-texts``."""
        return self._emit(public(**fields), full(**fields))

    def _refs(self, materials: Iterable[MissingMaterial]) -> list[MaterialRef]:
        """Materials as public events show them: code and the catalog's name, no typed words."""
        out = []
        for m in materials:
            spec = self.item.content.material(m.code)
            out.append(MaterialRef(code=m.code, name=spec.name if spec else None, ad_hoc=spec is None))
        return out

    def _require(self, *allowed: Status, what: str) -> None:
        if self.status not in allowed:
            raise InvalidState(None, f"案件当前状态为“{self.status.label}”，不能{what}")

    def _missing_required(self) -> list[str]:
        have = set(self.submitted)
        return [c for c in self.required if c not in have]

    def _material(self, code: str) -> MissingMaterial:
        spec = self.item.content.material(code)
        if spec is None:
            raise InvalidInput("materials", f"材料编号 {code} 不在该事项的申报材料清单中")
        return MissingMaterial(code=spec.code, name=spec.name)

    # ------------------------------------------------------------------ arrival

    @classmethod
    def receive(
        cls,
        *,
        receipt_no: str,
        item: ItemVersion,
        unit_name: str,
        applicant: Applicant,
        materials: Iterable[str],
        conditional: Iterable[str] = (),
        channel: Channel = Channel.WINDOW,
        at: datetime,
        actor: Actor,
        accept_if_complete: bool = True,
        unit_names: dict[str, str] | None = None,
        calendar: WorkCalendar | None = None,
    ) -> "Application":
        """Receive an application (收件). With `accept_if_complete`, complete materials are
        accepted at once and incomplete ones get the one-time supplement notice at once.
        `unit_names` gives the names of a joint item's participating units (for their tasks)."""
        require_unit_staff(actor, item.unit_code)
        if normalize_receipt_no(receipt_no) != receipt_no:
            raise InvalidInput("receipt_no", "受理编号格式不正确")
        content = item.content
        given = list(dict.fromkeys(m.strip() for m in materials if m and m.strip()))
        for code in given:
            if content.material(code) is None:
                raise InvalidInput("materials", f"材料编号 {code} 不在该事项的申报材料清单中")
        applying = list(dict.fromkeys(c.strip() for c in conditional if c and c.strip()))
        for code in applying:
            spec = content.material(code)
            if spec is None or spec.mandatory:
                raise InvalidInput("conditional", f"材料编号 {code} 不是该事项视情况提交的材料")
        required = [m.code for m in content.materials if m.mandatory or m.code in applying]
        app = cls(
            receipt_no=receipt_no, item=item, unit_name=unit_name, applicant=applicant, channel=channel,
            status=Status.RECEIVED, received_at=at, received_by=actor.staff_id, weekend=is_weekend(at),
            submitted=given, required=required,
            joint_unit_names={u: (unit_names or {}).get(u, u) for u in content.joint_units},
        )
        app._step(at, "received", "已收件")
        app._emit(
            ApplicationReceived(**app._case(actor), received_at=at, weekend=app.weekend, channel=channel,
                                applicant=applicant.public(), materials_submitted=given),
            ApplicantContactRecorded(receipt_no=receipt_no, unit_code=item.unit_code, applicant_type=applicant.type,
                                     name=applicant.name, company_name=applicant.company_name,
                                     mobile=applicant.mobile, recorded_at=at),
        )
        if accept_if_complete:
            if app._missing_required():
                app.request_supplement(actor, at, [])
            else:
                app._accept(actor, at, calendar)
        return app

    def accept(self, actor: Actor, at: datetime, calendar: WorkCalendar | None = None) -> list[Event]:
        """Accept a received case after the clerk's review (refused while materials are missing)."""
        require_unit_staff(actor, self.unit_code)
        self._require(Status.RECEIVED, what="受理")
        missing = self._missing_required()
        if missing:
            names = "、".join(self._material(c).name for c in missing)
            raise InvalidState("materials", f"材料不齐全（缺少：{names}），请一次性告知申请人补正")
        return self._accept(actor, at, calendar)

    def _accept(self, actor: Actor, at: datetime, calendar: WorkCalendar | None = None) -> list[Event]:
        c = self.item.content
        self.accepted_at, self.accepted_by = at, actor.staff_id
        self.after_supplement = bool(self.requests)
        # The service passes the county's calendar (followed from its events); pure tests may not.
        self.due_on = (calendar or national_calendar()).add_working_days(local_date(at), c.promised_days)
        self._step(at, "accepted", "已受理")
        out = [ApplicationAccepted(
            **self._case(actor), accepted_at=at, received_at=self.received_at, item_name=c.name,
            unit_name=self.unit_name, case_kind=c.case_kind, promised_days=c.promised_days,
            statutory_days=c.statutory_days, weekend=is_weekend(at), applicant_type=self.applicant.type,
            applicant=self.applicant.public(), joint_units=list(c.joint_units), higher_authority=c.higher_authority,
            after_supplement=self.after_supplement,
        )]
        self.status = Status.ACCEPTED
        if rules_of(c.case_kind).joint_tasks:
            out += self._open_joint_tasks(actor, at)
        return self._emit(*out)

    def _open_joint_tasks(self, actor: Actor, at: datetime) -> list[Event]:
        """A joint case opens one task for every participating unit when it is accepted."""
        out: list[Event] = []
        for unit in self.item.content.joint_units:
            name = self.joint_unit_names.get(unit, unit)
            task_id = f"{self.receipt_no}-{unit}"
            self.joint_tasks.append(JointTask(task_id=task_id, unit_code=unit, unit_name=name, opened_at=at))
            out.append(JointTaskOpened(**self._case(actor), task_id=task_id, participant_unit_code=unit,
                                       participant_unit_name=name, opened_at=at))
        self.status = Status.JOINT_REVIEW
        self._step(at, "joint_opened", "已发起联办，等待联办单位意见")
        return out

    # ------------------------------------------------------------------ one-time notice (一次性告知)

    def _requested(self, m: RequestedMaterial) -> MissingMaterial:
        if m.code:
            base = self._material(m.code.strip())
            return base.model_copy(update={"reason": m.reason})
        name = (m.name or "").strip()
        if not name:
            raise InvalidInput("materials", "请写明需补正材料的编号或名称")
        spec = next((s for s in self.item.content.materials if s.name == name), None)
        if spec is not None:
            return MissingMaterial(code=spec.code, name=spec.name, reason=m.reason)
        code = self.adhoc.get(name)
        if code is None:
            code = f"X{len(self.adhoc) + 1:02d}"
            self.adhoc[name] = code
        return MissingMaterial(code=code, name=name, reason=m.reason)

    @property
    def first_request_codes(self) -> set[str] | None:
        return {m.code for m in self.requests[0].missing} if self.requests else None

    def request_supplement(self, actor: Actor, at: datetime, materials: Iterable[RequestedMaterial]) -> list[Event]:
        """Ask for missing materials, all at once. Before acceptance every missing required
        material is added automatically; a later request may only repeat what the first one
        listed, unless a supervisor's override allows more."""
        require_unit_staff(actor, self.unit_code)
        self._require(Status.RECEIVED, Status.AWAITING_SUPPLEMENT, Status.ACCEPTED, Status.JOINT_REVIEW,
                      what="要求补正材料")
        at_window = self.status in (Status.RECEIVED, Status.AWAITING_SUPPLEMENT)
        asked: dict[str, MissingMaterial] = {}
        if at_window:
            for code in self._missing_required():
                asked[code] = self._material(code)
        for m in materials:
            mm = self._requested(m)
            asked[mm.code] = mm
        if not asked:
            raise InvalidInput("materials", "请列出需要补正的材料")
        missing = list(asked.values())
        override_id = None
        first = self.first_request_codes
        if first is not None:
            new = [m for m in missing if m.code not in first]
            if new:
                usable = [o for o in self.overrides if not o.used]
                allowed = {m.code for o in usable for m in o.materials}
                not_allowed = [m for m in new if m.code not in allowed]
                if not_allowed:
                    names = "、".join(m.name for m in not_allowed)
                    raise InvalidState(
                        "materials",
                        f"违反一次性告知：首次补正通知未列出的材料（{names}）不能再次要求补正；确需补正的，须经中心督查人员批准",
                    )
                for o in usable:
                    if any(m.code in {x.code for x in new} for m in o.materials):
                        o.used = True
                        override_id = o.override_id
        stage = SupplementStage.AT_WINDOW if at_window else SupplementStage.IN_REVIEW
        req = SupplementRequest(request_no=len(self.requests) + 1, stage=stage, missing=missing, requested_at=at,
                                requested_by=actor.staff_id, override_id=override_id)
        self.requests.append(req)
        merged = {m.code: m for m in self.outstanding}
        merged.update(asked)
        self.outstanding = list(merged.values())
        if at_window:
            self.status = Status.AWAITING_SUPPLEMENT
            self._step(at, "supplement_requested", "材料不齐全，已一次性告知需补正的材料")
        else:
            self.resume_status = self.status
            self.status = Status.SUPPLEMENT_IN_REVIEW
            self._step(at, "supplement_requested", "审查中需补正材料，暂停计时")
        common = dict(**self._case(actor), requested_at=at, stage=stage, stops_clock=not at_window,
                      request_no=req.request_no, override_id=override_id, item_name=self.item.name,
                      unit_name=self.unit_name)
        return self._emit(SupplementRequested(**common, missing=self._refs(missing)),
                          SupplementTextRecorded(**common, missing=missing))

    def record_override(self, actor: Actor, at: datetime, materials: Iterable[RequestedMaterial], reason: str,
                        override_id: str) -> list[Event]:
        """A supervisor allows a further request for materials the first notice did not list."""
        require_oversight(actor)
        if self.status.final:
            raise InvalidState(None, f"案件已{self.status.label}，无需补正")
        first = self.first_request_codes
        if first is None:
            raise InvalidState(None, "该案件尚未发出过补正通知，首次补正无需批准")
        if not (reason or "").strip():
            raise InvalidInput("reason", "请写明批准再次补正的理由")
        listed = [self._requested(m) for m in materials]
        if not listed:
            raise InvalidInput("materials", "请列出批准补正的材料")
        already = [m.name for m in listed if m.code in first]
        if already:
            raise InvalidInput("materials", f"以下材料首次通知已列出，无需批准：{'、'.join(already)}")
        self.overrides.append(Override(override_id=override_id, supervisor_id=actor.staff_id, materials=listed,
                                       reason=reason.strip(), recorded_at=at))
        common = dict(**self._case(actor), override_id=override_id, supervisor_id=actor.staff_id, recorded_at=at)
        return self._emit(SupplementOverrideRecorded(**common, materials=self._refs(listed)),
                          OverrideTextRecorded(**common, materials=listed, reason=reason.strip()))

    def provide_supplement(self, actor: Actor, at: datetime, materials: Iterable[str],
                           calendar: WorkCalendar | None = None) -> list[Event]:
        """The applicant brought materials; when nothing asked for is missing the case goes on
        (accepted, or back to review with the clock running)."""
        require_unit_staff(actor, self.unit_code)
        self._require(Status.AWAITING_SUPPLEMENT, Status.SUPPLEMENT_IN_REVIEW, what="接收补正材料")
        codes = list(dict.fromkeys(c.strip() for c in materials if c and c.strip()))
        if not codes:
            raise InvalidInput("materials", "请勾选申请人带来的补正材料")
        pending = {m.code for m in self.outstanding}
        for code in codes:
            if code not in pending:
                raise InvalidInput("materials", f"材料 {code} 不在待补正清单中")
        self.outstanding = [m for m in self.outstanding if m.code not in codes]
        for code in codes:
            if code not in self.submitted and self.item.content.material(code) is not None:
                self.submitted.append(code)
        complete = not self.outstanding
        at_window = self.status is Status.AWAITING_SUPPLEMENT
        stage = SupplementStage.AT_WINDOW if at_window else SupplementStage.IN_REVIEW
        out = self._emit(SupplementProvided(**self._case(actor), provided_at=at, stage=stage, materials=codes,
                                            complete=complete))
        if complete:
            self._step(at, "supplement_provided", "补正材料已齐全")
            if at_window:
                out += self._accept(actor, at, calendar)
            else:
                self.status = self.resume_status or Status.ACCEPTED
                self.resume_status = None
        else:
            self._step(at, "supplement_partial", "已收到部分补正材料")
        return out

    # ------------------------------------------------------------------ returned (退回件)

    def not_accept(self, actor: Actor, at: datetime, reason_code: NotAcceptedReason, reason: str) -> list[Event]:
        require_unit_staff(actor, self.unit_code)
        self._require(Status.RECEIVED, Status.AWAITING_SUPPLEMENT, what="作不予受理处理（已受理的案件请作出不予许可决定）")
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("reason", "请写明不予受理的理由，将载入不予受理通知书")
        self.status = Status.NOT_ACCEPTED
        self.not_accepted_reason, self.not_accepted_text = reason_code, reason
        self.decided_at, self.decided_by = at, actor.staff_id
        self.outstanding = []
        self._step(at, "not_accepted", f"不予受理：{reason}")
        return self._public_and_full(
            ApplicationNotAccepted, NotAcceptedTextRecorded,
            **self._case(actor), reason_code=reason_code, reason=reason, decided_at=at, item_name=self.item.name,
            unit_name=self.unit_name, applicant_type=self.applicant.type,
        )

    # ------------------------------------------------------------------ reported-up (上报件)

    def forward(self, actor: Actor, at: datetime, authority: str | None = None, note: str | None = None) -> list[Event]:
        require_unit_staff(actor, self.unit_code)
        if not self.rules.allows(CaseStep.FORWARD):
            raise InvalidState(None, "只有上报件才需要上报上级机关")
        self._require(Status.ACCEPTED, what="上报")
        if self.higher_approved is not None:
            raise InvalidState(None, "上级机关已经答复，不能重复上报")
        typed = (authority or "").strip()
        authority = typed or (self.item.content.higher_authority or "").strip()
        if not authority:
            raise InvalidInput("authority", "请填写上报的上级机关")
        if typed and typed != (self.item.content.higher_authority or ""):
            authority = identifiers.authority_name(typed, field="authority")
        self.authority, self.forwarded_at = authority, at
        self.status = Status.FORWARDED
        self._step(at, "forwarded", f"已上报{authority}")
        return self._public_and_full(ApplicationForwarded, ForwardingTextRecorded, **self._case(actor),
                                     authority=authority, forwarded_at=at, note=note, item_name=self.item.name,
                                     unit_name=self.unit_name)

    def record_higher_answer(self, actor: Actor, at: datetime, approved: bool, answer: str,
                             document_no: str | None = None) -> list[Event]:
        require_unit_staff(actor, self.unit_code)
        self._require(Status.FORWARDED, what="录入上级机关答复")
        answer = (answer or "").strip()
        if not answer:
            raise InvalidInput("answer", "请录入上级机关的答复内容")
        self.higher_approved, self.higher_answer = approved, answer
        self.status = Status.ACCEPTED
        self._step(at, "higher_answered", f"{self.authority}已答复（{'同意' if approved else '不同意'}）")
        return self._public_and_full(HigherAuthorityAnswered, HigherAnswerTextRecorded, **self._case(actor),
                                     authority=self.authority or "", approved=approved, answer=answer,
                                     document_no=document_no, answered_at=at)

    # ------------------------------------------------------------------ joint (联办件)

    def answer_joint_task(self, actor: Actor, at: datetime, answer: JointAnswer, opinion: str) -> list[Event]:
        """A participating unit answers its task (its own clerk or head)."""
        task = next((t for t in self.joint_tasks if t.unit_code == actor.unit_code), None)
        if task is None:
            raise NotAllowed(None, "本单位不是该案件的联办单位")
        require_unit_staff(actor, task.unit_code)
        self._require(Status.JOINT_REVIEW, what="答复联办")
        if task.answer is not None:
            raise InvalidState(None, "本单位已经答复过该联办任务")
        opinion = (opinion or "").strip()
        if not opinion:
            raise InvalidInput("opinion", "请填写本单位的联办意见")
        task.answer, task.opinion, task.answered_at, task.answered_by = answer, opinion, at, actor.staff_id
        done = all(t.answer is not None for t in self.joint_tasks)
        self._step(at, "joint_answered", f"{task.unit_name}已答复（{'同意' if answer is JointAnswer.APPROVE else '不同意'}）")
        if done:
            self.status = Status.ACCEPTED
        return self._public_and_full(JointTaskAnswered, JointOpinionRecorded, **self._case(actor),
                                     task_id=task.task_id, participant_unit_code=task.unit_code, answer=answer,
                                     opinion=opinion, answered_at=at, all_answered=done)

    # ------------------------------------------------------------------ decision

    def decide(self, actor: Actor, at: datetime, outcome: Outcome, text: str) -> list[Event]:
        require_unit_staff(actor, self.unit_code)
        self._require(Status.ACCEPTED, what="作出决定")
        text = (text or "").strip()
        if not text:
            raise InvalidInput("decision_text", "请填写决定内容，将载入决定书")
        if self.rules.joint_tasks:
            refused = [t.unit_name for t in self.joint_tasks if t.answer is JointAnswer.REFUSE]
            if refused and outcome is Outcome.APPROVED:
                raise InvalidState("outcome", f"联办单位（{'、'.join(refused)}）不同意，不能作出准予决定")
        if self.rules.forwarded:
            if self.higher_approved is None:
                raise InvalidState(None, "上报件须先上报并录入上级机关答复后再作决定")
            if not self.higher_approved and outcome is Outcome.APPROVED:
                raise InvalidState("outcome", "上级机关不同意，不能作出准予决定")
        self.status = Status.DECIDED
        self.outcome, self.decision_text, self.decided_at, self.decided_by = outcome, text, at, actor.staff_id
        on_the_spot = (self.rules.on_the_spot and self.accepted_at is not None
                       and local_date(at) == local_date(self.accepted_at))
        self._step(at, "decided", "已办结：" + ("准予" if outcome is Outcome.APPROVED else "不予许可"))
        return self._public_and_full(
            ApplicationDecided, DecisionTextRecorded,
            **self._case(actor), outcome=outcome, decision_text=text, decided_at=at, case_kind=self.kind,
            on_the_spot=on_the_spot, item_name=self.item.name, unit_name=self.unit_name,
            applicant_type=self.applicant.type,
        )

    # ------------------------------------------------------------------ satisfaction (好差评)

    def rate(self, at: datetime, level: RatingLevel, comment: str | None = None) -> list[Event]:
        """The applicant rates the case once, after the decision (or the not-accepted notice)."""
        if not self.status.final:
            raise InvalidState(None, "办结后才能评价")
        if self.rating is not None:
            raise InvalidState(None, "该案件已经评价过，每件只能评价一次")
        comment = (comment or "").strip() or None
        if comment and len(comment) > MAX_COMMENT:
            raise InvalidInput("comment", f"评价内容不能超过{MAX_COMMENT}字")
        self.rating = Rating(level=level, comment=comment, rated_at=at)
        self._step(at, "rated", f"申请人评价：{level.label}")
        return self._emit(RatingSubmitted(
            receipt_no=self.receipt_no, unit_code=self.unit_code, item_code=self.item.item_code, level=level,
            score=level.score, has_comment=comment is not None, accepted_by=self.accepted_by,
            decided_by=self.decided_by, rated_at=at,
        ))

    # ------------------------------------------------------------------ retention

    def erase_personal_data(self, placeholder: str = ERASED) -> None:
        """Pseudonymise the applicant and drop every text typed about the case (after the retention
        period): the applicant keeps only the masked forms (the mobile's last four digits remain,
        so the public lookup still answers, masked); a company's name and credit code are public
        registry data and stay."""
        if self.erased:
            return
        a = self.applicant
        self.applicant = a.model_copy(update={
            "name": mask_name(a.name) if a.name and "*" not in a.name else a.name,
            "mobile": mask_mobile(a.mobile) if a.mobile and "*" not in a.mobile else a.mobile,
            "resident_id": mask_resident_id(a.resident_id) if a.resident_id and "*" not in a.resident_id else a.resident_id,
        })
        for attr in ("decision_text", "not_accepted_text", "higher_answer"):
            if getattr(self, attr):
                setattr(self, attr, placeholder)
        for t in self.joint_tasks:
            if t.opinion:
                t.opinion = placeholder
        for lead in self.leads:  # why a case was led says something about the applicant
            lead.note = placeholder if lead.note else None
            lead.release_note = placeholder if lead.release_note else None

        def scrub(materials: list[MissingMaterial]) -> list[MissingMaterial]:
            return [m.model_copy(update={"reason": None,
                                         "name": m.name if self.item.content.material(m.code) else placeholder})
                    for m in materials]

        for r in self.requests:
            r.missing = scrub(r.missing)
        for o in self.overrides:
            o.materials, o.reason = scrub(o.materials), placeholder
        self.outstanding = scrub(self.outstanding)
        self.adhoc = {f"{placeholder}{code}": code for code in self.adhoc.values()}
        if self.rating is not None and self.rating.comment:
            self.rating = self.rating.model_copy(update={"comment": placeholder})
        for step in self.timeline:
            if step.code == "not_accepted":
                step.label = "不予受理"
        self.erased = True

    # ------------------------------------------------------------------ public status (网上查询)

    def matches_mobile(self, last4: str) -> bool:
        """Constant-time comparison of the last four digits of the applicant's mobile number."""
        digits = re.sub(r"\D", "", last4 or "")
        if len(digits) != 4:
            return False
        return hmac.compare_digest(digits.encode(), self.applicant.mobile[-4:].encode())

    def public_view(self) -> "PublicStatus":
        result = None
        if self.status is Status.DECIDED and self.outcome is not None:
            result = ("准予" if self.outcome is Outcome.APPROVED else "不予许可") + "：" + (self.decision_text or "")
        elif self.status is Status.NOT_ACCEPTED:
            result = f"不予受理：{self.not_accepted_text}"
        return PublicStatus(
            receipt_no=self.receipt_no, item_name=self.item.name, unit_name=self.unit_name,
            applicant=self.applicant.display_name, status=self.status, status_label=self.status.label,
            case_kind_label=self.kind.label, received_at=self.received_at, accepted_at=self.accepted_at,
            promised_days=self.item.content.promised_days, due_on=self.due_on if self.accepted_at else None,
            result=result, decided_at=self.decided_at, rated=self.rating is not None,
            led_by_unit=(lead.staff_unit_name or "政务服务中心") if (lead := current_lead(self)) else None,
            holding_units=holding_units(self),
            timeline=[PublicStep(at=s.at, label=s.label) for s in self.timeline],
        )


class PublicStep(BaseModel):
    at: datetime = Field(description="When.")
    label: str = Field(description="What happened (zh-CN).")


class PublicStatus(BaseModel):
    """What anyone holding the receipt number and the mobile's last four digits may see."""

    receipt_no: str = Field(description="受理编号")
    item_name: str = Field(description="事项名称")
    unit_name: str = Field(description="办理单位")
    applicant: str = Field(description="申请人（个人姓名已隐去）")
    status: Status = Field(description="Status code.")
    status_label: str = Field(description="办理状态")
    case_kind_label: str = Field(description="办件类型")
    received_at: datetime = Field(description="收件时间")
    accepted_at: datetime | None = Field(default=None, description="受理时间")
    promised_days: int = Field(description="承诺时限（工作日）")
    due_on: date | None = Field(default=None, description="承诺办结日期（补正、上报等暂停期间顺延）")
    result: str | None = Field(default=None, description="办理结果")
    decided_at: datetime | None = Field(default=None, description="办结时间")
    rated: bool = Field(description="是否已评价")
    led_by_unit: str | None = Field(None, description="有专人领办时，领办人所在单位（不显示姓名）")
    holding_units: list[str] = Field(default_factory=list, description="当前承办单位（联办时为尚未会签的单位）")
    timeline: list[PublicStep] = Field(description="办理过程")


def lookup(app: Application | None, last4: str) -> PublicStatus | None:
    """The public lookup rule: a wrong pair answers exactly as an unknown receipt number."""
    if app is None:
        # Compare anyway so that unknown numbers and wrong pairs cost the same.
        hmac.compare_digest(b"0000", (re.sub(r"\D", "", last4 or "") + "____")[:4].encode())
        return None
    if not app.matches_mobile(last4):
        return None
    return app.public_view()
