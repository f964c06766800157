"""The monthly report and the evaluation as an XLSX workbook (openpyxl), for download.

An adapter (rendering a file), not a rule: the figures come from :mod:`..domain.monthly` and
:mod:`..domain.evaluation`; the JSON shapes of the same data are in :mod:`..schemas`. Headers
and labels are zh-CN: the workbook goes to the center's management as it is.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime, time
from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from ..domain.evaluation import Evaluation, PersonScore, WindowScore
from ..domain.monthly import MonthlyReport
from ..domain.rules import LEAVE_LABELS, LeaveKind

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

# openpyxl (with numpy and lxml: ~20 MiB resident) is imported by the first workbook made, not
# with the service: only the XLSX download uses it, and the service's idle memory counts against
# issue 19's 200 MiB per service (benchmarks/idle_memory.py).

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- XLSX -----------------------------------------------------------------------------------


@cache
def _styles() -> SimpleNamespace:
    """openpyxl's pieces the sheets use, and the shared styles, made once."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    return SimpleNamespace(
        Workbook=Workbook, Alignment=Alignment, get_column_letter=get_column_letter,
        illegal_characters=ILLEGAL_CHARACTERS_RE,
        header_font=Font(bold=True, color="FFFFFF"),
        header_fill=PatternFill("solid", fgColor="9C1C1C"),  # the red of official documents
        title_font=Font(bold=True, size=14),
    )


def _display_width(value: Any) -> int:
    text = "" if value is None else str(value)
    # East Asian wide characters take two columns in a spreadsheet cell.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell_text(value: Any) -> Any:
    """Control characters cannot be stored in a worksheet (openpyxl refuses the cell): a name typed
    with one still makes the report, without it."""
    return _styles().illegal_characters.sub("", value) if isinstance(value, str) else value


def _sheet(wb: Workbook, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
           *, caption: str | None = None, percent_cols: Sequence[int] = ()) -> Worksheet:
    st = _styles()
    ws = wb.create_sheet(title)
    start = 1
    if caption:
        ws.cell(row=1, column=1, value=caption).font = st.title_font
        start = 3
    for col, h in enumerate(headers, start=1):
        cell = ws.cell(row=start, column=col, value=h)
        cell.font = st.header_font
        cell.fill = st.header_fill
        cell.alignment = st.Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r, row in enumerate(rows, start=start + 1):
        for col, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=col, value=_cell_text(value))
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # a name typed as "=..." is text, never a formula run on opening
            if col - 1 in percent_cols and isinstance(value, (int, float)):
                cell.number_format = "0.00%"
            elif isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(value, time):
                cell.number_format = "hh:mm"
    for col, h in enumerate(headers, start=1):
        widest = max([_display_width(h)] + [_display_width(row[col - 1]) for row in rows])
        ws.column_dimensions[st.get_column_letter(col)].width = min(60, max(8, widest + 2))
    ws.freeze_panes = ws.cell(row=start + 1, column=1)
    return ws


def _leave_text(by_kind: dict[str, int]) -> str:
    return "，".join(f"{LEAVE_LABELS[LeaveKind(k)]}{v}" for k, v in sorted(by_kind.items()) if v)


PERSON_HEADERS = ["姓名", "工号", "单位", "窗口", "应出勤(时段)", "正常", "迟到(次)", "迟到(分钟)", "早退(次)",
                  "早退(分钟)", "缺卡(次)", "旷工(时段)", "请假(时段)", "请假明细", "应参加培训", "参加培训",
                  "周末值班(班次)", "值班缺岗", "出勤率", "出勤得分"]
WINDOW_HEADERS = ["窗口", "单位", "A岗", "B岗", "人数", "应出勤(时段)", "迟到", "早退", "缺卡", "旷工(时段)",
                  "请假(时段)", "周末班次", "空岗次数", "出勤得分"]
DETAIL_HEADERS = ["日期", "姓名", "窗口", "时段", "应到", "应退", "签到", "签退", "状态", "说明"]
GAP_HEADERS = ["窗口", "单位", "日期", "开放时间", "结束时间", "首位到岗", "到岗时间"]
WSCORE_HEADERS = ["窗口", "单位", "综合得分", "按时办结率", "满意度指数", "出勤得分", "督办通知", "办结件数",
                  "评价数", "空岗次数", "参评资格", "说明"]
PSCORE_HEADERS = ["姓名", "工号", "单位", "窗口", "综合得分", "按时办结率", "满意度指数", "出勤得分", "督办通知",
                  "参评资格", "说明"]


def workbook(report: MonthlyReport, evaluation: Evaluation | None = None,
             names: dict[str, str] | None = None) -> Workbook:
    """The month's workbook: per person, per window, details, duty gaps; and, when given, the
    evaluation, the awards and the formula. ``names`` maps staff ids to names (A/B posts)."""
    names = names or {p.staff_id: p.name for p in report.people}
    wb = _styles().Workbook()
    wb.remove(wb.active)
    period = report.period
    _sheet(wb, "个人考勤", PERSON_HEADERS, [
        [p.name, p.staff_id, p.unit_name, p.window_no or "", p.required_sessions, p.on_time_sessions, p.late,
         p.late_minutes, p.early_leave, p.early_minutes, p.missing_punches, p.absent_sessions,
         p.leave_sessions, _leave_text(p.leave_by_kind), p.training_due, p.training_attended, p.duty_shifts,
         p.duty_shifts_missed, p.attendance_rate, p.attendance_score]
        for p in report.people
    ], caption=f"{period} 个人考勤汇总（工作日{report.working_days}天）", percent_cols=[18])
    _sheet(wb, "窗口考勤", WINDOW_HEADERS, [
        [w.window_no, w.unit_name, names.get(w.post_a or "", w.post_a or ""),
         names.get(w.post_b or "", w.post_b or ""), w.staff_count, w.required_sessions, w.late, w.early_leave,
         w.missing_punches, w.absent_sessions, w.leave_sessions, w.duty_slots, w.duty_gaps, w.attendance_score]
        for w in report.windows
    ], caption=f"{period} 窗口考勤汇总")
    _sheet(wb, "考勤明细", DETAIL_HEADERS, [
        [d.day, d.name, d.window_no or "", d.session.label, d.start, d.end,
         d.arrived.time() if d.arrived else None, d.left.time() if d.left else None, d.status.label, d.note]
        for d in report.details
    ])
    _sheet(wb, "周末空岗", GAP_HEADERS, [
        [g.window_no, g.unit_name, g.day, g.opening, g.closing,
         names.get(g.arrived_staff or "", g.arrived_staff or "无人到岗"), g.arrived_at]
        for g in report.duty_gaps
    ])
    if evaluation is not None:
        add_evaluation(wb, evaluation)
    return wb


def _wrow(w: WindowScore) -> list[Any]:
    p = w.parts
    return [w.window_no, w.unit_name, w.score, p.on_time_rate, p.satisfaction_index, p.attendance_score,
            p.supervision_notices, p.cases, p.ratings, w.duty_gaps, "是" if w.eligible else "否",
            "；".join(w.reasons)]


def _prow(x: PersonScore) -> list[Any]:
    p = x.parts
    return [x.name, x.staff_id, x.unit_name, x.window_no or "", x.score, p.on_time_rate, p.satisfaction_index,
            p.attendance_score, p.supervision_notices, "是" if x.eligible else "否", "；".join(x.reasons)]


def add_evaluation(wb: Workbook, ev: Evaluation) -> None:
    _sheet(wb, "窗口评价", WSCORE_HEADERS, [_wrow(w) for w in ev.windows],
           caption=f"{ev.period} 窗口综合评价", percent_cols=[3])
    _sheet(wb, "个人评价", PSCORE_HEADERS, [_prow(p) for p in ev.people],
           caption=f"{ev.period} 工作人员综合评价", percent_cols=[5])
    _sheet(wb, "红旗窗口", ["名次"] + WSCORE_HEADERS[:9],
           [[i] + _wrow(w)[:9] for i, w in enumerate(ev.red_flag_windows, 1)],
           caption=f"{ev.period} 红旗窗口", percent_cols=[4])
    _sheet(wb, "服务标兵", ["名次"] + PSCORE_HEADERS[:9],
           [[i] + _prow(p)[:9] for i, p in enumerate(ev.service_stars, 1)],
           caption=f"{ev.period} 服务标兵", percent_cols=[6])
    st = _styles()
    ws = wb.create_sheet("评分说明")
    ws.cell(row=1, column=1, value="评分公式").font = st.title_font
    ws.cell(row=2, column=1, value=ev.formula).alignment = st.Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 100
    ws.row_dimensions[2].height = 90
    s = ev.settings
    rows = [("按时办结率权重", s.on_time_weight), ("满意度权重", s.satisfaction_weight),
            ("出勤权重", s.attendance_weight), ("每份督办通知扣分", s.supervision_penalty)]
    for i, (label, value) in enumerate(rows, start=4):
        ws.cell(row=i, column=1, value=f"{label}：{value:g}")


def to_bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xlsx_filename(period: str) -> str:
    return f"attendance-{period}.xlsx"
