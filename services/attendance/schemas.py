"""The attendance API's HTTP models: what a request may carry and what an answer holds.

- validated request values shared by the routes: identifiers, months and periods, days and times
  the rules can compute with, row ids the database can take. A value outside is refused at the
  door (problem+json naming the field, the reason in zh-CN), never passed on to fail in the
  reports or the database driver;
- request and response bodies of terminals, staff, posts, roster, training, leave, duty;
- the JSON shapes of the monthly report, the evaluation and the rankings (built from the
  domain's dataclasses: ``MonthlyReportOut.of(report)``, :func:`report_json`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from contracts.attendance import AssessmentGrade, AssessmentParts, StaffRole, ViolationKind
from services.runtime.params import SQL_INT_MAX, FreeText

from . import domain, store
from .domain.evaluation import Evaluation, PersonScore, WindowScore
from .domain.monthly import MonthlyReport

StaffIdStr = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
WindowStr = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")]
UnitStr = Annotated[str, Field(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
PinStr = Annotated[str, Field(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9]+$")]


def _in_range(reason: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        # The pattern lets year 0000 and the calendar's edges through; the reports cannot compute those.
        try:
            domain.parse_period(value)
        except ValueError:
            raise ValueError(reason) from None
        return value

    return check


def _computable_day(value: date) -> date:
    if not domain.computable_day(value):
        raise ValueError("日期超出可处理的范围（0001-01-02 至 9999-12-30）")
    return value


def _wall_time(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("时间应为本地时间（如 08:30），不带时区")
    return value


def ends_after(start: time | datetime | None, end: time | datetime) -> None:
    """The order check of a start and an end; ``start`` is None when it was refused itself."""
    if start is None:
        return
    if (start.tzinfo is None) != (end.tzinfo is None):
        # Python cannot order a wall time against an instant: say so instead of failing.
        raise ValueError("开始和结束时间应同为本地时间，或同带时区")
    if end <= start:
        raise ValueError("结束时间应晚于开始时间")


#: A month or a year of the reports (ASCII digits: the database and the reports know no others).
PeriodStr = Annotated[
    str, Field(pattern=r"^[0-9]{4}(-(0[1-9]|1[0-2]))?$", description="Month (YYYY-MM) or year (YYYY)."),
    AfterValidator(_in_range("期间应为 YYYY-MM（月）或 YYYY（年），在 0001-02 至 9999-11 之间")),
]
MonthStr = Annotated[
    str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="Month, YYYY-MM."),
    AfterValidator(_in_range("月份应为 YYYY-MM，在 0001-02 至 9999-11 之间")),
]
#: A day the rules can step around (the next day, a zone's offset) without leaving ``date``'s range.
DayParam = Annotated[date, AfterValidator(_computable_day)]
#: A time of day on the center's clock (the rules know no zones for times of day).
LocalTime = Annotated[time, AfterValidator(_wall_time)]

#: The row ids are INTEGER columns (PostgreSQL: 32 bits): a larger id names no row, and a driver
#: may refuse to send one at all (SQLite beyond 64 bits), so it is refused at the door.
RowId = Annotated[int, Field(ge=1, le=SQL_INT_MAX, description="Row id.")]


# --- terminals ------------------------------------------------------------------------------


class DeviceIn(BaseModel):
    sn: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="Serial number.")
    name: str = Field("", max_length=80)
    location: str = Field("", max_length=80, description="Where it hangs, e.g. 一楼大厅东侧.")
    time_zone: str = Field(domain.DEFAULT_ZONE, description="IANA zone of the terminal's clock.")
    charset: Literal["utf-8", "gb18030"] = Field("utf-8", description="gb18030 for old Chinese firmware.")
    active: bool = True

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("不是有效的时区名称（例如 Asia/Shanghai）") from None
        return v


class DeviceOut(BaseModel):
    sn: str
    name: str
    location: str
    time_zone: str
    charset: str
    active: bool
    registered_at: datetime
    last_seen_at: datetime | None
    last_ip: str | None
    pushver: str | None
    firmware: str | None
    attlog_stamp: str | None
    info: dict[str, Any]

    @classmethod
    def of(cls, d: store.Device) -> "DeviceOut":
        return cls(sn=d.sn, name=d.name, location=d.location, time_zone=d.time_zone, charset=d.charset,
                   active=d.active, registered_at=store.aware(d.registered_at),  # type: ignore[arg-type]
                   last_seen_at=store.aware(d.last_seen_at), last_ip=d.last_ip, pushver=d.pushver,
                   firmware=d.firmware, attlog_stamp=d.attlog_stamp, info=d.info)


class UnknownDeviceOut(BaseModel):
    sn: str
    first_seen_at: datetime
    last_seen_at: datetime
    last_ip: str | None
    attempts: int

    @classmethod
    def of(cls, r: store.UnknownDevice) -> "UnknownDeviceOut":
        return cls(sn=r.sn, first_seen_at=store.aware(r.first_seen_at),  # type: ignore[arg-type]
                   last_seen_at=store.aware(r.last_seen_at), last_ip=r.last_ip,  # type: ignore[arg-type]
                   attempts=r.attempts)


CommandKind = Literal["reboot", "time_sync", "info", "check", "clear_log", "set_option", "user_update",
                      "user_delete", "query_attlog"]


class CommandIn(BaseModel):
    kind: CommandKind
    option: str | None = Field(None, max_length=40, description="set_option: the option's name.")
    value: str | None = Field(None, max_length=200, description="set_option: the value.")
    pin: PinStr | None = Field(None, description="user_update / user_delete.")
    name: str | None = Field(None, max_length=40, description="user_update: the name shown on the terminal.")
    start: datetime | None = Field(None, description="query_attlog: from (terminal wall time).")
    end: datetime | None = Field(None, description="query_attlog: to (terminal wall time).")

    @field_validator("end")
    @classmethod
    def _order(cls, v: datetime | None, info: ValidationInfo) -> datetime | None:
        if v is not None:
            ends_after(info.data.get("start"), v)
        return v


class CommandOut(BaseModel):
    id: int
    device_sn: str
    text: str
    label: str
    status: str
    queued_at: datetime
    queued_by: str
    sent_at: datetime | None
    done_at: datetime | None
    return_code: int | None
    result: dict[str, Any]

    @classmethod
    def of(cls, c: store.CommandRow) -> "CommandOut":
        return cls(id=c.id, device_sn=c.device_sn, text=c.text, label=c.label, status=c.status,  # type: ignore[arg-type]
                   queued_at=store.aware(c.queued_at), queued_by=c.queued_by,  # type: ignore[arg-type]
                   sent_at=store.aware(c.sent_at), done_at=store.aware(c.done_at),
                   return_code=c.return_code, result=c.result)


# --- staff ----------------------------------------------------------------------------------


class StaffFields(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    unit_code: UnitStr
    unit_name: str = Field(min_length=1, max_length=80)
    window_no: WindowStr | None = None
    role: StaffRole = StaffRole.WINDOW_CLERK
    pin: PinStr | None = Field(None, description="User number on the terminals.")
    mobile: str | None = Field(None, description="Mainland mobile, for staff alerts.")
    active: bool = True
    active_from: date | None = Field(None, description="First day at the center (default: today when created).")
    active_until: date | None = Field(None, description="Last day (default: today when set inactive).")


class StaffIn(StaffFields):
    @field_validator("active_until")
    @classmethod
    def _range(cls, v: date | None, info: ValidationInfo) -> date | None:
        # A field validator (not the model's) so that the refusal names the field.
        start = info.data.get("active_from")
        if v is not None and start is not None and v < start:
            raise ValueError("离岗日期不能早于到岗日期")
        return v

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        digits = "".join(ch for ch in v if ch.isdigit())
        if digits.startswith("86") and len(digits) == 13:
            digits = digits[2:]
        if len(digits) != 11 or not digits.startswith("1"):
            raise ValueError("手机号码应为11位数字")
        return digits


class StaffOut(StaffFields):
    """What is stored, as stored: the input checks are not run again on the way out."""

    staff_id: str
    updated_at: datetime

    @classmethod
    def of(cls, r: store.StaffRow) -> "StaffOut":
        return cls(staff_id=r.staff_id, name=r.name, unit_code=r.unit_code, unit_name=r.unit_name,
                   window_no=r.window_no, role=StaffRole(r.role), pin=r.pin, mobile=r.mobile, active=r.active,
                   active_from=r.active_from, active_until=r.active_until,
                   updated_at=store.aware(r.updated_at))  # type: ignore[arg-type]


# --- AB posts -------------------------------------------------------------------------------


class PostIn(BaseModel):
    unit_code: UnitStr
    unit_name: str = Field(min_length=1, max_length=80)
    post_a: StaffIdStr | None = Field(None, description="A post (A岗).")
    post_b: StaffIdStr | None = Field(None, description="B post (B岗).")
    weekend_service: bool = Field(True, description="Serves on weekends (双休日正常办理).")

    @model_validator(mode="after")
    def _distinct(self) -> "PostIn":
        if self.post_a and self.post_a == self.post_b:
            raise ValueError("A岗和B岗不能是同一人")
        return self


class PostOut(PostIn):
    window_no: str
    post_a_name: str | None = None
    post_b_name: str | None = None


# --- weekend duty roster --------------------------------------------------------------------


class RosterIn(BaseModel):
    day: date
    window_no: WindowStr
    staff_id: StaffIdStr
    start: LocalTime
    end: LocalTime

    @field_validator("end")
    @classmethod
    def _order(cls, v: time, info: ValidationInfo) -> time:
        ends_after(info.data.get("start"), v)
        return v


class RosterOut(RosterIn):
    id: int
    name: str | None = None

    @classmethod
    def of(cls, r: store.RosterRow, name: str | None = None) -> "RosterOut":
        return cls(id=r.id, day=r.day, window_no=r.window_no, staff_id=r.staff_id,  # type: ignore[arg-type]
                   start=r.start, end=r.end, name=name)


# --- training -------------------------------------------------------------------------------


class TrainingIn(BaseModel):
    session_id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    day: date
    start: LocalTime
    end: LocalTime
    topic: str = Field(min_length=1, max_length=200)
    staff_ids: list[StaffIdStr] | None = Field(None, description="Who must attend; empty: everyone.")

    @field_validator("end")
    @classmethod
    def _order(cls, v: time, info: ValidationInfo) -> time:
        ends_after(info.data.get("start"), v)
        return v

    @classmethod
    def of(cls, r: store.TrainingRow) -> "TrainingIn":
        return cls(session_id=r.session_id, day=r.day, start=r.start, end=r.end, topic=r.topic,
                   staff_ids=r.staff_ids)


class FridaysIn(BaseModel):
    month: MonthStr
    start: LocalTime = time(15, 0)
    end: LocalTime = time(17, 0)
    topic: str = Field("集中学习培训", min_length=1, max_length=200)


# --- leave ----------------------------------------------------------------------------------


class LeaveIn(BaseModel):
    staff_id: StaffIdStr
    kind: domain.LeaveKind
    start: datetime = Field(description="Local wall time (Asia/Shanghai), e.g. 2025-06-11T08:30.")
    end: datetime
    reason: str = Field("", max_length=500)

    @field_validator("end")
    @classmethod
    def _order(cls, v: datetime, info: ValidationInfo) -> datetime:
        ends_after(info.data.get("start"), v)
        return v


class LeaveOut(LeaveIn):
    id: int
    approved: bool
    approved_by: str

    @classmethod
    def of(cls, r: store.LeaveRow) -> "LeaveOut":
        return cls(id=r.id, staff_id=r.staff_id, kind=domain.LeaveKind(r.kind), start=r.start,  # type: ignore[arg-type]
                   end=r.end, reason=r.reason, approved=r.approved, approved_by=r.approved_by)


# --- weekend duty status ----------------------------------------------------------------------


class SlotOut(BaseModel):
    window_no: str
    unit_name: str
    day: date
    opening: time
    closing: time
    expected: list[str]
    covered_in_grace: bool
    first_arrival: str | None
    arrived_at: datetime | None
    alerted: bool
    weekday: bool = Field(False, description="A weekday office session (A absent -> B stands in).")
    on_leave: list[str] = Field(default_factory=list, description="Posts on approved leave during the shift.")


# --- monthly report -------------------------------------------------------------------------


class PersonMonthOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    staff_id: str
    name: str
    unit_code: str
    unit_name: str
    window_no: str | None
    required_sessions: int
    on_time_sessions: int
    irregular_sessions: int
    late: int
    late_minutes: int
    early_leave: int
    early_minutes: int
    missing_punches: int
    absent_sessions: int
    leave_sessions: int
    leave_by_kind: dict[str, int]
    training_due: int
    training_attended: int
    training_late: int
    duty_shifts: int
    duty_shifts_missed: int
    attendance_rate: float | None
    attendance_score: float | None


class WindowMonthOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    window_no: str
    unit_code: str
    unit_name: str
    post_a: str | None
    post_b: str | None
    staff_count: int
    required_sessions: int
    late: int
    early_leave: int
    missing_punches: int
    absent_sessions: int
    leave_sessions: int
    duty_slots: int
    duty_gaps: int
    attendance_score: float | None


class GapOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    window_no: str
    unit_name: str
    day: date
    opening: time
    closing: time
    arrived_staff: str | None
    arrived_at: datetime | None


class DetailOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: date
    staff_id: str
    name: str
    window_no: str | None
    session: domain.SessionKind
    start: time
    end: time
    arrived: datetime | None
    left: datetime | None
    status: domain.SessionStatus
    note: str


class MonthlyReportOut(BaseModel):
    """A month's (or a year's) attendance; ``details`` only when asked for."""

    period: str
    working_days: int
    as_of: datetime | None
    people: list[PersonMonthOut]
    windows: list[WindowMonthOut]
    duty_gaps: list[GapOut]
    details: list[DetailOut] | None = None

    @model_serializer(mode="wrap")
    def _without_absent_details(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out = handler(self)
        if self.details is None:
            out.pop("details", None)
        return out

    @classmethod
    def of(cls, report: MonthlyReport, *, details: bool = False) -> "MonthlyReportOut":
        return cls(
            period=report.period, working_days=report.working_days, as_of=report.as_of,
            people=[PersonMonthOut.model_validate(p) for p in report.people],
            windows=[WindowMonthOut.model_validate(w) for w in report.windows],
            duty_gaps=[GapOut.model_validate(g) for g in report.duty_gaps],
            details=[DetailOut.model_validate(d) for d in report.details] if details else None,
        )


def report_json(report: MonthlyReport, *, details: bool = False) -> dict[str, Any]:
    """The report as the API answers it (JSON types)."""
    return MonthlyReportOut.of(report, details=details).model_dump(mode="json")


# --- evaluation and rankings ----------------------------------------------------------------


class PartsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    on_time_rate: float | None
    satisfaction_index: float | None
    attendance_score: float | None
    supervision_notices: int
    cases: int
    cases_on_time: int
    ratings: int


class WindowScoreOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    window_no: str
    unit_code: str
    unit_name: str
    score: float | None
    parts: PartsOut
    duty_gaps: int
    eligible: bool
    reasons: list[str]


class RankedWindowOut(WindowScoreOut):
    rank: int

    @classmethod
    def ranked(cls, windows: list[WindowScore]) -> list["RankedWindowOut"]:
        return [cls.model_validate({**WindowScoreOut.model_validate(w).model_dump(), "rank": i})
                for i, w in enumerate(windows, 1)]


class PersonScoreOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    staff_id: str
    name: str
    unit_code: str
    unit_name: str
    window_no: str | None
    score: float | None
    parts: PartsOut
    eligible: bool
    reasons: list[str]


class RankedPersonOut(PersonScoreOut):
    rank: int

    @classmethod
    def ranked(cls, people: list[PersonScore]) -> list["RankedPersonOut"]:
        return [cls.model_validate({**PersonScoreOut.model_validate(p).model_dump(), "rank": i})
                for i, p in enumerate(people, 1)]


class WeightsOut(BaseModel):
    on_time: float
    satisfaction: float
    attendance: float
    supervision_penalty: float


class RankingsOut(BaseModel):
    period: str
    formula: str
    weights: WeightsOut
    red_flag_windows: list[RankedWindowOut]
    service_stars: list[RankedPersonOut]
    published: bool = False


class EvaluationOut(BaseModel):
    period: str
    formula: str
    weights: WeightsOut
    windows: list[WindowScoreOut]
    people: list[PersonScoreOut]
    red_flag_windows: list[RankedWindowOut]
    service_stars: list[RankedPersonOut]

    @classmethod
    def of(cls, ev: Evaluation) -> "EvaluationOut":
        s = ev.settings
        return cls(
            period=ev.period, formula=ev.formula,
            weights=WeightsOut(on_time=s.on_time_weight, satisfaction=s.satisfaction_weight,
                               attendance=s.attendance_weight, supervision_penalty=s.supervision_penalty),
            windows=[WindowScoreOut.model_validate(w) for w in ev.windows],
            people=[PersonScoreOut.model_validate(p) for p in ev.people],
            red_flag_windows=RankedWindowOut.ranked(ev.red_flag_windows),
            service_stars=RankedPersonOut.ranked(ev.service_stars),
        )

    def rankings(self, published: bool) -> RankingsOut:
        return RankingsOut(period=self.period, formula=self.formula, weights=self.weights,
                           red_flag_windows=self.red_flag_windows, service_stars=self.service_stars,
                           published=published)


def evaluation_json(ev: Evaluation) -> dict[str, Any]:
    """The evaluation as the API answers it (JSON types)."""
    return EvaluationOut.of(ev).model_dump(mode="json")


class PublishOut(BaseModel):
    period: str
    events: list[str]


# --- staff violations (违规违章) ----------------------------------------------------------------


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("不能为空")
    return value.strip()


#: Typed text (a reason, evidence, a reply): no control characters but line breaks and tabs, not blank.
Text = Annotated[FreeText, AfterValidator(_not_blank)]


class InspectionRefIn(BaseModel):
    sample_id: str = Field(min_length=1, max_length=60, description="The inspection sample (deadline's sample_id).")
    receipt_no: str = Field(min_length=6, max_length=40, pattern=r"^[A-Z0-9-]+$", description="The case inspected.")


class ViolationIn(BaseModel):
    staff_id: StaffIdStr
    kind: ViolationKind = Field(description="late, absent, left_post, conduct, inspection.")
    occurred_on: DayParam = Field(description="The local day it happened.")
    evidence: Annotated[Text, Field(max_length=2000)] = Field(description="What shows it (zh-CN).")
    receipt_no: str | None = Field(None, min_length=6, max_length=40, pattern=r"^[A-Z0-9-]+$",
                                   description="The case concerned, if any.")
    inspection: InspectionRefIn | None = Field(None, description="Required for an inspection finding.")


class ReplyIn(BaseModel):
    reply: Annotated[Text, Field(max_length=2000)] = Field(description="The staff member's reply (zh-CN).")


class WithdrawIn(BaseModel):
    reason: Annotated[Text, Field(max_length=1000)] = Field(description="Why it is withdrawn (zh-CN).")


class ViolationOut(BaseModel):
    violation_id: str
    staff_id: str
    unit_code: str
    window_no: str | None
    kind: ViolationKind
    kind_label: str
    origin: str
    occurred_on: date
    evidence: str
    receipt_no: str | None
    inspection_ref: str | None
    recorded_by: str
    recorded_at: datetime
    reply: str | None
    replied_by: str | None
    replied_at: datetime | None
    withdrawn: bool
    withdrawn_at: datetime | None
    withdrawn_by: str | None
    withdraw_reason: str | None

    @classmethod
    def of(cls, r: store.ViolationRow) -> "ViolationOut":
        kind = ViolationKind(r.kind)
        return cls(violation_id=r.violation_id, staff_id=r.staff_id, unit_code=r.unit_code, window_no=r.window_no,
                   kind=kind, kind_label=kind.label, origin=r.origin, occurred_on=r.occurred_on,
                   evidence=r.evidence, receipt_no=r.receipt_no, inspection_ref=r.inspection_ref,
                   recorded_by=r.recorded_by, recorded_at=store.aware(r.recorded_at),  # type: ignore[arg-type]
                   reply=r.reply, replied_by=r.replied_by, replied_at=store.aware(r.replied_at),
                   withdrawn=r.withdrawn_at is not None, withdrawn_at=store.aware(r.withdrawn_at),
                   withdrawn_by=r.withdrawn_by, withdraw_reason=r.withdraw_reason)


class UnitViolationsOut(BaseModel):
    unit_code: str
    unit_name: str
    total: int = Field(description="Violations in force (not withdrawn) that happened in the month.")
    by_kind: dict[str, int] = Field(description="Per kind: late, absent, left_post, conduct, inspection.")
    staff_count: int = Field(description="Staff members concerned.")
    withdrawn: int = Field(description="Withdrawn ones (not in total).")


class ViolationCountsOut(BaseModel):
    period: str
    total: int
    kinds: dict[str, str] = Field(description="The kinds and their zh-CN labels.")
    units: list[UnitViolationsOut]


class SweepOut(BaseModel):
    day: date
    recorded: list[ViolationOut]
    withdrawn: list[ViolationOut]


# --- the year-end assessment (年终考核) ---------------------------------------------------------


#: A year the assessment can compute (its months and a zone's offset stay inside ``date``).
YearParam = Annotated[int, Field(ge=2, le=9998, description="The year, e.g. 2025.")]


class DecisionIn(BaseModel):
    grade: AssessmentGrade = Field(description="excellent 优秀, competent 称职, basically_competent 基本称职, "
                                               "incompetent 不称职.")
    note: Annotated[FreeText, Field(max_length=1000)] = Field("", description="The center's remarks.")


class AppealIn(BaseModel):
    reason: Annotated[Text, Field(max_length=2000)] = Field(description="Why the staff member appeals (zh-CN).")


class DecisionOut(BaseModel):
    grade: AssessmentGrade
    grade_label: str
    decided_by: str
    decided_by_name: str
    decided_at: datetime
    note: str
    first_grade: AssessmentGrade | None = Field(None, description="On appeal: the grade appealed against.")
    appeal_reason: str | None
    appealed_by: str | None
    appealed_at: datetime | None
    appeal_decided_at: datetime | None
    final: bool = Field(description="The appeal was decided, or none can follow.")

    @classmethod
    def of(cls, r: store.AssessmentRow) -> "DecisionOut":
        g = AssessmentGrade(r.grade)
        return cls(grade=g, grade_label=g.label, decided_by=r.decided_by, decided_by_name=r.decided_by_name,
                   decided_at=store.aware(r.decided_at),  # type: ignore[arg-type]
                   note=r.note, first_grade=AssessmentGrade(r.first_grade) if r.first_grade else None,
                   appeal_reason=r.appeal_reason, appealed_by=r.appealed_by, appealed_at=store.aware(r.appealed_at),
                   appeal_decided_at=store.aware(r.appeal_decided_at), final=r.appeal_decided_at is not None)


class AssessmentOut(BaseModel):
    year: int
    staff_id: str
    name: str
    unit_code: str
    unit_name: str
    window_no: str | None
    parts: AssessmentParts
    score: float | None
    proposed_grade: AssessmentGrade | None
    proposed_grade_label: str | None
    formula: str
    decision: DecisionOut | None

    @classmethod
    def of(cls, year: int, p: Any, decision: store.AssessmentRow | None) -> "AssessmentOut":
        return cls(year=year, staff_id=p.staff_id, name=p.name, unit_code=p.unit_code, unit_name=p.unit_name,
                   window_no=p.window_no, parts=p.parts, score=p.score, proposed_grade=p.grade,
                   proposed_grade_label=p.grade_label, formula=p.formula,
                   decision=DecisionOut.of(decision) if decision else None)


# --- who is at which window now (the hall screen) -----------------------------------------------


class PersonOut(BaseModel):
    staff_id: str
    name: str | None


class WindowNowOut(BaseModel):
    window_no: str
    unit_code: str
    unit_name: str
    open_now: bool = Field(description="A shift or office session of the window is on now.")
    opening: time | None = Field(description="The current session's opening (else the next, else the day's last); none: no session today.")
    closing: time | None
    weekday: bool = Field(description="A weekday office session (not a weekend/rostered shift).")
    post_a: PersonOut | None
    post_b: PersonOut | None
    weekend_service: bool
    on_duty: PersonOut | None = Field(description="Who is at the window: the A post if punched in, else the B post, else a rostered person.")
    on_duty_post: str | None = Field(description='"A", "B" or "roster".')
    arrived_at: datetime | None
    present: list[str] = Field(description="Who of the session's people punched in for it, earliest first.")
    on_leave: list[str] = Field(description="Posts on approved leave during the session.")


class PresenceOut(BaseModel):
    at: datetime
    windows: list[WindowNowOut]
    open_count: int
    staffed_count: int = Field(description="Open windows with somebody on duty.")
