"""intake's use cases: one function per command (or event), taking the unit of work.

Each loads what it needs through :class:`~.store.Store`, lets the domain decide, saves the
aggregate and emits its events, and commits — a command commits whole or not at all. The
routes (``api/``) and the handlers (``handlers.py``) are thin adapters over these; the refusals
are the runtime's :mod:`services.runtime.errors`, answered as problem+json by the runtime.

The service's shared objects (settings, metrics, the public rate limiter, the clock) are one
:class:`IntakeState`, kept on ``service.state.intake``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import limits

from contracts.base import Event
from contracts.common import ApplicantType, CaseKind
from contracts.deadline import CalendarChanged, ClockStarted, DueDateChanged
from contracts.intake import APPLICATIONS, UnitVolumeReported
from services.runtime import Problem, Service, clock
from services.runtime.errors import InvalidInput, NotFound
from services.runtime.uow import UnitOfWork
from services.runtime.calendar_follower import follow_calendar
from services.runtime.db import inline_sqlite
from services.runtime.workdays import WorkCalendar, local_date, national_calendar

from ..config import IntakeSettings
from ..domain import access
from ..domain.access import Actor
from ..domain.cases import (
    Applicant,
    Application,
    PublicStatus,
    RequestedMaterial,
    lookup,
    normalize_receipt_no,
    random_receipt_number,
)
from ..domain.catalog import CatalogRules, Item, Unit, register_unit as new_unit
from ..domain import leads as leads_domain
from ..domain.consultations import Consultation, FirstInquiryCount, first_inquiry_counts, record_consultation
from ..domain.consultations import answer_consultation as answer_domain
from ..domain.leads import LeadReason
from ..domain.ratings import Rectification, submit_rating
from ..domain.volume import inactive_units, monthly_volume
from ..schemas import ApplicationIn, ConsultationIn, ItemCreate, ItemContentIn, LookupIn, PublicRatingIn, UnitIn
from ..store import (
    ConsultationAnswerRow,
    Store,
    add_consultation_answer,
    aware,
    consultation_answer,
    first_inquiry_rows,
    leads_in,
    save_lead,
)
from ..store import consultation as store_consultation

log = logging.getLogger(__name__)


# ============================================================================ shared state


@dataclass
class IntakeMetrics:
    received: object
    transitions: object
    cases: object
    weekend_received: object
    lookups: object

    @classmethod
    def create(cls, service: Service) -> "IntakeMetrics":
        m = service.metrics
        return cls(
            received=m.counter("applications_received", "Applications received, by item kind and weekend.",
                               ("kind", "weekend")),
            transitions=m.counter("case_events", "Case events emitted, by event type.", ("event",)),
            cases=m.gauge("cases", "Cases in the store, by the kind they count under and status.",
                          ("kind", "status")),
            weekend_received=m.gauge("weekend_applications", "Applications received on Saturdays and Sundays (all time)."),
            lookups=m.counter("public_lookups", "Public status lookups, by result (found, unknown, limited).",
                              ("result",)),
        )


@dataclass
class IntakeState:
    """What the use cases need besides the unit of work (``service.state.intake``)."""

    settings: IntakeSettings
    metrics: IntakeMetrics
    rate: limits.RateLimitItem
    #: A unit of work of its own (``service.uow``): the lookup's counters and locks commit even
    #: when the lookup itself answers 404.
    uow: Callable[[], UnitOfWork]
    #: The runtime's clock: the system's, or a simulation's (ONEWINDOW_CLOCK); tests replace it.
    now: Callable[[], datetime] = field(default=clock.now)
    #: The wall clock of the bookkeeping (rate limits, locks); tests replace it.
    wall: Callable[[], datetime] = field(default=clock.system_now)
    #: The county's working-day calendar as this process follows it (due dates).
    calendar: Callable[[], WorkCalendar] = field(default=national_calendar)

    @classmethod
    def create(cls, service: Service) -> "IntakeState":
        s: IntakeSettings = service.settings  # type: ignore[assignment]
        follower = follow_calendar(service, CalendarChanged)
        return cls(settings=s, metrics=IntakeMetrics.create(service), rate=limits.parse(s.intake_lookup_rate_limit),
                   uow=service.uow, calendar=lambda: follower.calendar)

    @property
    def rules(self) -> CatalogRules:
        return self.settings.catalog_rules()

    def count_case_events(self, events: Iterable[Event]) -> None:
        for e in events:
            if e.topic == APPLICATIONS.name:
                self.metrics.transitions.labels(type(e).__name__).inc()  # type: ignore[attr-defined]


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12].upper()}"


async def _emit(uow: UnitOfWork, events: Iterable[Event]) -> None:
    for e in events:
        await uow.emit(e)


# ============================================================================ catalog


async def register_unit(uow: UnitOfWork, st: IntakeState, actor: Actor, body: UnitIn) -> Unit:
    store = Store(uow.session)
    if await store.unit(body.code.strip().upper()):
        raise Problem(409, f"单位代码 {body.code} 已存在", field="code")
    unit, events = new_unit(actor, st.now(), code=body.code, name=body.name, window_numbers=body.window_numbers,
                            entered=body.entered, entered_since=body.entered_since)
    await store.save_unit(unit)
    await _emit(uow, events)
    await uow.commit()
    return unit


async def update_unit(uow: UnitOfWork, st: IntakeState, actor: Actor, unit_code: str, body: UnitIn) -> Unit:
    store = Store(uow.session)
    existing = await store.unit(unit_code)
    if existing is None:
        raise Problem(404, f"没有代码为 {unit_code} 的单位", field="unit_code")
    if body.code.strip().upper() != unit_code:
        raise InvalidInput("code", "单位代码不能修改")
    unit, events = new_unit(actor, st.now(), code=body.code, name=body.name, window_numbers=body.window_numbers,
                            entered=body.entered, entered_since=body.entered_since,
                            registered_on=existing.registered_on)
    await store.save_unit(unit)
    await _emit(uow, events)
    await uow.commit()
    return unit


async def load_item(store: Store, code: str) -> Item:
    item = await store.item(code.upper())
    if item is None:
        raise NotFound("item_code", f"没有编码为 {code} 的事项")
    return item


async def create_item(uow: UnitOfWork, st: IntakeState, actor: Actor, body: ItemCreate) -> Item:
    store = Store(uow.session)
    access.require_center_admin(actor)
    if await store.item(body.code.strip().upper()):
        raise Problem(409, f"事项编码 {body.code} 已存在", field="code")
    units = (await store.unit_names()).keys()
    item = Item.create(actor, code=body.code, unit_code=body.unit_code.strip().upper(), content=body.content(),
                       rules=st.rules, known_units=units)
    await store.save_item(item)
    await uow.commit()
    return item


async def edit_item(uow: UnitOfWork, st: IntakeState, actor: Actor, item_code: str, body: ItemContentIn) -> Item:
    store = Store(uow.session)
    item = await load_item(store, item_code)
    item.edit(actor, body.content(), st.rules, (await store.unit_names()).keys())
    await store.save_item(item)
    await uow.commit()
    return item


async def publish_item(uow: UnitOfWork, st: IntakeState, actor: Actor, item_code: str) -> Item:
    store = Store(uow.session)
    item = await load_item(store, item_code)
    unit = await store.unit(item.unit_code)
    events = item.publish(actor, st.now(), unit.name if unit else item.unit_code, st.rules)
    await store.save_item(item)
    await _emit(uow, events)
    await uow.commit()
    return item


async def retire_item(uow: UnitOfWork, st: IntakeState, actor: Actor, item_code: str, reason: str | None) -> Item:
    store = Store(uow.session)
    item = await load_item(store, item_code)
    events = item.retire(actor, st.now(), reason)
    await store.save_item(item)
    await _emit(uow, events)
    await uow.commit()
    return item


# ============================================================================ consultations


async def add_consultation(uow: UnitOfWork, st: IntakeState, actor: Actor, body: ConsultationIn) -> Consultation:
    store = Store(uow.session)
    item_unit = None
    if body.item_code:
        item = await store.item(body.item_code.upper())
        item_unit = item.unit_code if item else None
    if body.referred_to_unit and await store.unit(body.referred_to_unit) is None:
        raise InvalidInput("referred_to_unit", f"单位代码 {body.referred_to_unit} 不存在")
    c, events = record_consultation(
        actor, st.now(), consultation_id=new_id("ZX"), channel=body.channel, question=body.question,
        outcome=body.outcome, item_code=body.item_code.upper() if body.item_code else None, item_unit=item_unit,
        answer=body.answer, referred_to_unit=body.referred_to_unit,
    )
    await store.add_consultation(c)
    await _emit(uow, events)
    await uow.commit()
    return c


# ============================================================================ applications


def applicant_of(body: ApplicationIn) -> Applicant:
    a = body.applicant
    if a.type is ApplicantType.PERSON:
        if not a.resident_id:
            raise InvalidInput("applicant.resident_id", "个人申请请填写居民身份证号码")
        return Applicant.person(name=a.name, resident_id=a.resident_id, mobile=a.mobile)
    if not a.credit_code:
        raise InvalidInput("applicant.credit_code", "单位申请请填写统一社会信用代码")
    return Applicant.company(company_name=a.company_name or "", credit_code=a.credit_code, contact_name=a.name,
                             mobile=a.mobile)


async def receive_application(uow: UnitOfWork, st: IntakeState, actor: Actor, body: ApplicationIn) -> Application:
    """收件: the item's current version, the applicant's identifiers checked, a receipt number
    without gaps (a refused application uses none), accepted or the one-time notice at once.

    Its statements are short and indexed: on SQLite they run on the event loop's thread
    (``inline_sqlite``; a statement that finds the database locked waits in aiosqlite's thread
    after all), not each a hand-off to the connection's thread and back."""
    with inline_sqlite():
        store = Store(uow.session)
        found = await store.item_for_application(body.item_code.strip().upper())
        if found is None:
            raise NotFound("item_code", f"没有编码为 {body.item_code} 的事项")
        item, unit_name = found
        version = item.current_version()
        access.require_unit_staff(actor, item.unit_code)
        applicant = applicant_of(body)
        now = st.now()
        joint = version.content.joint_units
        names = await store.unit_names(list(joint)) if joint else {}
        year = local_date(now).year
        seq = await store.next_seq(year, item.unit_code)
        receipt_no = await _fresh_receipt_number(store, year, item.unit_code)
        app = Application.receive(
            receipt_no=receipt_no, item=version, unit_name=unit_name or item.unit_code, applicant=applicant,
            materials=body.materials, conditional=body.conditional_materials, channel=body.channel, at=now,
            actor=actor, accept_if_complete=body.accept_if_complete, unit_names=names, calendar=st.calendar(),
        )
        app.register_seq = seq
        events = app.pull_events()
        await store.add_case(app)
        await _emit(uow, events)
        await _log_reader(uow, st, app)
        await uow.commit()
    st.metrics.received.labels(app.kind.value, str(app.weekend).lower()).inc()  # type: ignore[attr-defined]
    st.count_case_events(events)
    return app


async def _fresh_receipt_number(store: Store, year: int, unit_code: str) -> str:
    for _ in range(8):
        no = random_receipt_number(year, unit_code)
        if not await store.receipt_taken(no):
            return no
    raise RuntimeError("no free receipt number after 8 draws")  # 8.5·10^11 per unit and year: never


async def load_case(store: Store, receipt_no: str) -> tuple[Application, int]:
    found = await store.case(receipt_no.strip().upper())
    if found is None:
        raise NotFound("receipt_no", f"没有受理编号为 {receipt_no} 的案件")
    return found


async def _act(uow: UnitOfWork, st: IntakeState, receipt_no: str,
               step: Callable[[Application, datetime], list[Event]]) -> Application:
    """Load the case, take one step, save it (revision checked) with its events, commit."""
    store = Store(uow.session)
    app, rev = await load_case(store, receipt_no)
    events = step(app, st.now())
    app.pull_events()
    await store.save_case(app, rev)
    await _emit(uow, events)
    await _log_reader(uow, st, app)
    await uow.commit()
    st.count_case_events(events)
    return app


async def accept(uow: UnitOfWork, st: IntakeState, actor: Actor, receipt_no: str) -> Application:
    return await _act(uow, st, receipt_no, lambda a, now: a.accept(actor, now, st.calendar()))


async def request_supplement(uow: UnitOfWork, st: IntakeState, actor: Actor, receipt_no: str,
                             materials: list[RequestedMaterial]) -> Application:
    return await _act(uow, st, receipt_no, lambda a, now: a.request_supplement(actor, now, materials))


async def override_supplement(uow: UnitOfWork, st: IntakeState, actor: Actor, receipt_no: str,
                              materials: list[RequestedMaterial], reason: str) -> Application:
    return await _act(uow, st, receipt_no,
                      lambda a, now: a.record_override(actor, now, materials, reason, new_id("PZ")))


async def provide_supplement(uow: UnitOfWork, st: IntakeState, actor: Actor, receipt_no: str,
                             materials: list[str]) -> Application:
    return await _act(uow, st, receipt_no, lambda a, now: a.provide_supplement(actor, now, materials, st.calendar()))


async def not_accept(uow: UnitOfWork, st: IntakeState, actor: Actor, receipt_no: str, reason_code, reason: str) -> Application:  # type: ignore[no-untyped-def]
    return await _act(uow, st, receipt_no, lambda a, now: a.not_accept(actor, now, reason_code, reason))


async def forward(uow: UnitOfWork, st: IntakeState, actor: Actor, receipt_no: str, authority: str | None,
                  note: str | None) -> Application:
    return await _act(uow, st, receipt_no, lambda a, now: a.forward(actor, now, authority, note))


async def record_higher_answer(uow: UnitOfWork, st: IntakeState, actor: Actor, receipt_no: str, approved: bool,
                               answer: str, document_no: str | None) -> Application:
    return await _act(uow, st, receipt_no,
                      lambda a, now: a.record_higher_answer(actor, now, approved, answer, document_no))


async def answer_joint_task(uow: UnitOfWork, st: IntakeState, actor: Actor, receipt_no: str, answer,  # type: ignore[no-untyped-def]
                            opinion: str) -> Application:
    return await _act(uow, st, receipt_no, lambda a, now: a.answer_joint_task(actor, now, answer, opinion))


async def decide(uow: UnitOfWork, st: IntakeState, actor: Actor, receipt_no: str, outcome, text: str) -> Application:  # type: ignore[no-untyped-def]
    return await _act(uow, st, receipt_no, lambda a, now: a.decide(actor, now, outcome, text))


# ============================================================================ public status and rating


UNKNOWN_CASE = "未查询到该办件，请核对受理编号和手机号码后四位"
LOCKED_CASE = "该受理编号查询错误次数过多，已暂时锁定，请稍后再试"


def _seconds(dt: datetime) -> int:
    return int(dt.timestamp())


async def rate_limit(st: IntakeState, client: str) -> None:
    """The public lookups and ratings of one client, counted in the database every replica shares
    (a fixed window of the configured length); 429 with Retry-After. The client's address is kept
    only as a hash."""
    now = _seconds(st.wall())
    length = st.rate.get_expiry()
    window = now - now % length
    key = hashlib.sha256(client.encode("utf-8", "replace")).hexdigest()[:64]
    async with st.uow() as uow:
        hits = await Store(uow.session).hit("lookup", key, window)
        await uow.commit()
    if hits > st.rate.amount:
        st.metrics.lookups.labels("limited").inc()  # type: ignore[attr-defined]
        raise Problem(429, "查询过于频繁，请稍后再试", headers={"Retry-After": str(max(1, window + length - now))})


async def _check_pair(st: IntakeState, receipt_no: str | None, last4: str) -> bool:
    """Check the (number, last four digits) pair in a transaction of its own, so that the lock and
    the failure count commit whatever the lookup answers (and before the caller's own session
    reads anything). A locked number answers 429 even to the right pair. A wrong pair and an
    unknown number count alike (a lock says nothing about whether the number exists): after
    `intake_lookup_max_failures` within the lock period the number locks for that period."""
    s = st.settings
    now = _seconds(st.wall())
    period = s.intake_lookup_lock_minutes * 60
    async with st.uow() as uow:
        store = Store(uow.session)
        lock = await store.lock_of(receipt_no) if receipt_no else None
        if lock is not None and lock.locked_until > now:
            st.metrics.lookups.labels("locked").inc()  # type: ignore[attr-defined]
            raise Problem(429, LOCKED_CASE, headers={"Retry-After": str(lock.locked_until - now)})
        found = await store.case(receipt_no) if receipt_no else None
        if lookup(found[0] if found else None, last4) is not None:
            if lock is not None:
                await store.clear_failures(receipt_no)  # type: ignore[arg-type]
                await uow.commit()
            return True
        if receipt_no:
            failures = await store.count_failure(receipt_no, now, period)
            if failures >= s.intake_lookup_max_failures:
                await store.lock(receipt_no, now + period)
                log.warning("receipt number %s locked for the public lookup after %d wrong pairs", receipt_no,
                            failures)
            await uow.commit()
        return False


async def _public_case(store: Store, st: IntakeState, body: LookupIn) -> tuple[Application, int, PublicStatus]:
    """The case for a (receipt number, last four digits) pair; a wrong pair is an unknown number."""
    receipt_no = normalize_receipt_no(body.receipt_no)
    found = None
    if await _check_pair(st, receipt_no, body.mobile_last4):
        found = await store.case(receipt_no)  # type: ignore[arg-type]
    view = lookup(found[0] if found else None, body.mobile_last4)
    if view is None or found is None:
        st.metrics.lookups.labels("unknown").inc()  # type: ignore[attr-defined]
        raise Problem(404, UNKNOWN_CASE, field="receipt_no")
    st.metrics.lookups.labels("found").inc()  # type: ignore[attr-defined]
    return found[0], found[1], view


async def public_status(uow: UnitOfWork, st: IntakeState, body: LookupIn) -> PublicStatus:
    _, _, view = await _public_case(Store(uow.session), st, body)
    return view


async def public_rating(uow: UnitOfWork, st: IntakeState, body: PublicRatingIn) -> tuple[Application, Rectification | None]:
    """The applicant's once-only rating; a low one opens a rectification task for the unit."""
    store = Store(uow.session)
    app, rev, _ = await _public_case(store, st, body)
    events, rect = submit_rating(app, at=st.now(), level=body.level, comment=body.comment,
                                 rectification_id=new_id("ZG"), rectification_days=st.settings.intake_rectification_days,
                                 calendar=st.calendar())
    await store.save_case(app, rev)
    if rect is not None:
        await store.add_rectification(rect)
    await _emit(uow, events)
    await uow.commit()
    return app, rect


# ============================================================================ rectifications


async def close_rectification(uow: UnitOfWork, st: IntakeState, actor: Actor, rectification_id: str,
                              response: str) -> Rectification:
    store = Store(uow.session)
    found = await store.rectification(rectification_id)
    if found is None:
        raise NotFound("rectification_id", f"没有编号为 {rectification_id} 的整改任务")
    rect, rev = found
    events = rect.close(actor, st.now(), response)
    rect.pull_events()
    await store.save_rectification(rect, rev)
    await _emit(uow, events)
    await uow.commit()
    return rect


# ============================================================================ reports


def previous_period(now: datetime) -> str:
    d = local_date(now)
    year, month = (d.year, d.month - 1) if d.month > 1 else (d.year - 1, 12)
    return f"{year:04d}-{month:02d}"


async def volume_for(store: Store, period: str, at: datetime, unit_code: str | None = None) -> list[UnitVolumeReported]:
    """The month's volume of every unit (or one), computed at `at` (not emitted)."""
    facts = await store.case_facts(period)
    consultations = await store.consultation_counts(period)
    now = at
    return [monthly_volume(u, period, facts, sum(consultations.get(u.code, {}).values()), now)
            for u in await store.units() if unit_code is None or u.code == unit_code]


async def make_monthly_reports(store: Store, period: str, at: datetime, threshold: int) -> list[Event]:
    """Volume of every unit and inactivity flags for `period`, each made once (a second call for
    the same period returns only what was not made yet)."""
    events: list[Event] = []
    facts = await store.case_facts(period)
    consultations = await store.consultation_counts(period)
    units = await store.units()
    for unit in units:
        if await store.report_made(unit.code, period, "volume"):
            continue
        events.append(monthly_volume(unit, period, facts, sum(consultations.get(unit.code, {}).values()), at))
        await store.mark_report(unit.code, period, "volume", at)
    last = await store.last_business()
    for flag in inactive_units(units, dict(last), period, threshold, at):
        if await store.report_made(flag.unit_code, period, "inactivity"):
            continue
        events.append(flag)
        await store.mark_report(flag.unit_code, period, "inactivity", at)
    return events


async def monthly_reports(uow: UnitOfWork, st: IntakeState, actor: Actor, period: str) -> list[Event]:
    """A supervisor publishes a month's volume and flags (each made once)."""
    access.require_oversight(actor)
    events = await make_monthly_reports(Store(uow.session), period, st.now(), st.settings.intake_inactivity_months)
    await _emit(uow, events)
    await uow.commit()
    return events


async def last_month_reports(uow: UnitOfWork, st: IntakeState, now: datetime) -> list[Event]:
    """The worker's step: last month's reports once (the 1st, or at the first start after)."""
    period = previous_period(now)
    store = Store(uow.session)
    if not await store.units():
        return []
    events = await make_monthly_reports(store, period, now, st.settings.intake_inactivity_months)
    await _emit(uow, events)
    await uow.commit()
    if events:
        log.info("monthly unit reports for %s: %d events", period, len(events))
    return events


async def refresh_gauges(uow: UnitOfWork, st: IntakeState) -> None:
    store = Store(uow.session)
    rows = await store.counts_by_kind_and_status()
    weekends = await store.weekend_counts()
    st.metrics.cases.clear()  # type: ignore[attr-defined]
    for kind, status, n in rows:
        st.metrics.cases.labels(CaseKind(kind).value, status).set(n)  # type: ignore[attr-defined]
    st.metrics.weekend_received.set(sum(n for _, n in weekends))  # type: ignore[attr-defined]


# ============================================================================ events


async def due_dates_changed(uow: UnitOfWork, events: Iterable[ClockStarted | DueDateChanged]) -> None:
    """The deadline service's due dates replace intake's own first estimates on the status page,
    a batch's events in order (a case's last event wins). The dates the cases show are read in one
    query; only a case whose date moved is loaded and saved (intake's estimate usually matches)."""
    due: dict[str, date] = {}
    for event in events:
        due[event.receipt_no] = event.due_date if isinstance(event, ClockStarted) else event.new_due_date
    store = Store(uow.session)
    shown = await store.due_dates_shown(list(due))
    for receipt_no, day in due.items():
        if receipt_no not in shown or shown[receipt_no] == day:
            continue  # not ours (or not yet visible): nothing to show; or shown already
        found = await store.case(receipt_no)
        if found is None:
            continue
        app, rev = found
        app.due_on = day
        await store.save_case(app, rev)


# ============================================================================ who looked at whom (访问留痕)


def unmasked_fields(app: Application, view: str = "case") -> list[str]:
    """The applicant's unmasked data a staff view of the case shows (none once erased). ``case``:
    the full staff view; ``summary``: a list line (the applicant's full name)."""
    if app.erased:
        return []
    a = app.applicant
    if view == "summary":
        return ["applicant.name"] if a.type is ApplicantType.PERSON else []
    fields = ["applicant.name", "applicant.mobile"]
    if a.resident_id:
        fields.append("applicant.resident_id")
    if app.rating is not None and app.rating.comment:
        fields.append("rating.comment")
    return fields


_READER = "intake.reader"


def expect_reader(uow: UnitOfWork, actor: Actor, action: str) -> None:
    """The case a command is about to change will be shown, unmasked, to `actor`: its access-log
    row is written in the command's own transaction (state, events and the log commit together)."""
    uow.session.info[_READER] = (actor, action)


async def _log_reader(uow: UnitOfWork, st: IntakeState, app: Application) -> None:
    reader = uow.session.info.pop(_READER, None)
    if reader is None:
        return
    actor, action = reader
    fields = unmasked_fields(app)
    if fields:
        await Store(uow.session).log_access(at=st.now(), staff_id=actor.staff_id, role=actor.role.value,
                                            staff_unit=actor.unit_code, reads=[(app.receipt_no, fields)],
                                            action=action)


async def record_reads(uow: UnitOfWork, st: IntakeState, actor: Actor, reads: Iterable[tuple[str, list[str]]],
                       action: str) -> None:
    """Append who read which case's unmasked fields to the access log and commit: a staff route
    answers only after its reads are on record."""
    logged = [(receipt_no, fields) for receipt_no, fields in reads if fields]
    if logged:
        await Store(uow.session).log_access(at=st.now(), staff_id=actor.staff_id, role=actor.role.value,
                                            staff_unit=actor.unit_code, reads=logged, action=action)
        await uow.commit()


async def access_log(uow: UnitOfWork, actor: Actor, **query):  # type: ignore[no-untyped-def]
    """The access log, for the center's auditors (supervisors and the center admin)."""
    access.require_oversight(actor)
    return await Store(uow.session).access_log(**query)


# ============================================================================ retention (保存期限)


async def erase_expired(uow: UnitOfWork, st: IntakeState, now: datetime, batch: int = 200) -> list[str]:
    """Pseudonymise the personal data of cases decided (or not accepted) more than
    `intake_retention_days` ago, and erase the texts typed about them (the case's own texts, its
    rating comment and rectification response) and old consultations' texts. Each case once
    (``erased_at``); one batch per call, committed whole."""
    from ..domain.cases import ERASED

    cutoff = now - timedelta(days=st.settings.intake_retention_days)
    store = Store(uow.session)
    erased = []
    for app, rev in await store.cases_to_erase(cutoff, batch):
        app.erase_personal_data(ERASED)
        await store.save_case(app, rev)
        await store.mark_erased(app.receipt_no, now)
        await store.erase_rectification_texts(app.receipt_no, ERASED)
        erased.append(app.receipt_no)
    await store.erase_consultations(cutoff, ERASED)
    # The outbox's own housekeeping column is the wall clock's (the runtime stamps it).
    await store.forget_sent_events(st.wall() - timedelta(days=st.settings.intake_retention_days))
    await store.forget_lookups(_seconds(st.wall()), keep=max(86400, st.settings.intake_lookup_lock_minutes * 60))
    await uow.commit()
    if erased:
        log.info("retention: personal data of %d cases pseudonymised (decided before %s)", len(erased), cutoff.date())
    return erased


# ============================================================================ the hall's figures and the applicant search


@dataclass(frozen=True)
class DayCount:
    unit_code: str
    unit_name: str | None
    received: int
    immediate_done: int


async def today_counts(store: Store, now: datetime, unit_code: str | None) -> tuple[datetime, list[DayCount]]:
    """Today's (in the center's time zone) applications received and immediate cases decided,
    per unit of the scope: counts only, so not a read of anyone's data."""
    from services.runtime.workdays import TZ

    day = local_date(now)
    start = datetime(day.year, day.month, day.day, tzinfo=TZ)
    counts = await store.day_counts(start, start + timedelta(days=1), unit_code)
    if unit_code and unit_code not in counts:
        counts[unit_code] = (0, 0)
    names = {u.code: u.name for u in await store.units()}
    return start, [DayCount(u, names.get(u), r, i) for u, (r, i) in sorted(counts.items())]


_SEARCH_DIGITS = re.compile(r"[0-9]{4,18}X?")


def search_terms(q: str) -> tuple[str | None, str | None]:
    """An applicant search: (name text, ID/mobile digits). At least 4 digits (a resident ID or
    mobile fragment) or 2 characters of a name, so a search names someone rather than fishes."""
    q = (q or "").strip()
    if not q:
        raise InvalidInput("q", "请输入申请人姓名、单位名称，或证件号码、手机号码的一部分")
    if len(q) > 40:
        raise InvalidInput("q", "查询内容不能超过40个字")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in q):
        raise InvalidInput("q", "查询内容含有不可见的控制字符")
    compact = re.sub(r"[\s-]", "", q).upper()
    if _SEARCH_DIGITS.fullmatch(compact):
        return None, compact
    if compact.rstrip("X").isdigit():
        raise InvalidInput("q", "证件号码或手机号码请至少输入4位")
    if len(q) < 2:
        raise InvalidInput("q", "申请人姓名或单位名称请至少输入2个字")
    return q, None


async def search_applicants(uow: UnitOfWork, st: IntakeState, actor: Actor, q: str, unit_code: str | None,
                            limit: int) -> list[Application]:
    """Cases by the applicant's name or an ID/mobile fragment, in the searcher's reach (the own
    unit for clerks and unit heads). The answer is masked; the search itself — who searched for
    what, how many found — is on the access log before it leaves."""
    text, digits = search_terms(q)
    apps = await Store(uow.session).search_applicants(text=text, digits=digits, unit_code=unit_code, limit=limit)
    await Store(uow.session).log_access(
        at=st.now(), staff_id=actor.staff_id, role=actor.role.value, staff_unit=actor.unit_code,
        reads=[("*", ["search.applicant.id_or_mobile" if digits else "search.applicant.name"])],
        action=f"GET /applicants q={digits or text} → {len(apps)}")
    await uow.commit()
    return apps


async def inactivity_for(store: Store, actor: Actor, period: str, threshold: int,
                         at: datetime) -> list[dict[str, object]]:
    """Every unit's months without business up to `period` and whether that flags it 应进不进
    (what the monthly report would publish, computed now and not emitted). Oversight only."""
    from ..domain.volume import months_without_business

    access.require_oversight(actor)
    last = await store.last_business()
    flagged = {f.unit_code for f in inactive_units(await store.units(), dict(last), period, threshold, at)}
    return [
        {"unit_code": u.code, "unit_name": u.name, "entered": u.entered, "entered_since": u.entered_since,
         "last_business_on": last.get(u.code), "threshold": threshold, "flagged": u.code in flagged,
         "months_without_business": months_without_business(u, last.get(u.code), period) if u.entered else 0}
        for u in await store.units()
    ]


async def ratings_for(store: Store, actor: Actor, period: str) -> list[dict[str, object]]:
    """Ratings per unit of the cases received in `period`: counts per level, low ones, average score."""
    from collections import Counter

    from contracts.intake import RatingLevel

    access.require_oversight(actor)
    per_unit: dict[str, Counter[RatingLevel]] = {}
    for unit, level in await store.ratings_in(period):
        per_unit.setdefault(unit, Counter())[RatingLevel(level)] += 1
    out: list[dict[str, object]] = []
    for u in await store.units():
        c = per_unit.get(u.code, Counter())
        rated = sum(c.values())
        out.append({"unit_code": u.code, "unit_name": u.name, "period": period,
                    "counts": {lv: c.get(lv, 0) for lv in RatingLevel}, "rated": rated,
                    "low": sum(n for lv, n in c.items() if lv.is_low),
                    "average_score": round(sum(lv.score * n for lv, n in c.items()) / rated, 2) if rated else None})
    return out



# ============================================================================ 领办代办 (lead and agent handling)


async def take_lead(uow: UnitOfWork, st: IntakeState, actor: Actor, staff_name: str, receipt_no: str,
                    reason: LeadReason, note: str | None) -> Application:
    """A staff member takes charge of a case for the applicant (领办代办)."""
    store = Store(uow.session)
    app, rev = await load_case(store, receipt_no)
    unit_name = (await store.unit_names()).get(actor.unit_code or "") if actor.unit_code else None
    events = leads_domain.take_lead(app, actor, st.now(), lead_id=new_id("LB"), reason=reason, note=note,
                                    staff_name=staff_name, staff_unit_name=unit_name or "政务服务中心")
    return await _save_lead_step(uow, st, store, app, rev, app.leads[-1], list(events))


async def release_lead(uow: UnitOfWork, st: IntakeState, actor: Actor, receipt_no: str, note: str | None) -> Application:
    store = Store(uow.session)
    app, rev = await load_case(store, receipt_no)
    lead = leads_domain.current_lead(app)
    events = leads_domain.release_lead(app, actor, st.now(), note=note)
    assert lead is not None
    return await _save_lead_step(uow, st, store, app, rev, lead, list(events))


async def _save_lead_step(uow: UnitOfWork, st: IntakeState, store: Store, app: Application, rev: int,
                          lead: leads_domain.CaseLead, events: list[Event]) -> Application:
    """The case (revision checked: two people taking one case at once cannot both succeed), the
    lead's row for the counts and the event, in one transaction."""
    app.pull_events()
    await store.save_case(app, rev)
    await save_lead(uow.session, app.receipt_no, app.unit_code, lead)
    await _emit(uow, events)
    await uow.commit()
    st.count_case_events(events)
    return app


async def lead_counts(uow: UnitOfWork, *, period: str | None, staff_unit: str | None) -> list[leads_domain.LeadCount]:
    rows = await leads_in(uow.session, period=period, staff_unit=staff_unit)
    return leads_domain.count_leads([leads_domain.CaseLead.model_validate(r) for r in rows])


# ============================================================================ consultations followed to closure


async def answer_consultation(uow: UnitOfWork, st: IntakeState, actor: Actor, consultation_id: str,
                              answer: str) -> tuple[Consultation, ConsultationAnswerRow]:
    c = await store_consultation(uow.session, consultation_id.strip().upper())
    if c is None:
        raise NotFound("consultation_id", f"没有编号为 {consultation_id[:40]} 的咨询")
    done = await consultation_answer(uow.session, c.consultation_id)
    now = st.now()
    text, events = answer_domain(c, actor, now, answer=answer, already_answered=done is not None)
    await add_consultation_answer(uow.session, c.consultation_id, actor.staff_id, actor.unit_code, now, text)
    await _emit(uow, events)
    await uow.commit()
    row = await consultation_answer(uow.session, c.consultation_id)
    assert row is not None
    return c, row


async def first_inquiry_report(uow: UnitOfWork, *, period: str, unit_code: str | None) -> list[FirstInquiryCount]:
    rows = await first_inquiry_rows(uow.session, period=period, unit_code=unit_code)
    facts = []
    for r, a in rows:
        c = Consultation(consultation_id=r.consultation_id, unit_code=r.unit_code, staff_id=r.staff_id,
                         channel=r.channel, item_code=r.item_code, question=r.question, outcome=r.outcome,
                         answer=r.answer, referred_to_unit=r.referred_to_unit, recorded_at=aware(r.recorded_at))
        facts.append((c, aware(a.answered_at) if a is not None else None))
    return first_inquiry_counts(facts)
