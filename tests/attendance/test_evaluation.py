"""The evaluation formula, the awards and the published event."""

from datetime import UTC, datetime

import pytest

from contracts.attendance import RankingPublished
from contracts.envelope import Envelope, parse
from services.attendance.domain import WindowPosts
from services.attendance.domain.monthly import PersonMonth, WindowMonth
from services.attendance.domain.evaluation import (
    CaseOutcome,
    EvaluationSettings,
    NoticeFact,
    Parts,
    RatingFact,
    evaluate,
    formula_text,
    ranking_event,
    score,
)

from .conftest import STAFF

T = datetime(2025, 6, 15, 10, tzinfo=UTC)


def person(sid, window, *, on_time=40, irregular=0, absent=0):
    s = next(m for m in STAFF if m.staff_id == sid)
    pm = PersonMonth(s.staff_id, s.name, s.unit_code, s.unit_name, window)
    pm.required_sessions = on_time + irregular + absent
    pm.on_time_sessions, pm.irregular_sessions, pm.absent_sessions = on_time, irregular, absent
    return pm


def window(no, unit, name, people, gaps=0):
    scores = [p.attendance_score for p in people if p.window_no == no]
    return WindowMonth(no, unit, name, duty_gaps=gaps, attendance_score=sum(scores) / len(scores))


def outcomes(unit, total, on_time, staff_id=None, window_no=None):
    return [CaseOutcome(f"R{unit}{i:04d}", unit, T, i < on_time, window_no, staff_id) for i in range(total)]


def ratings(unit, scores, staff_id=None):
    return [RatingFact(f"R{unit}{i:04d}", unit, s, T, staff_id=staff_id) for i, s in enumerate(scores)]


def test_score_formula_by_hand():
    s = EvaluationSettings()
    parts = Parts(cases=10, cases_on_time=9, ratings=4, rating_sum=18, attendance_score=100.0)
    assert parts.on_time_rate == 0.9 and parts.satisfaction_index == 87.5
    assert score(parts, s) == pytest.approx(0.4 * 90 + 0.3 * 87.5 + 0.3 * 100)  # 92.25
    # A part without data is left out and the other weights renormalised.
    no_ratings = Parts(cases=5, cases_on_time=5, attendance_score=95.0)
    assert score(no_ratings, s) == pytest.approx(round((0.4 * 100 + 0.3 * 95) / 0.7, 2))
    # Each supervision notice costs the penalty; the score never goes below zero.
    no_ratings.supervision_notices = 1
    assert score(no_ratings, s) == pytest.approx(round((0.4 * 100 + 0.3 * 95) / 0.7 - 5, 2))
    assert score(Parts(cases=1, cases_on_time=0, supervision_notices=3), s) == 0.0
    assert score(Parts(), s) is None
    # Non-default weights are honoured.
    heavy = EvaluationSettings(on_time_weight=1, satisfaction_weight=0, attendance_weight=0)
    assert score(parts, heavy) == 90.0


def test_formula_text_shows_the_weights():
    text = formula_text(EvaluationSettings(on_time_weight=0.5, supervision_penalty=3), irregular_weight=0.6)
    assert "0.5×按时办结率" in text and "0.3×满意度指数" in text and "3×督办通知数" in text
    assert "非常满意5分" in text and "非常不满意1分" in text and "0.6×迟到" in text


@pytest.fixture
def month():
    posts = [
        WindowPosts("01", "FGJ", "发展和改革局", "S01", "S02"),
        WindowPosts("02", "SCJ", "市场监督管理局", "S03", "S04"),
        WindowPosts("03", "ZJJ", "住房和城乡建设局", "S05", "S06"),
        WindowPosts("04", "GTJ", "自然资源局", "S07", "S08"),
    ]
    people = [
        person("S01", "01"), person("S02", "01", on_time=38, irregular=2),
        person("S03", "02"), person("S04", "02", on_time=36, absent=1, irregular=3),
        person("S05", "03"), person("S06", "03"),
        person("S07", "04"), person("S08", "04"),
    ]
    windows = [window("01", "FGJ", "发展和改革局", people), window("02", "SCJ", "市场监督管理局", people),
               window("03", "ZJJ", "住房和城乡建设局", people),
               window("04", "GTJ", "自然资源局", people, gaps=1)]
    outs = (outcomes("FGJ", 10, 9) + outcomes("SCJ", 5, 5) + outcomes("GTJ", 8, 8)
            + outcomes("FGJ", 4, 4, staff_id="S02"))
    rates = ratings("FGJ", [5, 5, 4, 4]) + ratings("SCJ", [5, 5, 5]) + ratings("GTJ", [5, 5, 5, 5])
    notices = [NoticeFact("DB-2025-06-01", "SCJ", T, staff_id="S04")]
    return posts, people, windows, outs, rates, notices


def test_rankings_and_eligibility(month):
    posts, people, windows, outs, rates, notices = month
    ev = evaluate("2025-06", posts, STAFF, people, windows, outs, rates, notices,
                  EvaluationSettings(red_flag_count=2, service_star_count=3))
    by_no = {w.window_no: w for w in ev.windows}
    assert by_no["01"].parts.cases == 14 and by_no["01"].parts.cases_on_time == 13
    assert not by_no["02"].eligible and "本期有督办通知" in by_no["02"].reasons
    assert not by_no["03"].eligible and by_no["03"].parts.cases == 0
    assert not by_no["04"].eligible and "双休日出现空岗" in by_no["04"].reasons
    assert [w.window_no for w in ev.red_flag_windows] == ["01"]

    by_id = {p.staff_id: p for p in ev.people}
    # S02 has own cases (all on time) but no own ratings: ratings come from the window.
    assert by_id["S02"].parts.cases == 4 and by_id["S02"].parts.on_time_rate == 1.0
    assert by_id["S02"].parts.ratings == 4
    assert by_id["S02"].parts.attendance_score == 97.5
    # S04 was absent and supervised: no star.
    assert set(by_id["S04"].reasons) >= {"本期有旷工", "本期有督办通知"}
    # S05/S06's window had no cases and no ratings: their score is their attendance alone.
    assert by_id["S05"].score == 100.0
    stars = [p.staff_id for p in ev.service_stars]
    assert len(stars) == 3 and "S04" not in stars
    assert [p.score for p in ev.service_stars] == sorted((p.score for p in ev.service_stars), reverse=True)
    # GTJ: 8/8 on time, all 非常满意, full attendance: the best people.
    assert stars[:2] == ["S07", "S08"]


def test_unit_with_two_windows_shares_unattributed_facts():
    posts = [WindowPosts("05", "TAX", "税务局", None, None), WindowPosts("06", "TAX", "税务局", None, None)]
    ev = evaluate("2025-06", posts, [], [], [], outcomes("TAX", 3, 3) + outcomes("TAX", 1, 0, window_no="06"),
                  [], [], EvaluationSettings())
    cases = {w.window_no: (w.parts.cases, w.parts.cases_on_time) for w in ev.windows}
    assert cases == {"05": (3, 3), "06": (4, 3)}


def test_ranking_event_travels_as_a_cloudevent(month):
    posts, people, windows, outs, rates, notices = month
    ev = evaluate("2025-06", posts, STAFF, people, windows, outs, rates, notices, EvaluationSettings())
    event = ranking_event(ev)
    assert event.key() == "2025-06"
    assert event.red_flag_windows[0].window_no == "01" and event.red_flag_windows[0].rank == 1
    assert event.weights.on_time == 0.4 and "按时办结率" in event.formula
    env = Envelope.wrap(event)
    back = parse(env.kafka_headers(), env.body())
    assert isinstance(back.data, RankingPublished) and back.data == event
    # Public topic: names of officials yes, mobile numbers no.
    assert "13800000001" not in env.body().decode()
