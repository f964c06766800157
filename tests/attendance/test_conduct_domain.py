"""Staff violations and the year-end assessment, the pure rules (issue 22 items 2 and 3)."""

from datetime import date

import pytest

from contracts.attendance import AssessmentGrade, AssessmentParts, ViolationKind
from services.attendance.domain import Leave, LeaveKind, judge_day
from services.attendance.domain import assessment as a
from services.attendance.domain import violations as v
from services.runtime.errors import InvalidState

from .conftest import at

pytestmark = pytest.mark.timeout(60)

TUE = date(2025, 6, 3)


def test_a_judged_day_gives_lateness_absence_and_leaving_the_post(rules, calendar):
    punches = [at("2025-06-03", "08:47"), at("2025-06-03", "11:40")]  # late 17 min, left 20 min early
    found = v.from_day("S01", TUE, judge_day("S01", TUE, punches, rules, calendar))
    kinds = [(f.kind, f.source_key) for f in found]
    assert kinds == [
        (ViolationKind.LATE, "att:S01:2025-06-03:morning:08:30:late"),
        (ViolationKind.LEFT_POST, "att:S01:2025-06-03:morning:08:30:left_post"),
        (ViolationKind.ABSENT, "att:S01:2025-06-03:afternoon:14:30:absent"),  # no punch at all
    ]
    assert "迟到17分钟" in found[0].evidence and "签到 08:47" in found[0].evidence
    assert "早退20分钟" in found[1].evidence and "无打卡记录" in found[2].evidence
    # Leave excuses the afternoon; a missing punch alone is no violation.
    leave = [Leave("S01", LeaveKind.PERSONAL, at("2025-06-03", "14:00"), at("2025-06-03", "18:00"))]
    found = v.from_day("S01", TUE, judge_day("S01", TUE, [at("2025-06-03", "08:20")], rules, calendar, leaves=leave))
    assert found == []


def test_a_rating_at_the_complaint_level_is_a_conduct_complaint():
    f = v.from_rating("S01", "FGJ-2025-0001", 1, TUE, max_score=1)
    assert f is not None and f.kind is ViolationKind.CONDUCT and f.source_key == "rating:FGJ-2025-0001"
    assert "非常不满意" in f.evidence and f.receipt_no == "FGJ-2025-0001"
    assert v.from_rating("S01", "FGJ-2025-0001", 2, TUE, max_score=1) is None
    assert v.from_rating("S01", "FGJ-2025-0001", 1, TUE, max_score=0) is None  # switched off


def test_counts_per_unit_leave_withdrawn_ones_apart():
    facts = [v.ViolationFact("1", "S01", "FGJ", ViolationKind.LATE, TUE),
             v.ViolationFact("2", "S01", "FGJ", ViolationKind.ABSENT, TUE),
             v.ViolationFact("3", "S02", "FGJ", ViolationKind.CONDUCT, TUE),
             v.ViolationFact("4", "S03", "SCJ", ViolationKind.LATE, TUE, withdrawn=True)]
    units = v.counts_by_unit(facts, {"FGJ": "发展和改革局"})
    assert [(u.unit_code, u.unit_name, u.total, len(u.staff), u.withdrawn) for u in units] == [
        ("FGJ", "发展和改革局", 3, 2, 0), ("SCJ", "SCJ", 0, 0, 1)]
    assert units[0].by_kind == {"late": 1, "absent": 1, "left_post": 0, "conduct": 1, "inspection": 0}
    assert v.by_staff(facts) == {"S01": 2, "S02": 1}


def test_the_proposed_grade_follows_the_formula_and_the_settings():
    s = a.AssessmentSettings()
    parts = AssessmentParts(attendance_score=100, satisfaction_index=75, on_time_rate=1.0, violations=0, awards=2)
    # (0.3×100 + 0.3×75 + 0.4×100) ÷ 1.0 = 92.5, + 2×2 = 96.5
    p = a.propose("S01", "张伟", "FGJ", "发展和改革局", "01", parts, s)
    assert (p.score, p.grade, p.grade_label) == (96.5, AssessmentGrade.EXCELLENT, "优秀")
    assert "违规违章" in p.formula and "优秀：≥90分" in p.formula
    # One violation: 93.5, but 优秀 allows none -> 称职.
    one = parts.model_copy(update={"violations": 1})
    assert (a.score(one, s), a.grade(a.score(one, s), 1, s)) == (93.5, AssessmentGrade.COMPETENT)
    # Parts without data are left out: attendance 70 alone -> 70 -> 基本称职; nothing -> no proposal.
    assert a.grade(a.score(AssessmentParts(attendance_score=70, violations=0, awards=0), s), 0, s) \
        is AssessmentGrade.BASICALLY_COMPETENT
    assert a.score(AssessmentParts(violations=3, awards=0), s) is None
    # Floored at 0, 不称职 below 60; awards capped.
    bad = AssessmentParts(attendance_score=50, violations=30, awards=0)
    assert (a.score(bad, s), a.grade(a.score(bad, s), 30, s)) == (0.0, AssessmentGrade.INCOMPETENT)
    assert a.score(AssessmentParts(attendance_score=50, violations=0, awards=100), s) == 56.0
    strict = a.AssessmentSettings(excellent_min=97, competent_min=80, basic_min=70, award_bonus=0)
    assert a.grade(a.score(parts, strict), 0, strict) is AssessmentGrade.COMPETENT
    with pytest.raises(ValueError):
        a.AssessmentSettings(excellent_min=50, competent_min=75)


def test_decided_once_appealed_once_then_final():
    assert a.next_step(False, False, False) == a.Step.FIRST
    with pytest.raises(InvalidState):
        a.next_step(True, False, False)  # decided, no appeal: nothing to decide
    assert a.next_step(True, True, False) == a.Step.APPEAL
    with pytest.raises(InvalidState):
        a.next_step(True, True, True)  # the appeal was decided: final
    with pytest.raises(InvalidState):
        a.check_appeal(False, False)   # nothing decided yet
    a.check_appeal(True, False)
    with pytest.raises(InvalidState):
        a.check_appeal(True, True)     # once only
