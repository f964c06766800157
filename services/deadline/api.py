"""HTTP API of the deadline service (prefix ``/deadline``).

Who may do what:
- any staff member: read clocks (clerks and unit heads: their own unit), statistics, bulletins,
  the calendar's history; record a stop (hearing, testing, ...) for a case of their unit;
- unit heads (their unit), supervisors and the center admin: grant extensions; reply to a
  supervision notice (unit heads: their unit);
- supervisors and the center admin: publish bulletins, raise supervision notices, draw
  inspection samples and record results;
- the center admin: change the calendar (county days, State Council schedules);
- everyone (public): the working-day calendar and due-date computation.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from contracts.common import CaseKind, ReceiptNo, UnitCode
from contracts.deadline import InspectionResult, NoticeSource, StopReason
from services.runtime import clock
from services.runtime.app import Service
from services.runtime.auth import PUBLIC, CenterAdmin, CurrentStaff, Staff, Supervisor, UnitHead
from services.runtime.deps import UoW
from services.runtime.params import FreeText, plausible_key
from services.runtime.problems import Problem
from services.runtime.uow import UnitOfWork

from . import store
from .calendar import CalendarBook, CalendarError
from .domain import DeadlineError, local_date, start_of_day
from .keeper import Keeper
from .oversight import (
    Bulletin,
    Period,
    build_bulletin,
    bulletin_from_json,
    raise_notice,
    record_inspection,
    render_bulletin,
    reply_notice,
    sample_inspection,
)

router = APIRouter(prefix="/deadline", tags=["deadline"])


def _service(request: Request) -> Service:
    return request.app.state.service


def _keeper(request: Request) -> Keeper:
    return request.app.state.deadline_keeper


def _problem(exc: DeadlineError | CalendarError) -> Problem:
    conflict = exc.field in ("receipt_no", "notice_no") and "已" in str(exc)
    return Problem(409 if conflict else 422, str(exc), field=exc.field)


def _now() -> datetime:
    return clock.now()  # the suite's clock: a simulation's compressed time, else the system's


#: How far ahead of the server's clock a stated instant may be (a clerk's PC runs a little fast);
#: beyond it the instant has not happened yet.
CLOCK_SKEW = timedelta(minutes=5)


def _not_future(at: datetime | None, field: str, what: str) -> None:
    """A stop starts and ends when it happens: an instant still to come is refused (it would show
    the clock stopped before it is, and dates near the calendar's end cannot be counted)."""
    if at is not None and at > _now() + CLOCK_SKEW:
        raise Problem(422, f"{what}不能晚于当前时间", field=field)


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


async def _clock_out(row: store.ClockRow, keeper: Keeper, session: Any) -> ClockOut:
    cal = await keeper.calendar.current(session)
    days_left = None if row.state == "ended" else cal.working_days_after(local_date(_now()), row.due_date)
    return ClockOut(
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
        days_left=days_left,
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


async def _own_clock(uow: UnitOfWork, receipt_no: str, staff: Staff) -> store.ClockRow:
    row = await store.get_clock(uow.session, receipt_no, for_update=True) if plausible_key(receipt_no, 40) else None
    if row is None:
        raise Problem(404, f"没有受理编号为 {receipt_no} 的计时", field="receipt_no")
    staff.ensure_unit(row.unit_code)
    return row


@router.get("/clocks/{receipt_no}", response_model=ClockOut, summary="One case's clock")
async def get_clock(receipt_no: str, staff: CurrentStaff, uow: UoW, request: Request) -> ClockOut:
    row = await _own_clock(uow, receipt_no, staff)
    return await _clock_out(row, _keeper(request), uow.session)


@router.get("/clocks", response_model=list[ClockOut], summary="Clocks, filtered (keyset pages by receipt number)")
async def list_clocks(
    staff: CurrentStaff,
    uow: UoW,
    request: Request,
    unit_code: UnitCode | None = None,
    state: Annotated[str | None, Query(pattern="^(running|stopped|ended)$")] = None,
    overdue: bool | None = None,
    after: Annotated[
        FreeText | None, Query(max_length=40, description="The last receipt number of the previous page.")
    ] = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[ClockOut]:
    if not staff.center_wide:
        if unit_code is not None:
            staff.ensure_unit(unit_code)
        unit_code = staff.unit
    rows = await store.list_clocks(uow.session, unit_code=unit_code, state=state, overdue=overdue, after=after, limit=limit)
    keeper = _keeper(request)
    return [await _clock_out(r, keeper, uow.session) for r in rows]


class StopIn(BaseModel):
    reason: StopReason = Field(description="hearing, testing, inspection, expert_review, other (supplement and "
                                           "higher_authority normally come from intake).")
    started_at: AwareDatetime | None = Field(None, description="When the stop began (default: now).")
    note: FreeText | None = Field(None, max_length=500, description="What for (no personal data: it is published).")
    stop_id: str | None = Field(None, max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$",
                                description="Your id for it (a repeat with the same id changes nothing).")


@router.post("/clocks/{receipt_no}/stops", response_model=ClockOut, status_code=201,
             summary="Stop a case's clock (hearing, testing, inspection, expert review ...)")
async def stop_clock(receipt_no: str, body: StopIn, staff: CurrentStaff, uow: UoW, request: Request) -> ClockOut:
    keeper = _keeper(request)
    row = await _own_clock(uow, receipt_no, staff)
    _not_future(body.started_at, "started_at", "暂停开始时间")
    cal = await keeper.calendar.current(uow.session)
    clock = store.clock_from_row(row)
    stop_id = body.stop_id or f"{body.reason.value}-{int(_now().timestamp())}"
    try:
        events = clock.stop(cal, stop_id=stop_id, reason=body.reason, at=body.started_at or _now(), note=body.note)
    except (DeadlineError, CalendarError) as exc:
        raise _problem(exc) from None
    row = await keeper.save(uow, clock, cal, events, row)
    await uow.commit()
    return await _clock_out(row, keeper, uow.session)


class ResumeIn(BaseModel):
    ended_at: AwareDatetime | None = Field(None, description="When the stop ended (default: now).")


@router.post("/clocks/{receipt_no}/stops/{stop_id}/end", response_model=ClockOut,
             summary="End a stop: the due date moves by the working days stopped")
async def end_stop(receipt_no: str, stop_id: str, body: ResumeIn, staff: CurrentStaff, uow: UoW, request: Request) -> ClockOut:
    keeper = _keeper(request)
    row = await _own_clock(uow, receipt_no, staff)
    clock = store.clock_from_row(row)
    if not any(s.stop_id == stop_id for s in clock.stops):
        raise Problem(404, f"该案件没有编号为 {stop_id} 的暂停记录", field="stop_id")
    _not_future(body.ended_at, "ended_at", "恢复计时时间")
    cal = await keeper.calendar.current(uow.session)
    try:
        events = clock.resume(cal, stop_id=stop_id, at=body.ended_at or _now())
    except (DeadlineError, CalendarError) as exc:
        raise _problem(exc) from None
    if events:
        row = await keeper.save(uow, clock, cal, events, row)
        await uow.commit()
    return await _clock_out(row, keeper, uow.session)


class ExtensionIn(BaseModel):
    days: int = Field(ge=1, le=60, description="Working days added.")
    reason: FreeText = Field(min_length=2, max_length=500, description="Why (it is told to the applicant).")
    extension_id: str | None = Field(None, max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$",
                                     description="Your id for it (a repeat with the same id changes nothing).")


@router.post("/clocks/{receipt_no}/extensions", response_model=ClockOut, status_code=201,
             summary="Extend a case's limit (unit head of the unit, supervisor, center admin)")
async def extend_clock(receipt_no: str, body: ExtensionIn, staff: UnitHead, uow: UoW, request: Request) -> ClockOut:
    keeper = _keeper(request)
    row = await _own_clock(uow, receipt_no, staff)
    cal = await keeper.calendar.current(uow.session)
    clock = store.clock_from_row(row)
    try:
        events = clock.extend(
            cal,
            extension_id=body.extension_id or f"ext-{int(_now().timestamp())}",
            days=body.days,
            approved_by=_who(staff),
            reason=body.reason,
            at=_now(),
        )
    except (DeadlineError, CalendarError) as exc:
        raise _problem(exc) from None
    row = await keeper.save(uow, clock, cal, events, row)
    await uow.commit()
    return await _clock_out(row, keeper, uow.session)


# ---------------------------------------------------------------------------------------------
# The calendar


class DayOut(BaseModel):
    day: date
    working: bool
    weekend: bool
    source: str = Field(description="county (an override), schedule (loaded), national (library), weekdays")
    official: bool = Field(description="Whether the year's official schedule is known.")
    override_reason: str | None


@router.get("/calendar/days", response_model=list[DayOut], summary="Working days between two dates", **PUBLIC)
async def calendar_days(
    uow: UoW, request: Request, start: date, end: date
) -> list[DayOut]:
    if end < start:
        raise Problem(422, "结束日期不能早于开始日期", field="end")
    if (end - start).days > 400:
        raise Problem(422, "一次最多查询400天", field="end")
    book = await _keeper(request).calendar.refresh(uow.session)
    # Counted, not stepped past ``end``: the day after 9999-12-31 does not exist.
    days = (start + timedelta(days=i) for i in range((end - start).days + 1))
    return [DayOut(**book.day_info(d)) for d in days]  # type: ignore[arg-type]


class DueDateOut(BaseModel):
    accepted_on: date
    days: int
    due_date: date
    provisional: bool
    calendar_version: int


@router.get("/calendar/due-date", response_model=DueDateOut, summary="The due date of a limit, counted as the law does",
            **PUBLIC)
async def due_date(
    uow: UoW, request: Request, accepted_on: date, days: int = Query(ge=0, le=3650)
) -> DueDateOut:
    cal = await _keeper(request).calendar.current(uow.session)
    try:
        due = cal.add_working_days(accepted_on, days)
    except CalendarError as exc:
        raise _problem(exc) from None
    return DueDateOut(
        accepted_on=accepted_on, days=days, due_date=due,
        provisional=cal.provisional_between(accepted_on, due), calendar_version=cal.version,
    )


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


@router.get("/calendar/changes", response_model=list[ChangeOut], summary="The calendar's history")
async def calendar_changes(staff: CurrentStaff, uow: UoW) -> list[ChangeOut]:
    history = await store.calendar_history(uow.session)
    jobs = {
        j.calendar_version: j
        for j in (await uow.session.exec(select(store.RecomputeJob).where(store.RecomputeJob.calendar_version > 0))).all()
    }
    out = []
    for c in history:
        job = jobs.get(c.version)
        out.append(
            ChangeOut(
                version=c.version, action=c.action.value, year=c.year, day=c.day, working=c.working,
                holidays=list(c.holidays), working_days=list(c.working_days), changed_by=c.changed_by,
                changed_at=c.changed_at, reason=c.reason, recomputed=bool(job and job.done),
                clocks_moved=job.moved if job and job.done else None,
            )
        )
    return out


async def _change_calendar(uow: UnitOfWork, request: Request, apply, first: date, last: date) -> ChangeOut:  # type: ignore[no-untyped-def]
    """Apply a change to a copy of the current book, store it with a recomputation job, and
    swap the copy in after the commit."""
    keeper = _keeper(request)
    current = await keeper.calendar.refresh(uow.session)
    book = CalendarBook.replay(current.history, library_official=keeper.calendar.library_official)
    try:
        change = apply(book)
    except CalendarError as exc:
        raise _problem(exc) from None
    uow.session.add(store.change_to_row(change))
    uow.session.add(
        store.RecomputeJob(calendar_version=change.version, first_day=first, last_day=last, created_at=_now())
    )
    try:
        await uow.commit()
    except IntegrityError:
        raise Problem(409, "日历刚被他人修改，请刷新后重试") from None
    keeper.calendar.book = book
    keeper.recompute.set()
    return ChangeOut(
        version=change.version, action=change.action.value, year=change.year, day=change.day, working=change.working,
        holidays=list(change.holidays), working_days=list(change.working_days), changed_by=change.changed_by,
        changed_at=change.changed_at, reason=change.reason, recomputed=False, clocks_moved=None,
    )


def _who(staff: Staff) -> str:
    # The columns naming a person hold 80 characters; a token's name is the issuer's to choose.
    return (staff.name or staff.sub)[:80]


class DayIn(BaseModel):
    working: bool = Field(description="true: a working day for the county; false: a day off.")
    reason: FreeText = Field(min_length=2, max_length=500, description="Why (e.g. the county's document number).")


@router.put("/calendar/days/{day}", response_model=ChangeOut, status_code=201,
            summary="Declare a day off or a working day for the county (center admin)")
async def set_day(day: date, body: DayIn, staff: CenterAdmin, uow: UoW, request: Request) -> ChangeOut:
    return await _change_calendar(
        uow, request,
        lambda book: book.set_day(day, working=body.working, by=_who(staff), at=_now(), reason=body.reason),
        day, day,
    )


@router.delete("/calendar/days/{day}", response_model=ChangeOut,
               summary="Remove the county's override of a day (center admin)")
async def remove_day(
    day: date, staff: CenterAdmin, uow: UoW, request: Request,
    reason: Annotated[FreeText, Query(min_length=2, max_length=500, description="Why.")],
) -> ChangeOut:
    return await _change_calendar(
        uow, request, lambda book: book.remove_override(day, by=_who(staff), at=_now(), reason=reason), day, day
    )


class ScheduleIn(BaseModel):
    holidays: list[date] = Field(min_length=1, max_length=200, description="Every day off of the year (weekends inside holidays may be listed).")
    working_days: list[date] = Field(default_factory=list, max_length=30, description="The make-up working days (调休上班), weekend days.")
    reason: FreeText = Field(min_length=2, max_length=500, description="The State Council notice, e.g. 国办发明电〔2026〕X号.")


@router.put("/calendar/schedules/{year}", response_model=ChangeOut, status_code=201,
            summary="Load the State Council's holiday schedule of a year (center admin)")
async def load_schedule(year: int, body: ScheduleIn, staff: CenterAdmin, uow: UoW, request: Request) -> ChangeOut:
    if not 1950 <= year <= 9999:
        raise Problem(422, "年份超出范围", field="year")
    return await _change_calendar(
        uow, request,
        lambda book: book.load_schedule(
            year, holidays=body.holidays, working_days=body.working_days, by=_who(staff), at=_now(), reason=body.reason
        ),
        date(year - 1, 12, 1), date(year, 12, 31),
    )


# ---------------------------------------------------------------------------------------------
# Statistics and bulletins


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


@router.get("/statistics", response_model=StatisticsOut, summary="Figures per unit for the cases decided in a period")
async def statistics(
    staff: CurrentStaff,
    uow: UoW,
    period: str | None = Query(None, description="A month, YYYY-MM (or give first and last)."),
    first: date | None = None,
    last: date | None = None,
    unit_code: UnitCode | None = None,
) -> StatisticsOut:
    if period:
        try:
            p = Period.parse(period)
        except DeadlineError as exc:
            raise _problem(exc) from None
        first, last = p.first, p.last
    if first is None or last is None:
        raise Problem(422, "请给出月份（period）或起止日期（first、last）", field="period")
    if last < first:
        raise Problem(422, "结束日期不能早于开始日期", field="last")
    stats = await store.unit_statistics(uow.session, first, last, unit_code)
    names = await store.unit_names(uow.session)
    return StatisticsOut(
        first=first,
        last=last,
        units=[
            StatsOut(
                unit_code=s.unit_code, unit_name=names.get(s.unit_code), cases=s.cases, on_time=s.on_time,
                on_time_rate=s.on_time_rate, average_working_days_used=s.average_working_days_used,
                immediate=s.immediate, immediate_share=s.immediate_share,
            )
            for s in stats.values()
        ],
    )


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except DeadlineError as exc:
        raise _problem(exc) from None


def _month_bounds(p: Period) -> tuple[datetime, datetime]:
    return start_of_day(p.first), start_of_day(p.last + timedelta(days=1))


async def _draft(uow: UnitOfWork, request: Request, p: Period, bulletin_no: str) -> Bulletin:
    session = uow.session
    cal = await _keeper(request).calendar.current(session)
    start, end = _month_bounds(p)
    notices = [
        {"notice_no": n.notice_no, "unit_code": n.unit_code, "receipt_no": n.receipt_no, "reason": n.reason,
         "reply_due": n.reply_due, "replied": n.replied_at is not None}
        for n in await store.notices_between(session, start, end)
    ]
    violations = [
        {"unit_code": v.unit_code, "receipt_no": v.receipt_no, "inspector": v.inspector, "notes": v.notes}
        for v in await store.violations_between(session, start, end)
    ]
    return build_bulletin(
        cal, bulletin_no=bulletin_no, period=p, cases=await store.overdue_candidates(session, p.first, p.last),
        stats=await store.unit_statistics(session, p.first, p.last), notices=notices, violations=violations,
    )


class BulletinIn(BaseModel):
    period: str = Field(pattern=r"^\d{4}-\d{2}$", description="The month, YYYY-MM.")


@router.post("/bulletins", status_code=201, summary="Publish a month's bulletin (supervisor, center admin)")
async def publish_bulletin(body: BulletinIn, staff: Supervisor, uow: UoW, request: Request) -> dict[str, Any]:
    p = _period(body.period)
    if await uow.session.get(store.BulletinRow, str(p)) is not None:
        raise Problem(409, f"{p.label}的通报已经发布", field="period")
    bulletin = await _draft(uow, request, p, f"TB-{p}")
    now = _now()
    content = bulletin.as_json()
    uow.session.add(store.BulletinRow(period=str(p), bulletin_no=bulletin.bulletin_no, published_by=_who(staff),
                                      published_at=now, content=content))
    service = _service(request)
    await uow.emit(bulletin.as_event(center_unit_code=service.settings.deadline_center_unit_code,  # type: ignore[attr-defined]
                                     published_by=_who(staff), published_at=now))
    try:
        await uow.commit()
    except IntegrityError:
        raise Problem(409, f"{p.label}的通报已经发布", field="period") from None
    return {**content, "published": True, "published_by": _who(staff), "published_at": now.isoformat()}


@router.get("/bulletins/{period}", summary="A month's bulletin as JSON (the published one, or a live draft)")
async def get_bulletin(period: str, staff: CurrentStaff, uow: UoW, request: Request) -> dict[str, Any]:
    p = _period(period)
    row = await uow.session.get(store.BulletinRow, str(p))
    if row is not None:
        return {**row.content, "published": True, "published_by": row.published_by,
                "published_at": store.aware(row.published_at).isoformat()}  # type: ignore[union-attr]
    return {**(await _draft(uow, request, p, f"TB-{p}")).as_json(), "published": False}


@router.get("/bulletins/{period}/document", response_class=PlainTextResponse,
            summary="A month's bulletin as a readable zh-CN document (Markdown)")
async def bulletin_document(period: str, staff: CurrentStaff, uow: UoW, request: Request) -> PlainTextResponse:
    p = _period(period)
    row = await uow.session.get(store.BulletinRow, str(p))
    if row is not None:
        bulletin = bulletin_from_json(row.content)
        published_on = local_date(store.aware(row.published_at))  # type: ignore[arg-type]
    else:
        bulletin = await _draft(uow, request, p, f"TB-{p}（草稿）")
        published_on = None
    settings = _service(request).settings
    text = render_bulletin(
        bulletin, center_name=settings.deadline_center_name,  # type: ignore[attr-defined]
        unit_names=await store.unit_names(uow.session), published_on=published_on,
    )
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


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


def _notice_out(row: store.NoticeRow) -> NoticeOut:
    n = store.notice_from_row(row)
    return NoticeOut(
        notice_no=n.notice_no, unit_code=n.unit_code, receipt_no=n.receipt_no, raised_by=n.raised_by,
        raised_at=n.raised_at, reason=n.reason, reply_due=n.reply_due, origin=n.origin,
        status=n.status(local_date(_now())), replied_by=n.replied_by, replied_at=n.replied_at, reply=n.reply,
    )


async def _raise(uow: UnitOfWork, request: Request, staff: Staff, *, unit_code: str, receipt_no: str | None,
                 reason: str, reply_days: int | None, origin: NoticeSource) -> store.NoticeRow:
    keeper = _keeper(request)
    settings = _service(request).settings
    cal = await keeper.calendar.current(uow.session)
    now = _now()
    year = local_date(now).year
    number = await store.next_number(uow.session, f"notice-{year}")
    try:
        notice, event = raise_notice(
            cal, notice_no=f"DB-{year}-{number:04d}", unit_code=unit_code, receipt_no=receipt_no, raised_by=_who(staff),
            raised_at=now, reason=reason, reply_days=reply_days or settings.deadline_reply_days,  # type: ignore[attr-defined]
            origin=origin,
        )
    except DeadlineError as exc:
        raise _problem(exc) from None
    row = store.notice_to_row(notice)
    uow.session.add(row)
    await uow.emit(event)
    return row


@router.post("/notices", response_model=NoticeOut, status_code=201,
             summary="Raise a supervision notice (业务督办通知书) to a unit (supervisor, center admin)")
async def create_notice(body: NoticeIn, staff: Supervisor, uow: UoW, request: Request) -> NoticeOut:
    if body.receipt_no is not None:
        clock = await store.get_clock(uow.session, body.receipt_no)
        if clock is None:
            raise Problem(404, f"没有受理编号为 {body.receipt_no} 的案件", field="receipt_no")
        if clock.unit_code != body.unit_code:
            raise Problem(422, f"案件 {body.receipt_no} 不属于单位 {body.unit_code}", field="unit_code")
    row = await _raise(uow, request, staff, unit_code=body.unit_code, receipt_no=body.receipt_no, reason=body.reason,
                       reply_days=body.reply_days, origin=body.origin)
    await uow.commit()
    return _notice_out(row)


@router.get("/notices", response_model=list[NoticeOut], summary="Supervision notices")
async def list_notices(
    staff: CurrentStaff, uow: UoW, unit_code: UnitCode | None = None,
    open_only: bool = Query(False, description="Only notices not replied to."),
    limit: int = Query(200, ge=1, le=1000),
) -> list[NoticeOut]:
    if not staff.center_wide:
        if unit_code is not None:
            staff.ensure_unit(unit_code)
        unit_code = staff.unit
    stmt = select(store.NoticeRow)
    if unit_code:
        stmt = stmt.where(store.NoticeRow.unit_code == unit_code)
    if open_only:
        stmt = stmt.where(store.NoticeRow.replied_at == None)  # noqa: E711
    rows = (await uow.session.exec(stmt.order_by(store.NoticeRow.raised_at.desc()).limit(limit))).all()  # type: ignore[attr-defined]
    return [_notice_out(r) for r in rows]


async def _own_notice(uow: UnitOfWork, notice_no: str, staff: Staff) -> store.NoticeRow:
    row = await uow.session.get(store.NoticeRow, notice_no) if plausible_key(notice_no, 40) else None
    if row is None:
        raise Problem(404, f"没有编号为 {notice_no} 的督办通知书", field="notice_no")
    staff.ensure_unit(row.unit_code)
    return row


@router.get("/notices/{notice_no}", response_model=NoticeOut, summary="One supervision notice")
async def get_notice(notice_no: str, staff: CurrentStaff, uow: UoW) -> NoticeOut:
    return _notice_out(await _own_notice(uow, notice_no, staff))


class ReplyIn(BaseModel):
    reply: FreeText = Field(min_length=2, max_length=4000, description="The rectification taken (published: no personal data).")


@router.post("/notices/{notice_no}/reply", response_model=NoticeOut,
             summary="Reply to a supervision notice: it is closed (unit head of the unit)")
async def reply(notice_no: str, body: ReplyIn, staff: UnitHead, uow: UoW) -> NoticeOut:
    row = await _own_notice(uow, notice_no, staff)
    notice = store.notice_from_row(row)
    try:
        event = reply_notice(notice, replied_by=_who(staff), reply=body.reply, at=_now())
    except DeadlineError as exc:
        raise _problem(exc) from None
    store.notice_to_row(notice, row)
    uow.session.add(row)
    await uow.emit(event)
    await uow.commit()
    return _notice_out(row)


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


def _sample_out(r: store.SampleRow) -> SampleOut:
    return SampleOut(sample_id=r.sample_id, unit_code=r.unit_code, period=r.period, seed=r.seed, share=r.share,
                     population=r.population, receipt_nos=r.receipt_nos, sampled_by=r.sampled_by,
                     sampled_at=store.aware(r.sampled_at))  # type: ignore[arg-type]


@router.post("/inspections", response_model=SampleOut, status_code=201,
             summary="Draw a month's random inspection sample of a unit's decided cases (supervisor)")
async def draw(body: SampleIn, staff: Supervisor, uow: UoW, request: Request) -> SampleOut:
    p = _period(body.period)
    sample_id = f"CC-{p}-{body.unit_code}"
    if await uow.session.get(store.SampleRow, sample_id) is not None:
        raise Problem(409, f"单位 {body.unit_code} {p.label}的抽查样本已经抽取", field="period")
    population = await store.decided_receipts(uow.session, body.unit_code, p.first, p.last)
    settings = _service(request).settings
    now = _now()
    try:
        sample, event = sample_inspection(
            sample_id=sample_id, unit_code=body.unit_code, period=p, closed_receipts=population,
            share=body.share or settings.deadline_inspection_share,  # type: ignore[attr-defined]
            seed=body.seed, sampled_by=_who(staff), sampled_at=now,
        )
    except DeadlineError as exc:
        raise _problem(exc) from None
    row = store.SampleRow(sample_id=sample.sample_id, unit_code=sample.unit_code, period=str(p), seed=sample.seed,
                          share=sample.share, population=sample.population, receipt_nos=list(sample.receipt_nos),
                          sampled_by=_who(staff), sampled_at=now)
    uow.session.add(row)
    await uow.emit(event)
    try:
        await uow.commit()
    except IntegrityError:
        raise Problem(409, f"单位 {body.unit_code} {p.label}的抽查样本已经抽取", field="period") from None
    return _sample_out(row)


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


class SampleDetailOut(SampleOut):
    results: list[InspectionOut]


def _inspection_out(r: store.InspectionRow) -> InspectionOut:
    return InspectionOut(sample_id=r.sample_id, receipt_no=r.receipt_no, unit_code=r.unit_code, inspector=r.inspector,
                         result=InspectionResult(r.result), violation=r.violation, notes=r.notes,
                         recorded_at=store.aware(r.recorded_at), notice_no=r.notice_no)  # type: ignore[arg-type]


@router.get("/inspections/{sample_id}", response_model=SampleDetailOut, summary="A sample and its results")
async def get_sample(sample_id: str, staff: CurrentStaff, uow: UoW) -> SampleDetailOut:
    row = await uow.session.get(store.SampleRow, sample_id) if plausible_key(sample_id, 60) else None
    if row is None:
        raise Problem(404, f"没有编号为 {sample_id} 的抽查样本", field="sample_id")
    staff.ensure_unit(row.unit_code)
    results = (await uow.session.exec(select(store.InspectionRow).where(store.InspectionRow.sample_id == sample_id))).all()
    return SampleDetailOut(**_sample_out(row).model_dump(), results=[_inspection_out(r) for r in results])


class InspectionIn(BaseModel):
    receipt_no: ReceiptNo = Field(description="A case of the sample.")
    result: InspectionResult = Field(description="compliant, defective or violation.")
    notes: FreeText | None = Field(None, max_length=2000, description="Findings (published: no personal data).")
    raise_notice: bool = Field(False, description="On a violation, raise a supervision notice to the unit.")
    reply_days: int | None = Field(None, ge=1, le=30, description="Working days the unit has to reply to that notice.")


@router.post("/inspections/{sample_id}/results", response_model=InspectionOut, status_code=201,
             summary="Record the inspection of one sampled case (supervisor)")
async def record(sample_id: str, body: InspectionIn, staff: Supervisor, uow: UoW, request: Request) -> InspectionOut:
    srow = await uow.session.get(store.SampleRow, sample_id) if plausible_key(sample_id, 60) else None
    if srow is None:
        raise Problem(404, f"没有编号为 {sample_id} 的抽查样本", field="sample_id")
    if await uow.session.get(store.InspectionRow, (sample_id, body.receipt_no)) is not None:
        raise Problem(409, f"案件 {body.receipt_no} 的检查结果已经登记", field="receipt_no")
    notice_no = None
    if body.raise_notice and body.result is InspectionResult.VIOLATION:
        reason = f"随机抽查发现案件 {body.receipt_no} 存在违规问题" + (f"：{body.notes}" if body.notes else "")
        notice_row = await _raise(uow, request, staff, unit_code=srow.unit_code, receipt_no=body.receipt_no,
                                  reason=reason[:2000], reply_days=body.reply_days, origin=NoticeSource.INSPECTION)
        notice_no = notice_row.notice_no
    now = _now()
    try:
        event = record_inspection(store.sample_from_row(srow), receipt_no=body.receipt_no, inspector=_who(staff),
                                  result=body.result, notes=body.notes, at=now, notice_no=notice_no)
    except DeadlineError as exc:
        raise _problem(exc) from None
    row = store.InspectionRow(sample_id=sample_id, receipt_no=body.receipt_no, unit_code=srow.unit_code, period=srow.period,
                              inspector=event.inspector, result=body.result.value, violation=event.violation,
                              notes=body.notes, recorded_at=now, notice_no=notice_no)
    uow.session.add(row)
    await uow.emit(event)
    try:
        await uow.commit()
    except IntegrityError:
        raise Problem(409, f"案件 {body.receipt_no} 的检查结果已经登记", field="receipt_no") from None
    return _inspection_out(row)

