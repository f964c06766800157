"""Contracts of the deadline service.

The deadline service watches every accepted case against its limit in working days (the clock)
and supervises the window units (bulletins, supervision notices, random inspections).

Topics (all public: other county bureaus may subscribe, so no applicant identifiers at all;
staff names and ids are fine):
- ``deadline.clocks`` keyed by ``receipt_no``: one case's clock, in order.
- ``deadline.supervision`` keyed by ``unit_code``: supervision of a unit (notices, inspections)
  and the center's monthly bulletin (keyed by the center's own unit code).
- ``deadline.calendar`` keyed by ``year``: changes to the working-day calendar (county
  overrides, State Council schedules loaded), so that other services (intake, attendance) follow it
  (``services/runtime/calendar_follower.py``: every process replays it from the beginning).

Dates (``due_date`` ...) are local calendar dates in the county (Asia/Shanghai); instants
(``accepted_at`` ...) are timezone-aware datetimes.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .base import Event
from .common import CaseKind, ItemCode, ReceiptNo, UnitCode
from .topics import Audience, topic

CLOCKS = topic(
    "deadline.clocks",
    owner="deadline",
    key="receipt_no",
    audience=Audience.PUBLIC,
    retention_days=400,
    description="Each accepted case's working-day clock: start, stops, extensions, warnings, "
    "overdue, end.",
)
SUPERVISION = topic(
    "deadline.supervision",
    owner="deadline",
    key="unit_code",
    audience=Audience.PUBLIC,
    retention_days=400,
    description="Supervision of window units: supervision notices and replies, random "
    "inspections, and the center's monthly bulletin (定期通报).",
)
CALENDAR = topic(
    "deadline.calendar",
    owner="deadline",
    key="year",
    audience=Audience.PUBLIC,
    partitions=1,
    retention_days=3650,
    description="Changes to the county's working-day calendar (overrides and State Council "
    "schedules).",
)


# ---------------------------------------------------------------------------------------------
# Vocabularies


class StopReason(StrEnum):
    """Why a clock stands still (the time the law excludes from the limit)."""

    SUPPLEMENT = "supplement"              # 补正材料 (waiting for the applicant)
    HEARING = "hearing"                    # 听证
    TESTING = "testing"                    # 检验、检测、检疫
    INSPECTION = "inspection"              # 现场勘验、核查
    EXPERT_REVIEW = "expert_review"        # 鉴定、专家评审
    HIGHER_AUTHORITY = "higher_authority"  # 上报上级机关 (reported-up case)
    OTHER = "other"                        # 其他法定不计时情形

    @property
    def label(self) -> str:
        return STOP_REASON_LABELS[self]


STOP_REASON_LABELS = {
    StopReason.SUPPLEMENT: "补正材料",
    StopReason.HEARING: "听证",
    StopReason.TESTING: "检验检测",
    StopReason.INSPECTION: "现场核查",
    StopReason.EXPERT_REVIEW: "专家评审",
    StopReason.HIGHER_AUTHORITY: "上报上级机关",
    StopReason.OTHER: "其他",
}


class DueDateChangeReason(StrEnum):
    STOP = "stop"            # a stop ended: the due date moved by the working days stopped
    EXTENSION = "extension"  # an extension was granted
    CALENDAR = "calendar"    # the calendar changed (override, State Council schedule loaded)


class InspectionResult(StrEnum):
    COMPLIANT = "compliant"  # 合格
    DEFECTIVE = "defective"  # 存在问题 (to be corrected)
    VIOLATION = "violation"  # 违规

    @property
    def label(self) -> str:
        return {"compliant": "合格", "defective": "存在问题", "violation": "违规"}[self.value]


class NoticeSource(StrEnum):
    """What led to a supervision notice."""

    MANUAL = "manual"          # a supervisor's own finding
    OVERDUE = "overdue"        # an overdue case
    INSPECTION = "inspection"  # a random inspection found a violation
    INACTIVITY = "inactivity"  # a unit routes no business through the center (应进不进)


class CalendarAction(StrEnum):
    ADD_HOLIDAY = "add_holiday"          # the county declares a day off
    ADD_WORKING_DAY = "add_working_day"  # the county declares a working day
    REMOVE_OVERRIDE = "remove_override"  # back to the national calendar for that day
    LOAD_SCHEDULE = "load_schedule"      # the State Council's schedule for a year


# ---------------------------------------------------------------------------------------------
# deadline.clocks


class _ClockEvent(Event, abstract=True):
    receipt_no: ReceiptNo = Field(description="The case's receipt number (受理编号).")
    unit_code: UnitCode = Field(description="The window unit handling the case.")


class ClockStarted(_ClockEvent, source="deadline", topic=CLOCKS.name, version=1, key_field="receipt_no"):
    """A case was accepted and its clock runs (承诺时限 and 法定时限 in working days)."""

    item_code: ItemCode = Field(description="The approval item.")
    item_version: int | None = Field(default=None, description="Version of the item whose limits apply.")
    case_kind: CaseKind = Field(description="The kind of case (六件管理).")
    accepted_at: AwareDatetime = Field(description="When the application was accepted.")
    promised_days: int = Field(ge=0, description="Promised limit in working days (0: immediate item).")
    statutory_days: int = Field(ge=0, description="Statutory limit in working days.")
    due_date: date = Field(description="Last day of the promised limit (local date).")
    statutory_due_date: date = Field(description="Last day of the statutory limit (local date).")
    provisional: bool = Field(
        description="True when the due dates fall in a year whose official holiday schedule "
        "is not loaded yet: computed by statutory rule and recomputed when it is."
    )
    calendar_version: int = Field(ge=0, description="Version of the working-day calendar used.")


class DueDateChanged(_ClockEvent, source="deadline", topic=CLOCKS.name, version=1, key_field="receipt_no"):
    """A clock's due dates moved."""

    old_due_date: date = Field(description="Promised due date before the change.")
    new_due_date: date = Field(description="Promised due date after the change.")
    old_statutory_due_date: date = Field(description="Statutory due date before the change.")
    new_statutory_due_date: date = Field(description="Statutory due date after the change.")
    reason: DueDateChangeReason = Field(description="Why it moved.")
    provisional: bool = Field(description="Whether the new due dates are still provisional.")
    calendar_version: int = Field(ge=0, description="Version of the working-day calendar used.")


class ClockStopped(_ClockEvent, source="deadline", topic=CLOCKS.name, version=1, key_field="receipt_no"):
    """The clock stands still (supplement, hearing, testing, reported up, ...)."""

    stop_id: str = Field(max_length=80, description="Identifies the stop within the case.")
    reason: StopReason = Field(description="Why the clock stops.")
    stopped_at: AwareDatetime = Field(description="When the stop began.")
    note: str | None = Field(default=None, max_length=500, description="Free text (no personal data).")


class ClockResumed(_ClockEvent, source="deadline", topic=CLOCKS.name, version=1, key_field="receipt_no"):
    """A stop ended; the clock runs again."""

    stop_id: str = Field(max_length=80, description="The stop that ended.")
    reason: StopReason = Field(description="Why the clock had stopped.")
    resumed_at: AwareDatetime = Field(description="When the stop ended.")
    working_days_stopped: int = Field(
        ge=0, description="Working days this stop added (days already covered by another stop "
        "are not counted twice)."
    )
    due_date: date = Field(description="The promised due date now.")
    statutory_due_date: date = Field(description="The statutory due date now.")


class ExtensionGranted(_ClockEvent, source="deadline", topic=CLOCKS.name, version=1, key_field="receipt_no"):
    """The limit was extended (延长审批期限); notify tells the applicant."""

    extension_id: str = Field(max_length=80, description="Identifies the extension within the case.")
    days: int = Field(ge=1, le=365, description="Working days added.")
    approved_by: str = Field(min_length=1, max_length=80, description="The person who approved it (staff name or id).")
    reason: str = Field(min_length=1, max_length=500, description="Why.")
    granted_at: AwareDatetime = Field(description="When it was granted.")
    old_due_date: date = Field(description="Promised due date before.")
    new_due_date: date = Field(description="Promised due date after.")
    new_statutory_due_date: date = Field(description="Statutory due date after.")


class DeadlineWarned(_ClockEvent, source="deadline", topic=CLOCKS.name, version=1, key_field="receipt_no"):
    """Yellow card (黄牌预警): the case has few working days left. Once per case and threshold."""

    item_code: ItemCode = Field(description="The approval item.")
    threshold_days: int = Field(ge=1, description="The warning threshold crossed (working days left).")
    days_left: int = Field(ge=0, description="Working days left after today, counting the due date.")
    due_date: date = Field(description="The promised due date.")
    warned_at: AwareDatetime = Field(description="When the threshold was crossed.")


class DeadlineMissed(_ClockEvent, source="deadline", topic=CLOCKS.name, version=1, key_field="receipt_no"):
    """Red card (红牌): the promised due date passed without a decision. Once per case."""

    item_code: ItemCode = Field(description="The approval item.")
    due_date: date = Field(description="The promised due date that passed.")
    statutory_due_date: date = Field(description="The statutory due date.")
    overdue_at: AwareDatetime = Field(description="When the case became overdue (the start of the day after the due date).")


class ClockEnded(_ClockEvent, source="deadline", topic=CLOCKS.name, version=1, key_field="receipt_no"):
    """The case was decided (or otherwise closed); its clock stops for good."""

    item_code: ItemCode = Field(description="The approval item.")
    case_kind: CaseKind = Field(description="The kind of case.")
    decided_at: AwareDatetime = Field(description="When the decision was made.")
    outcome: str = Field(max_length=40, description="The decision's outcome as intake reported it.")
    due_date: date = Field(description="The promised due date at the end.")
    on_time: bool = Field(description="Decided on or before the promised due date.")
    within_statutory: bool = Field(description="Decided on or before the statutory due date.")
    working_days_used: int = Field(
        ge=0, description="Working days from acceptance (not counted) to decision, minus the days stopped."
    )
    working_days_stopped: int = Field(ge=0, description="Working days the clock stood still.")
    late_working_days: int = Field(ge=0, description="Working days past the promised due date (0 when on time).")


# ---------------------------------------------------------------------------------------------
# deadline.supervision


class SupervisionNoticeIssued(Event, source="deadline", topic=SUPERVISION.name, version=1, key_field="unit_code"):
    """A supervision notice (业务督办通知书) went to a window unit."""

    notice_no: str = Field(max_length=40, description="The notice's number.")
    unit_code: UnitCode = Field(description="The unit supervised.")
    receipt_no: ReceiptNo | None = Field(default=None, description="The case concerned, if any.")
    raised_by: str = Field(min_length=1, max_length=80, description="The supervisor (staff name or id).")
    raised_at: AwareDatetime = Field(description="When it was raised.")
    reason: str = Field(min_length=1, max_length=2000, description="The problem found.")
    reply_due: date = Field(description="The unit must reply by this date.")
    origin: NoticeSource = Field(description="What led to the notice.")


class SupervisionReplied(Event, source="deadline", topic=SUPERVISION.name, version=1, key_field="unit_code"):
    """The unit replied to a supervision notice; the notice is closed."""

    notice_no: str = Field(max_length=40, description="The notice answered.")
    unit_code: UnitCode = Field(description="The unit that replied.")
    replied_by: str = Field(min_length=1, max_length=80, description="Who replied (staff name or id).")
    replied_at: AwareDatetime = Field(description="When.")
    reply: str = Field(min_length=1, max_length=4000, description="The reply (rectification taken).")
    on_time: bool = Field(description="Replied on or before the reply date.")


class SupervisionReplyOverdueDetected(Event, source="deadline", topic=SUPERVISION.name, version=1, key_field="unit_code"):
    """A supervision notice's reply date passed without the unit's reply; emitted once per notice
    (a follow-up for the center's supervisors)."""

    notice_no: str = Field(max_length=40, description="The notice still unanswered.")
    unit_code: UnitCode = Field(description="The unit that must reply.")
    receipt_no: ReceiptNo | None = Field(default=None, description="The case concerned, if any.")
    reply_due: date = Field(description="The day the reply was due.")
    detected_at: AwareDatetime = Field(description="When the follow-up found it overdue.")


class BulletinOverdueCase(BaseModel):
    model_config = ConfigDict(frozen=True)

    receipt_no: ReceiptNo = Field(description="The case.")
    unit_code: UnitCode = Field(description="Its unit.")
    item_code: ItemCode = Field(description="Its approval item.")
    due_date: date = Field(description="The promised due date.")
    decided_on: date | None = Field(default=None, description="When it was decided, if it was (late).")
    overdue_working_days: int = Field(ge=0, description="Working days past the due date (by the end of the period or the decision).")


class BulletinUnitStats(BaseModel):
    model_config = ConfigDict(frozen=True)

    unit_code: UnitCode = Field(description="The unit.")
    cases_decided: int = Field(ge=0, description="Cases decided in the period.")
    on_time: int = Field(ge=0, description="Of which on time.")
    on_time_rate: float | None = Field(default=None, description="on_time / cases_decided (None when no case).")
    average_working_days_used: float | None = Field(default=None, description="Mean working days used.")
    immediate_share: float | None = Field(default=None, description="Share of immediate cases (即办件) among those decided.")
    overdue_cases: int = Field(ge=0, description="Cases overdue at some time in the period.")
    notices: int = Field(ge=0, description="Supervision notices issued to the unit in the period.")
    violations: int = Field(ge=0, description="Violations found by inspection in the period.")


class BulletinPublished(Event, source="deadline", topic=SUPERVISION.name, version=1, key_field="unit_code"):
    """The monthly bulletin (定期通报): overdue cases and their units, and each unit's figures."""

    unit_code: UnitCode = Field(description="The center's own unit code (the bulletin's issuer).")
    bulletin_no: str = Field(max_length=40, description="The bulletin's number.")
    period: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$", description="The month covered, YYYY-MM.")
    published_by: str = Field(min_length=1, max_length=80, description="Who published it.")
    published_at: AwareDatetime = Field(description="When.")
    overdue_cases: list[BulletinOverdueCase] = Field(description="Cases overdue at some time in the period.")
    unit_stats: list[BulletinUnitStats] = Field(description="Each unit's figures for the period.")


class InspectionSampled(Event, source="deadline", topic=SUPERVISION.name, version=1, key_field="unit_code"):
    """A random inspection (抽查) drew its sample of a unit's closed cases for a month."""

    sample_id: str = Field(max_length=60, description="Identifies the sample.")
    unit_code: UnitCode = Field(description="The unit inspected.")
    period: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$", description="The month whose closed cases were sampled.")
    seed: str = Field(max_length=64, description="The seed: the same seed and population give the same sample.")
    share: float = Field(gt=0, le=1, description="The stated share of cases drawn.")
    population: int = Field(ge=0, description="How many closed cases there were to draw from.")
    receipt_nos: list[ReceiptNo] = Field(description="The cases drawn.")
    sampled_by: str = Field(min_length=1, max_length=80, description="Who drew it.")
    sampled_at: AwareDatetime = Field(description="When.")


class InspectionRecorded(Event, source="deadline", topic=SUPERVISION.name, version=1, key_field="unit_code"):
    """The result of inspecting one sampled case."""

    sample_id: str = Field(max_length=60, description="The sample the case came from.")
    unit_code: UnitCode = Field(description="The unit.")
    receipt_no: ReceiptNo = Field(description="The case inspected.")
    inspector: str = Field(min_length=1, max_length=80, description="Who inspected it.")
    result: InspectionResult = Field(description="The result.")
    violation: bool = Field(description="Whether a violation was found.")
    notes: str | None = Field(default=None, max_length=2000, description="Findings (no personal data).")
    recorded_at: AwareDatetime = Field(description="When.")
    notice_no: str | None = Field(default=None, max_length=40, description="The supervision notice raised for it, if any.")


# ---------------------------------------------------------------------------------------------
# deadline.calendar


class CalendarChanged(Event, source="deadline", topic=CALENDAR.name, version=1, key_field="year"):
    """The working-day calendar changed (who changed what, and why)."""

    year: int = Field(ge=1, le=9999, description="The year the change concerns.")
    calendar_version: int = Field(ge=1, description="The calendar's version after the change.")
    action: CalendarAction = Field(description="What was done.")
    day: date | None = Field(default=None, description="The day concerned (overrides).")
    holidays: list[date] = Field(default_factory=list, description="Days off of a loaded schedule.")
    working_days: list[date] = Field(default_factory=list, description="Make-up working days of a loaded schedule (调休上班).")
    changed_by: str = Field(min_length=1, max_length=80, description="Who made the change.")
    changed_at: AwareDatetime = Field(description="When.")
    reason: str = Field(min_length=1, max_length=500, description="Why (e.g. the document number).")
    clocks_moved: int = Field(ge=0, description="Open clocks whose due date moved because of it.")
