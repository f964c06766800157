"""The year-end figures from events: a pure function over envelopes (no I/O).

What each figure counts (dates are local dates in the county, Asia/Shanghai; the window is
``start`` to ``end``, both included; every count is of distinct cases, so an event delivered twice
counts once):

- **applications received / accepted / not accepted (退回件) / decided**: ``ApplicationReceived``
  by ``received_at``, ``ApplicationAccepted`` by ``accepted_at``, ``ApplicationNotAccepted`` and
  ``ApplicationDecided`` by ``decided_at``;
- **the six kinds (六件管理)** of the cases received in the window, counted as intake counts a case:
  returned if not accepted, supplement if materials were ever asked for, otherwise its item's kind
  (from the catalog events);
- **consultations**: ``ConsultationRecorded`` by ``recorded_at``;
- **on-time completion rate and average working days**: deadline's ``ClockEnded`` by
  ``decided_at`` — ``on_time`` and ``working_days_used`` as the deadline service computed them
  with the working-day calendar (days stopped for supplements or a higher authority excluded);
  also the average of the cases with a time limit (all but immediate items);
- **share of immediate items (即办件)**: of the catalog's current items at the end of the window
  (the last ``ItemPublished`` / ``ItemRetired`` of each item up to then); also the share of
  immediate cases among the accepted ones;
- **weekend cases (双休日)**: applications received on a Saturday or Sunday (``weekend``) that is
  not an official make-up working day (调休上班, from the ``holidays`` package's national
  calendar: the hall is open as on any working day then, which is not weekend service); their
  number, the weekends with at least one, and the average per such weekend;
- **units with no business**: per month, the entered window units (``UnitRegistered``; entered by
  the end of that month) that received no application in it; and the "should enter but don't"
  flags (``UnitInactivityFlagged``) intake raised in the window.
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from statistics import fmean

from pydantic import BaseModel, Field

from contracts.base import Event
from contracts.common import CaseKind
from contracts.deadline import CLOCKS, ClockEnded
from contracts.envelope import Envelope
from contracts.intake import (
    APPLICATIONS,
    CATALOG,
    CONSULTATIONS,
    UNITS,
    ApplicationAccepted,
    ApplicationDecided,
    ApplicationDecidedV1,
    ApplicationNotAccepted,
    ApplicationNotAcceptedV1,
    ApplicationReceived,
    ConsultationRecorded,
    ItemPublished,
    ItemRetired,
    SupplementRequested,
    SupplementRequestedV1,
    UnitInactivityFlagged,
    UnitRegistered,
)
from contracts.kinds import KINDS
from services.runtime.workdays import TZ, local_date, national_calendar

CENTER_TZ = TZ

#: The public topics the report reads.
REPORT_TOPICS = (APPLICATIONS.name, CONSULTATIONS.name, CATALOG.name, UNITS.name, CLOCKS.name)

SIX_KINDS = tuple(k.value for k in CaseKind)


def official_working_day(day: date) -> bool:
    """The national calendar's answer (weekdays minus holidays plus make-up working days)."""
    return national_calendar().is_working_day(day)


class MonthFigures(BaseModel):
    period: str = Field(description="Month, YYYY-MM.")
    received: int = Field(description="Applications received.")
    accepted: int = Field(description="Applications accepted.")
    decided: int = Field(description="Cases whose clock ended (decided).")
    on_time: int = Field(description="Of those, decided on or before the promised due date.")
    consultations: int = Field(description="Consultations recorded.")
    weekend_received: int = Field(description="Applications received on weekends (weekend service).")
    units_without_business: list[str] = Field(description="Entered units that received no application.")


class InactivityFlag(BaseModel):
    unit_code: str
    unit_name: str
    period: str
    months_without_business: int


class YearEndReport(BaseModel):
    """The figures of the year-end report, each computed from events."""

    start: date = Field(description="First day of the window (local date).")
    end: date = Field(description="Last day of the window (local date).")
    generated_at: datetime = Field(description="When the report was computed.")
    events_read: int = Field(description="Distinct events read (by CloudEvents id).")
    duplicates_ignored: int = Field(description="Events seen again with an id already read.")

    applications_received: int
    applications_accepted: int
    applications_not_accepted: int
    applications_decided: int
    by_kind: dict[str, int] = Field(description="Cases received, by the six kinds (六件管理).")
    consultations: int

    cases_decided: int = Field(description="Cases whose deadline clock ended in the window.")
    cases_on_time: int
    on_time_rate: float | None
    average_working_days: float | None = Field(description="Mean working days used, all decided cases.")
    average_working_days_with_limit: float | None = Field(
        description="Mean working days used, cases with a time limit (not immediate items).")

    catalog_units: int = Field(description="Units with current items at the end of the window.")
    catalog_items: int = Field(description="Current items at the end of the window.")
    immediate_items: int
    immediate_item_share: float | None
    immediate_case_share: float | None = Field(description="Immediate cases among the accepted ones.")

    weekend_received: int
    weekends_served: int = Field(description="Weekends with at least one application received.")
    average_per_weekend: float | None
    first_weekend_served: date | None

    units_known: int = Field(description="Entered window units known at the end of the window.")
    months: list[MonthFigures]
    inactivity_flags: list[InactivityFlag]

    @property
    def units_without_business_by_month(self) -> dict[str, list[str]]:
        return {m.period: m.units_without_business for m in self.months}


def _months(start: date, end: date) -> list[tuple[str, date, date]]:
    out = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        first = max(start, date(y, m, 1))
        last = min(end, date(y, m, calendar.monthrange(y, m)[1]))
        out.append((f"{y:04d}-{m:02d}", first, last))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _period(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _saturday_of(d: date) -> date:
    return d - timedelta(days=d.weekday() - 5) if d.weekday() >= 5 else d


def compute(
    envelopes: Iterable[Envelope | Event],
    start: date,
    end: date,
    *,
    generated_at: datetime | None = None,
    working_day: Callable[[date], bool] = official_working_day,
) -> YearEndReport:
    """The report over ``envelopes`` (any order, duplicates allowed) for ``start``..``end``."""
    if end < start:
        raise ValueError("the window ends before it starts")

    def inside(at: datetime) -> bool:
        return start <= local_date(at) <= end

    seen: set[str] = set()
    read = dupes = 0
    received: dict[str, ApplicationReceived] = {}
    accepted: dict[str, ApplicationAccepted] = {}
    not_accepted: dict[str, ApplicationNotAccepted] = {}
    decided: dict[str, ApplicationDecided] = {}
    supplemented: set[str] = set()
    consultations: dict[str, ConsultationRecorded] = {}
    ended: dict[str, ClockEnded] = {}
    item_history: dict[str, list[tuple[datetime, ItemPublished | ItemRetired]]] = defaultdict(list)
    item_kinds: dict[str, CaseKind] = {}
    units: dict[str, UnitRegistered] = {}
    flags: dict[tuple[str, str], UnitInactivityFlagged] = {}

    for item in envelopes:
        if isinstance(item, Envelope):
            if item.id in seen:
                dupes += 1
                continue
            seen.add(item.id)
            e = item.data
        else:
            e = item
        read += 1
        match e:
            case ApplicationReceived() if inside(e.received_at):
                received[e.receipt_no] = e
            case ApplicationAccepted() if inside(e.accepted_at):
                accepted[e.receipt_no] = e
            case ApplicationNotAccepted() | ApplicationNotAcceptedV1() if inside(e.decided_at):
                not_accepted[e.receipt_no] = e
            case ApplicationDecided() | ApplicationDecidedV1() if inside(e.decided_at):
                decided[e.receipt_no] = e
            case SupplementRequested() | SupplementRequestedV1():
                supplemented.add(e.receipt_no)
            case ConsultationRecorded() if inside(e.recorded_at):
                consultations[e.consultation_id] = e
            case ClockEnded() if inside(e.decided_at):
                ended[e.receipt_no] = e
            case ItemPublished():
                item_history[e.item_code].append((e.published_at, e))
                item_kinds[e.item_code] = e.case_kind
            case ItemRetired():
                item_history[e.item_code].append((e.retired_at, e))
            case UnitRegistered() if local_date(e.registered_at) <= end:
                prev = units.get(e.unit_code)
                if prev is None or prev.registered_at <= e.registered_at:
                    units[e.unit_code] = e
            case UnitInactivityFlagged() if inside(e.flagged_at):
                flags[(e.unit_code, e.period)] = e
            case _:
                pass

    # -- the six kinds of the cases received in the window
    def six_kind(no: str, r: ApplicationReceived) -> str:
        if no in not_accepted:
            return CaseKind.RETURNED.value
        if no in supplemented:
            return CaseKind.SUPPLEMENT.value
        if no in accepted:
            return accepted[no].case_kind.value
        kind = item_kinds.get(r.item_code)
        return kind.value if kind else "unknown"

    kinds = Counter(six_kind(no, r) for no, r in received.items())
    by_kind = {k: kinds.get(k, 0) for k in SIX_KINDS}
    if kinds.get("unknown"):
        by_kind["unknown"] = kinds["unknown"]

    # -- deadlines
    on_time = sum(1 for c in ended.values() if c.on_time)
    used = [c.working_days_used for c in ended.values()]
    used_limited = [c.working_days_used for c in ended.values() if not KINDS[c.case_kind].on_the_spot]

    # -- the catalog at the end of the window
    end_instant = datetime.combine(end + timedelta(days=1), datetime.min.time(), CENTER_TZ)
    current: dict[str, ItemPublished] = {}
    for code, history in item_history.items():
        last = None
        for at, ev in sorted(history, key=lambda p: p[0]):
            if at < end_instant:
                last = ev
        if isinstance(last, ItemPublished):
            current[code] = last
    immediate_items = sum(1 for i in current.values() if KINDS[i.case_kind].on_the_spot)
    immediate_cases = sum(1 for a in accepted.values() if KINDS[a.case_kind].on_the_spot)

    # -- weekends
    weekend_cases = [r for r in received.values()
                     if r.weekend and not working_day(local_date(r.received_at))]
    weekends = sorted({_saturday_of(local_date(r.received_at)) for r in weekend_cases})

    # -- months and units without business
    entered = {code: u for code, u in units.items() if u.entered}
    if not entered:  # no unit records: the units that own current items
        unit_codes = {i.unit_code for i in current.values()}
        entered_since: dict[str, date | None] = {code: None for code in unit_codes}
    else:
        entered_since = {code: u.entered_since for code, u in entered.items()}
    by_month_units: dict[str, set[str]] = defaultdict(set)
    for r in received.values():
        by_month_units[_period(local_date(r.received_at))].add(r.unit_code)

    def count_by_month(stamps: Iterable[datetime]) -> Counter[str]:
        return Counter(_period(local_date(at)) for at in stamps)

    rec_m = count_by_month(r.received_at for r in received.values())
    acc_m = count_by_month(a.accepted_at for a in accepted.values())
    dec_m = count_by_month(c.decided_at for c in ended.values())
    ont_m = count_by_month(c.decided_at for c in ended.values() if c.on_time)
    con_m = count_by_month(c.recorded_at for c in consultations.values())
    wkd_m = count_by_month(r.received_at for r in weekend_cases)
    months = []
    for period, _first, last in _months(start, end):
        active = by_month_units.get(period, set())
        idle = sorted(code for code, since in entered_since.items()
                      if (since is None or since <= last) and code not in active)
        months.append(MonthFigures(
            period=period, received=rec_m[period], accepted=acc_m[period], decided=dec_m[period],
            on_time=ont_m[period], consultations=con_m[period], weekend_received=wkd_m[period],
            units_without_business=idle,
        ))

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    return YearEndReport(
        start=start, end=end, generated_at=generated_at or datetime.now(UTC), events_read=read,
        duplicates_ignored=dupes,
        applications_received=len(received), applications_accepted=len(accepted),
        applications_not_accepted=len(not_accepted), applications_decided=len(decided),
        by_kind=by_kind, consultations=len(consultations),
        cases_decided=len(ended), cases_on_time=on_time, on_time_rate=share(on_time, len(ended)),
        average_working_days=fmean(used) if used else None,
        average_working_days_with_limit=fmean(used_limited) if used_limited else None,
        catalog_units=len({i.unit_code for i in current.values()}), catalog_items=len(current),
        immediate_items=immediate_items, immediate_item_share=share(immediate_items, len(current)),
        immediate_case_share=share(immediate_cases, len(accepted)),
        weekend_received=len(weekend_cases), weekends_served=len(weekends),
        average_per_weekend=share(len(weekend_cases), len(weekends)),
        first_weekend_served=weekends[0] if weekends else None,
        units_known=len(entered_since), months=months,
        inactivity_flags=[
            InactivityFlag(unit_code=f.unit_code, unit_name=f.unit_name, period=f.period,
                           months_without_business=f.months_without_business)
            for f in sorted(flags.values(), key=lambda f: (f.period, f.unit_code))
        ],
    )
