"""attendance counts with the county's calendar as followed from deadline's calendar events
(services/runtime/calendar_follower.py), not the national one alone: a weekday the county closes
has no office sessions and is no working day of the month; a Saturday it makes a working day has
the weekday sessions instead of the weekend shifts. (Through the real broker:
tests/e2e/test_calendar_everywhere.py.)"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from contracts.deadline import CalendarAction, CalendarChanged

from .service_fixture import attendance_service, client, setup_center

pytestmark = pytest.mark.timeout(120)

TUESDAY, SATURDAY = date(2025, 6, 10), date(2025, 6, 14)


def change(version: int, action: CalendarAction, day: date) -> CalendarChanged:
    return CalendarChanged(year=day.year, calendar_version=version, action=action, day=day, changed_by="中心",
                           changed_at=datetime(2025, 6, 1, tzinfo=UTC), reason="县政府通知", clocks_moved=0)


async def test_a_county_override_moves_the_expected_sessions_and_working_days(tmp_path: Path) -> None:
    async with attendance_service(tmp_path) as svc:
        await setup_center(svc)
        async with client(svc) as admin:
            tuesday = (await admin.get(f"/attendance/duty/{TUESDAY}")).json()
            saturday = (await admin.get(f"/attendance/duty/{SATURDAY}")).json()
            assert tuesday and all(s["weekday"] for s in tuesday)
            assert saturday and not any(s["weekday"] for s in saturday)
            days_before = svc.state.attendance.calendar.count_working_days(date(2025, 6, 1), date(2025, 6, 30))

            follower = svc.state.calendar_follower
            follower.state.apply(change(1, CalendarAction.ADD_HOLIDAY, TUESDAY))
            follower.state.apply(change(2, CalendarAction.ADD_WORKING_DAY, SATURDAY))

            assert (await admin.get(f"/attendance/duty/{TUESDAY}")).json() == []
            saturday = (await admin.get(f"/attendance/duty/{SATURDAY}")).json()
            assert saturday and all(s["weekday"] for s in saturday)
            # one day off, one day on: the month's count is unchanged, the days are not
            cal = svc.state.attendance.calendar
            assert cal.count_working_days(date(2025, 6, 1), date(2025, 6, 30)) == days_before
            assert not cal.is_working_day(TUESDAY) and cal.is_working_day(SATURDAY)
