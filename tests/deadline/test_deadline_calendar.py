"""The working-day calendar: the law's counting, the State Council's make-up days, county
overrides, provisional years and year boundaries."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest

from contracts.deadline import CalendarAction
from services.deadline.domain.calendar import CalendarBook, CalendarError, WorkCalendar

from .helpers import hypothetical_2027_schedule, local


# ---------------------------------------------------------------------------------------------
# The "Done" case and the counting rule


def test_friday_before_national_day_2025_with_make_up_days(cal: WorkCalendar) -> None:
    # Accepted on Friday 26 September 2025, the Friday before National Day. The State Council's
    # 2025 schedule (国办发明电〔2024〕12号): 1-8 October off (National Day and Mid-Autumn),
    # Sunday 28 September and Saturday 11 October are working days (调休上班).
    # A clerk counts 10 working days, the day of acceptance not counted:
    #   Sat 27 Sep   rest
    #   Sun 28 Sep   make-up working day  -> 1
    #   Mon 29 Sep   -> 2
    #   Tue 30 Sep   -> 3
    #   1-8 Oct      holiday
    #   Thu  9 Oct   -> 4
    #   Fri 10 Oct   -> 5
    #   Sat 11 Oct   make-up working day  -> 6
    #   Mon 13 Oct   -> 7, Tue 14 -> 8, Wed 15 -> 9, Thu 16 Oct -> 10
    # Due: Thursday 16 October 2025.
    accepted = date(2025, 9, 26)
    assert accepted.weekday() == 4
    assert cal.add_working_days(accepted, 10) == date(2025, 10, 16)
    # Six working days end on the make-up Saturday itself.
    assert cal.add_working_days(accepted, 6) == date(2025, 10, 11)
    assert cal.is_working_day(date(2025, 9, 28)) and cal.is_working_day(date(2025, 10, 11))
    assert not cal.is_working_day(date(2025, 10, 8))
    assert cal.is_official(2025)


def test_friday_before_spring_festival_2025(cal: WorkCalendar) -> None:
    # Accepted Friday 24 January 2025. Spring Festival 2025: 28 January to 4 February off,
    # Sunday 26 January and Saturday 8 February worked.
    #   Sun 26 Jan -> 1, Mon 27 Jan -> 2, 28 Jan-4 Feb holiday,
    #   Wed 5 Feb -> 3, Thu 6 -> 4, Fri 7 -> 5, Sat 8 Feb (make-up) -> 6, Mon 10 Feb -> 7
    accepted = date(2025, 1, 24)
    assert cal.add_working_days(accepted, 5) == date(2025, 2, 7)
    assert cal.add_working_days(accepted, 6) == date(2025, 2, 8)
    assert cal.add_working_days(accepted, 7) == date(2025, 2, 10)


def test_accepted_on_a_weekend_counts_from_the_next_working_day(cal: WorkCalendar) -> None:
    # Saturday 4 October 2025 is inside the holiday: the first counted day is Thursday 9 Oct.
    assert cal.add_working_days(date(2025, 10, 4), 1) == date(2025, 10, 9)
    # Saturday 27 September 2025: the next day is the make-up Sunday, a working day.
    assert cal.add_working_days(date(2025, 9, 27), 1) == date(2025, 9, 28)
    # An ordinary weekend: Saturday 15 November 2025 -> Monday 17 counts as day 1.
    assert cal.add_working_days(date(2025, 11, 15), 1) == date(2025, 11, 17)
    assert cal.add_working_days(date(2025, 11, 15), 5) == date(2025, 11, 21)


def test_zero_days_is_the_same_day(cal: WorkCalendar) -> None:
    assert cal.add_working_days(date(2025, 10, 4), 0) == date(2025, 10, 4)


def test_counting_and_ranks(cal: WorkCalendar) -> None:
    # Week of 13-19 October 2025: Monday to Friday.
    assert cal.count_working_days(date(2025, 10, 13), date(2025, 10, 19)) == 5
    assert cal.count_working_days(date(2025, 10, 19), date(2025, 10, 13)) == 5
    assert cal.working_days_after(date(2025, 9, 26), date(2025, 10, 16)) == 10
    assert cal.working_days_after(date(2025, 10, 16), date(2025, 9, 26)) == -10
    # Working days in 2025: 261 weekdays; 18 of them off (1/1, 1/28-1/31, 2/3-2/4, 4/4,
    # 5/1-5/2, 5/5, 6/2, 10/1-10/3, 10/6-10/8); 5 make-up days (1/26, 2/8, 4/27, 9/28, 10/11).
    # 261 - 18 + 5 = 248.
    assert cal.count_working_days(date(2025, 1, 1), date(2025, 12, 31)) == 248


def test_backwards(cal: WorkCalendar) -> None:
    assert cal.add_working_days(date(2025, 10, 16), -10) == date(2025, 9, 26)
    # From a holiday, one working day back is the last working day before it.
    assert cal.add_working_days(date(2025, 10, 5), -1) == date(2025, 9, 30)


# ---------------------------------------------------------------------------------------------
# Year boundaries, provisional years, far future


def test_year_boundary_with_make_up_sunday(cal: WorkCalendar) -> None:
    # Accepted Friday 26 December 2025. New Year 2026: 1-3 January off, Sunday 4 January
    # worked (国办发明电〔2025〕7号).
    #   Mon 29 Dec -> 1, Tue 30 -> 2, Wed 31 -> 3, 1-3 Jan holiday, Sun 4 Jan -> 4, Mon 5 -> 5
    assert cal.add_working_days(date(2025, 12, 26), 5) == date(2026, 1, 5)
    assert not cal.provisional_between(date(2025, 12, 26), date(2026, 1, 5))


def test_due_date_in_a_year_without_official_schedule_is_provisional(cal: WorkCalendar) -> None:
    # Accepted Thursday 24 December 2026; 2027's schedule is not published in the library, so
    # the statutory rule applies: 1 January 2027 (a Friday) is New Year's Day, no make-up days.
    #   Fri 25 Dec -> 1, 28-31 Dec -> 5, Fri 1 Jan holiday, Mon 4 - Fri 8 Jan -> 10
    assert not cal.is_official(2027)
    due = cal.add_working_days(date(2026, 12, 24), 10)
    assert due == date(2027, 1, 8)
    assert cal.provisional_between(date(2026, 12, 24), due)


def test_far_future_does_not_crash(cal: WorkCalendar) -> None:
    # Beyond the library's range (2100): weekends only, provisional.
    d = cal.add_working_days(date(2100, 12, 30), 3)
    assert d == date(2101, 1, 4)  # Thu 30 Dec 2100 -> Fri 31, Mon 3, Tue 4 Jan 2101
    assert cal.add_working_days(date(2500, 6, 1), 20) == date(2500, 6, 29)
    assert cal.provisional_between(date(2500, 1, 1), date(2500, 12, 31))
    assert cal.add_working_days(date(9999, 12, 1), 10) == date(9999, 12, 15)
    with pytest.raises(CalendarError):
        cal.add_working_days(date(9999, 12, 30), 10)
    with pytest.raises(CalendarError):
        cal.add_working_days(date(1, 1, 2), -5)
    assert cal.add_working_days(date(1, 1, 1), 1) == date(1, 1, 2)


# ---------------------------------------------------------------------------------------------
# County overrides and schedules, versioned


def test_county_overrides_are_versioned(book: CalendarBook) -> None:
    before = book.calendar()
    due_before = before.add_working_days(date(2025, 11, 3), 5)  # Mon 3 Nov -> Mon 10 Nov
    assert due_before == date(2025, 11, 10)

    change = book.set_day(date(2025, 11, 5), working=False, by="admin-li", at=local(2025, 11, 1), reason="县庆放假")
    assert change.version == 1 and change.action is CalendarAction.ADD_HOLIDAY
    after = book.calendar()
    assert after.version == 1
    assert not after.is_working_day(date(2025, 11, 5))
    assert after.add_working_days(date(2025, 11, 3), 5) == date(2025, 11, 11)
    assert after.fingerprint != before.fingerprint

    change = book.set_day(date(2025, 11, 8), working=True, by="admin-li", at=local(2025, 11, 1), reason="县庆调休上班")
    assert change.version == 2 and change.action is CalendarAction.ADD_WORKING_DAY
    assert book.calendar().add_working_days(date(2025, 11, 3), 5) == date(2025, 11, 10)  # Sat 8 Nov counts

    change = book.remove_override(date(2025, 11, 5), by="admin-wang", at=local(2025, 11, 2), reason="撤销")
    assert change.version == 3 and change.action is CalendarAction.REMOVE_OVERRIDE
    assert book.calendar().is_working_day(date(2025, 11, 5))
    assert [(c.version, c.changed_by) for c in book.history] == [(1, "admin-li"), (2, "admin-li"), (3, "admin-wang")]

    with pytest.raises(CalendarError) as err:
        book.remove_override(date(2025, 11, 6), by="admin-wang", at=local(2025, 11, 2), reason="x")
    assert err.value.field == "day"
    with pytest.raises(CalendarError) as err:
        book.set_day(date(2025, 11, 6), working=False, by="admin-wang", at=local(2025, 11, 2), reason=" ")
    assert err.value.field == "reason"


def test_override_can_remove_a_national_holiday(book: CalendarBook) -> None:
    book.set_day(date(2025, 10, 8), working=True, by="admin", at=local(2025, 9, 1), reason="test")
    assert book.calendar().is_working_day(date(2025, 10, 8))
    book.remove_override(date(2025, 10, 8), by="admin", at=local(2025, 9, 2), reason="test")
    assert not book.calendar().is_working_day(date(2025, 10, 8))


def test_loading_a_schedule_makes_the_year_official_and_moves_due_dates(book: CalendarBook) -> None:
    rule = book.calendar()
    # Rule-based 2027: Spring Festival is Saturday 6 February; the eve (Fri 5) and the first
    # three days are holidays, the two weekend days observed on Tue 9 and Wed 10 February.
    # Accepted Monday 1 February 2027, 10 working days:
    #   Tue 2 -> 1, Wed 3 -> 2, Thu 4 -> 3, 5-10 Feb off, Thu 11 -> 4, Fri 12 -> 5,
    #   Mon 15 - Fri 19 -> 10
    assert rule.add_working_days(date(2027, 2, 1), 10) == date(2027, 2, 19)
    off, worked = hypothetical_2027_schedule()
    change = book.load_schedule(2027, holidays=off, working_days=worked, by="admin", at=local(2026, 11, 20), reason="国办发明电〔2026〕X号（测试）")
    assert change.action is CalendarAction.LOAD_SCHEDULE and change.year == 2027
    official = book.calendar()
    assert official.is_official(2027)
    # Now 11 February is off and Saturday 20 February is worked:
    #   Thu 4 -> 3, Fri 12 -> 4, Mon 15 - Fri 19 -> 9, Sat 20 Feb -> 10
    assert official.add_working_days(date(2027, 2, 1), 10) == date(2027, 2, 20)
    assert not official.provisional_between(date(2027, 2, 1), date(2027, 2, 20))


def test_schedule_validation(book: CalendarBook) -> None:
    with pytest.raises(CalendarError) as err:
        book.load_schedule(2027, holidays=[date(2026, 1, 1)], working_days=[], by="a", at=local(2026, 11, 1), reason="r")
    assert err.value.field == "holidays"
    with pytest.raises(CalendarError) as err:
        book.load_schedule(2027, holidays=[], working_days=[date(2027, 2, 17)], by="a", at=local(2026, 11, 1), reason="r")
    assert err.value.field == "working_days"  # a Wednesday cannot be a make-up day


def test_make_up_day_in_late_december_of_the_previous_year(book: CalendarBook) -> None:
    # A notice for 2028 may declare Saturday 25 December 2027 a working day.
    assert not book.calendar().is_working_day(date(2027, 12, 25))
    book.load_schedule(2028, holidays=[date(2028, 1, 3)], working_days=[date(2027, 12, 25)], by="a", at=local(2027, 11, 1), reason="r")
    assert book.calendar().is_working_day(date(2027, 12, 25))


def test_replay_rebuilds_the_same_calendar(book: CalendarBook) -> None:
    book.set_day(date(2025, 11, 5), working=False, by="a", at=local(2025, 11, 1), reason="r1")
    book.set_day(date(2025, 11, 8), working=True, by="b", at=local(2025, 11, 1), reason="r2")
    off, worked = hypothetical_2027_schedule()
    book.load_schedule(2027, holidays=off, working_days=worked, by="c", at=local(2026, 11, 20), reason="r3")
    book.remove_override(date(2025, 11, 8), by="d", at=local(2025, 11, 2), reason="r4")
    again = CalendarBook.replay(book.history)
    assert again.version == book.version == 4
    assert again.calendar().fingerprint == book.calendar().fingerprint


def test_library_years_can_be_declared_provisional() -> None:
    book = CalendarBook(library_official=frozenset(range(2001, 2026)))
    assert not book.calendar().is_official(2026)
    assert book.calendar().is_official(2025)


def test_library_exceptions_match_the_library_for_a_century(cal: WorkCalendar) -> None:
    ref = holidays.country_holidays("CN", years=range(2001, 2101))
    day = date(2001, 1, 1)
    mismatches = []
    while day <= date(2100, 12, 31):
        if cal.is_working_day(day) != ref.is_working_day(day):
            mismatches.append(day)
        day += timedelta(days=1)
    assert mismatches == []
