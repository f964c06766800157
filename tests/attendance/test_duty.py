"""AB posts and weekend duty coverage: the duty gap in a weekend scenario."""

from datetime import UTC, date, datetime, time

from contracts.attendance import DutyGapDetected
from services.attendance.domain import AttendanceRules, Hours, SessionKind, SessionStatus, judge_day
from services.attendance.domain.duty import coverage, due_gaps, duty_slots, gap_event, resolved_event

from .conftest import at, roster_entry

SAT = date(2025, 6, 7)


def test_weekend_slots_from_posts_and_roster(rules, calendar, posts):
    roster = [roster_entry("2025-06-07", "03", "S09", "08:30", "12:30")]
    slots = duty_slots(SAT, posts, roster, rules, calendar)
    keys = sorted(s.key for s in slots)
    # Windows 01 and 02 get the default weekend shifts; 03's roster replaces them; 04 has none.
    assert keys == ["01/2025-06-07/09:00", "01/2025-06-07/14:00", "02/2025-06-07/09:00",
                    "02/2025-06-07/14:00", "03/2025-06-07/08:30"]
    w3 = next(s for s in slots if s.window_no == "03")
    assert w3.expected == ("S05", "S06", "S09")
    assert w3.closing == time(12, 30)
    # Working days have no weekend slots, unless explicitly rostered.
    assert duty_slots(date(2025, 6, 3), posts, [], rules, calendar) == []


def test_public_holiday_serves_only_when_the_setting_says_so(calendar, posts):
    assert duty_slots(date(2025, 10, 1), posts, [], AttendanceRules(), calendar) == []
    on = AttendanceRules(serve_on_public_holidays=True, weekend_shifts=[Hours(start=time(9), end=time(16))])
    assert len(duty_slots(date(2025, 10, 1), posts, [], on, calendar)) == 3


def test_ab_gap_fires_in_a_weekend_scenario(rules, calendar, posts, staff):
    """Saturday morning: 01's A arrives, 02's B stands in a few minutes late, 03's rostered
    stand-in arrives, 04 has no weekend service — and 02 in the afternoon nobody comes."""
    roster = [roster_entry("2025-06-07", "03", "S09")]
    punches = {
        "S01": [at("2025-06-07", "08:52")],
        "S04": [at("2025-06-07", "09:11")],            # within the 15-minute grace
        "S09": [at("2025-06-07", "08:58")],
        "S07": [at("2025-06-07", "09:00")],            # window 04 does not serve: irrelevant
    }
    slots = duty_slots(SAT, posts, roster, rules, calendar)

    # Before the grace is over nothing is due yet.
    assert due_gaps(slots, punches, rules, at("2025-06-07", "09:10")) == []

    gaps = due_gaps(slots, punches, rules, at("2025-06-07", "09:16"))
    assert gaps == []  # all morning slots are covered in time

    # The afternoon: window 01's A comes back, nobody of 02.
    punches["S01"].append(at("2025-06-07", "13:55"))
    gaps = due_gaps(slots, punches, rules, at("2025-06-07", "14:20"))
    assert [(g.slot.window_no, g.slot.opening) for g in gaps] == [("02", time(14))]

    event = gap_event(gaps[0], {s.staff_id: s for s in staff}, rules, datetime(2025, 6, 7, 6, 20, tzinfo=UTC))
    assert isinstance(event, DutyGapDetected)
    assert event.key() == "02"
    assert (event.post_a.name, event.post_b.name) == ("李娜", "刘洋")
    assert event.grace_minutes == 15 and event.time_zone == "Asia/Shanghai"
    assert event.opening_time == time(14) and event.day == SAT

    # A gap found after closing is history, not an alert.
    assert due_gaps(slots, punches, rules, at("2025-06-07", "17:01")) == []


def test_late_arrival_resolves_the_gap(rules, calendar, posts, staff):
    slots = [s for s in duty_slots(SAT, posts, [], rules, calendar) if s.window_no == "02"]
    morning = slots[0]
    punches = {"S03": [at("2025-06-07", "09:40")]}
    c = coverage(morning, punches, rules)
    assert not c.in_grace and c.first_arrival == ("S03", at("2025-06-07", "09:40"))
    assert c.minutes_late == 40
    resolved = resolved_event(c, {s.staff_id: s for s in staff}, rules)
    assert resolved.staff.name == "李娜" and resolved.minutes_late == 40
    assert resolved.punched_at.utcoffset().total_seconds() == 8 * 3600
    # Punches long before opening or by people not on the window do not count.
    assert not coverage(morning, {"S03": [at("2025-06-07", "07:00")], "S01": [at("2025-06-07", "09:00")]},
                        rules).in_grace


def test_rostered_person_owes_the_duty_shift(rules, calendar):
    roster = [roster_entry("2025-06-07", "03", "S09", "09:00", "12:00")]
    served = judge_day("S09", SAT, [at("2025-06-07", "08:55"), at("2025-06-07", "12:03")], rules, calendar,
                       roster=roster)
    assert [(r.session.kind, r.status, r.session.ref) for r in served] == [
        (SessionKind.DUTY, SessionStatus.ON_TIME, "03")]
    missed = judge_day("S09", SAT, [], rules, calendar, roster=roster)
    assert missed[0].status is SessionStatus.ABSENT
