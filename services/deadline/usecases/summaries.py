"""Read-only figures for screens that show counts, not cases (the hall screen, the boards): open
clocks per unit with their cards, and the latest published bulletin's headline. One grouped
query each, so a screen no longer pages through clocks to count them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.runtime import clock as suite_clock
from services.runtime.auth import Staff
from services.runtime.uow import UnitOfWork

from .. import store
from .shared import DeadlineState


@dataclass(frozen=True)
class UnitCounts:
    unit_code: str
    unit_name: str | None
    open: int
    yellow: int
    red: int
    overdue: int


@dataclass(frozen=True)
class ClockSummary:
    today: date
    yellow_days: int
    units: list[UnitCounts]
    total: UnitCounts


async def clock_summary(uow: UnitOfWork, st: DeadlineState, staff: Staff, *, unit_code: str | None) -> ClockSummary:
    """Open clocks per unit: open, yellow (running, ``yellow_days`` working days left or fewer, as
    the desk's card shows it), red (red card issued), overdue (red card issued or running past
    its due date). Clerks and unit heads get their own unit's, as with the clocks themselves."""
    if not staff.center_wide:
        if unit_code is not None:
            staff.ensure_unit(unit_code)
        unit_code = staff.unit
    today = suite_clock.today()
    cal = await st.calendar.current(uow.session)
    k = st.thresholds[0] if st.thresholds else 0
    # Due on a day with at most k working days after today <=> due before the (k+1)-th working day.
    yellow_before = cal.add_working_days(today, k + 1) if k > 0 else today
    counts = await store.open_clock_summary(uow.session, today=today, yellow_before=yellow_before, unit_code=unit_code)
    if unit_code is not None and unit_code not in counts:
        counts[unit_code] = (0, 0, 0, 0)
    names = await store.unit_names(uow.session)
    units = [UnitCounts(u, names.get(u), *c) for u, c in sorted(counts.items())]
    total = UnitCounts("*", None, *(sum(getattr(u, f) for u in units) for f in ("open", "yellow", "red", "overdue")))
    return ClockSummary(today, k, units, total)


@dataclass(frozen=True)
class BulletinHeadline:
    bulletin_no: str
    period: str
    published_at: datetime
    cases: int
    on_time: int
    on_time_rate: float | None
    average_working_days_used: float | None
    overdue_cases: int
    notices: int
    violations: int


async def latest_bulletin(uow: UnitOfWork) -> BulletinHeadline | None:
    """The headline figures of the bulletin published last (None: none published yet)."""
    row = await store.latest_bulletin(uow.session)
    if row is None:
        return None
    c = row.content
    total = c.get("total") or {}
    return BulletinHeadline(
        bulletin_no=row.bulletin_no, period=row.period, published_at=store.aware(row.published_at),  # type: ignore[arg-type]
        cases=int(total.get("cases", 0)), on_time=int(total.get("on_time", 0)),
        on_time_rate=total.get("on_time_rate"), average_working_days_used=total.get("average_working_days_used"),
        overdue_cases=len(c.get("overdue_cases") or []), notices=len(c.get("notices") or []),
        violations=len(c.get("violations") or []),
    )
