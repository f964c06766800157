"""The plan of a simulated year: every clerk's action at the window, with its simulated instant.

Pure and seeded (``random.Random(seed)``): the same parameters and catalog give the same plan.
The parameters (:class:`YearParameters`) are chosen to resemble the source report for January
to August — about 7,133 applications accepted over 27 units and 246 items, 6,500+ consultations,
weekend service from June (376 weekend applications, about 31 per weekend), one unit without
any business for six months and 127 cases from July, on-time completion above 98 % and an
average of about 6.7 working days. They are *inputs*: what the year-end report shows is computed
by the services and the report from the events the replay causes, never copied from here.
:meth:`Plan.intended` states what the plan meant to happen, so a test can compare both.

Working days follow the national calendar of the ``holidays`` package (as the deadline service
does by default): a case with a limit of L working days is decided on the u-th working day after
its acceptance (u <= L when on time), plus the working days its clock stood still (a supplement
during review, a reported-up case at the higher authority).
"""

from __future__ import annotations

import calendar
import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from services.runtime.workdays import TZ, national_calendar

from .people import People

IMMEDIATE, PROMISED, JOINT, REPORTED_UP = "immediate", "promised", "joint", "reported_up"
#: how often an item of a kind is applied for, relative to a promised item of the same unit
KIND_WEIGHTS = {PROMISED: 1.0, JOINT: 0.5, REPORTED_UP: 0.2, IMMEDIATE: 1.0}


@dataclass(frozen=True)
class YearParameters:
    """What the simulated year looks like. Every count is multiplied by ``scale`` (CI runs 1/20)."""

    seed: int = 20260101
    start: date = date(2026, 1, 1)
    end: date = date(2026, 8, 31)
    #: applications accepted in the window (source: 7,133), weekend ones included
    accepted: int = 7133
    #: consultations recorded (source: "6,500 and more")
    consultations: int = 6530
    #: weekend service (双休日正常办理): from this Saturday on (source: "since June"; the first
    #: fortnight of June went into the AB-post rota), and the applications on those weekends
    #: (source: 376, "31 per weekend on average" = 12 weekends)
    weekend_first: date = date(2026, 6, 13)
    weekend_accepted: int = 376
    weekend_immediate_share: float = 0.65
    #: the unit that routed no business through the center (应进不进) until supervision
    idle_unit: str = "SLJ"
    idle_until: date = date(2026, 6, 30)
    idle_unit_cases_after: int = 127
    #: chance that a weekday case of a unit with both kinds is for an immediate item (decided on
    #: the spot). Units with immediate items only raise the share of immediate cases to ~22 %;
    #: with the slack below this gives the source's ~6.7 working days on average over all
    #: decided cases. The catalog's share of immediate *items* (139 of 246) is the catalog's.
    immediate_case_share: float = 0.18
    #: applications received but not accepted (退回件), on top of the accepted ones
    returned_share: float = 0.015
    #: accepted after a supplement at the window (补正 before acceptance)
    at_window_supplement_share: float = 0.06
    #: cases with a limit that stop the clock for a supplement during review
    in_review_supplement_share: float = 0.03
    #: cases with a limit decided after their promised due date (1-3 working days late)
    late_share: float = 0.015
    #: working days used = limit - k, P(k) proportional to slack_ratio**k (0 <= k < limit)
    slack_ratio: float = 0.25
    denied_share: float = 0.02
    company_share: float = 0.3
    scale: float = 1.0

    @classmethod
    def for_year(cls, year: int, **changes: object) -> "YearParameters":
        """The same January to August in another year (weekend service from the first Saturday
        on or after 13 June)."""
        june13 = date(year, 6, 13)
        first_saturday = june13 + timedelta(days=(5 - june13.weekday()) % 7)
        return replace(cls(), start=date(year, 1, 1), end=date(year, 8, 31), weekend_first=first_saturday,
                       idle_until=date(year, 6, 30), **changes)  # type: ignore[arg-type]

    def n(self, count: int) -> int:
        return max(1, round(count * self.scale)) if count else 0


@dataclass(frozen=True)
class CatalogItem:
    code: str
    unit_code: str
    name: str
    kind: str
    promised_days: int
    mandatory: tuple[str, ...]
    joint_units: tuple[str, ...] = ()
    higher_authority: str | None = None


@dataclass(frozen=True)
class Step:
    """One action at the window. ``case`` indexes :attr:`Plan.cases` (None: not a case step);
    ``actor`` is the unit whose clerk acts, or ``"SUPERVISOR"``."""

    at: datetime
    seq: int
    action: str
    case: int | None
    actor: str
    body: dict = field(default_factory=dict, compare=False)


@dataclass
class Case:
    index: int
    unit: str
    item: CatalogItem
    received_at: datetime
    accepted_at: datetime | None = None
    decided_at: datetime | None = None
    returned: bool = False
    supplement: bool = False
    weekend: bool = False
    used_days: int | None = None
    on_time: bool | None = None


@dataclass
class Plan:
    params: YearParameters
    cases: list[Case]
    steps: list[Step]

    def intended(self) -> dict[str, object]:
        """What the plan meant to happen in the window (to compare with the report's figures)."""
        p = self.params

        def inside(at: datetime | None) -> bool:
            return at is not None and p.start <= at.astimezone(TZ).date() <= p.end

        accepted = [c for c in self.cases if inside(c.accepted_at)]
        decided = [c for c in self.cases if inside(c.decided_at) and not c.returned]
        weekend = [c for c in self.cases if c.weekend and inside(c.received_at)]
        months: dict[str, set[str]] = defaultdict(set)
        for c in self.cases:
            if inside(c.received_at):
                months[_period(c.received_at.astimezone(TZ).date())].add(c.unit)
        units = {c.item.unit_code for c in self.cases}
        return {
            "applications_received": sum(inside(c.received_at) for c in self.cases),
            "applications_accepted": len(accepted),
            "applications_not_accepted": sum(c.returned and inside(c.decided_at) for c in self.cases),
            "consultations": sum(1 for s in self.steps if s.action == "consult" and inside(s.at)),
            "cases_decided": len(decided),
            "cases_on_time": sum(bool(c.on_time) for c in decided),
            "average_working_days": (sum(c.used_days or 0 for c in decided) / len(decided)) if decided else None,
            "immediate_cases_accepted": sum(c.item.kind == IMMEDIATE for c in accepted),
            "weekend_received": len(weekend),
            "weekends_served": len({_saturday(c.received_at.astimezone(TZ).date()) for c in weekend}),
            "units_without_business": {m: sorted(units - months.get(m, set()))
                                       for m in (_period(d) for d in _month_starts(p.start, p.end))},
        }


# --------------------------------------------------------------------------- the calendar


@lru_cache(maxsize=8)
def _cn(year: int):  # type: ignore[no-untyped-def]
    # Holiday names only (a weekend day that is a public holiday is no weekend service day);
    # working days come from the suite's calendar.
    return holidays.country_holidays("CN", years=year)


def working_day(d: date) -> bool:
    return national_calendar().is_working_day(d)


def add_working_days(d: date, n: int) -> date:
    """The n-th working day after ``d`` (``d`` itself for 0)."""
    while n > 0:
        d += timedelta(days=1)
        if working_day(d):
            n -= 1
    return d


def _period(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _saturday(d: date) -> date:
    return d - timedelta(days=d.weekday() - 5)


def _month_starts(start: date, end: date) -> list[date]:
    out, d = [], date(start.year, start.month, 1)
    while d <= end:
        out.append(d)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


def _days(start: date, end: date) -> Iterable[date]:
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


# --------------------------------------------------------------------------- building


class _Builder:
    def __init__(self, params: YearParameters, catalog: list[CatalogItem]) -> None:
        self.p = params
        self.rng = random.Random(params.seed)
        self.people = People(params.seed + 1)
        self.catalog = catalog
        self.by_unit: dict[str, list[CatalogItem]] = defaultdict(list)
        for item in catalog:
            self.by_unit[item.unit_code].append(item)
        self.units = sorted(self.by_unit)
        self.cases: list[Case] = []
        self.steps: list[Step] = []
        self.seq = 0

    # -- helpers
    def at(self, d: date, lo: time = time(8, 40), hi: time = time(17, 0)) -> datetime:
        """A random instant in office hours (no lunch hour 12:00-14:00) of day ``d``."""
        minutes = [m for m in range(lo.hour * 60 + lo.minute, hi.hour * 60 + hi.minute) if not 720 <= m < 840]
        m = self.rng.choice(minutes)
        return datetime.combine(d, time(m // 60, m % 60), TZ)

    def step(self, at: datetime, action: str, case: Case | None, actor: str, body: dict | None = None) -> None:
        self.seq += 1
        self.steps.append(Step(at, self.seq, action, case.index if case else None, actor, body or {}))

    def unit_weight(self, unit: str) -> float:
        return len(self.by_unit[unit]) ** 0.8 * self.unit_noise[unit]

    def pick_item(self, unit: str, immediate_share: float, plain: bool = False) -> CatalogItem:
        items = self.by_unit[unit]
        if plain:  # weekend AB posts: immediate and promised items only
            items = [i for i in items if i.kind in (IMMEDIATE, PROMISED)] or items
        imm = [i for i in items if i.kind == IMMEDIATE]
        other = [i for i in items if i.kind != IMMEDIATE]
        if imm and (not other or self.rng.random() < immediate_share):
            return self.rng.choice(imm)
        # joint and reported-up cases are rarer than plain promised ones
        return self.rng.choices(other, weights=[KIND_WEIGHTS[i.kind] for i in other])[0]

    def working_days_of(self, first: date, last: date) -> list[date]:
        return [d for d in _days(max(first, self.p.start), min(last, self.p.end)) if working_day(d)]

    # -- the year
    def build(self) -> Plan:
        p = self.p
        self.unit_noise = {u: self.rng.lognormvariate(0, 0.35) for u in self.units}
        months = _month_starts(p.start, p.end)
        month_days = {m: self.working_days_of(m, date(m.year, m.month, calendar.monthrange(m.year, m.month)[1]))
                      for m in months}
        weekend_days = [d for d in _days(p.weekend_first, p.end) if d.weekday() >= 5 and not working_day(d)
                        and not _cn(d.year).get(d)]
        active = [u for u in self.units if u != p.idle_unit]

        # weekday cases of the active units: (unit, month) cells, each at least one case
        idle_n = p.n(p.idle_unit_cases_after) if p.idle_unit in self.by_unit else 0
        weekend_n = p.n(p.weekend_accepted) if weekend_days else 0
        weekday_n = p.n(p.accepted) - weekend_n - idle_n
        cells = [(u, m) for u in active for m in months]
        weights = [self.unit_weight(u) * len(month_days[m]) for u, m in cells]
        counts = Counter(self.rng.choices(range(len(cells)), weights=weights, k=weekday_n))
        if weekday_n >= len(cells):
            for i in range(len(cells)):
                while counts[i] == 0:
                    donor = max(counts, key=lambda k: counts[k])
                    counts[donor] -= 1
                    counts[i] += 1
        planned: list[tuple[str, date, bool]] = []  # (unit, day, weekend)
        for i, n in sorted(counts.items()):
            u, m = cells[i]
            planned += [(u, self.rng.choice(month_days[m]), False) for _ in range(n)]
        if idle_n:
            after = self.working_days_of(p.idle_until + timedelta(days=1), p.end)
            planned += [(p.idle_unit, self.rng.choice(after), False) for _ in range(idle_n)]
        if weekend_n:
            ab_units = sorted(active, key=self.unit_weight, reverse=True)[:12]
            planned += [(self.rng.choices(ab_units, weights=[self.unit_weight(u) for u in ab_units])[0],
                         self.rng.choice(weekend_days), True) for _ in range(weekend_n)]
        planned.sort(key=lambda t: t[1])
        for unit, day, weekend in planned:
            self.accepted_case(unit, day, weekend)

        # returned cases (退回件), on top
        returned_n = p.n(round(p.accepted * p.returned_share)) if p.returned_share else 0
        all_days = [d for m in months for d in month_days[m]]
        for _ in range(returned_n):
            day = self.rng.choice(all_days)
            unit = self.rng.choices(active, weights=[self.unit_weight(u) for u in active])[0]
            self.returned_case(unit, day)

        self.consultations(months, month_days, weekend_days, active)
        self.monthly_reports(months)
        steps = sorted(self.steps, key=lambda s: (s.at, s.seq))
        return Plan(p, self.cases, steps)

    def new_case(self, unit: str, item: CatalogItem, at: datetime, weekend: bool) -> Case:
        c = Case(len(self.cases), unit, item, at, weekend=weekend)
        self.cases.append(c)
        return c

    def receive(self, c: Case, *, drop: str | None = None, accept: bool = True) -> None:
        materials = [m for m in c.item.mandatory if m != drop]
        self.step(c.received_at, "receive", c, c.unit, {
            "item_code": c.item.code, "applicant": self.people.applicant(self.p.company_share),
            "materials": materials, "channel": "window", "accept_if_complete": accept,
        })

    def accepted_case(self, unit: str, day: date, weekend: bool) -> None:
        p, rng = self.p, self.rng
        item = self.pick_item(unit, p.weekend_immediate_share if weekend else p.immediate_case_share, plain=weekend)
        c = self.new_case(unit, item, self.at(day, hi=time(16, 30)), weekend)
        accept_day, accept_at = day, c.received_at
        if not weekend and item.mandatory and rng.random() < p.at_window_supplement_share:
            provide_day = add_working_days(day, rng.randint(1, 4))
            if provide_day <= p.end:
                drop = rng.choice(item.mandatory)
                self.receive(c, drop=drop)
                accept_day, accept_at = provide_day, self.at(provide_day, hi=time(16, 30))
                self.step(accept_at, "provide", c, unit, {"materials": [drop]})
                c.supplement = True
            else:
                self.receive(c)
        else:
            self.receive(c)
        c.accepted_at = accept_at
        self.decide_later(c, accept_day, accept_at)

    def decide_later(self, c: Case, accept_day: date, accept_at: datetime) -> None:
        p, rng, item = self.p, self.rng, c.item
        outcome = "denied" if rng.random() < p.denied_share else "approved"
        if item.kind == IMMEDIATE:
            at = min(accept_at + timedelta(minutes=rng.randint(8, 40)),
                     datetime.combine(accept_day, time(17, 55), TZ))
            c.decided_at, c.used_days, c.on_time = at, 0, True
            self.step(at, "decide", c, c.unit, _decision(outcome, item))
            return
        limit = item.promised_days
        late = rng.random() < p.late_share
        if late:
            used = limit + rng.randint(1, 3)
        else:
            ks = list(range(max(limit, 1)))
            used = limit - rng.choices(ks, weights=[p.slack_ratio ** k for k in ks])[0]
        used = max(used, 1)
        stopped = 0
        if item.kind == REPORTED_UP:
            fwd_after = 0 if used == 1 else rng.choice((0, 1))
            fwd_day = add_working_days(accept_day, fwd_after)
            fwd_at = (accept_at + timedelta(minutes=rng.randint(15, 40)) if fwd_after == 0
                      else self.at(fwd_day))
            stopped = rng.randint(3, 15)
            ans_day = add_working_days(fwd_day, stopped)
            self.step(fwd_at, "forward", c, c.unit, {"note": "请予审核"})
            self.step(self.at(ans_day), "higher_answer", c, c.unit, {
                "approved": outcome == "approved", "answer": "经审核，同意。" if outcome == "approved" else "经审核，不同意。",
                "document_no": f"批〔{ans_day.year}〕{c.index + 1}号"})
            used = max(used, fwd_after + 1)
        elif item.kind == JOINT:
            answer_days = [add_working_days(accept_day, rng.randint(1, max(1, min(used - 1, 4))))
                           for _ in item.joint_units]
            for participant, d in zip(item.joint_units, answer_days):
                self.step(self.at(d), "joint_answer", c, participant, {"answer": "approve", "opinion": "同意联办。"})
            used = max(used, max((_wd_between(accept_day, d) for d in answer_days), default=0) + 1)
        elif (not c.supplement and not c.weekend and used >= 2 and item.mandatory
              and rng.random() < p.in_review_supplement_share):
            req_day = add_working_days(accept_day, 1)
            stopped = rng.randint(1, 5)
            code = rng.choice(item.mandatory)
            self.step(self.at(req_day), "request_review", c, c.unit,
                      {"materials": [{"code": code, "reason": "材料内容与实际不符，请更正后重新提交"}]})
            self.step(self.at(add_working_days(req_day, stopped)), "provide", c, c.unit, {"materials": [code]})
            c.supplement = True
        decide_day = add_working_days(accept_day, used + stopped)
        at = self.at(decide_day)
        c.decided_at, c.used_days, c.on_time = at, used, used <= limit
        self.step(at, "decide", c, c.unit, _decision(outcome, item))

    def returned_case(self, unit: str, day: date) -> None:
        rng = self.rng
        item = self.pick_item(unit, self.p.immediate_case_share)
        c = self.new_case(unit, item, self.at(day, hi=time(16, 30)), False)
        c.returned = True
        later = add_working_days(day, 10)
        if item.mandatory and rng.random() < 0.4 and later <= self.p.end:
            self.receive(c, drop=rng.choice(item.mandatory))  # one-time notice, never answered
            c.decided_at = self.at(later)
            self.step(c.decided_at, "not_accept", c, unit, {
                "reason_code": "supplement_not_provided", "reason": "申请人逾期未补正全部材料。"})
        else:
            self.receive(c, accept=False)
            c.decided_at = c.received_at + timedelta(minutes=rng.randint(10, 30))
            code, text = rng.choice((("out_of_scope", "申请事项不属于本机关职权范围，请向有关行政机关申请。"),
                                     ("not_eligible", "申请人不具备该事项的申请资格。")))
            self.step(c.decided_at, "not_accept", c, unit, {"reason_code": code, "reason": text})

    def consultations(self, months: list[date], month_days: dict[date, list[date]], weekend_days: list[date],
                      active: list[str]) -> None:
        p, rng = self.p, self.rng
        days = [d for m in months for d in month_days[m]] + weekend_days
        day_weights = [0.3 if d.weekday() >= 5 else 1.0 for d in days]
        outcomes = (("answered", 55), ("guide_given", 30), ("referred", 5), ("follow_up", 5), ("application_filed", 5))
        channels = (("window", 70), ("phone", 20), ("website", 10))
        for _ in range(p.n(p.consultations)):
            d = rng.choices(days, weights=day_weights)[0]
            units = active if d <= p.idle_until else self.units
            unit = rng.choices(units, weights=[self.unit_weight(u) for u in units])[0]
            item = rng.choice(self.by_unit[unit]) if rng.random() < 0.7 else None
            outcome = rng.choices([o for o, _ in outcomes], weights=[w for _, w in outcomes])[0]
            body = {
                "channel": rng.choices([c for c, _ in channels], weights=[w for _, w in channels])[0],
                "question": f"咨询{item.name}的办理条件和所需材料" if item else "咨询办事流程和办理时间",
                "outcome": outcome, "item_code": item.code if item else None,
                "answer": "已当场答复并发放办事指南" if outcome in ("answered", "guide_given") else None,
                "referred_to_unit": rng.choice([u for u in self.units if u != unit]) if outcome == "referred" else None,
            }
            self.step(self.at(d), "consult", None, unit, body)

    def monthly_reports(self, months: list[date]) -> None:
        """The supervisors publish last month's volume (and the idle-unit flags) on the first
        working day of each month, the month after the window included."""
        for m in months[1:] + [date(months[-1].year + (months[-1].month == 12), months[-1].month % 12 + 1, 1)]:
            day = m
            while not working_day(day):
                day += timedelta(days=1)
            prev = m - timedelta(days=1)
            self.step(datetime.combine(day, time(8, 5), TZ), "monthly_report", None, "SUPERVISOR",
                      {"period": _period(prev)})


def _wd_between(a: date, b: date) -> int:
    n, d = 0, a
    while d < b:
        d += timedelta(days=1)
        n += working_day(d)
    return n


def _decision(outcome: str, item: CatalogItem) -> dict:
    if outcome == "approved":
        return {"outcome": "approved", "decision_text": f"经审查，申请符合法定条件，准予办理{item.name}。"}
    return {"outcome": "denied", "decision_text": f"经审查，申请不符合{item.name}的法定条件，不予许可。"}


def build_plan(params: YearParameters, catalog: list[CatalogItem]) -> Plan:
    """The plan for ``params`` over ``catalog``."""
    if not catalog:
        raise ValueError("an empty catalog")
    return _Builder(params, catalog).build()


def scaled(params: YearParameters, scale: float) -> YearParameters:
    return replace(params, scale=scale)
