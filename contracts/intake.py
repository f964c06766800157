"""Contracts of the intake service: the item catalog, consultations, applications through the six
kinds (六件管理), satisfaction ratings and unit volume.

Receipt numbers (受理编号) are assigned when a case is received at the window, so every case event
— including a supplement request before acceptance and a not-accepted (退回) case — is keyed by
it. Format: ``<year>-<unit code>-<8 random characters>``, e.g. ``2026-LYJ-7K3M9Q2X`` (numbers
given before issue 20 have a 5-digit sequence instead, ``2024-LYJ-00042``, and stay valid).

Public topics carry the applicant masked (``MaskedName``, ``MaskedMobile``, ``MaskedResidentId``);
a company's name and unified social credit code are public registry data and travel in full. The
full name and mobile number travel only on the internal ``intake.contacts`` topic (notify needs them
to send SMS).

Nothing a clerk types travels on a public topic (issue 20): decision texts, not-accepted
reasons, supplement reasons and ad-hoc material names, override reasons, covering notes, a higher
authority's answer and document number, joint opinions. The public events carry codes (v2 of
ApplicationDecided, ApplicationNotAccepted, SupplementRequested, SupplementOverrideRecorded,
ApplicationForwarded, HigherAuthorityAnswered, JointTaskAnswered; the v1 classes stay as
``…V1`` so old messages remain readable); the same facts with the texts go on the internal
``intake.case-texts`` topic (``DecisionTextRecorded`` … ``JointOpinionRecorded``: the v1 shapes,
for notify's notices).

Rating comments are free text written by citizens and may contain names, phone or ID numbers:
they stay in intake's database (readable by the unit and supervisors through the authenticated
API) and public events only say whether there is one (``has_comment``). The same goes for a unit's
rectification response.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from .base import Event
from .common import (
    ApplicantType,
    CaseKind,
    Channel,
    ItemCode,
    MaskedMobile,
    MaskedName,
    MaskedResidentId,
    ReceiptNo,
    UnitCode,
)
from .topics import Audience, topic

# --------------------------------------------------------------------------- topics

CATALOG = topic(
    "intake.catalog", owner="intake", key="item_code", audience=Audience.PUBLIC,
    retention_days=3650,
    description="Approval items of the catalog (事项目录): every published version and retirements.",
)
APPLICATIONS = topic(
    "intake.applications", owner="intake", key="receipt_no", audience=Audience.PUBLIC,
    retention_days=365,
    description="Every step of every case through the six kinds (六件管理), applicant masked.",
)
CONTACTS = topic(
    "intake.contacts", owner="intake", key="receipt_no", audience=Audience.INTERNAL,
    retention_days=90,
    description="The applicant's full name and mobile number for SMS (internal: notify only).",
)
CASE_TEXTS = topic(
    "intake.case-texts", owner="intake", key="receipt_no", audience=Audience.INTERNAL,
    retention_days=365,
    description="What clerks wrote on a case (decision texts, not-accepted reasons, supplement reasons, "
                "joint opinions, higher authorities' answers, covering notes): internal, for notify's notices.",
)
CONSULTATIONS = topic(
    "intake.consultations", owner="intake", key="unit_code", audience=Audience.PUBLIC,
    retention_days=365,
    description="Consultations (咨询) with the first-inquiry staff member (首问负责).",
)
RATINGS = topic(
    "intake.ratings", owner="intake", key="receipt_no", audience=Audience.PUBLIC,
    retention_days=365,
    description="Satisfaction ratings (好差评) and the rectification tasks the low ones open.",
)
UNITS = topic(
    "intake.units", owner="intake", key="unit_code", audience=Audience.PUBLIC,
    retention_days=3650,
    description="Window units: registration, monthly volume and inactivity flags (应进不进).",
)


# --------------------------------------------------------------------------- shared types


class MaterialForm(StrEnum):
    """In which form a required material is handed in."""

    ORIGINAL = "original"                    # 原件
    COPY = "copy"                            # 复印件
    ORIGINAL_AND_COPY = "original_and_copy"  # 原件及复印件（原件核验后退回）

    @property
    def label(self) -> str:
        return {"original": "原件", "copy": "复印件", "original_and_copy": "原件及复印件"}[self.value]


class MaterialSpec(BaseModel):
    """One required material (申报材料) of an item version."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Material code within the item, e.g. 'M01'.", min_length=1, max_length=16)
    name: str = Field(description="Material name in Chinese, e.g. '申请人身份证明'.", min_length=1)
    form: MaterialForm = Field(description="Original, copy, or original plus copy.")
    copies: int = Field(ge=1, le=20, description="Number of copies (份数).")
    mandatory: bool = Field(description="True: always required; False: required only under `condition`.")
    condition: str | None = Field(default=None, description="When a conditional material is needed (zh-CN).")


class Fee(BaseModel):
    """Fee standard and its legal basis (收费标准及依据)."""

    model_config = ConfigDict(frozen=True)

    free: bool = Field(description="True when the item is free of charge (不收费).")
    standard: str | None = Field(default=None, description="Fee standard in words, e.g. '每证工本费10元'.")
    amount_yuan: Decimal | None = Field(default=None, ge=0, description="Amount in yuan when fixed.")
    basis: str | None = Field(default=None, description="Legal basis of the fee (收费依据).")


class ApplicantPublic(BaseModel):
    """The applicant as public topics may show it: a person masked, a company in full."""

    model_config = ConfigDict(frozen=True)

    type: ApplicantType = Field(description="person or company.")
    masked_name: MaskedName | None = Field(
        default=None, description="A person's name masked (张*); for a company, its contact person masked.")
    masked_resident_id: MaskedResidentId | None = Field(
        default=None, description="A person's resident ID number masked (110***********123X).")
    company_name: str | None = Field(default=None, description="A company's registered name (public data).")
    credit_code: str | None = Field(
        default=None, description="A company's unified social credit code (public data).",
        pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")
    masked_mobile: MaskedMobile = Field(description="The contact mobile number masked (138****5678).")

    @model_validator(mode="after")
    def _consistent(self) -> "ApplicantPublic":
        if self.type is ApplicantType.PERSON and (self.masked_name is None or self.masked_resident_id is None):
            raise ValueError("a person applicant needs masked_name and masked_resident_id")
        if self.type is ApplicantType.COMPANY and (self.company_name is None or self.credit_code is None):
            raise ValueError("a company applicant needs company_name and credit_code")
        return self


class SupplementStage(StrEnum):
    """When materials are asked for."""

    AT_WINDOW = "at_window"  # 补正 before acceptance: the case is not accepted yet, no clock runs
    IN_REVIEW = "in_review"  # during review: stops the deadline clock until provided


class MissingMaterial(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Material code of the item version ('M01'); 'X..' for an ad-hoc material.")
    name: str = Field(description="Material name (zh-CN).")
    reason: str | None = Field(default=None, description="Why it is needed or what is wrong with it (zh-CN).")


class MaterialRef(BaseModel):
    """A material asked for, as public events show it: the catalog's code and name, nothing typed."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Material code of the item version ('M01'); 'X..' for an ad-hoc material.")
    name: str | None = Field(
        default=None, description="The catalog's material name (public guide data); none for an ad-hoc material.")
    ad_hoc: bool = Field(default=False, description="True for a material outside the item's list (its name was typed).")


class NotAcceptedReason(StrEnum):
    NOT_CENTER_BUSINESS = "not_center_business"  # 不属于本中心办理事项
    OUT_OF_SCOPE = "out_of_scope"                # 不属于本单位职权范围 / 不属于行政许可范围
    NOT_ELIGIBLE = "not_eligible"                # 申请人不具备申请资格
    SUPPLEMENT_NOT_PROVIDED = "supplement_not_provided"  # 逾期未补正
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "not_center_business": "不属于本中心受理事项",
            "out_of_scope": "不属于本机关职权范围",
            "not_eligible": "申请人不具备申请资格",
            "supplement_not_provided": "申请人逾期未补正材料",
            "other": "其他原因",
        }[self.value]


class Outcome(StrEnum):
    APPROVED = "approved"  # 准予
    DENIED = "denied"      # 不予


class JointAnswer(StrEnum):
    APPROVE = "approve"  # 同意
    REFUSE = "refuse"    # 不同意


class ConsultationOutcome(StrEnum):
    ANSWERED = "answered"            # 当场答复
    GUIDE_GIVEN = "guide_given"      # 发放办事指南 / 一次性告知
    REFERRED = "referred"            # 转交其他单位（首问负责人跟踪）
    FOLLOW_UP = "follow_up"          # 需回复，跟进中
    APPLICATION_FILED = "application_filed"  # 当场提交申请


class RatingLevel(StrEnum):
    """The national five levels of the 好差评 system."""

    VERY_SATISFIED = "very_satisfied"        # 非常满意
    SATISFIED = "satisfied"                  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"            # 不满意
    VERY_DISSATISFIED = "very_dissatisfied"  # 非常不满意

    @property
    def score(self) -> int:
        return _RATING_SCORES[self]

    @property
    def label(self) -> str:
        return _RATING_LABELS[self]

    @property
    def is_low(self) -> bool:
        """The two lowest levels open a rectification task."""
        return self.score <= 2


_RATING_SCORES = {
    RatingLevel.VERY_SATISFIED: 5,
    RatingLevel.SATISFIED: 4,
    RatingLevel.BASICALLY_SATISFIED: 3,
    RatingLevel.DISSATISFIED: 2,
    RatingLevel.VERY_DISSATISFIED: 1,
}
_RATING_LABELS = {
    RatingLevel.VERY_SATISFIED: "非常满意",
    RatingLevel.SATISFIED: "满意",
    RatingLevel.BASICALLY_SATISFIED: "基本满意",
    RatingLevel.DISSATISFIED: "不满意",
    RatingLevel.VERY_DISSATISFIED: "非常不满意",
}


# --------------------------------------------------------------------------- units (intake.units)


class UnitRegistered(Event, source="intake", topic=UNITS.name, version=1, key_field="unit_code"):
    """A window unit (窗口单位) was registered or its record changed."""

    unit_code: UnitCode = Field(description="Unit code, e.g. 'LYJ'.")
    unit_name: str = Field(description="Unit name, e.g. '青山县林业局'.")
    window_numbers: list[str] = Field(description="Window numbers in the hall, e.g. ['12', '13'].")
    entered: bool = Field(description="Whether the unit has entered the center (进驻).")
    entered_since: date | None = Field(default=None, description="Since when it handles business in the center.")
    registered_at: AwareDatetime = Field(description="When it was recorded.")
    staff_id: str | None = Field(default=None, description="The center admin who recorded it.")


class UnitVolumeReported(Event, source="intake", topic=UNITS.name, version=1, key_field="unit_code"):
    """A unit's business routed through the center in one month."""

    unit_code: UnitCode = Field(description="Unit code.")
    unit_name: str = Field(description="Unit name.")
    period: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$", description="Month, 'YYYY-MM'.")
    received: int = Field(ge=0, description="Cases received in the month.")
    accepted: int = Field(ge=0, description="Cases accepted (受理).")
    not_accepted: int = Field(ge=0, description="Cases not accepted (退回件).")
    decided: int = Field(ge=0, description="Cases decided.")
    weekend_received: int = Field(ge=0, description="Cases received on Saturdays and Sundays.")
    by_kind: dict[CaseKind, int] = Field(description="Received cases by kind of the six kinds.")
    consultations: int = Field(ge=0, description="Consultations recorded.")
    reported_at: AwareDatetime = Field(description="When the report was made.")


class OutsideHandlingDetected(Event, source="intake", topic=UNITS.name, version=1, key_field="unit_code"):
    """两头受理: a unit reported a decision it made outside the center on an item entered in the
    center's catalog, with no case received at the center. Codes only: the unit's own record
    number and anything about the applicant stay in intake."""

    decision_id: str = Field(description="intake's id of the reported decision.")
    unit_code: UnitCode = Field(description="The unit that decided outside the center.")
    item_code: ItemCode = Field(description="The catalog item, which must be handled at the center.")
    decided_on: date = Field(description="The day the unit decided.")
    detected_at: AwareDatetime = Field(description="When intake recorded the report.")
    period_count: int = Field(ge=1, description="Such decisions of this unit in the month of decided_on, this one included.")


class UnitInactivityFlagged(Event, source="intake", topic=UNITS.name, version=1, key_field="unit_code"):
    """A unit routed no business through the center for a set number of months (应进不进)."""

    unit_code: UnitCode = Field(description="Unit code.")
    unit_name: str = Field(description="Unit name.")
    months_without_business: int = Field(ge=1, description="Full months without any case received.")
    last_business_on: date | None = Field(default=None, description="Day of the last case received, if any.")
    period: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$", description="The last month examined, 'YYYY-MM'.")
    flagged_at: AwareDatetime = Field(description="When the flag was raised.")


# --------------------------------------------------------------------------- catalog (intake.catalog)


class ItemPublished(Event, source="intake", topic=CATALOG.name, version=1, key_field="item_code"):
    """A version of an approval item became current (the full version)."""

    item_code: ItemCode = Field(description="Item code, e.g. 'LYJ-001'.")
    item_version: int = Field(ge=1, description="Version number; published versions never change.")
    name: str = Field(description="Item name, e.g. '林木采伐许可证核发'.")
    unit_code: UnitCode = Field(description="Owning unit.")
    unit_name: str = Field(description="Owning unit's name.")
    case_kind: CaseKind = Field(description="immediate, promised, joint or reported_up.")
    joint_units: list[UnitCode] = Field(default_factory=list, description="Participating units of a joint item.")
    higher_authority: str | None = Field(default=None, description="The authority a reported-up item goes to.")
    legal_basis: list[str] = Field(description="Legal basis (审批依据), one law article per entry.")
    procedure: list[str] = Field(description="Procedure steps (办理程序).")
    materials: list[MaterialSpec] = Field(description="Required materials (申报材料).")
    statutory_days: int = Field(ge=0, description="Statutory limit in working days (法定时限).")
    promised_days: int = Field(ge=0, description="Promised limit in working days (承诺时限); 0 = same day.")
    fee: Fee = Field(description="Fee standard and basis.")
    flow: str = Field(description="The flow in words (办理流程).")
    published_at: AwareDatetime = Field(description="When the version was published.")
    staff_id: str | None = Field(default=None, description="The admin who published it.")


class ItemRetired(Event, source="intake", topic=CATALOG.name, version=1, key_field="item_code"):
    """An item no longer takes new applications (running cases continue)."""

    item_code: ItemCode = Field(description="Item code.")
    item_version: int = Field(ge=1, description="The version that was current.")
    unit_code: UnitCode = Field(description="Owning unit.")
    reason: str | None = Field(default=None, description="Why it was retired (zh-CN).")
    retired_at: AwareDatetime = Field(description="When.")
    staff_id: str | None = Field(default=None, description="The admin who retired it.")


# --------------------------------------------------------------------------- cases (intake.applications)


class _CaseEvent(Event, abstract=True):
    receipt_no: ReceiptNo = Field(description="Receipt number (受理编号), e.g. '2024-LYJ-00042'.")
    unit_code: UnitCode = Field(description="The unit whose window handles the case.")
    item_code: ItemCode = Field(description="The item applied for.")
    item_version: int = Field(ge=1, description="The item version the case follows.")
    staff_id: str | None = Field(default=None, description="The staff member who acted.")


class ApplicationReceived(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=1,
                          key_field="receipt_no"):
    """An application was received at a window (收件)."""

    received_at: AwareDatetime = Field(description="When it was received.")
    weekend: bool = Field(description="Received on a Saturday or Sunday (Asia/Shanghai) (双休日).")
    channel: Channel = Field(description="Where it was filed.")
    applicant: ApplicantPublic = Field(description="The applicant, masked.")
    materials_submitted: list[str] = Field(description="Codes of the materials handed in.")


class ApplicationAccepted(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=1,
                          key_field="receipt_no"):
    """Materials are complete: the case is accepted (受理) and its deadline starts."""

    accepted_at: AwareDatetime = Field(description="When it was accepted; the deadline counts from here.")
    received_at: AwareDatetime = Field(description="When it was received.")
    item_name: str = Field(description="Item name.")
    unit_name: str = Field(description="Unit name.")
    case_kind: CaseKind = Field(description="immediate, promised, joint or reported_up (the item's kind).")
    promised_days: int = Field(ge=0, description="Promised limit in working days; 0 = decided the same day.")
    statutory_days: int = Field(ge=0, description="Statutory limit in working days.")
    weekend: bool = Field(description="Accepted on a Saturday or Sunday (Asia/Shanghai).")
    applicant_type: ApplicantType = Field(description="person or company.")
    applicant: ApplicantPublic = Field(description="The applicant, masked (for the acceptance notice).")
    joint_units: list[UnitCode] = Field(default_factory=list, description="Participating units (joint items).")
    higher_authority: str | None = Field(default=None, description="Higher authority (reported-up items).")
    after_supplement: bool = Field(description="True when accepted after a supplement (补办件).")


class SupplementRequested(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=1,
                          key_field="receipt_no"):
    """The applicant is told, all at once, every missing material (一次性告知)."""

    requested_at: AwareDatetime = Field(description="When.")
    stage: SupplementStage = Field(description="at_window (before acceptance) or in_review.")
    stops_clock: bool = Field(description="True during review: the deadline clock stops until provided.")
    missing: list[MissingMaterial] = Field(min_length=1, description="Every missing material, all at once.")
    request_no: int = Field(ge=1, description="1 for the first request of the case, 2 for the next, ...")
    override_id: str | None = Field(
        default=None, description="The supervisor override that allowed materials not asked for the first time.")
    item_name: str = Field(description="Item name (for the notice).")
    unit_name: str = Field(description="Unit name (for the notice).")


SupplementRequestedV1 = SupplementRequested  # v1 (free text on a public topic): kept so old messages stay readable


class SupplementRequested(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=2,
                          key_field="receipt_no"):
    """The applicant is told, all at once, every missing material (一次性告知). v2: materials by
    code and catalog name only; the reasons and ad-hoc names clerks typed are on the internal
    ``intake.case-texts`` topic (SupplementTextRecorded)."""

    requested_at: AwareDatetime = Field(description="When.")
    stage: SupplementStage = Field(description="at_window (before acceptance) or in_review.")
    stops_clock: bool = Field(description="True during review: the deadline clock stops until provided.")
    missing: list[MaterialRef] = Field(min_length=1, description="Every missing material, all at once (codes).")
    request_no: int = Field(ge=1, description="1 for the first request of the case, 2 for the next, ...")
    override_id: str | None = Field(
        default=None, description="The supervisor override that allowed materials not asked for the first time.")
    item_name: str = Field(description="Item name (for the notice).")
    unit_name: str = Field(description="Unit name (for the notice).")


class SupplementProvided(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=1,
                         key_field="receipt_no"):
    """The applicant brought materials asked for."""

    provided_at: AwareDatetime = Field(description="When.")
    stage: SupplementStage = Field(description="The stage of the request answered.")
    materials: list[str] = Field(description="Codes of the materials brought.")
    complete: bool = Field(description="True when nothing asked for is still missing (the clock resumes).")


class SupplementOverrideRecorded(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=1,
                                 key_field="receipt_no"):
    """A supervisor allowed a further supplement request for materials not asked the first time."""

    override_id: str = Field(description="Override id.")
    supervisor_id: str = Field(description="The supervisor who allowed it.")
    materials: list[MissingMaterial] = Field(min_length=1, description="The materials not listed the first time.")
    reason: str = Field(min_length=1, description="Why (zh-CN).")
    recorded_at: AwareDatetime = Field(description="When.")


SupplementOverrideRecordedV1 = SupplementOverrideRecorded  # v1 (free text on a public topic): kept so old messages stay readable


class SupplementOverrideRecorded(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=2,
                                 key_field="receipt_no"):
    """A supervisor allowed a further supplement request for materials not asked the first time.
    v2: no reason text (on ``intake.case-texts``: OverrideTextRecorded)."""

    override_id: str = Field(description="Override id.")
    supervisor_id: str = Field(description="The supervisor who allowed it.")
    materials: list[MaterialRef] = Field(min_length=1, description="The materials not listed the first time (codes).")
    recorded_at: AwareDatetime = Field(description="When.")


class ApplicationNotAccepted(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=1,
                             key_field="receipt_no"):
    """The application is not accepted (不予受理): a returned case (退回件)."""

    reason_code: NotAcceptedReason = Field(description="Reason category.")
    reason: str = Field(min_length=1, description="The reason in words for the notice (zh-CN).")
    decided_at: AwareDatetime = Field(description="When.")
    item_name: str = Field(description="Item name.")
    unit_name: str = Field(description="Unit name.")
    applicant_type: ApplicantType = Field(description="person or company.")


ApplicationNotAcceptedV1 = ApplicationNotAccepted  # v1 (free text on a public topic): kept so old messages stay readable


class ApplicationNotAccepted(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=2,
                             key_field="receipt_no"):
    """The application is not accepted (不予受理): a returned case (退回件). v2: the reason's code
    only; the reason in words is on ``intake.case-texts`` (NotAcceptedTextRecorded)."""

    reason_code: NotAcceptedReason = Field(description="Reason category.")
    decided_at: AwareDatetime = Field(description="When.")
    item_name: str = Field(description="Item name.")
    unit_name: str = Field(description="Unit name.")
    applicant_type: ApplicantType = Field(description="person or company.")


class ApplicationForwarded(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=1,
                           key_field="receipt_no"):
    """A reported-up case was forwarded to the higher authority (上报件)."""

    authority: str = Field(description="The higher authority, e.g. '市自然资源和规划局'.")
    forwarded_at: AwareDatetime = Field(description="When.")
    note: str | None = Field(default=None, description="Covering note (zh-CN).")
    item_name: str = Field(description="Item name.")
    unit_name: str = Field(description="Unit name.")


ApplicationForwardedV1 = ApplicationForwarded  # v1 (free text on a public topic): kept so old messages stay readable


class ApplicationForwarded(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=2,
                           key_field="receipt_no"):
    """A reported-up case was forwarded to the higher authority (上报件). v2: no covering note
    (on ``intake.case-texts``: ForwardingTextRecorded); the authority is an organ's name, checked
    at input (no digits, an organ's suffix)."""

    authority: str = Field(description="The higher authority, e.g. '市自然资源和规划局'.")
    forwarded_at: AwareDatetime = Field(description="When.")
    item_name: str = Field(description="Item name.")
    unit_name: str = Field(description="Unit name.")


class HigherAuthorityAnswered(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=1,
                              key_field="receipt_no"):
    """The higher authority's answer was recorded; the case resumes at the window."""

    authority: str = Field(description="The higher authority.")
    approved: bool = Field(description="Whether the higher authority agreed.")
    answer: str = Field(description="The answer in words (zh-CN).")
    document_no: str | None = Field(default=None, description="Its document number (文号), if any.")
    answered_at: AwareDatetime = Field(description="When the answer was recorded.")


HigherAuthorityAnsweredV1 = HigherAuthorityAnswered  # v1 (free text on a public topic): kept so old messages stay readable


class HigherAuthorityAnswered(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=2,
                              key_field="receipt_no"):
    """The higher authority's answer was recorded; the case resumes at the window. v2: whether it
    agreed; the answer's words and document number are on ``intake.case-texts`` (HigherAnswerTextRecorded)."""

    authority: str = Field(description="The higher authority.")
    approved: bool = Field(description="Whether the higher authority agreed.")
    answered_at: AwareDatetime = Field(description="When the answer was recorded.")


class JointTaskOpened(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=1,
                      key_field="receipt_no"):
    """A participating unit is asked for its opinion on a joint case (联办)."""

    task_id: str = Field(description="Task id.")
    participant_unit_code: UnitCode = Field(description="The participating unit.")
    participant_unit_name: str = Field(description="Its name.")
    opened_at: AwareDatetime = Field(description="When.")


class JointTaskAnswered(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=1,
                        key_field="receipt_no"):
    """A participating unit answered its joint task."""

    task_id: str = Field(description="Task id.")
    participant_unit_code: UnitCode = Field(description="The participating unit.")
    answer: JointAnswer = Field(description="approve or refuse.")
    opinion: str = Field(description="The unit's opinion (zh-CN).")
    answered_at: AwareDatetime = Field(description="When.")
    all_answered: bool = Field(description="True when every participating unit has answered.")


JointTaskAnsweredV1 = JointTaskAnswered  # v1 (free text on a public topic): kept so old messages stay readable


class JointTaskAnswered(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=2,
                        key_field="receipt_no"):
    """A participating unit answered its joint task. v2: approve or refuse; the opinion's words
    are on ``intake.case-texts`` (JointOpinionRecorded)."""

    task_id: str = Field(description="Task id.")
    participant_unit_code: UnitCode = Field(description="The participating unit.")
    answer: JointAnswer = Field(description="approve or refuse.")
    answered_at: AwareDatetime = Field(description="When.")
    all_answered: bool = Field(description="True when every participating unit has answered.")


class ApplicationDecided(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=1,
                         key_field="receipt_no"):
    """The case was decided: approved or denied, with the decision's text (办结)."""

    outcome: Outcome = Field(description="approved or denied.")
    decision_text: str = Field(min_length=1, description="The decision's text (zh-CN).")
    decided_at: AwareDatetime = Field(description="When.")
    case_kind: CaseKind = Field(description="The item's kind.")
    on_the_spot: bool = Field(description="An immediate item decided at the window the same day.")
    item_name: str = Field(description="Item name.")
    unit_name: str = Field(description="Unit name.")
    applicant_type: ApplicantType = Field(description="person or company.")


ApplicationDecidedV1 = ApplicationDecided  # v1 (free text on a public topic): kept so old messages stay readable


class ApplicationDecided(_CaseEvent, source="intake", topic=APPLICATIONS.name, version=2,
                         key_field="receipt_no"):
    """The case was decided: approved or denied (办结). v2: the outcome only; the decision's text
    is on ``intake.case-texts`` (DecisionTextRecorded)."""

    outcome: Outcome = Field(description="approved or denied.")
    decided_at: AwareDatetime = Field(description="When.")
    case_kind: CaseKind = Field(description="The item's kind.")
    on_the_spot: bool = Field(description="An immediate item decided at the window the same day.")
    item_name: str = Field(description="Item name.")
    unit_name: str = Field(description="Unit name.")
    applicant_type: ApplicantType = Field(description="person or company.")


# --------------------------------------------------------------------------- case texts (internal)
# The same facts as the v1 events, in full: what clerks wrote on the case. Internal topic only
# (free text may hold personal data); notify renders its notices from these.


class DecisionTextRecorded(ApplicationDecidedV1, source="intake", topic=CASE_TEXTS.name, version=1,
                           key_field="receipt_no"):
    """A decision with its text, for the decision notice (internal twin of ApplicationDecided)."""


class NotAcceptedTextRecorded(ApplicationNotAcceptedV1, source="intake", topic=CASE_TEXTS.name, version=1,
                              key_field="receipt_no"):
    """A not-accepted case with the reason in words (internal twin of ApplicationNotAccepted)."""


class SupplementTextRecorded(SupplementRequestedV1, source="intake", topic=CASE_TEXTS.name, version=1,
                             key_field="receipt_no"):
    """A supplement request with material names and reasons as typed (internal twin of SupplementRequested)."""


class OverrideTextRecorded(SupplementOverrideRecordedV1, source="intake", topic=CASE_TEXTS.name, version=1,
                           key_field="receipt_no"):
    """A supervisor's override with its reason (internal twin of SupplementOverrideRecorded)."""


class ForwardingTextRecorded(ApplicationForwardedV1, source="intake", topic=CASE_TEXTS.name, version=1,
                             key_field="receipt_no"):
    """A forwarding with its covering note (internal twin of ApplicationForwarded)."""


class HigherAnswerTextRecorded(HigherAuthorityAnsweredV1, source="intake", topic=CASE_TEXTS.name, version=1,
                               key_field="receipt_no"):
    """A higher authority's answer in words (internal twin of HigherAuthorityAnswered)."""


class JointOpinionRecorded(JointTaskAnsweredV1, source="intake", topic=CASE_TEXTS.name, version=1,
                           key_field="receipt_no"):
    """A participating unit's opinion in words (internal twin of JointTaskAnswered)."""


# --------------------------------------------------------------------------- contacts (internal)


class ApplicantContactRecorded(Event, source="intake", topic=CONTACTS.name, version=1, key_field="receipt_no"):
    """The applicant's full contact data for SMS and notices (internal topic only)."""

    receipt_no: ReceiptNo = Field(description="Receipt number.")
    unit_code: UnitCode = Field(description="The unit handling the case.")
    applicant_type: ApplicantType = Field(description="person or company.")
    name: str = Field(description="Full name of the person, or of the company's contact person.")
    company_name: str | None = Field(default=None, description="Company name for a company applicant.")
    mobile: str = Field(pattern=r"^1[0-9]{10}$", description="Mainland mobile number, 11 digits.")
    recorded_at: AwareDatetime = Field(description="When.")


# --------------------------------------------------------------------------- consultations


class ConsultationRecorded(Event, source="intake", topic=CONSULTATIONS.name, version=1, key_field="unit_code"):
    """A consultation (咨询) and the staff member who first received it (首问负责人)."""

    consultation_id: str = Field(description="Consultation id.")
    unit_code: UnitCode = Field(description="The unit of the first-inquiry staff member.")
    staff_id: str = Field(description="First-inquiry staff member, responsible for seeing it through.")
    channel: Channel = Field(description="window, phone or website.")
    item_code: ItemCode | None = Field(default=None, description="The item asked about, if any.")
    outcome: ConsultationOutcome = Field(description="How it ended (so far).")
    referred_to_unit: UnitCode | None = Field(default=None, description="Unit it was referred to, if referred.")
    recorded_at: AwareDatetime = Field(description="When.")


class ConsultationAnswered(Event, source="intake", topic=CONSULTATIONS.name, version=1, key_field="unit_code"):
    """A consultation left open (referred to another unit, or to be answered later) was answered:
    the first-inquiry staff member's follow-up is closed (the answer's text stays in intake: it may name people)."""

    consultation_id: str = Field(description="Consultation id.")
    unit_code: UnitCode = Field(description="The unit of the first-inquiry staff member (the key, as when recorded).")
    staff_id: str = Field(description="First-inquiry staff member (首问负责人).")
    referred_to_unit: UnitCode | None = Field(default=None, description="The unit it was referred to (none: followed up by its own unit).")
    answered_by: str = Field(description="Staff id of who recorded the answer.")
    answered_by_unit: UnitCode | None = Field(default=None, description="That staff member's unit.")
    recorded_at: AwareDatetime = Field(description="When the consultation was recorded.")
    answered_at: AwareDatetime = Field(description="When it was answered.")


class CaseLeadTaken(Event, source="intake", topic=APPLICATIONS.name, version=1, key_field="receipt_no"):
    """A staff member took charge of a case for the applicant across units and steps (领办代办).
    Why (elderly, disabled, key project) stays in intake: it says something about the applicant."""

    lead_id: str = Field(description="Lead id.")
    receipt_no: ReceiptNo = Field(description="The case.")
    unit_code: UnitCode = Field(description="The unit whose window handles the case.")
    staff_id: str = Field(description="The staff member in charge (领办人).")
    staff_unit: UnitCode | None = Field(default=None, description="That staff member's unit.")
    taken_at: AwareDatetime = Field(description="When.")


class CaseLeadReleased(Event, source="intake", topic=APPLICATIONS.name, version=1, key_field="receipt_no"):
    """The staff member's charge of the case ended (the case finished, or handed back)."""

    lead_id: str = Field(description="Lead id.")
    receipt_no: ReceiptNo = Field(description="The case.")
    unit_code: UnitCode = Field(description="The unit whose window handles the case.")
    staff_id: str = Field(description="The staff member who was in charge.")
    released_by: str = Field(description="Staff id of who released it.")
    taken_at: AwareDatetime = Field(description="When it was taken.")
    released_at: AwareDatetime = Field(description="When it was released.")


# --------------------------------------------------------------------------- ratings (intake.ratings)


class RatingSubmitted(Event, source="intake", topic=RATINGS.name, version=1, key_field="receipt_no"):
    """The applicant rated a decided case (好差评), once."""

    receipt_no: ReceiptNo = Field(description="Receipt number.")
    unit_code: UnitCode = Field(description="The unit that handled the case.")
    item_code: ItemCode = Field(description="The item.")
    level: RatingLevel = Field(description="One of the five national levels.")
    score: int = Field(ge=1, le=5, description="5 (非常满意) .. 1 (非常不满意).")
    has_comment: bool = Field(description="Whether a comment was left (the text stays in intake: personal data).")
    accepted_by: str | None = Field(default=None, description="Staff id of the clerk who accepted the case.")
    decided_by: str | None = Field(default=None, description="Staff id of who recorded the decision.")
    rated_at: AwareDatetime = Field(description="When.")


class RectificationOpened(Event, source="intake", topic=RATINGS.name, version=1, key_field="receipt_no"):
    """A low rating (不满意/非常不满意) opened a rectification task (整改) for the unit."""

    rectification_id: str = Field(description="Task id.")
    receipt_no: ReceiptNo = Field(description="The rated case.")
    unit_code: UnitCode = Field(description="The unit that must respond.")
    level: RatingLevel = Field(description="The rating that opened it.")
    opened_at: AwareDatetime = Field(description="When.")
    due_on: date = Field(description="The day the unit's response is due (working days from opening).")
    accepted_by: str | None = Field(default=None, description="Staff id of the clerk who accepted the case.")


class RectificationClosed(Event, source="intake", topic=RATINGS.name, version=1, key_field="receipt_no"):
    """The unit responded and the rectification task was closed."""

    rectification_id: str = Field(description="Task id.")
    receipt_no: ReceiptNo = Field(description="The rated case.")
    unit_code: UnitCode = Field(description="The unit.")
    closed_at: AwareDatetime = Field(description="When.")
    on_time: bool = Field(description="Closed on or before the due day.")
    staff_id: str | None = Field(default=None, description="Who recorded the response.")


class RectificationOverdueDetected(Event, source="intake", topic=RATINGS.name, version=1, key_field="receipt_no"):
    """A rectification task (整改) passed its due day without the unit's response; emitted once
    per task (a follow-up for the center's supervisors)."""

    rectification_id: str = Field(description="Task id.")
    receipt_no: ReceiptNo = Field(description="The rated case.")
    unit_code: UnitCode = Field(description="The unit that must respond.")
    due_on: date = Field(description="The day the response was due.")
    detected_at: AwareDatetime = Field(description="When the follow-up found it overdue.")
