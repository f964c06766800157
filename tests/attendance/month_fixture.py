"""A simulated June 2025 at the hall: punches for everybody, with scripted exceptions."""

from datetime import date, datetime, time, timedelta

from services.attendance.domain import Leave, LeaveKind, TrainingSession, is_statutory_holiday, month_days
from services.runtime.workdays import WorkCalendar

from .conftest import STAFF

FRIDAY_TRAININGS = [TrainingSession(f"T{d:%m%d}", d, time(15), time(17), "政务服务能力提升培训")
                    for d in (date(2025, 6, 6), date(2025, 6, 13), date(2025, 6, 20), date(2025, 6, 27))]
LEAVES = [Leave("S03", LeaveKind.SICK, datetime(2025, 6, 11, 0, 0), datetime(2025, 6, 12, 0, 0))]
WEEKEND_COVER = {"01": "S01", "02": "S03", "03": "S05"}  # who covers each window on weekends


def june_punches(calendar: WorkCalendar) -> dict[str, list[datetime]]:
    """Wall-clock punches (Asia/Shanghai) per staff id."""
    out: dict[str, list[datetime]] = {s.staff_id: [] for s in STAFF}
    fridays = {t.day for t in FRIDAY_TRAININGS}
    for d in month_days(2025, 6):
        if calendar.is_working_day(d):
            for i, s in enumerate(STAFF):
                base = datetime.combine(d, time())
                day = [base + timedelta(hours=8, minutes=20 + i), base + timedelta(hours=12, minutes=2)]
                if d in fridays:
                    day.append(base + timedelta(hours=14, minutes=55))
                else:
                    day += [base + timedelta(hours=14, minutes=22), base + timedelta(hours=17, minutes=33)]
                out[s.staff_id].extend(day)
        elif not is_statutory_holiday(d, calendar):
            for window, sid in WEEKEND_COVER.items():
                if d == date(2025, 6, 7) and window == "02":
                    continue  # nobody at window 02 on Saturday the 7th
                base = datetime.combine(d, time())
                out[sid] += [base + timedelta(hours=8, minutes=50), base + timedelta(hours=13, minutes=50)]

    def drop(sid: str, when: datetime) -> None:
        out[sid] = [p for p in out[sid] if p != when]

    # S02 late on the 10th.
    drop("S02", datetime(2025, 6, 10, 8, 21))
    out["S02"].append(datetime(2025, 6, 10, 8, 47))
    # S04 absent on the 12th.
    out["S04"] = [p for p in out["S04"] if p.date() != date(2025, 6, 12)]
    # S05 leaves early on the 16th.
    drop("S05", datetime(2025, 6, 16, 17, 33))
    out["S05"].append(datetime(2025, 6, 16, 17, 5))
    # S06 forgets the noon punch on the 17th.
    drop("S06", datetime(2025, 6, 17, 12, 2))
    # S01 skips the training on the 20th.
    drop("S01", datetime(2025, 6, 20, 14, 55))
    return out
