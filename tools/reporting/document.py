"""The year's summary as a document (issue 22 item 9): Markdown and PDF laid out like the center's
own year-end report (一、主要业务数据 … 六、“应进不进”单位), with charts.

- :func:`render_document_markdown` — the zh-CN Markdown, the charts referenced as PNG files;
- :func:`render_document_pdf` — the same as an A4 PDF (ReportLab, the CJK font the suite embeds in
  its notices, fonts-wqy-microhei), the charts drawn in;
- :func:`monthly_chart` / :func:`comparison_chart` — the charts as PNG (matplotlib, drawn here
  directly: tools/ never imports a service, so not ``services/console/charts.py``);
- :func:`write_document` — all of it next to one path stem (``<stem>.md``, ``<stem>.pdf``,
  ``<stem>-monthly.png``, ``<stem>-compare.png``).

Pure apart from :func:`write_document`; every figure comes from :class:`.figures.YearEndReport`
and :class:`.compare.Comparison`, themselves computed from the public events.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from contracts.common import CASE_KIND_LABELS, CaseKind

from .compare import Comparison
from .figures import YearEndReport

#: Debian's fonts-wqy-microhei, the font notify embeds in the sealed notices (deploy/apt-packages.txt).
DEFAULT_FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
FONT_NAME = "OneWindowReportCJK"
DEFAULT_CENTER = "县行政审批服务中心"


class FontMissing(RuntimeError):
    pass


def font_path() -> str:
    """ONEWINDOW_REPORT_CJK_FONT, else notify's ONEWINDOW_NOTIFY_CJK_FONT, else the Debian path."""
    path = os.environ.get("ONEWINDOW_REPORT_CJK_FONT") or os.environ.get("ONEWINDOW_NOTIFY_CJK_FONT") or DEFAULT_FONT_PATH
    if not os.path.exists(path):
        raise FontMissing(f"CJK font not found at {path} (install fonts-wqy-microhei)")
    return path


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}"


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def _kind_label(k: str) -> str:
    return CASE_KIND_LABELS[CaseKind(k)] if k in CaseKind._value2member_map_ else "其他"


def _title(r: YearEndReport, center: str) -> str:
    whole_year = r.start.year == r.end.year and (r.start.month, r.start.day, r.end.month, r.end.day) == (1, 1, 12, 31)
    return f"{center}{r.start.year}年工作总结" if whole_year else f"{center}工作总结"


# ------------------------------------------------------------------------------------ the content


@dataclass(frozen=True)
class Section:
    """One numbered part of the report: a heading, paragraphs, an optional table and chart."""

    heading: str
    paragraphs: list[str]
    table: tuple[list[str], list[list[str]]] | None = None
    chart: str | None = None  # "monthly" or "compare"
    chart_caption: str = ""


def sections(r: YearEndReport, c: Comparison | None = None) -> list[Section]:
    """The report's parts, in the center's order; shared by the Markdown and the PDF."""
    out: list[Section] = []
    overview = (
        f"{r.start.isoformat()} 至 {r.end.isoformat()}，中心共接待咨询 {r.consultations:,} 人次，收件 "
        f"{r.applications_received:,} 件，受理审批服务事项 {r.applications_accepted:,} 件，不予受理（退回）"
        f"{r.applications_not_accepted:,} 件；办结 {r.cases_decided:,} 件，其中按期办结 {r.cases_on_time:,} 件，"
        f"按期办结率 {_pct(r.on_time_rate)}；平均办理时间 {_num(r.average_working_days)} 个工作日"
        f"（有承诺时限的办件 {_num(r.average_working_days_with_limit)} 个工作日）。"
    )
    entered = (f"期末进驻单位 {r.catalog_units} 个、审批服务事项 {r.catalog_items} 项，其中即办件事项 "
               f"{r.immediate_items} 项，占 {_pct(r.immediate_item_share)}；即办件占受理量的 {_pct(r.immediate_case_share)}。")
    out.append(Section("一、主要业务数据", [overview, entered], ([ "项目", "数据"], [
        ["受理咨询", f"{r.consultations:,} 人次"],
        ["收件", f"{r.applications_received:,} 件"],
        ["受理审批服务事项", f"{r.applications_accepted:,} 件"],
        ["办结（按期办结）", f"{r.cases_decided:,} 件（{r.cases_on_time:,} 件）"],
        ["按期办结率", _pct(r.on_time_rate)],
        ["平均办理时间", f"{_num(r.average_working_days)} 个工作日"],
        ["进驻单位 / 事项", f"{r.catalog_units} 个 / {r.catalog_items} 项"],
        ["即办件事项", f"{r.immediate_items} 项（{_pct(r.immediate_item_share)}）"],
    ])))
    kinds = [[_kind_label(k), f"{n:,}"] for k, n in r.by_kind.items()]
    out.append(Section("二、六件管理", ["按收件统计，各类办件数量如下。" if kinds else "本期没有收件。"],
                       (["类别", "件数"], kinds) if kinds else None))
    months = [[m.period, f"{m.consultations:,}", f"{m.received:,}", f"{m.accepted:,}", f"{m.decided:,}",
               _pct(m.on_time / m.decided if m.decided else None), f"{m.weekend_received:,}"] for m in r.months]
    out.append(Section("三、分月办理情况", ["各月收件与办结情况见下图和下表。"],
                       (["月份", "咨询", "收件", "受理", "办结", "按期率", "双休日收件"], months),
                       chart="monthly" if r.months else None, chart_caption="图1 各月收件与办结件数"))
    if c is not None:
        b, a = c.before, c.after
        days_change = ""
        if b.average_working_days is not None and a.average_working_days is not None:
            days_change = f"{a.average_working_days - b.average_working_days:+.1f} 个工作日"
        out.append(Section("四、前后对比", [
            f"对比期 {b.start.isoformat()} 至 {b.end.isoformat()}，本期 {a.start.isoformat()} 至 {a.end.isoformat()}。"
            f"即办件由 {b.immediate_items} 项增加到 {a.immediate_items} 项，占事项的比例由 {_pct(b.immediate_item_share)} "
            f"提高到 {_pct(a.immediate_item_share)}；平均办理时间由 {_num(b.average_working_days)} 个工作日缩短为 "
            f"{_num(a.average_working_days)} 个工作日；本期新增进驻单位 {_signed(c.units_entered)} 个、"
            f"事项 {_signed(c.items_entered)} 项。"],
            (["项目", "对比期", "本期", "变化"], [
                ["即办件事项（期末）", f"{b.immediate_items} 项", f"{a.immediate_items} 项",
                 f"{_signed(a.immediate_items - b.immediate_items)} 项"],
                ["即办件占事项比例", _pct(b.immediate_item_share), _pct(a.immediate_item_share), ""],
                ["进驻单位（期末）", f"{b.catalog_units} 个", f"{a.catalog_units} 个", f"{_signed(c.units_entered)} 个"],
                ["进驻事项（期末）", f"{b.catalog_items} 项", f"{a.catalog_items} 项", f"{_signed(c.items_entered)} 项"],
                ["平均办理时间", f"{_num(b.average_working_days)} 个工作日", f"{_num(a.average_working_days)} 个工作日",
                 days_change],
                ["按期办结率", _pct(b.on_time_rate), _pct(a.on_time_rate), ""],
            ]), chart="compare", chart_caption="图2 对比期与本期"))
    weekend = [f"本期双休日收件 {r.weekend_received:,} 件。" if not r.weekends_served else
               f"自 {r.first_weekend_served.isoformat() if r.first_weekend_served else ''} 起，{r.weekends_served} 个双休日"
               f"正常办理，共收件 {r.weekend_received:,} 件，平均每个双休日 {_num(r.average_per_weekend)} 件。"]
    if c is not None and c.weekend is not None:
        w = c.weekend
        weekend.append(f"自 {w.since.isoformat()} 开展双休日正常办理以来，至 {w.until.isoformat()} 共受理双休日申请 "
                       f"{w.cases:,} 件，{w.weekends} 个双休日，平均每个双休日 {_num(w.average_per_weekend)} 件。")
    out.append(Section(("五" if c is not None else "四") + "、双休日正常办理", weekend))
    flags = r.inactivity_flags
    out.append(Section(("六" if c is not None else "五") + "、“应进不进”单位",
                       [f"连续无业务、标记为“应进不进”的单位共 {len(flags)} 次。" if flags else "本期没有“应进不进”单位。"],
                       (["月份", "单位", "连续无业务月数"],
                        [[f.period, f"{f.unit_name}（{f.unit_code}）", str(f.months_without_business)] for f in flags])
                       if flags else None))
    return out


def _source_line(r: YearEndReport) -> str:
    return (f"数据来源：公共事件主题，共读取 {r.events_read:,} 条事件"
            + (f"（重复投递 {r.duplicates_ignored:,} 条已去重）" if r.duplicates_ignored else "")
            + f"；生成时间 {r.generated_at.isoformat(timespec='seconds')}")


# ------------------------------------------------------------------------------------ the charts


def _figure():  # type: ignore[no-untyped-def]
    # A Figure of its own (no pyplot global state); the CJK font registered by path, so the
    # Chinese labels never fall back to boxes whatever fonts the machine's cache knows.
    from matplotlib import font_manager
    from matplotlib.figure import Figure

    path = font_path()
    font_manager.fontManager.addfont(path)
    family = font_manager.FontProperties(fname=path).get_name()
    fig = Figure(figsize=(7.2, 3.4), dpi=150)
    return fig, {"family": family}


def _png(fig) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def monthly_chart(r: YearEndReport) -> bytes:
    """Grouped bars, received and decided per month, hatched as well as coloured (printed in grey)."""
    fig, font = _figure()
    ax = fig.add_subplot()
    months = [f"{int(m.period[5:])}月" for m in r.months]
    xs = range(len(months))
    width = 0.4
    for offset, label, values, hatch, colour in (
        (-width / 2, "收件", [m.received for m in r.months], "", "#2f6db5"),
        (width / 2, "办结", [m.decided for m in r.months], "//", "#e08a1e"),
    ):
        bars = ax.bar([x + offset for x in xs], values, width, label=label, color=colour, hatch=hatch, edgecolor="#333333")
        ax.bar_label(bars, padding=2, fontsize=7, fontfamily=font["family"])
    ax.set_xticks(list(xs), months, fontfamily=font["family"])
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.25 of a case
    ax.set_ylabel("件数", fontfamily=font["family"])
    ax.set_title("各月收件与办结件数", loc="left", fontfamily=font["family"], fontsize=11)
    ax.legend(prop=font, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def comparison_chart(c: Comparison) -> bytes:
    """Two panels: immediate items, and average working days, then and now."""
    fig, font = _figure()
    panels = (
        ("即办件事项（项）", float(c.before.immediate_items), float(c.after.immediate_items)),
        ("平均办理时间（工作日）", c.before.average_working_days, c.after.average_working_days),
    )
    for i, (title, then, now) in enumerate(panels, start=1):
        ax = fig.add_subplot(1, 2, i)
        values = [then or 0.0, now or 0.0]
        bars = ax.bar(["对比期", "本期"], values, color=["#9aa5b1", "#2f6db5"], hatch=["..", ""], edgecolor="#333333")
        ax.bar_label(bars, labels=["—" if v is None else f"{v:g}" if float(v).is_integer() else f"{v:.1f}"
                                   for v in (then, now)], padding=2, fontsize=8, fontfamily=font["family"])
        ax.set_title(title, fontfamily=font["family"], fontsize=10)
        for t in ax.get_xticklabels():
            t.set_fontfamily(font["family"])
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png(fig)


# ------------------------------------------------------------------------------------ Markdown


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def cell(s: str) -> str:
        return str(s).replace("|", "\\|")

    return [
        "| " + " | ".join(cell(h) for h in headers) + " |",
        "| " + " | ".join(["---"] + ["---:"] * (len(headers) - 1)) + " |",
        *("| " + " | ".join(cell(c) for c in row) + " |" for row in rows),
    ]


def render_document_markdown(r: YearEndReport, c: Comparison | None = None, *, center_name: str = DEFAULT_CENTER,
                             charts: dict[str, str] | None = None) -> str:
    """The year's summary as zh-CN Markdown; ``charts`` maps "monthly"/"compare" to the image
    files to reference (those not given are left out)."""
    charts = charts or {}
    lines = [f"# {_title(r, center_name)}", "", f"统计期间：{r.start.isoformat()} 至 {r.end.isoformat()}", ""]
    for s in sections(r, c):
        lines += [f"## {s.heading}", ""]
        for p in s.paragraphs:
            lines += [p, ""]
        if s.chart and s.chart in charts:
            lines += [f"![{s.chart_caption}]({charts[s.chart]})", "", f"*{s.chart_caption}*", ""]
        if s.table is not None:
            lines += [*_md_table(*s.table), ""]
    lines += [f"*{_source_line(r)}*", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ PDF


def render_document_pdf(r: YearEndReport, c: Comparison | None = None, *, center_name: str = DEFAULT_CENTER,
                        charts: dict[str, bytes] | None = None) -> bytes:
    """The same document as an A4 PDF; ``charts`` (PNG bytes by name) default to drawing them."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    from xml.sax.saxutils import escape

    path = font_path()
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, path, **({"subfontIndex": 0} if path.lower().endswith(".ttc") else {})))
    if charts is None:
        charts = {"monthly": monthly_chart(r)} if r.months else {}
        if c is not None:
            charts["compare"] = comparison_chart(c)
    base = ParagraphStyle("base", fontName=FONT_NAME, fontSize=11.5, leading=19, wordWrap="CJK", alignment=TA_JUSTIFY,
                          firstLineIndent=23)
    title = ParagraphStyle("title", parent=base, fontSize=20, leading=30, alignment=TA_CENTER, firstLineIndent=0,
                           spaceAfter=4)
    sub = ParagraphStyle("sub", parent=base, fontSize=11, alignment=TA_CENTER, firstLineIndent=0, spaceAfter=10)
    h2 = ParagraphStyle("h2", parent=base, fontSize=14, leading=22, firstLineIndent=0, spaceBefore=10, spaceAfter=4)
    cell = ParagraphStyle("cell", parent=base, fontSize=9.5, leading=13, firstLineIndent=0, alignment=0)
    caption = ParagraphStyle("caption", parent=cell, alignment=TA_CENTER, textColor=colors.HexColor("#444444"))
    note = ParagraphStyle("note", parent=cell, fontSize=8.5, textColor=colors.HexColor("#555555"))

    width = A4[0] - 40 * mm
    story: list = [Paragraph(escape(_title(r, center_name)), title),
                   Paragraph(escape(f"统计期间：{r.start.isoformat()} 至 {r.end.isoformat()}"), sub)]
    for s in sections(r, c):
        # a heading never ends a page: it stays with its text and chart
        part: list = [Paragraph(escape(s.heading), h2), *(Paragraph(escape(p), base) for p in s.paragraphs)]
        if s.chart and s.chart in charts:
            img = Image(io.BytesIO(charts[s.chart]))
            scale = width / img.imageWidth
            img.drawWidth, img.drawHeight = width, img.imageHeight * scale
            part += [Spacer(1, 4), img, Paragraph(escape(s.chart_caption), caption)]
        story.append(KeepTogether(part))
        if s.table is not None:
            headers, rows = s.table
            data = [[Paragraph(escape(str(x)), cell) for x in row] for row in [headers, *rows]]
            t = Table(data, repeatRows=1, colWidths=[width / len(headers)] * len(headers))
            t.setStyle(TableStyle([
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#666666")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]))
            story += [Spacer(1, 4), t]
    story += [Spacer(1, 10), Paragraph(escape(_source_line(r)), note)]

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=_title(r, center_name), author=center_name,
                            subject="年度工作总结（数据部分）")

    def page_no(canvas, d) -> None:  # type: ignore[no-untyped-def]
        canvas.setFont(FONT_NAME, 9)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"— {d.page} —")

    doc.build(story, onFirstPage=page_no, onLaterPages=page_no)
    return buf.getvalue()


# ------------------------------------------------------------------------------------ files


def write_document(r: YearEndReport, c: Comparison | None, stem: Path, *, center_name: str = DEFAULT_CENTER) -> list[Path]:
    """``<stem>.md``, ``<stem>.pdf`` and the charts' PNGs beside them; returns the paths written."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    pngs: dict[str, bytes] = {}
    if r.months:
        pngs["monthly"] = monthly_chart(r)
    if c is not None:
        pngs["compare"] = comparison_chart(c)
    written: list[Path] = []
    names: dict[str, str] = {}
    for name, data in pngs.items():
        p = stem.with_name(f"{stem.name}-{name}.png")
        p.write_bytes(data)
        names[name] = p.name  # relative: the Markdown travels with its images
        written.append(p)
    md = stem.with_name(stem.name + ".md")
    md.write_text(render_document_markdown(r, c, center_name=center_name, charts=names), encoding="utf-8")
    pdf = stem.with_name(stem.name + ".pdf")
    pdf.write_bytes(render_document_pdf(r, c, center_name=center_name, charts=pngs))
    return [md, pdf, *written]
