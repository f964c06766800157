"""The year-end report's before/after figures (issue 22 item 9): two periods side by side,
computed from the events with :func:`.figures.compute`, as the center's report states them:

- immediate items (即办件) at the end of each period and their share of the items (85 → 139,
  34.5% → 56.3%);
- average processing time per period in working days (19 → 6.7; ``ClockEnded.working_days_used``
  as deadline counted it with the county's calendar);
- units and items entered over the later period: the catalog at the end of the earlier period
  against the catalog at the end of the later one (+14 units, +141 items);
- weekend cases since a date (376, 31 per weekend on average).

Pure (no I/O); rendered as Markdown by :func:`render_markdown`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from pydantic import BaseModel, Field

from contracts.base import Event
from contracts.envelope import Envelope

from .figures import YearEndReport, compute


class PeriodFigures(BaseModel):
    start: date
    end: date
    immediate_items: int = Field(description="Immediate items in the catalog at the end of the period.")
    catalog_items: int = Field(description="Items in the catalog at the end of the period.")
    catalog_units: int = Field(description="Units with items at the end of the period.")
    immediate_item_share: float | None
    cases_decided: int
    average_working_days: float | None = Field(description="Mean working days used by the cases decided.")
    average_working_days_with_limit: float | None
    on_time_rate: float | None
    applications_accepted: int

    @classmethod
    def of(cls, r: YearEndReport) -> "PeriodFigures":
        return cls(start=r.start, end=r.end, immediate_items=r.immediate_items, catalog_items=r.catalog_items,
                   catalog_units=r.catalog_units, immediate_item_share=r.immediate_item_share,
                   cases_decided=r.cases_decided, average_working_days=r.average_working_days,
                   average_working_days_with_limit=r.average_working_days_with_limit,
                   on_time_rate=r.on_time_rate, applications_accepted=r.applications_accepted)


class WeekendFigures(BaseModel):
    since: date
    until: date
    cases: int = Field(description="Applications received in weekend service (make-up working days excluded).")
    weekends: int = Field(description="Weekends with at least one application.")
    average_per_weekend: float | None


class Comparison(BaseModel):
    before: PeriodFigures
    after: PeriodFigures
    units_entered: int = Field(description="Units with items at the end of `after` minus at the end of `before`.")
    items_entered: int = Field(description="Items at the end of `after` minus at the end of `before`.")
    weekend: WeekendFigures | None
    generated_at: datetime


def compare(envelopes: Iterable[Envelope | Event], before: tuple[date, date], after: tuple[date, date], *,
            weekend_since: date | None = None, generated_at: datetime | None = None) -> Comparison:
    """``before`` and ``after`` are (first day, last day), both included; ``weekend_since`` counts
    the weekend cases from that day to the end of ``after``."""
    for name, (first, last) in (("before", before), ("after", after)):
        if last < first:
            raise ValueError(f"{name}: the period ends before it starts")
    if weekend_since is not None and weekend_since > after[1]:
        raise ValueError("weekend_since: after the end of the later period")
    events = list(envelopes)
    b = compute(events, *before, generated_at=generated_at)
    a = compute(events, *after, generated_at=generated_at)
    weekend = None
    if weekend_since is not None:
        w = compute(events, weekend_since, after[1], generated_at=generated_at)
        weekend = WeekendFigures(since=weekend_since, until=after[1], cases=w.weekend_received,
                                 weekends=w.weekends_served, average_per_weekend=w.average_per_weekend)
    return Comparison(before=PeriodFigures.of(b), after=PeriodFigures.of(a),
                      units_entered=a.catalog_units - b.catalog_units, items_entered=a.catalog_items - b.catalog_items,
                      weekend=weekend, generated_at=generated_at or datetime.now(UTC))


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}"


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def _span(p: PeriodFigures) -> str:
    return f"{p.start.isoformat()} 至 {p.end.isoformat()}"


def render_markdown(c: Comparison) -> str:
    """The comparison as a zh-CN Markdown section of the year-end report."""
    b, a = c.before, c.after

    def row(label: str, then: str, now: str, change: str = "") -> str:
        return f"| {label} | {then} | {now} | {change} |"

    days_change = ""
    if b.average_working_days is not None and a.average_working_days is not None:
        days_change = f"{a.average_working_days - b.average_working_days:+.1f} 个工作日"
    lines = [
        "## 前后对比",
        "",
        f"- 对比期：{_span(b)}",
        f"- 本期：{_span(a)}",
        "",
        "| 项目 | 对比期 | 本期 | 变化 |",
        "| --- | ---: | ---: | ---: |",
        row("即办件事项（期末）", f"{b.immediate_items} 项", f"{a.immediate_items} 项",
            f"{_signed(a.immediate_items - b.immediate_items)} 项"),
        row("即办件占事项比例", _pct(b.immediate_item_share), _pct(a.immediate_item_share), ""),
        row("进驻单位（期末）", f"{b.catalog_units} 个", f"{a.catalog_units} 个", f"{_signed(c.units_entered)} 个"),
        row("进驻事项（期末）", f"{b.catalog_items} 项", f"{a.catalog_items} 项", f"{_signed(c.items_entered)} 项"),
        row("平均办理时间", f"{_num(b.average_working_days)} 个工作日", f"{_num(a.average_working_days)} 个工作日",
            days_change),
        row("平均办理时间（有承诺时限的办件）", f"{_num(b.average_working_days_with_limit)} 个工作日",
            f"{_num(a.average_working_days_with_limit)} 个工作日", ""),
        row("办结件数", f"{b.cases_decided:,} 件", f"{a.cases_decided:,} 件", ""),
        row("按期办结率", _pct(b.on_time_rate), _pct(a.on_time_rate), ""),
        "",
        f"即办件由 {b.immediate_items} 项增加到 {a.immediate_items} 项，占事项的比例由 {_pct(b.immediate_item_share)} "
        f"提高到 {_pct(a.immediate_item_share)}；平均办理时间由 {_num(b.average_working_days)} 个工作日"
        f"缩短为 {_num(a.average_working_days)} 个工作日；本期新增进驻单位 {_signed(c.units_entered)} 个、"
        f"事项 {_signed(c.items_entered)} 项。",
    ]
    if c.weekend is not None:
        w = c.weekend
        lines += ["", f"自 {w.since.isoformat()} 开展双休日正常办理以来，至 {w.until.isoformat()} 共受理双休日申请 "
                      f"{w.cases:,} 件，{w.weekends} 个双休日，平均每个双休日 {_num(w.average_per_weekend)} 件。"]
    lines += ["", f"*数据来源：公共事件主题；生成时间 {c.generated_at.isoformat(timespec='seconds')}*", ""]
    return "\n".join(lines)
