"""Working hours, late/early/missing/absent, leave, training."""

from datetime import date, time

from services.attendance.domain import (
    AttendanceRules,
    Leave,
    LeaveKind,
    SessionKind,
    SessionStatus,
    TrainingSession,
    judge_day,
    planned_sessions,
    read_terminal_time,
    to_local,
    clock_suspect,
)

from .conftest import at

TUE = date(2025, 6, 3)
FRI = date(2025, 6, 6)


def statuses(results):
    return [(r.session.kind, r.status) for r in results]


def test_summer_and_winter_hours(rules, calendar):
    summer = planned_sessions("S01", TUE, rules, calendar)
    assert [(s.start, s.end) for s in summer] == [(time(8, 30), time(12)), (time(14, 30), time(17, 30))]
    winter = planned_sessions("S01", date(2025, 12, 2), rules, calendar)
    assert winter[1].start == time(14) and winter[1].end == time(17)
    # January falls in the season that began the previous October.
    assert planned_sessions("S01", date(2026, 1, 6), rules, calendar)[1].end == time(17)


def test_holidays_and_make_up_workdays(rules, calendar):
    assert planned_sessions("S01", date(2025, 6, 2), rules, calendar) == []    # Dragon Boat (observed)
    assert planned_sessions("S01", date(2025, 10, 1), rules, calendar) == []   # National Day
    assert len(planned_sessions("S01", date(2025, 9, 28), rules, calendar)) == 2  # Sunday make-up workday
    assert planned_sessions("S01", date(2025, 6, 7), rules, calendar) == []    # ordinary Saturday


def test_on_time_day(rules, calendar):
    punches = [at("2025-06-03", "08:21"), at("2025-06-03", "12:02"), at("2025-06-03", "14:25"),
               at("2025-06-03", "17:31")]
    res = judge_day("S01", TUE, punches, rules, calendar)
    assert statuses(res) == [(SessionKind.MORNING, SessionStatus.ON_TIME),
                             (SessionKind.AFTERNOON, SessionStatus.ON_TIME)]
    assert res[0].arrived == punches[0] and res[0].left == punches[1]


def test_late_within_grace_is_on_time_and_beyond_is_late(rules, calendar):
    res = judge_day("S01", TUE, [at("2025-06-03", "08:35"), at("2025-06-03", "12:00"),
                                 at("2025-06-03", "14:52"), at("2025-06-03", "17:30")], rules, calendar)
    assert res[0].status is SessionStatus.ON_TIME
    assert res[1].status is SessionStatus.LATE and res[1].late_minutes == 22
    assert res[1].note == "迟到22分钟"


def test_early_leave_and_both(rules, calendar):
    res = judge_day("S01", TUE, [at("2025-06-03", "08:50"), at("2025-06-03", "11:40"),
                                 at("2025-06-03", "14:30"), at("2025-06-03", "17:10")], rules, calendar)
    assert res[0].status is SessionStatus.LATE_AND_EARLY
    assert (res[0].late_minutes, res[0].early_minutes) == (20, 20)
    assert res[1].status is SessionStatus.EARLY_LEAVE and res[1].early_minutes == 20


def test_missing_punches(rules, calendar):
    res = judge_day("S01", TUE, [at("2025-06-03", "08:20"), at("2025-06-03", "17:35")], rules, calendar)
    # One punch per session: the morning one is an arrival, the afternoon one a departure.
    assert res[0].status is SessionStatus.MISSING_PUNCH and res[0].missing_out and not res[0].missing_in
    assert res[1].status is SessionStatus.MISSING_PUNCH and res[1].missing_in and not res[1].missing_out
    assert res[1].note == "上班缺卡"


def test_absent_without_punches_and_when_far_too_late(rules, calendar):
    res = judge_day("S01", TUE, [at("2025-06-03", "15:45"), at("2025-06-03", "17:30")], rules, calendar)
    assert res[0].status is SessionStatus.ABSENT and res[0].arrived is None
    assert res[1].status is SessionStatus.ABSENT and res[1].late_minutes == 75  # over the 60-minute limit


def test_repeated_punches_collapse(rules, calendar):
    res = judge_day("S01", TUE, [at("2025-06-03", "08:20"), at("2025-06-03", "08:21"),
                                 at("2025-06-03", "08:22")], rules, calendar)
    assert res[0].status is SessionStatus.MISSING_PUNCH and res[0].missing_out


def test_leave_excuses_the_sessions_it_overlaps(rules, calendar):
    leave = Leave("S01", LeaveKind.SICK, at("2025-06-03", "08:30"), at("2025-06-03", "12:00"))
    res = judge_day("S01", TUE, [at("2025-06-03", "14:28"), at("2025-06-03", "17:33")], rules, calendar,
                    leaves=[leave])
    assert res[0].status is SessionStatus.LEAVE and res[0].leave is LeaveKind.SICK
    assert res[0].note == "请假（病假）"
    assert res[1].status is SessionStatus.ON_TIME
    # Someone else's leave does not excuse anybody.
    other = judge_day("S02", TUE, [], rules, calendar, leaves=[leave])
    assert [r.status for r in other] == [SessionStatus.ABSENT, SessionStatus.ABSENT]
    # Unapproved leave excuses nothing.
    pending = Leave("S01", LeaveKind.PERSONAL, at("2025-06-03", "08:00"), at("2025-06-03", "18:00"), approved=False)
    assert judge_day("S01", TUE, [], rules, calendar, leaves=[pending])[0].status is SessionStatus.ABSENT


def test_friday_training_replaces_the_afternoon(rules, calendar):
    training = TrainingSession("T0606", FRI, time(15), time(17), "政务服务规范化培训")
    on_time = judge_day("S01", FRI, [at("2025-06-06", "08:25"), at("2025-06-06", "12:01"),
                                     at("2025-06-06", "14:58")], rules, calendar, trainings=[training])
    assert statuses(on_time) == [(SessionKind.MORNING, SessionStatus.ON_TIME),
                                 (SessionKind.TRAINING, SessionStatus.ON_TIME)]
    assert not on_time[1].missing_out  # a training wants a sign-in only
    late = judge_day("S01", FRI, [at("2025-06-06", "08:25"), at("2025-06-06", "12:01"),
                                  at("2025-06-06", "15:12")], rules, calendar, trainings=[training])
    assert late[1].status is SessionStatus.LATE and late[1].late_minutes == 12
    missed = judge_day("S01", FRI, [at("2025-06-06", "08:25"), at("2025-06-06", "12:01")], rules, calendar,
                       trainings=[training])
    assert missed[1].status is SessionStatus.ABSENT
    # A training for another unit's staff leaves the normal afternoon in place.
    only_scj = TrainingSession("T2", FRI, time(15), time(17), "市场监管业务", frozenset({"S03"}))
    assert planned_sessions("S01", FRI, rules, calendar, [only_scj])[1].kind is SessionKind.AFTERNOON


def test_sessions_not_over_are_not_owed(rules, calendar):
    res = judge_day("S01", TUE, [at("2025-06-03", "08:29")], rules, calendar, as_of=at("2025-06-03", "13:00"))
    assert [r.session.kind for r in res] == [SessionKind.MORNING]


def test_custom_rules_change_the_outcome(calendar):
    strict = AttendanceRules(late_grace_minutes=0, absent_after_minutes=30)
    res = judge_day("S01", TUE, [at("2025-06-03", "08:31"), at("2025-06-03", "12:00"),
                                 at("2025-06-03", "15:05"), at("2025-06-03", "17:30")], strict, calendar)
    assert res[0].status is SessionStatus.LATE
    assert res[1].status is SessionStatus.ABSENT


def test_terminal_time_is_read_in_the_device_zone(rules):
    local = at("2025-06-03", "08:25")
    shanghai = read_terminal_time(local, "Asia/Shanghai")
    assert shanghai.utcoffset().total_seconds() == 8 * 3600
    urumqi = read_terminal_time(local, "Asia/Urumqi")  # a terminal set to Xinjiang time
    assert to_local(urumqi, rules.zone) == at("2025-06-03", "10:25")
    assert read_terminal_time(local, None) == shanghai


def test_clock_suspect():
    now = at("2025-06-03", "09:00")
    assert clock_suspect(at("2000-01-01", "00:00"), now)
    assert clock_suspect(at("2025-06-04", "09:00"), now)
    assert not clock_suspect(at("2025-06-03", "08:59"), now)
    assert not clock_suspect(at("2023-01-03", "08:59"), now)  # history uploaded again


def test_friday_trainings_skip_holidays(calendar):
    from services.attendance.domain import friday_trainings

    oct_ = friday_trainings(2025, 10, calendar, time(15), time(17))
    assert [t.day.day for t in oct_] == [10, 17, 24, 31]  # 3 October is in the National Day break
    assert oct_[0].session_id == "T20251010" and oct_[0].staff_ids is None


def test_a_festival_on_a_weekend_is_a_holiday_not_a_weekend_service_day() -> None:
    """Dragon Boat 2025 fell on Saturday 31 May: a statutory holiday, though no working day is
    lost to it (the calendar gives no weekday off in its place)."""
    from datetime import date

    from services.attendance.domain import is_statutory_holiday
    from services.runtime.workdays import national_calendar

    cal = national_calendar()
    assert is_statutory_holiday(date(2025, 5, 31), cal)
    assert not is_statutory_holiday(date(2025, 6, 7), cal)  # an ordinary Saturday
    assert is_statutory_holiday(date(2025, 10, 1), cal)  # National Day, a Wednesday
    assert not is_statutory_holiday(date(2025, 9, 30), cal)
