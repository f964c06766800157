"""AB posts on weekdays (issue 22 item 8): when the A post is absent (on leave, or no punch by
opening) the B post is expected; a window with neither raises the same duty gap as on weekends."""

from datetime import UTC, date, datetime, time

import pytest

from contracts.attendance import DutyGapDetected
from services.attendance.domain import AttendanceRules, Leave, LeaveKind, TrainingSession
from services.attendance.domain.duty import coverage, day_slots, due_gaps, gap_event, weekday_slots

from .conftest import at, roster_entry

pytestmark = pytest.mark.timeout(60)

TUE = date(2025, 6, 3)


def _leave(staff_id: str, start: str, end: str) -> Leave:
    return Leave(staff_id, LeaveKind.SICK, datetime.fromisoformat(start), datetime.fromisoformat(end))


def test_each_office_session_of_a_working_day_is_a_slot_of_every_window_with_posts(rules, calendar, posts):
    slots = weekday_slots(TUE, posts, [], rules, calendar)
    assert sorted((s.window_no, s.opening, s.closing) for s in slots) == [
        (w, o, c) for w in ("01", "02", "03", "04") for o, c in ((time(8, 30), time(12)), (time(14, 30), time(17, 30)))]
    assert all(s.weekday and s.expected == (s.post_a, s.post_b) for s in slots)
    # Not on a rest day, nor when the setting is off; a statutory holiday is no working day.
    assert weekday_slots(date(2025, 6, 7), posts, [], rules, calendar) == []
    assert weekday_slots(date(2025, 10, 1), posts, [], rules, calendar) == []
    assert weekday_slots(TUE, posts, [], AttendanceRules(weekday_ab_posts=False), calendar) == []


def test_a_on_leave_b_stands_in_and_neither_is_a_gap(rules, calendar, posts, staff):
    leaves = [_leave("S01", "2025-06-03T00:00", "2025-06-04T00:00"),   # 01's A sick all day
              _leave("S05", "2025-06-03T08:00", "2025-06-03T12:30"),   # 03's A away in the morning
              _leave("S06", "2025-06-03T08:00", "2025-06-03T12:30")]   # ... and 03's B too
    slots = [s for s in weekday_slots(TUE, posts, [], rules, calendar, leaves=leaves) if s.opening == time(8, 30)]
    by = {s.window_no: s for s in slots}
    assert by["01"].on_leave == ("S01",) and by["03"].on_leave == ("S05", "S06") and by["02"].on_leave == ()
    punches = {
        "S02": [at("2025-06-03", "08:41")],   # 01's B stands in within the grace
        "S03": [at("2025-06-03", "08:25")],   # 02's A on time
        "S08": [at("2025-06-03", "08:50")],   # 04's B, 20 minutes after opening: too late
    }
    assert due_gaps(slots, punches, rules, at("2025-06-03", "08:44")) == []  # within the grace
    gaps = due_gaps(slots, punches, rules, at("2025-06-03", "08:46"))
    assert [g.slot.window_no for g in gaps] == ["03", "04"]
    event = gap_event(gaps[0], {s.staff_id: s for s in staff}, rules, datetime(2025, 6, 3, 0, 46, tzinfo=UTC))
    assert isinstance(event, DutyGapDetected)
    assert event.weekday and event.on_leave == ["S05", "S06"] and event.key() == "03"
    assert (event.post_a.name, event.post_b.name, event.opening_time) == ("陈静", "杨磊", time(8, 30))
    # 04's B arrived late: covered afterwards (the watcher resolves the alert).
    late = coverage(next(s for s in slots if s.window_no == "04"), punches, rules)
    assert late.first_arrival == ("S08", at("2025-06-03", "08:50")) and not late.in_grace


def test_training_for_everybody_and_a_roster_replace_the_sessions(rules, calendar, posts):
    fri = date(2025, 6, 6)
    everybody = [TrainingSession("T20250606", fri, time(15), time(17), "集中学习培训")]
    slots = weekday_slots(fri, posts, [], rules, calendar, trainings=everybody)
    assert {s.opening for s in slots} == {time(8, 30)}  # the hall studies in the afternoon
    some = [TrainingSession("T1", fri, time(15), time(17), "业务培训", frozenset({"S01"}))]
    assert {s.opening for s in weekday_slots(fri, posts, [], rules, calendar, trainings=some)} == {
        time(8, 30), time(14, 30)}
    # A window rostered that day keeps its roster's shift (and no weekday session slots).
    roster = [roster_entry("2025-06-03", "02", "S09", "08:00", "18:00")]
    slots = day_slots(TUE, posts, roster, rules, calendar)
    w2 = [s for s in slots if s.window_no == "02"]
    assert [(s.opening, s.weekday, s.rostered) for s in w2] == [(time(8), False, ("S09",))]
    assert len(slots) == 1 + 3 * 2
