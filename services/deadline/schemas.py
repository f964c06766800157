"""HTTP request and response models of the deadline service (and how a use case's result becomes
one: the ``of`` class methods)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from pydantic import AwareDatetime, BaseModel, Field

from contracts.common import CaseKind, ReceiptNo, UnitCode
from contracts.deadline import BulletinOverdueCase, BulletinUnitStats, InspectionResult, NoticeSource, StopReason
from services.runtime.params import FreeText

from . import store
from .usecases.calendar import ChangeView, DueDate
from .usecases.clocks import ClockView
from .usecases.oversight import BulletinView, NoticeView, Statistics
from .usecases.previews import CalendarPreview

# ---------------------------------------------------------------------------------------------
# Clocks


class StopOut(BaseModel):
    stop_id: str
    reason: StopReason
    started_at: datetime
    ended_at: datetime | None
    note: str | None


class ExtensionOut(BaseModel):
    extension_id: str
    days: int
    approved_by: str
    reason: str
    granted_at: datetime


class ClockOut(BaseModel):
    receipt_no: str
    unit_code: str
    item_code: str
    case_kind: CaseKind
    accepted_at: datetime
    promised_days: int
    statutory_days: int
    due_date: date
    statutory_due_date: date
    provisional: bool
    state: str = Field(description="running, stopped or ended")
    overdue: bool
    days_left: int | None = Field(description="Working days left after today, the due date included (open clocks).")
    next_warning_at: datetime | None
    due_at: datetime | None
    stops: list[StopOut]
    extensions: list[ExtensionOut]
    decided_at: datetime | None
    outcome: str | None
    on_time: bool | None
    working_days_used: int | None
    calendar_version: int

    @classmethod
    def of(cls, v: ClockView) -> "ClockOut":
        row = v.row
        return cls(
            receipt_no=row.receipt_no,
            unit_code=row.unit_code,
            item_code=row.item_code,
            case_kind=CaseKind(row.case_kind),
            accepted_at=store.aware(row.accepted_at),  # type: ignore[arg-type]
            promised_days=row.promised_days,
            statutory_days=row.statutory_days,
            due_date=row.due_date,
            statutory_due_date=row.statutory_due_date,
            provisional=row.provisional,
            state=row.state,
            overdue=row.overdue,
            days_left=v.days_left,
            next_warning_at=store.aware(row.next_warning_at),
            due_at=store.aware(row.due_at),
            stops=[StopOut(**s) for s in row.stops],
            extensions=[ExtensionOut(**e) for e in row.extensions],
            decided_at=store.aware(row.decided_at),
            outcome=row.outcome,
            on_time=row.on_time,
            working_days_used=row.working_days_used,
            calendar_version=row.calendar_version,
        )


class StopIn(BaseModel):
    reason: StopReason = Field(description="hearing, testing, inspection, expert_review, other (supplement and "
                                           "higher_authority normally come from intake).")
    started_at: AwareDatetime | None = Field(None, description="When the stop began (default: now).")
    note: FreeText | None = Field(None, max_length=500, description="What for (no personal data: it is published).")
    stop_id: str | None = Field(None, max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$",
                                description="Your id for it (a repeat with the same id changes nothing).")


class ResumeIn(BaseModel):
    ended_at: AwareDatetime | None = Field(None, description="When the stop ended (default: now).")


class ExtensionIn(BaseModel):
    days: int = Field(ge=1, le=60, description="Working days added.")
    reason: FreeText = Field(min_length=2, max_length=500, description="Why (it is told to the applicant).")
    extension_id: str | None = Field(None, max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$",
                                     description="Your id for it (a repeat with the same id changes nothing).")


# ---------------------------------------------------------------------------------------------
# The calendar


class DayOut(BaseModel):
    day: date
    working: bool
    weekend: bool
    source: str = Field(description="county (an override), schedule (loaded), national (library), weekdays")
    official: bool = Field(description="Whether the year's official schedule is known.")
    override_reason: str | None

    @classmethod
    def of(cls, info: Mapping[str, object]) -> "DayOut":
        return cls.model_validate(dict(info))


class DueDateOut(BaseModel):
    accepted_on: date
    days: int
    due_date: date
    provisional: bool
    calendar_version: int

    @classmethod
    def of(cls, d: DueDate) -> "DueDateOut":
        return cls(accepted_on=d.accepted_on, days=d.days, due_date=d.due_date, provisional=d.provisional,
                   calendar_version=d.calendar_version)


class ChangeOut(BaseModel):
    version: int
    action: str
    year: int
    day: date | None
    working: bool | None
    holidays: list[date]
    working_days: list[date]
    changed_by: str
    changed_at: datetime
    reason: str
    recomputed: bool = Field(description="Whether the open clocks were recomputed for it.")
    clocks_moved: int | None

    @classmethod
    def of(cls, v: ChangeView) -> "ChangeOut":
        c = v.change
        return cls(
            version=c.version, action=c.action.value, year=c.year, day=c.day, working=c.working,
            holidays=list(c.holidays), working_days=list(c.working_days), changed_by=c.changed_by,
            changed_at=c.changed_at, reason=c.reason, recomputed=v.recomputed, clocks_moved=v.clocks_moved,
        )


class DayIn(BaseModel):
    working: bool = Field(description="true: a working day for the county; false: a day off.")
    reason: FreeText = Field(min_length=2, max_length=500, description="Why (e.g. the county's document number).")


class ScheduleIn(BaseModel):
    holidays: list[date] = Field(min_length=1, max_length=200, description="Every day off of the year (weekends inside holidays may be listed).")
    working_days: list[date] = Field(default_factory=list, max_length=30, description="The make-up working days (调休上班), weekend days.")
    reason: FreeText = Field(min_length=2, max_length=500, description="The State Council notice, e.g. 国办发明电〔2026〕X号.")


class PreviewIn(BaseModel):
    day: date = Field(description="The day the county would change.")
    working: bool | None = Field(description="true: a working day; false: a day off; null: remove the county's override.")
    reason: FreeText = Field(min_length=2, max_length=500, description="Why (checked as the change itself is).")


class MovedClockOut(BaseModel):
    receipt_no: str
    unit_code: str
    item_code: str
    due_date: date
    new_due_date: date
    statutory_due_date: date
    new_statutory_due_date: date


class PreviewOut(BaseModel):
    """What a county calendar change would move (nothing is saved)."""

    day: date
    working: bool | None
    calendar_version: int = Field(description="The calendar version the preview was computed on.")
    total: int = Field(description="Open clocks whose due dates would move.")
    truncated: bool = Field(description="Whether more moved than are listed.")
    clocks: list[MovedClockOut]

    @classmethod
    def of(cls, p: CalendarPreview) -> "PreviewOut":
        return cls(day=p.day, working=p.working, calendar_version=p.calendar_version, total=p.total,
                   truncated=p.truncated, clocks=[MovedClockOut(**vars(m)) for m in p.moved])


# ---------------------------------------------------------------------------------------------
# Statistics


class StatsOut(BaseModel):
    unit_code: str = Field(description='A unit, or "*" for the center as a whole.')
    unit_name: str | None
    cases: int
    on_time: int
    on_time_rate: float | None
    average_working_days_used: float | None
    immediate: int
    immediate_share: float | None


class StatisticsOut(BaseModel):
    first: date
    last: date
    units: list[StatsOut]

    @classmethod
    def of(cls, s: Statistics) -> "StatisticsOut":
        return cls(
            first=s.first,
            last=s.last,
            units=[
                StatsOut(
                    unit_code=u.unit_code, unit_name=s.names.get(u.unit_code), cases=u.cases, on_time=u.on_time,
                    on_time_rate=u.on_time_rate, average_working_days_used=u.average_working_days_used,
                    immediate=u.immediate, immediate_share=u.immediate_share,
                )
                for u in s.units
            ],
        )


# ---------------------------------------------------------------------------------------------
# Bulletins


class BulletinIn(BaseModel):
    period: str = Field(pattern=r"^\d{4}-\d{2}$", description="The month, YYYY-MM.")


class TotalOut(BaseModel):
    """The center's figures for the month (``UnitStats.as_dict``)."""

    unit_code: str
    cases: int
    on_time: int
    on_time_rate: float | None
    working_days_used: int
    average_working_days_used: float | None
    immediate: int
    immediate_share: float | None


class BulletinNoticeOut(BaseModel):
    notice_no: str
    unit_code: str
    receipt_no: str | None
    reason: str
    reply_due: date
    replied: bool


class BulletinViolationOut(BaseModel):
    unit_code: str
    receipt_no: str
    inspector: str
    notes: str | None


class BulletinStaffViolationsOut(BaseModel):
    """A unit's staff violations (违规违章) of the month, withdrawn ones not counted."""

    unit_code: str
    total: int
    by_kind: dict[str, int] = Field(description="Count per violation kind (late, absent, left_post, conduct, inspection).")


class BulletinOut(BaseModel):
    """A month's bulletin: the published one (with who published it and when), or a live draft
    (``published`` false, no ``published_by`` / ``published_at``)."""

    bulletin_no: str
    period: str
    overdue_cases: list[BulletinOverdueCase]
    unit_stats: list[BulletinUnitStats]
    total: TotalOut
    notices: list[BulletinNoticeOut]
    violations: list[BulletinViolationOut]
    staff_violations: list[BulletinStaffViolationsOut] = Field(
        default_factory=list, description="Staff violations per unit (none in bulletins published before they were counted)."
    )
    published: bool
    published_by: str | None = Field(None, description="Only once published.")
    published_at: str | None = Field(None, description="ISO 8601 instant, only once published.")

    @classmethod
    def of(cls, v: BulletinView) -> "BulletinOut":
        data: dict[str, object] = {**v.content, "published": v.published}
        if v.published:
            data["published_by"] = v.published_by
            data["published_at"] = v.published_at.isoformat() if v.published_at else None
        return cls.model_validate(data)


# ---------------------------------------------------------------------------------------------
# Supervision notices


class NoticeIn(BaseModel):
    unit_code: UnitCode = Field(description="The unit supervised.")
    receipt_no: ReceiptNo | None = Field(None, description="The case concerned, if any.")
    reason: FreeText = Field(min_length=2, max_length=2000, description="The problem found (published: no personal data).")
    reply_days: int | None = Field(None, ge=1, le=30, description="Working days to reply (default: the setting).")
    origin: NoticeSource = Field(NoticeSource.MANUAL, description="What led to it.")


class NoticeOut(BaseModel):
    notice_no: str
    unit_code: str
    receipt_no: str | None
    raised_by: str
    raised_at: datetime
    reason: str
    reply_due: date
    origin: NoticeSource
    status: str = Field(description="open, reply_overdue or replied")
    replied_by: str | None
    replied_at: datetime | None
    reply: str | None

    @classmethod
    def of(cls, v: NoticeView) -> "NoticeOut":
        n = v.notice
        return cls(
            notice_no=n.notice_no, unit_code=n.unit_code, receipt_no=n.receipt_no, raised_by=n.raised_by,
            raised_at=n.raised_at, reason=n.reason, reply_due=n.reply_due, origin=n.origin,
            status=v.status, replied_by=n.replied_by, replied_at=n.replied_at, reply=n.reply,
        )


class ReplyIn(BaseModel):
    reply: FreeText = Field(min_length=2, max_length=4000, description="The rectification taken (published: no personal data).")


# ---------------------------------------------------------------------------------------------
# Random inspections


class SampleIn(BaseModel):
    unit_code: UnitCode = Field(description="The unit inspected.")
    period: str = Field(pattern=r"^\d{4}-\d{2}$", description="The month whose decided cases are drawn from.")
    share: float | None = Field(None, gt=0, le=1, description="Share of cases drawn (default: the setting).")
    seed: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                             description="The seed (default: a fresh one, recorded). The same seed gives the same sample.")


class SampleOut(BaseModel):
    sample_id: str
    unit_code: str
    period: str
    seed: str
    share: float
    population: int
    receipt_nos: list[str]
    sampled_by: str
    sampled_at: datetime

    @classmethod
    def of(cls, r: store.SampleRow) -> "SampleOut":
        return cls(sample_id=r.sample_id, unit_code=r.unit_code, period=r.period, seed=r.seed, share=r.share,
                   population=r.population, receipt_nos=r.receipt_nos, sampled_by=r.sampled_by,
                   sampled_at=store.aware(r.sampled_at))  # type: ignore[arg-type]


class InspectionOut(BaseModel):
    sample_id: str
    receipt_no: str
    unit_code: str
    inspector: str
    result: InspectionResult
    violation: bool
    notes: str | None
    recorded_at: datetime
    notice_no: str | None

    @classmethod
    def of(cls, r: store.InspectionRow) -> "InspectionOut":
        return cls(sample_id=r.sample_id, receipt_no=r.receipt_no, unit_code=r.unit_code, inspector=r.inspector,
                   result=InspectionResult(r.result), violation=r.violation, notes=r.notes,
                   recorded_at=store.aware(r.recorded_at), notice_no=r.notice_no)  # type: ignore[arg-type]


class SampleDetailOut(SampleOut):
    results: list[InspectionOut]

    @classmethod
    def with_results(cls, row: store.SampleRow, results: list[store.InspectionRow]) -> "SampleDetailOut":
        return cls(**SampleOut.of(row).model_dump(), results=[InspectionOut.of(r) for r in results])


class InspectionIn(BaseModel):
    receipt_no: ReceiptNo = Field(description="A case of the sample.")
    result: InspectionResult = Field(description="compliant, defective or violation.")
    notes: FreeText | None = Field(None, max_length=2000, description="Findings (published: no personal data).")
    raise_notice: bool = Field(False, description="On a violation, raise a supervision notice to the unit.")
    reply_days: int | None = Field(None, ge=1, le=30, description="Working days the unit has to reply to that notice.")



# ---------------------------------------------------------------------------------------------
# Summaries (screens that show counts: the hall, the boards)


class UnitClockCountsOut(BaseModel):
    unit_code: str = Field(description='A unit, or "*" for all the units in the answer.')
    unit_name: str | None
    open: int = Field(description="Open clocks (running or stopped).")
    yellow: int = Field(description="Running, no red card, at most `yellow_days` working days left.")
    red: int = Field(description="The red card issued.")
    overdue: int = Field(description="The red card issued, or running past the due date.")


class ClockSummaryOut(BaseModel):
    today: date
    yellow_days: int = Field(description="The yellow-card threshold used (the largest setting).")
    units: list[UnitClockCountsOut]
    total: UnitClockCountsOut

    @classmethod
    def of(cls, s: "ClockSummary") -> "ClockSummaryOut":
        def one(u: "UnitCounts") -> UnitClockCountsOut:
            return UnitClockCountsOut(unit_code=u.unit_code, unit_name=u.unit_name, open=u.open, yellow=u.yellow,
                                      red=u.red, overdue=u.overdue)
        return cls(today=s.today, yellow_days=s.yellow_days, units=[one(u) for u in s.units], total=one(s.total))


class BulletinHeadlineOut(BaseModel):
    """The latest published bulletin's headline figures (the whole bulletin: `GET /bulletins/{period}`)."""

    bulletin_no: str
    period: str
    published_at: datetime
    cases: int
    on_time: int
    on_time_rate: float | None
    average_working_days_used: float | None
    overdue_cases: int
    notices: int
    violations: int

    @classmethod
    def of(cls, b: "BulletinHeadline") -> "BulletinHeadlineOut":
        return cls(**{f: getattr(b, f) for f in cls.model_fields})


from .usecases.summaries import BulletinHeadline, ClockSummary, UnitCounts  # noqa: E402  (names for the ``of`` hints)
