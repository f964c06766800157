"""Supervision of the window units: statistics, the monthly bulletin, supervision notices and
random inspections. Pure Python, no I/O (the bulletin's template is read from the service's
``templates/``).

- Statistics (per unit and period) count the cases *decided* in the period: on-time rate,
  average working days used, share of immediate cases (即办件) and the number of cases.
- The bulletin (定期通报) of a month lists every case that was overdue on at least one day of
  the month (still open, or decided late), with its unit, and each unit's figures.
- A supervision notice (业务督办通知书) has a reply date in working days; the reply closes it.
- A random inspection (抽查) draws, for one unit and month, a stated share of the unit's cases
  decided that month, with a recorded seed: the same seed and the same cases give the same
  sample.
"""

from __future__ import annotations

import math
import random
import re
import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from contracts.attendance import VIOLATION_LABELS
from contracts.common import CASE_KIND_LABELS, CaseKind
from contracts.kinds import ON_THE_SPOT
from contracts.deadline import (
    BulletinOverdueCase,
    BulletinPublished,
    BulletinUnitStats,
    InspectionRecorded,
    InspectionResult,
    InspectionSampled,
    NoticeSource,
    SupervisionNoticeIssued,
    SupervisionReplied,
)
from services.runtime.workdays import WorkCalendar

if TYPE_CHECKING:
    import jinja2

from .clock import local_date
from .errors import DeadlineConflict, DeadlineError

TEMPLATES = Path(__file__).parent.parent / "templates"
_PERIOD = re.compile(r"([0-9]{4})-([0-9]{2})")


# ---------------------------------------------------------------------------------------------
# Periods


@dataclass(frozen=True)
class Period:
    """A month, ``YYYY-MM``."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Period":
        """A month ``YYYY-MM`` in ASCII digits, from 0001-02 to 9999-11: a month's bounds are local
        midnights in UTC and the first day of the next month, which the calendar's first and last
        months do not have."""
        match = _PERIOD.fullmatch(text)
        p = cls(int(match[1]), int(match[2])) if match else None
        if p is None or not (1 <= p.month <= 12) or not ((1, 2) <= (p.year, p.month) <= (9999, 11)):
            raise DeadlineError("period", f"{text[:20]!r} 不是有效的月份（应为 YYYY-MM，在 0001-02 至 9999-11 之间）")
        return p

    @classmethod
    def of(cls, day: date) -> "Period":
        return cls(day.year, day.month)

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        nxt = date(self.year + 1, 1, 1) if self.month == 12 else date(self.year, self.month + 1, 1)
        return nxt - timedelta(days=1)

    def previous(self) -> "Period":
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"


# ---------------------------------------------------------------------------------------------
# Statistics


@dataclass(frozen=True)
class ClosedCase:
    """What the statistics need of a decided case."""

    receipt_no: str
    unit_code: str
    item_code: str
    case_kind: CaseKind
    decided_on: date
    on_time: bool
    working_days_used: int


@dataclass(frozen=True)
class UnitStats:
    unit_code: str
    cases: int
    on_time: int
    working_days_used: int
    immediate: int

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.cases if self.cases else None

    @property
    def average_working_days_used(self) -> float | None:
        return self.working_days_used / self.cases if self.cases else None

    @property
    def immediate_share(self) -> float | None:
        return self.immediate / self.cases if self.cases else None

    def as_dict(self) -> dict[str, object]:
        return {
            "unit_code": self.unit_code,
            "cases": self.cases,
            "on_time": self.on_time,
            "on_time_rate": self.on_time_rate,
            "working_days_used": self.working_days_used,
            "average_working_days_used": self.average_working_days_used,
            "immediate": self.immediate,
            "immediate_share": self.immediate_share,
        }


CENTER_TOTAL = "*"


def unit_statistics(cases: Iterable[ClosedCase], first: date, last: date) -> dict[str, UnitStats]:
    """Figures per unit for the cases decided in [first, last], plus the center's total under
    the key ``"*"``."""
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for c in cases:
        if not first <= c.decided_on <= last:
            continue
        for key in (c.unit_code, CENTER_TOTAL):
            a = acc[key]
            a[0] += 1
            a[1] += int(c.on_time)
            a[2] += c.working_days_used
            a[3] += int(c.case_kind in ON_THE_SPOT)
    if CENTER_TOTAL not in acc:
        acc[CENTER_TOTAL] = [0, 0, 0, 0]
    return {u: UnitStats(u, *a) for u, a in sorted(acc.items())}


# ---------------------------------------------------------------------------------------------
# The bulletin


@dataclass(frozen=True)
class CaseSpan:
    """What the bulletin needs of any case: its due date and, if decided, when."""

    receipt_no: str
    unit_code: str
    item_code: str
    due_date: date
    decided_on: date | None


def overdue_in_period(case: CaseSpan, first: date, last: date) -> bool:
    """Overdue on at least one day of [first, last]: some day after the due date, not after
    the decision (a case decided late is overdue on its decision day)."""
    lo = max(first, case.due_date + timedelta(days=1))
    hi = last if case.decided_on is None else min(last, case.decided_on)
    return lo <= hi


@dataclass(frozen=True)
class Bulletin:
    bulletin_no: str
    period: Period
    overdue: list[BulletinOverdueCase]
    units: list[BulletinUnitStats]
    total: UnitStats
    notices: list[dict[str, object]] = field(default_factory=list)
    violations: list[dict[str, object]] = field(default_factory=list)
    #: Staff violations (违规违章) of the month per unit, withdrawn ones not counted:
    #: ``{"unit_code", "total", "by_kind": {kind: count}}``, by unit code.
    staff_violations: list[dict[str, object]] = field(default_factory=list)

    def staff_violations_of(self, unit_code: str) -> int:
        return next((int(v["total"]) for v in self.staff_violations if v["unit_code"] == unit_code), 0)  # type: ignore[call-overload]

    @property
    def staff_violations_total(self) -> int:
        return sum(int(v["total"]) for v in self.staff_violations)  # type: ignore[call-overload]

    def as_event(self, *, center_unit_code: str, published_by: str, published_at: datetime) -> BulletinPublished:
        return BulletinPublished(
            unit_code=center_unit_code,
            bulletin_no=self.bulletin_no,
            period=str(self.period),
            published_by=published_by,
            published_at=published_at,
            overdue_cases=self.overdue,
            unit_stats=self.units,
        )

    def as_json(self) -> dict[str, object]:
        return {
            "bulletin_no": self.bulletin_no,
            "period": str(self.period),
            "overdue_cases": [c.model_dump(mode="json") for c in self.overdue],
            "unit_stats": [u.model_dump(mode="json") for u in self.units],
            "total": self.total.as_dict(),
            "notices": [_jsonable(n) for n in self.notices],
            "violations": [_jsonable(v) for v in self.violations],
            "staff_violations": [dict(v) for v in self.staff_violations],
        }


def bulletin_from_json(data: Mapping[str, object]) -> Bulletin:
    """Rebuild a stored bulletin (``Bulletin.as_json``) for rendering."""
    total = dict(data["total"])  # type: ignore[call-overload]
    notices = [
        {**n, "reply_due": date.fromisoformat(n["reply_due"]) if isinstance(n.get("reply_due"), str) else n.get("reply_due")}
        for n in data.get("notices", [])  # type: ignore[union-attr]
    ]
    return Bulletin(
        bulletin_no=str(data["bulletin_no"]),
        period=Period.parse(str(data["period"])),
        overdue=[BulletinOverdueCase.model_validate(o) for o in data["overdue_cases"]],  # type: ignore[union-attr]
        units=[BulletinUnitStats.model_validate(u) for u in data["unit_stats"]],  # type: ignore[union-attr]
        total=UnitStats(str(total["unit_code"]), int(total["cases"]), int(total["on_time"]),
                        int(total["working_days_used"]), int(total["immediate"])),
        notices=notices,
        violations=list(data.get("violations", [])),  # type: ignore[arg-type]
        # bulletins published before staff violations were counted have none
        staff_violations=list(data.get("staff_violations", [])),  # type: ignore[arg-type]
    )


def _jsonable(row: Mapping[str, object]) -> dict[str, object]:
    return {k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in row.items()}


def build_bulletin(
    cal: WorkCalendar,
    *,
    bulletin_no: str,
    period: Period,
    cases: Iterable[CaseSpan],
    closed: Iterable[ClosedCase] = (),
    stats: Mapping[str, UnitStats] | None = None,
    notices: Iterable[Mapping[str, object]] = (),
    violations: Iterable[Mapping[str, object]] = (),
    staff_violations: Iterable[tuple[str, str, int]] = (),
) -> Bulletin:
    """Assemble a month's bulletin. ``cases`` may hold more than the month's (they are
    filtered). The figures come from ``closed`` (the decided cases), or ready-made from
    ``stats`` (as :func:`unit_statistics` returns them; the store aggregates them in SQL).
    ``notices`` (notice_no, unit_code, receipt_no, reason, reply_due, replied) and
    ``violations`` (unit_code, receipt_no, inspector, notes) are the month's inspection findings;
    ``staff_violations`` (unit_code, violation_kind, count) the month's staff violations not withdrawn."""
    first, last = period.first, period.last
    overdue: list[BulletinOverdueCase] = []
    for c in cases:
        if not overdue_in_period(c, first, last):
            continue
        until = last if c.decided_on is None else min(last, c.decided_on)
        overdue.append(
            BulletinOverdueCase(
                receipt_no=c.receipt_no,
                unit_code=c.unit_code,
                item_code=c.item_code,
                due_date=c.due_date,
                decided_on=c.decided_on if c.decided_on is not None and c.decided_on <= last else None,
                overdue_working_days=max(0, cal.working_days_after(c.due_date, until)),
            )
        )
    overdue.sort(key=lambda o: (o.unit_code, -o.overdue_working_days, o.receipt_no))
    notices = list(notices)
    violations = list(violations)
    per_unit: dict[str, dict[str, int]] = {}
    for unit_code, kind, count in staff_violations:
        if count > 0:
            kinds = per_unit.setdefault(unit_code, {})
            kinds[kind] = kinds.get(kind, 0) + count
    staff = [{"unit_code": u, "total": sum(k.values()), "by_kind": dict(sorted(k.items()))}
             for u, k in sorted(per_unit.items())]
    if stats is None:
        stats = unit_statistics(closed, first, last)
    units = set(stats) - {CENTER_TOTAL}
    units |= {o.unit_code for o in overdue}
    units |= {str(n["unit_code"]) for n in notices} | {str(v["unit_code"]) for v in violations}
    units |= set(per_unit)
    rows = []
    for u in sorted(units):
        s = stats.get(u, UnitStats(u, 0, 0, 0, 0))
        rows.append(
            BulletinUnitStats(
                unit_code=u,
                cases_decided=s.cases,
                on_time=s.on_time,
                on_time_rate=s.on_time_rate,
                average_working_days_used=s.average_working_days_used,
                immediate_share=s.immediate_share,
                overdue_cases=sum(1 for o in overdue if o.unit_code == u),
                notices=sum(1 for n in notices if n["unit_code"] == u),
                violations=sum(1 for v in violations if v["unit_code"] == u),
            )
        )
    total = stats.get(CENTER_TOTAL) or UnitStats(CENTER_TOTAL, 0, 0, 0, 0)
    return Bulletin(bulletin_no, period, overdue, rows, total, notices, violations, staff)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _cn_date(value: date | None) -> str:
    return "—" if value is None else f"{value.year}年{value.month}月{value.day}日"


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    # Jinja is imported with the first bulletin written, not with the service: the bulletin is
    # its only use here, and the service's idle memory counts (issue 19, goal 5).
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,  # plain text (Markdown), not HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pct"] = _pct
    env.filters["num"] = _num
    env.filters["cn_date"] = _cn_date
    return env


def render_bulletin(
    bulletin: Bulletin,
    *,
    center_name: str,
    unit_names: Mapping[str, str] | None = None,
    published_on: date | None = None,
) -> str:
    """The bulletin as a readable zh-CN document (Markdown)."""
    names = dict(unit_names or {})
    return _env().get_template("bulletin.zh-CN.md.j2").render(
        b=bulletin,
        center_name=center_name,
        name=lambda code: names.get(code, code),
        published_on=published_on,
        kind_labels=CASE_KIND_LABELS,
        result_labels={r.value: r.label for r in InspectionResult},
        violation_labels={k.value: label for k, label in VIOLATION_LABELS.items()},
    )


# ---------------------------------------------------------------------------------------------
# Supervision notices


@dataclass
class SupervisionNotice:
    notice_no: str
    unit_code: str
    receipt_no: str | None
    raised_by: str
    raised_at: datetime
    reason: str
    reply_due: date
    origin: NoticeSource = NoticeSource.MANUAL
    replied_by: str | None = None
    replied_at: datetime | None = None
    reply: str | None = None

    @property
    def closed(self) -> bool:
        return self.replied_at is not None

    def status(self, today: date) -> str:
        """``open``, ``reply_overdue`` or ``replied``."""
        if self.closed:
            return "replied"
        return "reply_overdue" if today > self.reply_due else "open"


def raise_notice(
    cal: WorkCalendar,
    *,
    notice_no: str,
    unit_code: str,
    receipt_no: str | None,
    raised_by: str,
    raised_at: datetime,
    reason: str,
    reply_days: int,
    origin: NoticeSource = NoticeSource.MANUAL,
) -> tuple[SupervisionNotice, SupervisionNoticeIssued]:
    """A notice to a unit, due for reply ``reply_days`` working days after it was raised
    (counted like a limit: the day it is raised is not counted)."""
    if not raised_by.strip():
        raise DeadlineError("raised_by", "须注明督办人")
    if not reason.strip():
        raise DeadlineError("reason", "须写明督办事项")
    if reply_days < 1:
        raise DeadlineError("reply_days", "回复期限至少为1个工作日")
    reply_due = cal.add_working_days(local_date(raised_at), reply_days)
    notice = SupervisionNotice(
        notice_no, unit_code, receipt_no, raised_by.strip(), raised_at, reason.strip(), reply_due, origin
    )
    event = SupervisionNoticeIssued(
        notice_no=notice_no,
        unit_code=unit_code,
        receipt_no=receipt_no,
        raised_by=notice.raised_by,
        raised_at=raised_at,
        reason=notice.reason,
        reply_due=reply_due,
        origin=origin,
    )
    return notice, event


def reply_notice(notice: SupervisionNotice, *, replied_by: str, reply: str, at: datetime) -> SupervisionReplied:
    if notice.closed:
        raise DeadlineConflict("notice_no", f"督办通知书 {notice.notice_no} 已回复")
    if not replied_by.strip():
        raise DeadlineError("replied_by", "须注明回复人")
    if not reply.strip():
        raise DeadlineError("reply", "回复内容不能为空")
    notice.replied_by = replied_by.strip()
    notice.replied_at = at
    notice.reply = reply.strip()
    return SupervisionReplied(
        notice_no=notice.notice_no,
        unit_code=notice.unit_code,
        replied_by=notice.replied_by,
        replied_at=at,
        reply=notice.reply,
        on_time=local_date(at) <= notice.reply_due,
    )


# ---------------------------------------------------------------------------------------------
# Random inspection


def new_seed() -> str:
    """A fresh seed to record with a sample."""
    return secrets.token_hex(8)


def sample_size(population: int, share: float) -> int:
    """ceil(share x population), at least one case when there is any."""
    if not 0 < share <= 1:
        raise DeadlineError("share", "抽查比例应大于0且不超过1")
    if population == 0:
        return 0
    return max(1, min(population, math.ceil(share * population - 1e-9)))


def draw_sample(receipt_nos: Iterable[str], *, share: float, seed: str, period: Period, unit_code: str) -> list[str]:
    """A reproducible sample: the population is sorted first, and the generator is seeded with
    the seed, the period and the unit (a str seed is hashed with SHA-512 by Python's ``random``,
    stable across runs and platforms)."""
    population = sorted(set(receipt_nos))
    k = sample_size(len(population), share)
    rng = random.Random(f"{seed}|{period}|{unit_code}")
    return sorted(rng.sample(population, k))


@dataclass(frozen=True)
class InspectionSample:
    sample_id: str
    unit_code: str
    period: Period
    seed: str
    share: float
    population: int
    receipt_nos: tuple[str, ...]


def sample_inspection(
    *,
    sample_id: str,
    unit_code: str,
    period: Period,
    closed_receipts: Iterable[str],
    share: float,
    seed: str | None,
    sampled_by: str,
    sampled_at: datetime,
) -> tuple[InspectionSample, InspectionSampled]:
    population = sorted(set(closed_receipts))
    seed = seed or new_seed()
    chosen = draw_sample(population, share=share, seed=seed, period=period, unit_code=unit_code)
    sample = InspectionSample(sample_id, unit_code, period, seed, share, len(population), tuple(chosen))
    event = InspectionSampled(
        sample_id=sample_id,
        unit_code=unit_code,
        period=str(period),
        seed=seed,
        share=share,
        population=len(population),
        receipt_nos=chosen,
        sampled_by=sampled_by,
        sampled_at=sampled_at,
    )
    return sample, event


def record_inspection(
    sample: InspectionSample,
    *,
    receipt_no: str,
    inspector: str,
    result: InspectionResult,
    notes: str | None,
    at: datetime,
    notice_no: str | None = None,
) -> InspectionRecorded:
    if receipt_no not in sample.receipt_nos:
        raise DeadlineError("receipt_no", f"案件 {receipt_no} 不在抽查样本 {sample.sample_id} 中")
    if not inspector.strip():
        raise DeadlineError("inspector", "须注明检查人")
    return InspectionRecorded(
        sample_id=sample.sample_id,
        unit_code=sample.unit_code,
        receipt_no=receipt_no,
        inspector=inspector.strip(),
        result=result,
        violation=result is InspectionResult.VIOLATION,
        notes=notes,
        recorded_at=at,
        notice_no=notice_no,
    )
