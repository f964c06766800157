"""The report as zh-CN text tables (for a terminal or to paste into the year-end report)."""

from __future__ import annotations

from contracts.common import CASE_KIND_LABELS, CaseKind

from .figures import YearEndReport


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _num(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    def width(s: str) -> int:  # CJK characters take two columns in a terminal
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)

    widths = [max(width(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c) + " " * (w - width(str(c))) for c, w in zip(cells, widths)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def render_zh(report: YearEndReport) -> str:
    r = report
    title = f"行政审批服务中心业务数据（{r.start.isoformat()} 至 {r.end.isoformat()}）"
    main = [
        ["受理咨询", f"{r.consultations:,} 人次"],
        ["收件", f"{r.applications_received:,} 件"],
        ["受理审批服务事项", f"{r.applications_accepted:,} 件"],
        ["不予受理（退回件）", f"{r.applications_not_accepted:,} 件"],
        ["办结", f"{r.cases_decided:,} 件（按期办结 {r.cases_on_time:,} 件）"],
        ["按期办结率", _pct(r.on_time_rate)],
        ["平均办理时间（全部办结件）", f"{_num(r.average_working_days)} 个工作日"],
        ["平均办理时间（有承诺时限的办件）", f"{_num(r.average_working_days_with_limit)} 个工作日"],
        ["进驻单位 / 事项", f"{r.catalog_units} 个单位，{r.catalog_items} 项"],
        ["即办件事项", f"{r.immediate_items} 项，占 {_pct(r.immediate_item_share)}"],
        ["即办件办件占受理量", _pct(r.immediate_case_share)],
        ["双休日收件", f"{r.weekend_received:,} 件"
                   + (f"（自 {r.first_weekend_served.isoformat()} 起 {r.weekends_served} 个双休日，"
                      f"平均每个双休日 {_num(r.average_per_weekend)} 件）" if r.weekends_served else "")],
    ]
    kinds = [[CASE_KIND_LABELS[CaseKind(k)] if k in CaseKind._value2member_map_ else "其他", f"{n:,}"]
             for k, n in r.by_kind.items()]
    months = [[m.period, f"{m.consultations:,}", f"{m.received:,}", f"{m.accepted:,}", f"{m.decided:,}",
               _pct(m.on_time / m.decided if m.decided else None), f"{m.weekend_received:,}",
               "、".join(m.units_without_business) or "无"] for m in r.months]
    parts = [
        title, "", _table(["项目", "数据"], main), "",
        "六件管理（按收件统计）", _table(["类别", "件数"], kinds), "",
        "分月情况", _table(["月份", "咨询", "收件", "受理", "办结", "按期率", "双休日", "无业务的进驻单位"], months),
    ]
    if r.inactivity_flags:
        parts += ["", "“应进不进”标记（连续无业务）",
                  _table(["月份", "单位", "连续无业务月数"],
                         [[f.period, f"{f.unit_name}（{f.unit_code}）", str(f.months_without_business)]
                          for f in r.inactivity_flags])]
    parts += ["", f"数据来源：公共事件主题，共读取 {r.events_read:,} 条事件"
                  + (f"（重复投递 {r.duplicates_ignored:,} 条已去重）" if r.duplicates_ignored else "")
                  + f"；生成时间 {r.generated_at.isoformat(timespec='seconds')}"]
    return "\n".join(parts)
