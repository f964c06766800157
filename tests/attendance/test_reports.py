"""The monthly report for a simulated month, its JSON and its XLSX workbook."""

import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from services.attendance.domain.monthly import combine_reports, monthly_report
from services.attendance.domain.evaluation import CaseOutcome, EvaluationSettings, RatingFact, evaluate, monthly_event
from services.attendance.adapters.workbook import to_bytes, workbook
from services.attendance.schemas import evaluation_json, report_json

from .conftest import STAFF
from .month_fixture import FRIDAY_TRAININGS, LEAVES, june_punches


@pytest.fixture(scope="module")
def report(rules, calendar):
    from .conftest import POSTS

    return monthly_report("2025-06", STAFF, june_punches(calendar), rules, calendar, posts=POSTS,
                          trainings=FRIDAY_TRAININGS, leaves=LEAVES)


def test_month_figures(report):
    assert report.working_days == 20  # June 2025: 21 weekdays less the Dragon Boat holiday
    p = {x.staff_id: x for x in report.people}
    assert p["S07"].required_sessions == 40 and p["S07"].on_time_sessions == 40
    assert p["S07"].attendance_score == 100.0 and p["S07"].training_due == 4
    assert (p["S02"].late, p["S02"].late_minutes) == (1, 17)
    assert p["S03"].leave_sessions == 2 and p["S03"].leave_by_kind == {"sick": 2}
    assert p["S03"].required_sessions == 38 + p["S03"].duty_shifts
    assert p["S04"].absent_sessions == 2 and p["S04"].attendance_score == 95.0
    assert (p["S05"].early_leave, p["S05"].early_minutes) == (1, 25)
    assert p["S06"].missing_punches == 1 and p["S06"].attendance_score == 98.75
    assert (p["S01"].training_due, p["S01"].training_attended) == (4, 3)
    w = {x.window_no: x for x in report.windows}
    assert w["02"].duty_gaps == 2 and w["01"].duty_gaps == 0 and w["03"].duty_gaps == 0
    assert w["04"].duty_slots == 0  # no weekend service there
    assert {(g.window_no, g.opening.hour) for g in report.duty_gaps} == {("02", 9), ("02", 14)}
    assert w["02"].staff_count == 2 and w["02"].absent_sessions == 2


def test_json_shapes(report):
    data = report_json(report, details=True)
    s02 = next(x for x in data["people"] if x["staff_id"] == "S02")
    assert s02["late"] == 1 and s02["name"] == "王芳"
    assert any(d["status"] == "late" and d["staff_id"] == "S02" and d["day"] == "2025-06-10"
               for d in data["details"])
    assert data["duty_gaps"][0]["arrived_staff"] is None
    assert "details" not in report_json(report)


def test_monthly_event_is_public_safe(report):
    event = monthly_event(report)
    assert event.period == "2025-06" and len(event.people) == len(report.people)
    body = event.model_dump_json()
    assert "13800000001" not in body and "mobile" not in body


def test_xlsx_opens_and_has_the_right_cells(report):
    from .conftest import POSTS

    outs = [CaseOutcome(f"R{i}", "FGJ", datetime(2025, 6, 5, tzinfo=UTC), True) for i in range(6)]
    rates = [RatingFact("R1", "FGJ", 5, datetime(2025, 6, 6, tzinfo=UTC))]
    ev = evaluate("2025-06", POSTS, STAFF, report.people, report.windows, outs, rates, [], EvaluationSettings())
    wb = load_workbook(io.BytesIO(to_bytes(workbook(report, ev))))
    assert wb.sheetnames == ["个人考勤", "窗口考勤", "考勤明细", "周末空岗", "窗口评价", "个人评价", "红旗窗口",
                             "服务标兵", "评分说明"]
    ws = wb["个人考勤"]
    assert ws["A1"].value.startswith("2025-06 个人考勤汇总")
    headers = [c.value for c in ws[3]]
    assert headers[:4] == ["姓名", "工号", "单位", "窗口"] and "迟到(次)" in headers
    row = next(r for r in ws.iter_rows(min_row=4, values_only=True) if r[0] == "王芳")
    assert row[headers.index("迟到(次)")] == 1 and row[headers.index("迟到(分钟)")] == 17
    s03 = next(r for r in ws.iter_rows(min_row=4, values_only=True) if r[0] == "李娜")
    assert s03[headers.index("请假明细")] == "病假2"
    assert ws.column_dimensions["C"].width >= 16  # "住房和城乡建设局" is 16 columns wide
    assert ws.freeze_panes == "A4"

    gaps = wb["周末空岗"]
    assert [c.value for c in gaps[1]][:3] == ["窗口", "单位", "日期"]
    assert [(r[0], r[5]) for r in gaps.iter_rows(min_row=2, values_only=True)] == [("02", "无人到岗")] * 2

    windows = wb["窗口考勤"]
    w1 = next(r for r in windows.iter_rows(min_row=4, values_only=True) if r[0] == "01")
    assert w1[2:4] == ("张伟", "王芳")  # A and B posts by name

    red = wb["红旗窗口"]
    assert red["A4"].value == 1 and red["B4"].value == "01"
    assert "按时办结率" in wb["评分说明"]["A2"].value


def test_year_combines_months(report):
    year = combine_reports("2025", [report, report])
    p = {x.staff_id: x for x in year.people}
    assert p["S04"].absent_sessions == 4 and p["S04"].attendance_score == 95.0
    assert year.working_days == 40
    assert {w.window_no: w.duty_gaps for w in year.windows}["02"] == 4
    ev = evaluate("2025", [], STAFF, year.people, year.windows, [], [], [], EvaluationSettings())
    assert evaluation_json(ev)["period"] == "2025"


def test_nobody_owes_days_before_joining_or_after_leaving(rules, calendar):
    from dataclasses import replace
    from datetime import date

    from services.attendance.domain.monthly import monthly_report as report_of

    from .conftest import STAFF as everyone

    joiner = replace(everyone[0], active_from=date(2025, 6, 16))
    leaver = replace(everyone[1], active=False, active_until=date(2025, 6, 13))
    gone = replace(everyone[2], active=False, active_until=date(2025, 5, 30))
    rep = report_of("2025-06", [joiner, leaver, gone], {}, rules, calendar)
    p = {x.staff_id: x for x in rep.people}
    assert set(p) == {"S01", "S02"}  # S03 left before June
    # 16-30 June: 11 working days; 3-13 June (the 2nd is a holiday): 9 working days.
    assert p["S01"].absent_sessions == 22 and p["S02"].absent_sessions == 18
