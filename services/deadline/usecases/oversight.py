"""Use cases of the supervision of the window units: statistics, the monthly bulletin (定期通报),
supervision notices (业务督办通知书) and random inspections (抽查). The rules are the domain's
(``domain/oversight.py``); these read and write the store and emit the events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from contracts.deadline import InspectionResult, NoticeSource
from services.runtime import clock as suite_clock
from services.runtime.auth import Staff
from services.runtime.errors import InvalidInput, InvalidState, NotFound
from services.runtime.params import plausible_key
from services.runtime.uow import UnitOfWork

from .. import store
from ..domain.clock import local_date, start_of_day
from ..domain.oversight import (
    Bulletin,
    Period,
    SupervisionNotice,
    UnitStats,
    build_bulletin,
    bulletin_from_json,
    raise_notice,
    record_inspection,
    render_bulletin,
    reply_notice,
    sample_inspection,
)
from .shared import DeadlineState, who

# ---------------------------------------------------------------------------------------------
# Statistics


@dataclass(frozen=True)
class Statistics:
    first: date
    last: date
    units: list[UnitStats]
    names: dict[str, str]


async def statistics(
    uow: UnitOfWork, *, period: str | None, first: date | None, last: date | None, unit_code: str | None
) -> Statistics:
    """Figures per unit (and the center's total, ``"*"``) for the cases decided in a month or
    between two dates."""
    if period:
        p = Period.parse(period)
        first, last = p.first, p.last
    if first is None or last is None:
        raise InvalidInput("period", "请给出月份（period）或起止日期（first、last）")
    if last < first:
        raise InvalidInput("last", "结束日期不能早于开始日期")
    stats = await store.unit_statistics(uow.session, first, last, unit_code)
    return Statistics(first, last, list(stats.values()), await store.unit_names(uow.session))


# ---------------------------------------------------------------------------------------------
# Bulletins


@dataclass(frozen=True)
class BulletinView:
    """A bulletin as JSON (``Bulletin.as_json``), published or a live draft."""

    content: dict[str, object]
    published: bool
    published_by: str | None = None
    published_at: datetime | None = None


def _month_bounds(p: Period) -> tuple[datetime, datetime]:
    return start_of_day(p.first), start_of_day(p.last + timedelta(days=1))


async def _draft(uow: UnitOfWork, st: DeadlineState, p: Period, bulletin_no: str) -> Bulletin:
    session = uow.session
    cal = await st.calendar.current(session)
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
        staff_violations=await store.staff_violation_counts(session, str(p)),
    )


async def publish_bulletin(uow: UnitOfWork, st: DeadlineState, period: str, staff: Staff) -> BulletinView:
    """Publish a month's bulletin (``BulletinPublished``, keyed by the center's own unit code)."""
    p = Period.parse(period)
    already = InvalidState("period", f"{p.label}的通报已经发布")
    if await uow.session.get(store.BulletinRow, str(p)) is not None:
        raise already
    bulletin = await _draft(uow, st, p, f"TB-{p}")
    now = suite_clock.now()
    content = bulletin.as_json()
    uow.session.add(store.BulletinRow(period=str(p), bulletin_no=bulletin.bulletin_no, published_by=who(staff),
                                      published_at=now, content=content))
    await uow.emit(bulletin.as_event(center_unit_code=st.settings.deadline_center_unit_code,
                                     published_by=who(staff), published_at=now))
    try:
        await uow.commit()
    except IntegrityError:
        raise already from None
    return BulletinView(content, True, who(staff), now)


async def get_bulletin(uow: UnitOfWork, st: DeadlineState, period: str) -> BulletinView:
    """The published bulletin of a month, or a live draft."""
    p = Period.parse(period)
    row = await uow.session.get(store.BulletinRow, str(p))
    if row is not None:
        return BulletinView(row.content, True, row.published_by, store.aware(row.published_at))
    return BulletinView((await _draft(uow, st, p, f"TB-{p}")).as_json(), False)


async def bulletin_document(uow: UnitOfWork, st: DeadlineState, period: str) -> str:
    """A month's bulletin as a readable zh-CN document (Markdown)."""
    p = Period.parse(period)
    row = await uow.session.get(store.BulletinRow, str(p))
    if row is not None:
        bulletin = bulletin_from_json(row.content)
        published_on: date | None = local_date(store.aware(row.published_at))  # type: ignore[arg-type]
    else:
        bulletin = await _draft(uow, st, p, f"TB-{p}（草稿）")
        published_on = None
    return render_bulletin(
        bulletin, center_name=st.settings.deadline_center_name,
        unit_names=await store.unit_names(uow.session), published_on=published_on,
    )


# ---------------------------------------------------------------------------------------------
# Supervision notices


@dataclass(frozen=True)
class NoticeView:
    notice: SupervisionNotice
    #: open, reply_overdue or replied (today)
    status: str


def _view(row: store.NoticeRow) -> NoticeView:
    n = store.notice_from_row(row)
    return NoticeView(n, n.status(suite_clock.today()))


async def _raise(uow: UnitOfWork, st: DeadlineState, staff: Staff, *, unit_code: str, receipt_no: str | None,
                 reason: str, reply_days: int | None, origin: NoticeSource) -> store.NoticeRow:
    cal = await st.calendar.current(uow.session)
    now = suite_clock.now()
    year = local_date(now).year
    number = await store.next_number(uow.session, f"notice-{year}")
    notice, event = raise_notice(
        cal, notice_no=f"DB-{year}-{number:04d}", unit_code=unit_code, receipt_no=receipt_no, raised_by=who(staff),
        raised_at=now, reason=reason, reply_days=reply_days or st.settings.deadline_reply_days, origin=origin,
    )
    row = store.notice_to_row(notice)
    uow.session.add(row)
    await uow.emit(event)
    return row


async def create_notice(
    uow: UnitOfWork, st: DeadlineState, staff: Staff, *, unit_code: str, receipt_no: str | None, reason: str,
    reply_days: int | None, origin: NoticeSource,
) -> NoticeView:
    """Raise a supervision notice to a unit (about one of its cases, or not)."""
    if receipt_no is not None:
        clock = await store.get_clock(uow.session, receipt_no)
        if clock is None:
            raise NotFound("receipt_no", f"没有受理编号为 {receipt_no} 的案件")
        if clock.unit_code != unit_code:
            raise InvalidInput("unit_code", f"案件 {receipt_no} 不属于单位 {unit_code}")
    row = await _raise(uow, st, staff, unit_code=unit_code, receipt_no=receipt_no, reason=reason,
                       reply_days=reply_days, origin=origin)
    await uow.commit()
    return _view(row)


async def list_notices(
    uow: UnitOfWork, staff: Staff, *, unit_code: str | None, open_only: bool, limit: int
) -> list[NoticeView]:
    """Notices, newest first; clerks and unit heads see their own unit's."""
    if not staff.center_wide:
        if unit_code is not None:
            staff.ensure_unit(unit_code)
        unit_code = staff.unit
    rows = await store.list_notices(uow.session, unit_code=unit_code, open_only=open_only, limit=limit)
    return [_view(r) for r in rows]


async def _own_notice(uow: UnitOfWork, notice_no: str, staff: Staff) -> store.NoticeRow:
    row = await uow.session.get(store.NoticeRow, notice_no) if plausible_key(notice_no, 40) else None
    if row is None:
        raise NotFound("notice_no", f"没有编号为 {notice_no} 的督办通知书")
    staff.ensure_unit(row.unit_code)
    return row


async def get_notice(uow: UnitOfWork, notice_no: str, staff: Staff) -> NoticeView:
    return _view(await _own_notice(uow, notice_no, staff))


async def reply(uow: UnitOfWork, notice_no: str, staff: Staff, *, text: str) -> NoticeView:
    """The unit's reply: the notice is closed."""
    row = await _own_notice(uow, notice_no, staff)
    notice = store.notice_from_row(row)
    event = reply_notice(notice, replied_by=who(staff), reply=text, at=suite_clock.now())
    store.notice_to_row(notice, row)
    uow.session.add(row)
    await uow.emit(event)
    await uow.commit()
    return _view(row)


# ---------------------------------------------------------------------------------------------
# Random inspections


async def draw_sample(
    uow: UnitOfWork, st: DeadlineState, staff: Staff, *, unit_code: str, period: str, share: float | None,
    seed: str | None,
) -> store.SampleRow:
    """Draw a month's reproducible sample of a unit's decided cases (once per unit and month)."""
    p = Period.parse(period)
    sample_id = f"CC-{p}-{unit_code}"
    already = InvalidState("period", f"单位 {unit_code} {p.label}的抽查样本已经抽取")
    if await uow.session.get(store.SampleRow, sample_id) is not None:
        raise already
    population = await store.decided_receipts(uow.session, unit_code, p.first, p.last)
    now = suite_clock.now()
    sample, event = sample_inspection(
        sample_id=sample_id, unit_code=unit_code, period=p, closed_receipts=population,
        share=share or st.settings.deadline_inspection_share, seed=seed, sampled_by=who(staff), sampled_at=now,
    )
    row = store.SampleRow(sample_id=sample.sample_id, unit_code=sample.unit_code, period=str(p), seed=sample.seed,
                          share=sample.share, population=sample.population, receipt_nos=list(sample.receipt_nos),
                          sampled_by=who(staff), sampled_at=now)
    uow.session.add(row)
    await uow.emit(event)
    try:
        await uow.commit()
    except IntegrityError:
        raise already from None
    return row


async def _sample(uow: UnitOfWork, sample_id: str) -> store.SampleRow:
    row = await uow.session.get(store.SampleRow, sample_id) if plausible_key(sample_id, 60) else None
    if row is None:
        raise NotFound("sample_id", f"没有编号为 {sample_id} 的抽查样本")
    return row


async def get_sample(uow: UnitOfWork, sample_id: str, staff: Staff) -> tuple[store.SampleRow, list[store.InspectionRow]]:
    """A sample and its results."""
    row = await _sample(uow, sample_id)
    staff.ensure_unit(row.unit_code)
    return row, await store.inspection_results(uow.session, sample_id)


async def record_result(
    uow: UnitOfWork, st: DeadlineState, sample_id: str, staff: Staff, *, receipt_no: str, result: InspectionResult,
    notes: str | None, with_notice: bool, reply_days: int | None,
) -> store.InspectionRow:
    """Record the inspection of one sampled case; on a violation, optionally raise a supervision
    notice to the unit."""
    srow = await _sample(uow, sample_id)
    already = InvalidState("receipt_no", f"案件 {receipt_no} 的检查结果已经登记")
    if await uow.session.get(store.InspectionRow, (sample_id, receipt_no)) is not None:
        raise already
    notice_no = None
    if with_notice and result is InspectionResult.VIOLATION:
        reason = f"随机抽查发现案件 {receipt_no} 存在违规问题" + (f"：{notes}" if notes else "")
        notice_row = await _raise(uow, st, staff, unit_code=srow.unit_code, receipt_no=receipt_no,
                                  reason=reason[:2000], reply_days=reply_days, origin=NoticeSource.INSPECTION)
        notice_no = notice_row.notice_no
    now = suite_clock.now()
    event = record_inspection(store.sample_from_row(srow), receipt_no=receipt_no, inspector=who(staff),
                              result=result, notes=notes, at=now, notice_no=notice_no)
    row = store.InspectionRow(sample_id=sample_id, receipt_no=receipt_no, unit_code=srow.unit_code, period=srow.period,
                              inspector=event.inspector, result=result.value, violation=event.violation,
                              notes=notes, recorded_at=now, notice_no=notice_no)
    uow.session.add(row)
    await uow.emit(event)
    try:
        await uow.commit()
    except IntegrityError:
        raise already from None
    return row
