"""Contracts of the attendance service.

Attendance owns staff presence: the fingerprint terminals' punches, the AB posts (AB岗) and the
weekend duty roster, monthly attendance and the evaluation that yields the red-flag window
(红旗窗口) and service star (服务标兵) awards.

Staff names are the names of public officials serving at the windows: they may travel on the
public ``attendance.evaluation`` topic. Staff mobile numbers and any identity numbers never do;
they travel only on the internal ``attendance.staff`` topic (notify needs the mobile for alerts).
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from .base import Event
from .common import ReceiptNo, StaffName, UnitCode
from .topics import Audience, topic

SOURCE = "attendance"

StaffId = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
#: Window number as shown above the counter in the hall (e.g. "12", "A03").
WindowNo = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")]
#: A month ("2025-06") or a year ("2025").
Period = Annotated[str, Field(pattern=r"^[0-9]{4}(-(0[1-9]|1[0-2]))?$")]
#: The user number the terminal knows a person by (PIN / 工号 on the device).
TerminalPin = Annotated[str, Field(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9]+$")]

STAFF = topic(
    "attendance.staff",
    owner=SOURCE,
    key="staff_id",
    audience=Audience.INTERNAL,
    compacted=True,
    retention_days=3650,
    description="Window staff as attendance knows them, with mobile numbers for staff alerts.",
)
PUNCHES = topic(
    "attendance.punches",
    owner=SOURCE,
    key="staff_id",
    audience=Audience.INTERNAL,
    retention_days=90,
    description="Every fingerprint-terminal punch, once, read in the terminal's time zone.",
)
DUTY = topic(
    "attendance.duty",
    owner=SOURCE,
    key="window_no",
    audience=Audience.INTERNAL,
    description="AB-post coverage (weekends, and weekday office sessions): gaps found at opening time and "
    "their resolution.",
)
VIOLATIONS = topic(
    "attendance.violations",
    owner=SOURCE,
    key="staff_id",
    audience=Audience.INTERNAL,
    retention_days=3650,
    description="Staff violations (违规违章) recorded against a staff member, and their withdrawal. Internal: "
    "disciplinary records with evidence; the monthly bulletin publishes only the counts per unit.",
)
ASSESSMENTS = topic(
    "attendance.assessments",
    owner=SOURCE,
    key="staff_id",
    audience=Audience.INTERNAL,
    retention_days=3650,
    description="The year-end assessment (年终考核) of each staff member as decided by the center (and on "
    "appeal), for the sealed notice to the staff member's unit.",
)
EVALUATION = topic(
    "attendance.evaluation",
    owner=SOURCE,
    key="period",
    audience=Audience.PUBLIC,
    retention_days=3650,
    description="Monthly attendance summaries and the red-flag window / service star rankings.",
)


class _Part(BaseModel):
    """A nested value object inside an event (frozen like the event itself)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class StaffRole(StrEnum):
    WINDOW_CLERK = "window_clerk"                  # 窗口工作人员
    CHIEF_REPRESENTATIVE = "chief_representative"  # 首席代表
    DUTY_MANAGER = "duty_manager"                  # 中心值班负责人 (receives duty-gap alerts)
    CENTER_STAFF = "center_staff"                  # 中心工作人员

    @property
    def label(self) -> str:
        return STAFF_ROLE_LABELS[self]


STAFF_ROLE_LABELS = {
    StaffRole.WINDOW_CLERK: "窗口工作人员",
    StaffRole.CHIEF_REPRESENTATIVE: "首席代表",
    StaffRole.DUTY_MANAGER: "值班负责人",
    StaffRole.CENTER_STAFF: "中心工作人员",
}


# --- attendance.staff (internal) -------------------------------------------------------------


class StaffRegistered(Event, source=SOURCE, topic=STAFF.name, version=1, key_field="staff_id"):
    staff_id: StaffId = Field(description="The center's identifier of the staff member.")
    name: str = Field(min_length=1, max_length=40, description="Full name (internal topic).")
    unit_code: UnitCode = Field(description="The window unit (窗口单位) the person belongs to.")
    unit_name: str = Field(max_length=80, description="The unit's name, for display.")
    window_no: WindowNo | None = Field(default=None, description="The window the person serves at, if any.")
    role: StaffRole = Field(description="Role at the center.")
    mobile: str | None = Field(
        default=None, pattern=r"^1[0-9]{10}$", description="Mainland mobile number for staff alerts (SMS)."
    )
    pin: TerminalPin | None = Field(default=None, description="User number on the fingerprint terminals.")
    active: bool = Field(default=True, description="False once the person has left the center.")


class StaffUpdated(Event, source=SOURCE, topic=STAFF.name, version=1, key_field="staff_id"):
    """The full current record (not a diff): a consumer may simply replace what it holds."""

    staff_id: StaffId = Field(description="The center's identifier of the staff member.")
    name: str = Field(min_length=1, max_length=40, description="Full name (internal topic).")
    unit_code: UnitCode = Field(description="The window unit (窗口单位) the person belongs to.")
    unit_name: str = Field(max_length=80, description="The unit's name, for display.")
    window_no: WindowNo | None = Field(default=None, description="The window the person serves at, if any.")
    role: StaffRole = Field(description="Role at the center.")
    mobile: str | None = Field(
        default=None, pattern=r"^1[0-9]{10}$", description="Mainland mobile number for staff alerts (SMS)."
    )
    pin: TerminalPin | None = Field(default=None, description="User number on the fingerprint terminals.")
    active: bool = Field(default=True, description="False once the person has left the center.")


# --- attendance.punches (internal) -----------------------------------------------------------


class PunchKind(StrEnum):
    """The state key the person pressed on the terminal (ATTLOG status field)."""

    CHECK_IN = "check_in"          # 0 上班签到
    CHECK_OUT = "check_out"        # 1 下班签退
    BREAK_OUT = "break_out"        # 2 外出
    BREAK_IN = "break_in"          # 3 外出返回
    OVERTIME_IN = "overtime_in"    # 4 加班签到
    OVERTIME_OUT = "overtime_out"  # 5 加班签退
    OTHER = "other"


class VerifyMethod(StrEnum):
    """How the terminal identified the person (ATTLOG verify field)."""

    PASSWORD = "password"
    FINGERPRINT = "fingerprint"
    CARD = "card"
    FACE = "face"
    PALM = "palm"
    OTHER = "other"


class PunchRecorded(Event, source=SOURCE, topic=PUNCHES.name, version=1, key_field="staff_id"):
    """A punch from a terminal, published once even when the terminal resends it."""

    staff_id: StaffId = Field(description="Staff member the terminal PIN belongs to.")
    device_sn: str = Field(min_length=1, max_length=64, description="Terminal serial number.")
    device_location: str = Field(default="", max_length=80, description="Where the terminal hangs.")
    pin: TerminalPin = Field(description="User number as sent by the terminal.")
    local_time: datetime = Field(description="The terminal's wall-clock time (no zone, as sent).")
    time_zone: str = Field(description="IANA zone the terminal's time was read in (e.g. Asia/Shanghai).")
    punched_at: datetime = Field(description="The same instant, zone-aware.")
    punch_kind: PunchKind = Field(description="State key pressed (check-in, check-out, ...).")
    status_code: int = Field(description="Raw ATTLOG status value.")
    verify: VerifyMethod = Field(description="Verification method.")
    verify_code: int = Field(description="Raw ATTLOG verify value.")
    work_code: str = Field(default="", max_length=24, description="Work code entered, if any.")


# --- attendance.duty (internal) --------------------------------------------------------------


class DutyPerson(_Part):
    staff_id: StaffId = Field(description="Staff member.")
    name: str = Field(description="Full name (internal topic).")


class DutyGapDetected(Event, source=SOURCE, topic=DUTY.name, version=1, key_field="window_no"):
    """A window scheduled for weekend service has nobody of its posts punched in after opening."""

    window_no: WindowNo = Field(description="The uncovered window.")
    unit_code: UnitCode = Field(description="The window's unit.")
    unit_name: str = Field(description="The unit's name, for the alert text.")
    day: date = Field(description="The service day (local date).")
    opening_time: time = Field(description="Scheduled opening of the shift (local time).")
    closing_time: time = Field(description="Scheduled end of the shift (local time).")
    time_zone: str = Field(description="IANA zone of the day and times above.")
    grace_minutes: int = Field(ge=0, description="How long after opening a punch was awaited.")
    post_a: DutyPerson | None = Field(default=None, description="The window's A post (A岗).")
    post_b: DutyPerson | None = Field(default=None, description="The window's B post (B岗).")
    rostered: list[DutyPerson] = Field(default_factory=list, description="People on the duty roster for the shift.")
    detected_at: datetime = Field(description="When the gap was found.")
    weekday: bool = Field(
        default=False,
        description="A weekday office session (工作日AB岗): the A post was absent (on leave or no punch) and the "
        "B post did not stand in. False: a weekend or rostered shift.",
    )
    on_leave: list[str] = Field(
        default_factory=list, description="Staff ids of the window's posts on approved leave during the shift."
    )


class DutyGapResolved(Event, source=SOURCE, topic=DUTY.name, version=1, key_field="window_no"):
    """Somebody of the window's posts punched in after a gap had been reported."""

    window_no: WindowNo = Field(description="The window now covered.")
    day: date = Field(description="The service day (local date).")
    opening_time: time = Field(description="Scheduled opening of the shift (local time).")
    staff: DutyPerson = Field(description="Who arrived.")
    punched_at: datetime = Field(description="When they punched in.")
    minutes_late: int = Field(ge=0, description="Minutes after opening.")


# --- attendance.evaluation (public) ----------------------------------------------------------


class PersonAttendance(_Part):
    staff_id: StaffId = Field(description="Staff member.")
    name: StaffName = Field(description="Name of the official (public officials at windows are named).")
    unit_code: UnitCode = Field(description="Unit.")
    window_no: WindowNo | None = Field(default=None, description="Window.")
    required_sessions: int = Field(ge=0, description="Half-day sessions due (incl. training), leave excluded.")
    on_time_sessions: int = Field(ge=0, description="Sessions with both punches in time.")
    late: int = Field(ge=0, description="Late arrivals (迟到).")
    early_leave: int = Field(ge=0, description="Early departures (早退).")
    missing_punches: int = Field(ge=0, description="Missing punches (缺卡).")
    absent_sessions: int = Field(ge=0, description="Half-day sessions absent without leave (旷工).")
    leave_sessions: int = Field(ge=0, description="Half-day sessions on approved leave.")
    training_due: int = Field(ge=0, description="Training sessions due.")
    training_attended: int = Field(ge=0, description="Training sessions attended.")
    duty_shifts: int = Field(ge=0, description="Weekend duty shifts rostered.")
    duty_shifts_missed: int = Field(ge=0, description="Weekend duty shifts not covered by this person.")
    attendance_score: float | None = Field(ge=0, le=100, description="Attendance score 0-100; None: nothing due.")


class WindowAttendance(_Part):
    window_no: WindowNo = Field(description="Window.")
    unit_code: UnitCode = Field(description="Unit.")
    unit_name: str = Field(description="Unit name.")
    staff_count: int = Field(ge=0, description="Staff counted.")
    required_sessions: int = Field(ge=0, description="Sum over staff.")
    late: int = Field(ge=0, description="Sum over staff.")
    early_leave: int = Field(ge=0, description="Sum over staff.")
    missing_punches: int = Field(ge=0, description="Sum over staff.")
    absent_sessions: int = Field(ge=0, description="Sum over staff.")
    leave_sessions: int = Field(ge=0, description="Sum over staff.")
    duty_gaps: int = Field(ge=0, description="Weekend shifts the window was left uncovered.")
    attendance_score: float | None = Field(ge=0, le=100, description="Mean attendance score of the staff.")


class MonthlyAttendanceReported(Event, source=SOURCE, topic=EVALUATION.name, version=1, key_field="period"):
    period: Period = Field(description="The month, e.g. 2025-06.")
    working_days: int = Field(ge=0, description="Working days of the month (statutory calendar).")
    people: list[PersonAttendance] = Field(description="Per person.")
    windows: list[WindowAttendance] = Field(description="Per window.")


class ScoreParts(_Part):
    on_time_rate: float | None = Field(default=None, description="Share of cases ended in time (0-1); None: no case.")
    satisfaction_index: float | None = Field(default=None, description="0-100 from ratings; None: no rating.")
    attendance_score: float | None = Field(default=None, description="0-100; None: no attendance due.")
    supervision_notices: int = Field(ge=0, description="Supervision notices (督办通知) in the period.")
    cases: int = Field(ge=0, description="Cases ended in the period.")
    ratings: int = Field(ge=0, description="Ratings received in the period.")


class RankedWindow(_Part):
    rank: int = Field(ge=1, description="1 is best.")
    window_no: WindowNo = Field(description="Window.")
    unit_code: UnitCode = Field(description="Unit.")
    unit_name: str = Field(description="Unit name.")
    score: float = Field(description="Evaluation score.")
    parts: ScoreParts = Field(description="The inputs of the score.")


class RankedPerson(_Part):
    rank: int = Field(ge=1, description="1 is best.")
    staff_id: StaffId = Field(description="Staff member.")
    name: StaffName = Field(description="Name of the official.")
    window_no: WindowNo | None = Field(default=None, description="Window.")
    unit_code: UnitCode = Field(description="Unit.")
    unit_name: str = Field(description="Unit name.")
    score: float = Field(description="Evaluation score.")
    parts: ScoreParts = Field(description="The inputs of the score.")


class ScoreWeights(_Part):
    on_time: float = Field(ge=0, description="Weight of the on-time rate (as 0-100).")
    satisfaction: float = Field(ge=0, description="Weight of the satisfaction index.")
    attendance: float = Field(ge=0, description="Weight of the attendance score.")
    supervision_penalty: float = Field(ge=0, description="Points deducted per supervision notice.")


class RankingPublished(Event, source=SOURCE, topic=EVALUATION.name, version=1, key_field="period"):
    period: Period = Field(description="The month (2025-06) or the year (2025) evaluated.")
    formula: str = Field(description="The scoring formula in words (zh-CN), as published.")
    weights: ScoreWeights = Field(description="The weights in force.")
    red_flag_windows: list[RankedWindow] = Field(description="红旗窗口, best first.")
    service_stars: list[RankedPerson] = Field(description="服务标兵, best first.")


# --- attendance.violations (internal) --------------------------------------------------------


class ViolationKind(StrEnum):
    """The kinds of staff violations (违规违章) the center records."""

    LATE = "late"                  # 迟到 (from attendance)
    ABSENT = "absent"              # 旷工 (from attendance)
    LEFT_POST = "left_post"        # 早退/脱岗 (from attendance, or seen by a supervisor)
    CONDUCT = "conduct"            # 服务投诉 (a low rating, or a supervisor's finding)
    INSPECTION = "inspection"      # 抽查违规 (a finding of an inspection of cases)

    @property
    def label(self) -> str:
        return VIOLATION_LABELS[self]


VIOLATION_LABELS = {
    ViolationKind.LATE: "迟到",
    ViolationKind.ABSENT: "旷工",
    ViolationKind.LEFT_POST: "早退/脱岗",
    ViolationKind.CONDUCT: "服务投诉",
    ViolationKind.INSPECTION: "抽查违规",
}


class ViolationOrigin(StrEnum):
    """Where the record came from."""

    ATTENDANCE = "attendance"    # the punches, judged by the attendance rules
    RATING = "rating"            # an applicant's rating (好差评) at or below the complaint level
    SUPERVISOR = "supervisor"    # recorded by a supervisor through the API
    INSPECTION = "inspection"    # deadline's inspection finding, attributed by a supervisor


class StaffViolationRecorded(Event, source=SOURCE, topic=VIOLATIONS.name, version=1, key_field="staff_id"):
    """A violation (违规违章) was recorded against a staff member."""

    violation_id: str = Field(min_length=1, max_length=64, description="Identifies the record (stable).")
    staff_id: StaffId = Field(description="The staff member.")
    unit_code: UnitCode = Field(description="The staff member's unit (counted per unit in the bulletin).")
    window_no: WindowNo | None = Field(default=None, description="The staff member's window, if any.")
    violation_kind: ViolationKind = Field(description="What kind of violation.")
    origin: ViolationOrigin = Field(description="Where the record came from.")
    occurred_on: date = Field(description="The local day it happened (the bulletin's month is this day's).")
    period: Period = Field(description="The month of occurred_on, YYYY-MM.")
    evidence: str = Field(min_length=1, max_length=2000, description="What shows it (zh-CN).")
    receipt_no: ReceiptNo | None = Field(default=None, description="The case concerned, if any.")
    inspection_ref: str | None = Field(default=None, max_length=120, description="sample_id/receipt_no of the inspection.")
    recorded_by: str = Field(min_length=1, max_length=64, description="Who recorded it (staff id, or 'system').")
    recorded_at: datetime = Field(description="When it was recorded.")


class StaffViolationWithdrawn(Event, source=SOURCE, topic=VIOLATIONS.name, version=1, key_field="staff_id"):
    """A recorded violation was withdrawn (a mistake, an excuse accepted, leave recorded late)."""

    violation_id: str = Field(min_length=1, max_length=64, description="The record withdrawn.")
    staff_id: StaffId = Field(description="The staff member.")
    unit_code: UnitCode = Field(description="The staff member's unit.")
    violation_kind: ViolationKind = Field(description="What kind of violation it was.")
    occurred_on: date = Field(description="The local day it had happened.")
    period: Period = Field(description="The month of occurred_on, YYYY-MM.")
    reason: str = Field(min_length=1, max_length=1000, description="Why it was withdrawn (zh-CN).")
    withdrawn_by: str = Field(min_length=1, max_length=64, description="Who withdrew it (staff id, or 'system').")
    withdrawn_at: datetime = Field(description="When.")


# --- attendance.assessments (internal) -------------------------------------------------------


class AssessmentGrade(StrEnum):
    """The grades of the year-end assessment (年终考核)."""

    EXCELLENT = "excellent"            # 优秀
    COMPETENT = "competent"            # 称职
    BASICALLY_COMPETENT = "basically_competent"  # 基本称职
    INCOMPETENT = "incompetent"        # 不称职

    @property
    def label(self) -> str:
        return GRADE_LABELS[self]


GRADE_LABELS = {
    AssessmentGrade.EXCELLENT: "优秀",
    AssessmentGrade.COMPETENT: "称职",
    AssessmentGrade.BASICALLY_COMPETENT: "基本称职",
    AssessmentGrade.INCOMPETENT: "不称职",
}


class AssessmentParts(_Part):
    attendance_score: float | None = Field(default=None, description="0-100 for the year; None: nothing due.")
    satisfaction_index: float | None = Field(default=None, description="0-100 from ratings; None: no rating.")
    on_time_rate: float | None = Field(default=None, description="0-1; None: no case ended.")
    violations: int = Field(ge=0, description="Violations recorded in the year and not withdrawn.")
    awards: int = Field(ge=0, description="Awards in the year (service star months, red-flag months of the window).")


class StaffAssessmentDecided(Event, source=SOURCE, topic=ASSESSMENTS.name, version=1, key_field="staff_id"):
    """The center decided a staff member's year-end grade (年终考核由中心统一评定), first or on appeal."""

    assessment_id: str = Field(min_length=1, max_length=64, description="Identifies the assessment (year/staff).")
    year: int = Field(ge=1, le=9999, description="The year assessed.")
    staff_id: StaffId = Field(description="The staff member.")
    name: str = Field(min_length=1, max_length=40, description="Full name (internal topic), for the notice.")
    unit_code: UnitCode = Field(description="The staff member's unit: the notice goes there.")
    unit_name: str = Field(max_length=80, description="The unit's name, for the notice.")
    window_no: WindowNo | None = Field(default=None, description="The window, if any.")
    grade: AssessmentGrade = Field(description="The grade decided.")
    proposed_grade: AssessmentGrade | None = Field(
        default=None, description="The grade the formula proposed; None: no data for the year."
    )
    score: float | None = Field(default=None, ge=0, le=100, description="The score of the formula; None: no data.")
    formula: str = Field(description="The formula in words (zh-CN), as applied.")
    parts: AssessmentParts = Field(description="The inputs of the score.")
    decided_by: str = Field(min_length=1, max_length=64, description="Who decided (staff id).")
    decided_by_name: str = Field(default="", max_length=40, description="Their name.")
    decided_at: datetime = Field(description="When.")
    note: str = Field(default="", max_length=1000, description="The center's remarks (zh-CN).")
    on_appeal: bool = Field(default=False, description="A decision on the staff member's appeal (final).")
    previous_grade: AssessmentGrade | None = Field(default=None, description="On appeal: the grade appealed.")
    appeal_reason: str | None = Field(default=None, max_length=2000, description="On appeal: the reason given.")
