"""A case's clock: start, stops, extensions, reported-up, end, yellow and red cards."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from contracts.common import CaseKind
from contracts.deadline import (
    ClockEnded,
    ClockResumed,
    ClockStarted,
    ClockStopped,
    DeadlineMissed,
    DeadlineWarned,
    DueDateChanged,
    DueDateChangeReason,
    ExtensionGranted,
    StopReason,
)
from services.deadline.domain.calendar import CalendarBook, WorkCalendar
from services.deadline.domain import OVERDUE, Clock, DeadlineError, recompute_all, start_of_day, warn_key

from .helpers import hypothetical_2027_schedule, local


def start(
    cal: WorkCalendar, accepted=None, promised: int = 10, statutory: int = 20, kind=CaseKind.PROMISED,
    receipt_no: str = "SP2025092600001",
) -> Clock:
    clock, events = Clock.start(
        cal,
        receipt_no=receipt_no,
        unit_code="MARKET",
        item_code="MKT.001",
        case_kind=kind,
        accepted_at=accepted or local(2025, 9, 26, 10),
        promised_days=promised,
        statutory_days=statutory,
        item_version=3,
    )
    assert len(events) == 1 and isinstance(events[0], ClockStarted)
    return clock


def test_start_friday_before_national_day(cal: WorkCalendar) -> None:
    # Hand computation in test_calendar: accepted Fri 26 Sep 2025, 10 working days -> Thu 16
    # Oct 2025. 20 statutory days: ... 16 Oct -> 10, Fri 17 -> 11, 20-24 Oct -> 16,
    # 27-30 Oct -> 20: Thu 30 Oct 2025.
    clock, events = Clock.start(
        cal,
        receipt_no="SP2025092600001",
        unit_code="MARKET",
        item_code="MKT.001",
        case_kind=CaseKind.PROMISED,
        accepted_at=local(2025, 9, 26, 16, 30),
        promised_days=10,
        statutory_days=20,
    )
    started = events[0]
    assert isinstance(started, ClockStarted)
    assert started.due_date == date(2025, 10, 16)
    assert started.statutory_due_date == date(2025, 10, 30)
    assert started.provisional is False
    assert clock.running


def test_acceptance_late_in_the_evening_utc_is_a_local_date(cal: WorkCalendar) -> None:
    from datetime import UTC, datetime

    # 17:00 UTC on Thursday 25 Sep is 01:00 on Friday 26 Sep in the county.
    clock = start(cal, accepted=datetime(2025, 9, 25, 17, 0, tzinfo=UTC))
    assert clock.accepted_on == date(2025, 9, 26)
    assert clock.due_date == date(2025, 10, 16)


def test_stop_moves_the_due_date_by_the_working_days_stopped(cal: WorkCalendar) -> None:
    clock = start(cal)
    # Supplement requested Mon 29 Sep, provided Fri 10 Oct. The stop covers (29 Sep, 10 Oct]:
    # Tue 30 Sep, Thu 9 Oct, Fri 10 Oct = 3 working days (1-8 Oct are holidays).
    # Due Thu 16 Oct + 3 working days: Fri 17, Mon 20, Tue 21 Oct.
    events = clock.stop(cal, stop_id="sup-1", reason=StopReason.SUPPLEMENT, at=local(2025, 9, 29, 15))
    assert [type(e) for e in events] == [ClockStopped]
    assert clock.stopped and not clock.running
    assert clock.due_at() is None and clock.next_warning_at(cal, [2]) is None

    events = clock.resume(cal, reason=StopReason.SUPPLEMENT, at=local(2025, 10, 10, 9))
    resumed, moved = events
    assert isinstance(resumed, ClockResumed) and resumed.working_days_stopped == 3
    assert isinstance(moved, DueDateChanged)
    assert (moved.old_due_date, moved.new_due_date) == (date(2025, 10, 16), date(2025, 10, 21))
    assert moved.reason is DueDateChangeReason.STOP
    assert clock.due_date == date(2025, 10, 21)
    # Statutory: Thu 30 Oct + 3 -> Fri 31 Oct, Mon 3, Tue 4 Nov.
    assert clock.statutory_due_date == date(2025, 11, 4)


def test_stop_and_resume_on_the_same_day_stops_nothing(cal: WorkCalendar) -> None:
    clock = start(cal)
    clock.stop(cal, stop_id="h", reason=StopReason.HEARING, at=local(2025, 10, 13, 9))
    events = clock.resume(cal, stop_id="h", at=local(2025, 10, 13, 17))
    assert [type(e) for e in events] == [ClockResumed]
    assert events[0].working_days_stopped == 0
    assert clock.due_date == date(2025, 10, 16)


def test_overlapping_stops_count_each_day_once(cal: WorkCalendar) -> None:
    clock = start(cal)
    # Testing from Mon 13 Oct to Fri 17 Oct, a hearing from Wed 15 Oct to Tue 21 Oct.
    # Union: (13 Oct, 21 Oct] = 14, 15, 16, 17, 20, 21 Oct = 6 working days.
    clock.stop(cal, stop_id="t", reason=StopReason.TESTING, at=local(2025, 10, 13))
    clock.stop(cal, stop_id="h", reason=StopReason.HEARING, at=local(2025, 10, 15))
    first = clock.resume(cal, stop_id="t", at=local(2025, 10, 17))
    assert first[0].working_days_stopped == 4  # 14-17 Oct
    assert clock.stopped  # the hearing still runs
    second = clock.resume(cal, stop_id="h", at=local(2025, 10, 21))
    assert second[0].working_days_stopped == 2  # 20, 21 Oct (15-17 already stopped)
    assert clock.stopped_days(cal) == 6
    assert clock.due_date == cal.add_working_days(date(2025, 9, 26), 16)


def test_reported_up_case_excludes_the_time_at_the_higher_authority(cal: WorkCalendar) -> None:
    clock = start(cal, accepted=local(2025, 11, 3), promised=5, statutory=20, kind=CaseKind.REPORTED_UP)
    assert clock.due_date == date(2025, 11, 10)
    clock.stop(cal, stop_id="fwd-1", reason=StopReason.HIGHER_AUTHORITY, at=local(2025, 11, 4))
    # The answer comes on Tue 18 Nov: (4 Nov, 18 Nov] = 5-7, 10-14, 17-18 Nov = 10 working days.
    events = clock.resume(cal, reason=StopReason.HIGHER_AUTHORITY, at=local(2025, 11, 18))
    assert events[0].working_days_stopped == 10
    assert clock.due_date == date(2025, 11, 24)  # Mon 10 Nov + 10 working days


def test_extension_moves_the_due_date_exactly(cal: WorkCalendar) -> None:
    clock = start(cal)
    events = clock.extend(cal, extension_id="ext-1", days=5, approved_by="王建国", reason="需现场核查", at=local(2025, 10, 14))
    granted, moved = events
    assert isinstance(granted, ExtensionGranted)
    assert granted.approved_by == "王建国" and granted.days == 5
    # Thu 16 Oct + 5 working days: 17, 20, 21, 22, 23 Oct.
    assert granted.new_due_date == date(2025, 10, 23)
    assert moved.reason is DueDateChangeReason.EXTENSION
    assert clock.limit_days == 15
    # Same extension id again (redelivery): nothing.
    assert clock.extend(cal, extension_id="ext-1", days=5, approved_by="王建国", reason="需现场核查", at=local(2025, 10, 14)) == []
    assert clock.due_date == date(2025, 10, 23)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"days": 0, "approved_by": "a", "reason": "r"}, "days"),
        ({"days": 3, "approved_by": " ", "reason": "r"}, "approved_by"),
        ({"days": 3, "approved_by": "a", "reason": ""}, "reason"),
    ],
)
def test_extension_needs_days_a_named_approver_and_a_reason(cal: WorkCalendar, kwargs, field) -> None:
    clock = start(cal)
    with pytest.raises(DeadlineError) as err:
        clock.extend(cal, extension_id="x", at=local(2025, 10, 1), **kwargs)
    assert err.value.field == field


def test_end_on_time_with_stop_and_extension(cal: WorkCalendar) -> None:
    clock = start(cal)
    clock.stop(cal, stop_id="s", reason=StopReason.SUPPLEMENT, at=local(2025, 9, 29, 15))
    clock.resume(cal, reason=StopReason.SUPPLEMENT, at=local(2025, 10, 10, 9))
    clock.extend(cal, extension_id="e", days=5, approved_by="王建国", reason="r", at=local(2025, 10, 15))
    assert clock.due_date == date(2025, 10, 28)
    (ended,) = clock.end(cal, decided_at=local(2025, 10, 28, 16), outcome="approved")
    assert isinstance(ended, ClockEnded)
    # (26 Sep, 28 Oct] holds 18 working days; 3 were stopped: 15 used = 10 promised + 5 extended.
    assert ended.working_days_used == 15
    assert ended.working_days_stopped == 3
    assert ended.on_time and ended.within_statutory and ended.late_working_days == 0
    assert clock.ended and not clock.running
    assert clock.end(cal, decided_at=local(2025, 10, 29), outcome="approved") == []
    with pytest.raises(DeadlineError):
        clock.extend(cal, extension_id="e2", days=1, approved_by="a", reason="r", at=local(2025, 10, 29))


def test_end_late(cal: WorkCalendar) -> None:
    clock = start(cal)
    (ended,) = clock.end(cal, decided_at=local(2025, 10, 21, 9), outcome="approved")
    assert not ended.on_time
    assert ended.late_working_days == 3  # 17, 20, 21 Oct
    assert ended.working_days_used == 13
    assert ended.within_statutory


def test_decided_on_the_weekend_after_the_due_friday_is_late(cal: WorkCalendar) -> None:
    clock = start(cal, accepted=local(2025, 11, 3), promised=4)  # due Fri 7 Nov
    (ended,) = clock.end(cal, decided_at=local(2025, 11, 8), outcome="approved")
    assert not ended.on_time and ended.late_working_days == 0 and ended.working_days_used == 4


def test_decision_while_stopped_closes_the_stop(cal: WorkCalendar) -> None:
    clock = start(cal)
    clock.stop(cal, stop_id="s", reason=StopReason.SUPPLEMENT, at=local(2025, 10, 13))
    (ended,) = clock.end(cal, decided_at=local(2025, 10, 15), outcome="not_approved")
    # Stopped 14, 15 Oct; used: (26 Sep, 15 Oct] = 9 working days - 2 = 7.
    assert ended.working_days_stopped == 2 and ended.working_days_used == 7 and ended.on_time


def test_immediate_item(cal: WorkCalendar) -> None:
    clock = start(cal, accepted=local(2025, 11, 3, 9), promised=0, statutory=0, kind=CaseKind.IMMEDIATE)
    assert clock.due_date == date(2025, 11, 3)
    assert clock.thresholds_in_use([2, 1]) == []
    assert clock.next_warning_at(cal, [2]) is None
    assert clock.due_at() == start_of_day(date(2025, 11, 4))
    (ended,) = clock.end(cal, decided_at=local(2025, 11, 3, 9, 20), outcome="approved")
    assert ended.on_time and ended.working_days_used == 0


def test_stop_rules(cal: WorkCalendar) -> None:
    clock = start(cal)
    with pytest.raises(DeadlineError) as err:
        clock.stop(cal, stop_id="s", reason=StopReason.OTHER, at=local(2025, 9, 20))
    assert err.value.field == "started_at"
    clock.stop(cal, stop_id="s", reason=StopReason.OTHER, at=local(2025, 10, 13))
    assert clock.stop(cal, stop_id="s", reason=StopReason.OTHER, at=local(2025, 10, 13)) == []  # redelivery
    with pytest.raises(DeadlineError):
        clock.resume(cal, stop_id="s", at=local(2025, 10, 12))
    assert clock.resume(cal, reason=StopReason.SUPPLEMENT, at=local(2025, 10, 14)) == []  # no such open stop
    assert len(clock.resume(cal, stop_id="s", at=local(2025, 10, 14))) == 2
    assert clock.resume(cal, stop_id="s", at=local(2025, 10, 14)) == []  # redelivery


# ---------------------------------------------------------------------------------------------
# Yellow and red cards


def test_yellow_card_fires_once_then_red_card_once(cal: WorkCalendar) -> None:
    clock = start(cal)  # due Thu 16 Oct 2025
    # Two working days left on Tue 14 Oct (15 and 16 Oct): the yellow card is due at 00:00.
    assert clock.warning_day(cal, 2) == date(2025, 10, 14)
    assert clock.next_warning_at(cal, [2]) == start_of_day(date(2025, 10, 14))
    assert clock.due_at() == start_of_day(date(2025, 10, 17))

    assert clock.check_alerts(cal, now=local(2025, 10, 13, 23, 59), thresholds=[2]) == []
    (warned,) = clock.check_alerts(cal, now=local(2025, 10, 14, 0, 0), thresholds=[2])
    assert isinstance(warned, DeadlineWarned) and warned.threshold_days == 2 and warned.days_left == 2
    assert clock.check_alerts(cal, now=local(2025, 10, 15, 9), thresholds=[2]) == []
    assert clock.next_warning_at(cal, [2]) is None

    assert clock.check_alerts(cal, now=local(2025, 10, 16, 23, 59), thresholds=[2]) == []
    (overdue,) = clock.check_alerts(cal, now=local(2025, 10, 17, 0, 0), thresholds=[2])
    assert isinstance(overdue, DeadlineMissed) and overdue.due_date == date(2025, 10, 16)
    assert clock.check_alerts(cal, now=local(2025, 10, 20), thresholds=[2]) == []
    assert clock.fired == {warn_key(2), OVERDUE}
    assert clock.due_at() is None


def test_several_thresholds(cal: WorkCalendar) -> None:
    clock = start(cal)
    (w3,) = clock.check_alerts(cal, now=local(2025, 10, 13, 8), thresholds=[3, 1])
    assert w3.threshold_days == 3
    assert clock.next_warning_at(cal, [3, 1]) == start_of_day(date(2025, 10, 15))
    (w1,) = clock.check_alerts(cal, now=local(2025, 10, 15, 8), thresholds=[3, 1])
    assert w1.threshold_days == 1


def test_red_card_supersedes_skipped_yellow_cards(cal: WorkCalendar) -> None:
    clock = start(cal)
    # The watcher was down until after the due date: only the red card is sent.
    events = clock.check_alerts(cal, now=local(2025, 10, 20, 9), thresholds=[2])
    assert [type(e) for e in events] == [DeadlineMissed]
    assert clock.fired == {warn_key(2), OVERDUE}


def test_no_cards_while_stopped(cal: WorkCalendar) -> None:
    clock = start(cal)
    clock.stop(cal, stop_id="s", reason=StopReason.EXPERT_REVIEW, at=local(2025, 10, 13))
    assert clock.check_alerts(cal, now=local(2025, 10, 30), thresholds=[2]) == []
    clock.resume(cal, stop_id="s", at=local(2025, 10, 31))
    # (13, 31 Oct] = 14 working days stopped: due moves from 16 Oct to 5 Nov.
    assert clock.due_date == date(2025, 11, 5)
    events = clock.check_alerts(cal, now=local(2025, 11, 3, 8), thresholds=[2])
    assert [type(e) for e in events] == [DeadlineWarned]


def test_cards_survive_a_restart_through_the_fired_record(cal: WorkCalendar) -> None:
    clock = start(cal)
    clock.check_alerts(cal, now=local(2025, 10, 14), thresholds=[2])
    # A restart rebuilds the clock from the store with its fired record.
    again = Clock(**{**clock.__dict__, "fired": set(clock.fired)})
    assert again.check_alerts(cal, now=local(2025, 10, 14, 1), thresholds=[2]) == []


def test_no_yellow_card_for_thresholds_not_below_the_limit(cal: WorkCalendar) -> None:
    clock = start(cal, accepted=local(2025, 11, 3), promised=2)
    assert clock.thresholds_in_use([2]) == []
    assert clock.check_alerts(cal, now=local(2025, 11, 4), thresholds=[2]) == []
    # An extension makes the limit 5: the 2-day yellow card is back in use.
    clock.extend(cal, extension_id="e", days=3, approved_by="a", reason="r", at=local(2025, 11, 4))
    assert clock.thresholds_in_use([2]) == [2]


# ---------------------------------------------------------------------------------------------
# Calendar changes


def test_county_holiday_recomputes_open_clocks(book: CalendarBook) -> None:
    cal = book.calendar()
    clock = start(cal)
    book.set_day(date(2025, 10, 14), working=False, by="admin", at=local(2025, 10, 1), reason="县级临时放假")
    events = clock.recompute(book.calendar())
    (moved,) = events
    assert moved.reason is DueDateChangeReason.CALENDAR
    assert (moved.old_due_date, moved.new_due_date) == (date(2025, 10, 16), date(2025, 10, 17))
    assert moved.calendar_version == 1
    assert clock.recompute(book.calendar()) == []  # nothing moves twice


def test_provisional_clock_becomes_official_when_the_schedule_is_loaded() -> None:
    book = CalendarBook()
    clock = start(book.calendar(), accepted=local(2027, 2, 1), promised=10, statutory=10)
    assert clock.provisional and clock.due_date == date(2027, 2, 19)
    # An unrelated clock, wholly in 2026, does not move.
    other = start(book.calendar(), accepted=local(2026, 3, 2), promised=10, statutory=10, receipt_no="SP2026030200001")
    assert not other.provisional

    off, worked = hypothetical_2027_schedule()
    book.load_schedule(2027, holidays=off, working_days=worked, by="admin", at=local(2026, 11, 20), reason="test")
    official = book.calendar()
    # The list of clocks whose due date moved: only the 2027 one.
    (moved,) = recompute_all([other, clock], official)
    assert moved.receipt_no == clock.receipt_no
    assert moved.new_due_date == date(2027, 2, 20) and moved.provisional is False
    assert not clock.provisional and clock.calendar_version == 1
    assert recompute_all([other, clock], official) == []


def test_ended_clocks_are_not_recomputed(book: CalendarBook) -> None:
    clock = start(book.calendar())
    clock.end(book.calendar(), decided_at=local(2025, 10, 10), outcome="approved")
    book.set_day(date(2025, 10, 14), working=False, by="a", at=local(2025, 10, 11), reason="r")
    assert clock.recompute(book.calendar()) == []
    assert clock.due_date == date(2025, 10, 16)


def test_year_boundary_clock(cal: WorkCalendar) -> None:
    clock = start(cal, accepted=local(2025, 12, 26, 11), promised=5, statutory=5)
    assert clock.due_date == date(2026, 1, 5)
    assert not clock.provisional
    # Across the boundary: on Wed 31 Dec 2025 two working days are left (Sun 4 Jan 2026, the
    # make-up day, and Mon 5 Jan); on Sun 4 Jan one is left.
    assert clock.warning_day(cal, 2) == date(2025, 12, 31)
    assert clock.warning_day(cal, 1) == date(2026, 1, 4)
    assert clock.overdue_at == start_of_day(date(2026, 1, 5) + timedelta(days=1))
