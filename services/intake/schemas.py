"""Request and response bodies of intake's HTTP API (field descriptions are the API docs)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, create_model

from contracts.common import ApplicantType, CaseKind, Channel
from contracts.intake import (
    ConsultationOutcome,
    Fee,
    JointAnswer,
    MaterialSpec,
    NotAcceptedReason,
    Outcome,
    RatingLevel,
)

from .domain.cases import Application, JointTask, RequestedMaterial, Status
from .domain.catalog import Item, ItemContent, ItemVersion, Unit
from .domain.consultations import Consultation
from .domain.leads import LeadReason
from .domain.ratings import Rectification, RectificationStatus
from .domain.volume import parse_period

# --------------------------------------------------------------------------- shared value types


def _real_month(value: str) -> str:
    # The pattern alone lets 0000-00 or 2024-13 through, and the reports would then fail.
    try:
        parse_period(value)
    except ValueError:
        raise ValueError("月份应为 YYYY-MM，年份 0001 至 9999，月份 01 至 12") from None
    return value


#: A month, 'YYYY-MM' (ASCII digits only), of a year 1..9999: every period in intake's API.
Period = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}$", description="月份，YYYY-MM"),
                   AfterValidator(_real_month)]


# --------------------------------------------------------------------------- catalog


class UnitIn(BaseModel):
    code: str = Field(description="单位代码，2至12位大写字母或数字，如 LYJ", max_length=12)
    name: str = Field(description="单位名称，如 青山县林业局", max_length=100)
    window_numbers: list[str] = Field(default_factory=list, description="窗口号")
    entered: bool = Field(True, description="是否已进驻中心")
    entered_since: date | None = Field(None, description="进驻日期")


class ItemContentIn(BaseModel):
    name: str = Field(description="事项名称", max_length=200)
    case_kind: CaseKind = Field(description="事项类型：immediate 即办件、promised 承诺件、joint 联办件、reported_up 上报件")
    joint_units: list[str] = Field(default_factory=list, description="联办单位代码（联办件）")
    higher_authority: str | None = Field(None, description="上级审批机关（上报件）", max_length=100)
    legal_basis: list[str] = Field(description="审批依据，每条一项")
    procedure: list[str] = Field(description="办理程序，每步一项")
    materials: list[MaterialSpec] = Field(description="申报材料")
    statutory_days: int = Field(ge=0, description="法定时限（工作日）")
    promised_days: int = Field(ge=0, description="承诺时限（工作日），即办件为0")
    fee: Fee = Field(description="收费标准及依据")
    flow: str = Field(description="办理流程", max_length=2000)

    def content(self) -> ItemContent:
        return ItemContent(
            name=self.name.strip(), case_kind=self.case_kind, joint_units=tuple(self.joint_units),
            higher_authority=(self.higher_authority or "").strip() or None, legal_basis=tuple(self.legal_basis),
            procedure=tuple(self.procedure), materials=tuple(self.materials), statutory_days=self.statutory_days,
            promised_days=self.promised_days, fee=self.fee, flow=self.flow,
        )


class ItemCreate(ItemContentIn):
    code: str = Field(description="事项编码，如 LYJ-001", max_length=20)
    unit_code: str = Field(description="所属单位代码", max_length=12)


class RetireIn(BaseModel):
    reason: str | None = Field(None, description="停用原因", max_length=500)


class MaterialView(BaseModel):
    code: str
    name: str
    form: str = Field(description="原件/复印件")
    copies: int
    mandatory: bool
    condition: str | None


class GuideItemSummary(BaseModel):
    code: str
    name: str
    unit_code: str
    unit_name: str
    case_kind: CaseKind
    case_kind_label: str
    promised_days: int
    free: bool


class GuideItem(GuideItemSummary):
    """An item's guide (办事指南): the current version."""

    version: int
    legal_basis: list[str]
    procedure: list[str]
    materials: list[MaterialView]
    statutory_days: int
    fee: Fee
    flow: str
    joint_units: list[str]
    higher_authority: str | None


def guide_summary(v: ItemVersion, unit_name: str) -> GuideItemSummary:
    c = v.content
    return GuideItemSummary(code=v.item_code, name=c.name, unit_code=v.unit_code, unit_name=unit_name,
                            case_kind=c.case_kind, case_kind_label=c.case_kind.label,
                            promised_days=c.promised_days, free=c.fee.free)


def guide_item(v: ItemVersion, unit_name: str) -> GuideItem:
    c = v.content
    return GuideItem(
        **guide_summary(v, unit_name).model_dump(), version=v.version, legal_basis=list(c.legal_basis),
        procedure=list(c.procedure),
        materials=[MaterialView(code=m.code, name=m.name, form=m.form.label, copies=m.copies, mandatory=m.mandatory,
                                condition=m.condition) for m in c.materials],
        statutory_days=c.statutory_days, fee=c.fee, flow=c.flow, joint_units=list(c.joint_units),
        higher_authority=c.higher_authority,
    )


class GuideUnit(BaseModel):
    code: str
    name: str
    window_numbers: list[str]
    items: int = Field(description="可办事项数")


class ItemAdminView(BaseModel):
    code: str
    unit_code: str
    current: int | None = Field(description="现行版本号")
    retired: bool
    draft_version: int | None = Field(description="草稿将发布为的版本号")
    draft: ItemContent | None = Field(description="草稿内容")
    versions: list[ItemVersion] = Field(description="已发布的各版本（发布后不再改变）")

    @classmethod
    def of(cls, item: Item) -> "ItemAdminView":
        return cls(code=item.code, unit_code=item.unit_code, current=item.current, retired=item.retired,
                   draft_version=item.draft_version, draft=item.draft, versions=list(item.versions))


class UnitView(BaseModel):
    """A window unit as the catalog administration sees it."""

    code: str = Field(description="单位代码")
    name: str = Field(description="单位名称")
    window_numbers: list[str] = Field(description="窗口号")
    entered: bool = Field(description="是否已进驻中心")
    entered_since: date | None = Field(description="进驻日期")
    registered_on: date | None = Field(description="首次登记日期")


def unit_view(u: Unit) -> UnitView:
    return UnitView.model_validate(u.model_dump())


# --------------------------------------------------------------------------- applications


class ApplicantIn(BaseModel):
    type: ApplicantType = Field(description="person 个人 / company 单位")
    name: str = Field(description="个人姓名；单位申请时为经办人姓名", max_length=30)
    mobile: str = Field(description="手机号码（接收短信）", max_length=20)
    resident_id: str | None = Field(None, description="居民身份证号码（个人）", max_length=20)
    company_name: str | None = Field(None, description="单位名称（单位）", max_length=200)
    credit_code: str | None = Field(None, description="统一社会信用代码（单位）", max_length=20)


class ApplicationIn(BaseModel):
    item_code: str = Field(description="申请的事项编码", max_length=20)
    applicant: ApplicantIn
    materials: list[str] = Field(default_factory=list, description="已提交的材料编号，如 M01")
    conditional_materials: list[str] = Field(
        default_factory=list, description="本次适用的视情况提交材料编号（如委托办理时的授权委托书）")
    channel: Channel = Field(Channel.WINDOW, description="受理渠道")
    accept_if_complete: bool = Field(
        True, description="材料齐全时立即受理、不齐全时立即一次性告知；false 则只收件，由窗口审查后再受理")


class RequestedMaterialIn(BaseModel):
    code: str | None = Field(None, description="材料编号（事项清单内的材料）", max_length=16)
    name: str | None = Field(None, description="材料名称（清单外的材料）", max_length=200)
    reason: str | None = Field(None, description="需补正的原因", max_length=500)

    def requested(self) -> RequestedMaterial:
        return RequestedMaterial(code=self.code, name=self.name, reason=self.reason)


class SupplementRequestIn(BaseModel):
    materials: list[RequestedMaterialIn] = Field(
        default_factory=list, description="需补正的材料；受理前缺少的必交材料会自动列入")


class OverrideIn(BaseModel):
    materials: list[RequestedMaterialIn] = Field(min_length=1, description="批准再次补正的材料")
    reason: str = Field(description="批准理由", max_length=500)


class ProvidedIn(BaseModel):
    materials: list[str] = Field(min_length=1, description="申请人带来的补正材料编号")


class NotAcceptedIn(BaseModel):
    reason_code: NotAcceptedReason = Field(description="不予受理原因类别")
    reason: str = Field(description="不予受理理由（载入通知书）", max_length=1000)


class ForwardIn(BaseModel):
    authority: str | None = Field(None, description="上级机关；不填则为事项登记的上级机关", max_length=100)
    note: str | None = Field(None, description="报送说明", max_length=1000)


class HigherAnswerIn(BaseModel):
    approved: bool = Field(description="上级机关是否同意")
    answer: str = Field(description="答复内容", max_length=2000)
    document_no: str | None = Field(None, description="文号", max_length=100)


class JointAnswerIn(BaseModel):
    answer: JointAnswer = Field(description="approve 同意 / refuse 不同意")
    opinion: str = Field(description="联办意见", max_length=2000)


class DecisionIn(BaseModel):
    outcome: Outcome = Field(description="approved 准予 / denied 不予")
    decision_text: str = Field(description="决定内容（载入决定书）", max_length=4000)


#: The staff view of a case: every field of the case (``Application``), with its unit and labels.
CaseView = create_model(
    "CaseView",
    __doc__="The staff view of a case (案件): everything, with labels.",
    **{name: (f.annotation, f) for name, f in Application.model_fields.items()},  # type: ignore[arg-type]
    unit_code=(str, Field(description="办理单位代码")),
    status_label=(str, Field(description="办理状态")),
    case_kind=(CaseKind, Field(description="事项类型")),
    case_kind_label=(str, Field(description="事项类型（中文）")),
    six_kind=(CaseKind, Field(description="六件管理中计入的类型（退回件、补办件或事项类型）")),
    six_kind_label=(str, Field(description="六件管理中计入的类型（中文）")),
)


def case_view(app: Application) -> Any:
    """The staff view of a case (a :data:`CaseView`)."""
    return CaseView.model_validate({
        **app.model_dump(), "unit_code": app.unit_code, "status_label": app.status.label, "case_kind": app.kind,
        "case_kind_label": app.kind.label, "six_kind": app.six_kind, "six_kind_label": app.six_kind.label,
    })


class JointProgressView(BaseModel):
    """What a participating unit sees after answering its joint task: its task and the case's
    progress, not the applicant's data."""

    receipt_no: str
    status: Status
    status_label: str
    joint_tasks: list[JointTask]
    unit_code: str

    @classmethod
    def of(cls, app: Application) -> "JointProgressView":
        return cls(receipt_no=app.receipt_no, status=app.status, status_label=app.status.label,
                   joint_tasks=list(app.joint_tasks), unit_code=app.unit_code)


class CaseSummary(BaseModel):
    receipt_no: str
    item_code: str
    item_name: str
    unit_code: str
    applicant: str
    status: str
    status_label: str
    six_kind: CaseKind
    received_at: datetime
    weekend: bool
    due_on: date | None

    @classmethod
    def of(cls, app: Application, masked: bool = False) -> "CaseSummary":
        """``masked``: a person's name with the surname only (a company's name is public)."""
        applicant = app.applicant.display_name if masked else app.applicant.company_name or app.applicant.name
        return cls(receipt_no=app.receipt_no, item_code=app.item.item_code, item_name=app.item.name,
                   unit_code=app.unit_code, applicant=applicant,
                   status=app.status.value, status_label=app.status.label, six_kind=app.six_kind,
                   received_at=app.received_at, weekend=app.weekend, due_on=app.due_on)


# --------------------------------------------------------------------------- public


class LookupIn(BaseModel):
    receipt_no: str = Field(description="受理编号，如 2024-LYJ-00042", max_length=40)
    mobile_last4: str = Field(description="申请时所留手机号码的后四位", max_length=8)


class PublicRatingIn(LookupIn):
    level: RatingLevel = Field(description="非常满意 very_satisfied … 非常不满意 very_dissatisfied")
    comment: str | None = Field(None, description="评价内容（选填）", max_length=500)


class RatingAck(BaseModel):
    receipt_no: str
    level: RatingLevel
    level_label: str
    rectification_opened: bool


# --------------------------------------------------------------------------- consultations, rectifications


class ConsultationIn(BaseModel):
    channel: Channel = Field(description="window 窗口 / phone 电话 / website 网站")
    question: str = Field(description="咨询内容摘要", max_length=1000)
    outcome: ConsultationOutcome = Field(description="处理结果")
    item_code: str | None = Field(None, description="咨询的事项编码", max_length=20)
    answer: str | None = Field(None, description="答复内容", max_length=2000)
    referred_to_unit: str | None = Field(None, description="转交单位代码（转交时）", max_length=12)


class ConsultationView(BaseModel):
    """A consultation (咨询) and its first-inquiry staff member (首问负责人)."""

    consultation_id: str
    unit_code: str
    staff_id: str
    channel: Channel
    item_code: str | None
    question: str
    outcome: ConsultationOutcome
    answer: str | None
    referred_to_unit: str | None
    recorded_at: datetime


def consultation_view(c: Consultation) -> ConsultationView:
    return ConsultationView.model_validate(c.model_dump())


class CloseRectificationIn(BaseModel):
    response: str = Field(description="整改情况说明", max_length=2000)


class RectificationView(BaseModel):
    """A rectification task (整改) opened by a low rating."""

    rectification_id: str
    receipt_no: str
    unit_code: str
    level: RatingLevel
    comment: str | None
    opened_at: datetime
    due_on: date
    accepted_by: str | None
    status: RectificationStatus
    response: str | None
    closed_at: datetime | None
    closed_by: str | None
    level_label: str = Field(description="评价等级（中文）")


def rectification_view(r: Rectification) -> RectificationView:
    return RectificationView.model_validate({**r.model_dump(), "level_label": r.level.label})


# --------------------------------------------------------------------------- reports


class MonthlyReportIn(BaseModel):
    period: Period


class MonthlyReportOut(BaseModel):
    period: str = Field(description="月份")
    events: list[str] = Field(description="本次发布的事件（已发布过的不再发布）")
    flagged: list[str] = Field(description="标记为“应进不进”的单位代码")


class VolumeRow(BaseModel):
    """A unit's business in one month (the figures of ``UnitVolumeReported``)."""

    unit_code: str
    unit_name: str
    period: str
    received: int
    accepted: int
    not_accepted: int
    decided: int
    weekend_received: int
    by_kind: dict[CaseKind, int]
    consultations: int
    reported_at: datetime


class WeekendCount(BaseModel):
    saturday: date = Field(description="周六的日期")
    received: int = Field(description="该周末的收件量")


class WeekendReport(BaseModel):
    weekends: list[WeekendCount]
    total: int
    average_per_weekend: int | float


# --------------------------------------------------------------------------- the hall's figures, the applicant search


class TodayUnit(BaseModel):
    unit_code: str = Field(description='单位编码（"*" 为合计）')
    unit_name: str | None = None
    received: int = Field(description="今日收件数")
    immediate_done: int = Field(description="今日即办件办结数")


class TodayReport(BaseModel):
    """Counts only: no applicant's data, so not on the access log."""

    day: date
    units: list[TodayUnit]
    total: TodayUnit


class ApplicantHit(BaseModel):
    """A case found by the applicant search, masked: a person's name with the surname only, ID
    and mobile masked; a company's name (public registry data) in full."""

    receipt_no: str
    item_code: str
    item_name: str
    unit_code: str
    applicant: str = Field(description="申请人（个人隐去名字；单位为全称）")
    applicant_type: ApplicantType
    masked_mobile: str
    masked_resident_id: str | None
    status: str
    status_label: str
    six_kind: CaseKind
    received_at: datetime
    due_on: date | None

    @classmethod
    def of(cls, app: Application) -> "ApplicantHit":
        p = app.applicant.public()
        return cls(receipt_no=app.receipt_no, item_code=app.item.item_code, item_name=app.item.name,
                   unit_code=app.unit_code, applicant=app.applicant.display_name, applicant_type=app.applicant.type,
                   masked_mobile=p.masked_mobile, masked_resident_id=p.masked_resident_id, status=app.status.value,
                   status_label=app.status.label, six_kind=app.six_kind, received_at=app.received_at,
                   due_on=app.due_on)


class InactivityRow(BaseModel):
    """A unit's standing against the "should enter but don't" (应进不进) rule in one month (computed, not published)."""

    unit_code: str
    unit_name: str
    entered: bool = Field(description="是否已进驻中心")
    entered_since: date | None = Field(description="进驻日期")
    last_business_on: date | None = Field(description="最近一次收件的日期")
    months_without_business: int = Field(description="截至该月连续无收件的月数")
    threshold: int = Field(description="标记“应进不进”的月数")
    flagged: bool = Field(description="是否为“应进不进”单位")


class RatingsRow(BaseModel):
    """A unit's ratings (好差评) of the cases it received in one month."""

    unit_code: str
    unit_name: str
    period: str
    counts: dict[RatingLevel, int] = Field(description="各评价等级的件数")
    rated: int = Field(description="已评价件数")
    low: int = Field(description="差评（不满意、非常不满意）件数")
    average_score: float | None = Field(description="平均分（1至5分），无评价为空")



# --------------------------------------------------------------------------- 领办代办, consultations to closure


class LeadIn(BaseModel):
    reason: LeadReason = Field(description="elderly 老年人 / disabled 残疾人 / key_project 重点项目 / other 其他")
    note: str | None = Field(None, description="说明（原因为“其他”时必填）", max_length=500)


class LeadReleaseIn(BaseModel):
    note: str | None = Field(None, description="解除说明", max_length=500)


class LeadView(BaseModel):
    """One staff member's charge of a case (领办代办)."""

    lead_id: str
    receipt_no: str
    staff_id: str
    staff_name: str | None
    staff_unit: str | None
    staff_unit_name: str | None
    reason: LeadReason
    reason_label: str
    note: str | None
    taken_at: datetime
    released_at: datetime | None
    released_by: str | None
    release_note: str | None
    active: bool


def lead_views(app: Application) -> list[LeadView]:
    return [LeadView.model_validate({**lead.model_dump(), "receipt_no": app.receipt_no,
                                     "reason_label": lead.reason.label, "active": lead.active})
            for lead in app.leads]


class CaseLeadsView(BaseModel):
    """Who leads a case now and who did before, and the unit(s) holding it now (联办: the units
    that have not answered their joint task yet)."""

    receipt_no: str
    status: Status
    holding_units: list[str] = Field(description="当前承办单位")
    current: LeadView | None = Field(description="当前领办人（无则为空）")
    history: list[LeadView] = Field(description="领办记录（含已解除的）")


class ConsultationAnswerIn(BaseModel):
    answer: str = Field(description="答复内容", max_length=1000)


class ConsultationFollowUpView(BaseModel):
    """A consultation and, once answered, who closed it and when."""

    consultation: ConsultationView
    open: bool = Field(description="是否仍在跟踪中（转交或待答复且尚未答复）")
    answered_by: str | None = None
    answered_by_unit: str | None = None
    answered_at: datetime | None = None
    answer: str | None = None
