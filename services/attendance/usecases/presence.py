"""Who is at which window right now (the hall screen, weekdays and weekends alike): today's
shifts and office sessions (the same slots as the duty watcher's), each window's current or next
one, and who of its posts has punched in for it — the A post if present, else the B post (or a
rostered person)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from services.runtime.uow import UnitOfWork

from .. import domain, store
from ..domain import duty
from .duty import _slots
from .shared import Attendance
from .staffing import staff_names


@dataclass(frozen=True)
class WindowNow:
    window_no: str
    unit_code: str
    unit_name: str
    post_a: str | None
    post_b: str | None
    weekend_service: bool
    names: dict[str, str]
    open_now: bool
    opening: time | None
    closing: time | None
    weekday: bool
    present: tuple[str, ...]         # who of the slot's people punched in for it, first first
    on_duty: str | None
    on_duty_post: str | None         # "A", "B" or "roster"
    arrived_at: datetime | None      # aware, the center's zone
    on_leave: tuple[str, ...]


def _arrivals(slot: duty.DutySlot, punches: dict[str, list[datetime]], early: int, until: datetime) -> list[tuple[datetime, str]]:
    start = slot.opening_dt - timedelta(minutes=early)
    end = min(slot.closing_dt, until)
    seen = []
    for sid in slot.expected:
        times = [p for p in punches.get(sid, ()) if start <= p <= end]
        if times:
            seen.append((min(times), sid))
    return sorted(seen)


async def presence_now(uow: UnitOfWork, att: Attendance, now: datetime) -> list[WindowNow]:
    """Every window with posts: open now or not, its current (else next, else last) slot of the
    day, and who is on duty. A window without any slot today (a weekend window without weekend
    service, a holiday) is listed as closed."""
    rules = att.rules
    s = uow.session
    local = domain.to_local(now, rules.zone)
    day = local.date()
    slots = await _slots(s, att, day)
    start = datetime.combine(day, time(), tzinfo=rules.zone)
    punches = store.local_punches(await store.punches_between(s, start, start + timedelta(days=1)), rules.zone)
    names = await staff_names(s)
    early = rules.duty_early_minutes
    by_window: dict[str, list[duty.DutySlot]] = {}
    for sl in slots:
        by_window.setdefault(sl.window_no, []).append(sl)
    out = []
    for p in await store.all_posts(s):
        mine = sorted(by_window.get(p.window_no, []), key=lambda x: x.opening)
        current = next((x for x in mine if x.opening_dt - timedelta(minutes=early) <= local < x.closing_dt), None)
        shown = current or next((x for x in mine if x.opening_dt > local), None) or (mine[-1] if mine else None)
        present: list[str] = []
        on_duty = post = None
        arrived = None
        if current is not None:
            arrivals = _arrivals(current, punches, early, local)
            present = [sid for _, sid in arrivals]
            first = {sid: at for at, sid in arrivals}
            for sid, label in ((current.post_a, "A"), (current.post_b, "B")):
                if sid and sid in first:
                    on_duty, post, arrived = sid, label, first[sid]
                    break
            else:
                if arrivals:
                    arrived, on_duty = arrivals[0]
                    post = "roster"
        people = {x for x in (p.post_a, p.post_b, *present) if x}
        out.append(WindowNow(
            window_no=p.window_no, unit_code=p.unit_code, unit_name=p.unit_name, post_a=p.post_a, post_b=p.post_b,
            weekend_service=p.weekend_service, names={x: names[x] for x in people if x in names}, open_now=current is not None,
            opening=shown.opening if shown else None, closing=shown.closing if shown else None,
            weekday=bool(shown and shown.weekday), present=tuple(present), on_duty=on_duty, on_duty_post=post,
            arrived_at=arrived.replace(tzinfo=rules.zone) if arrived else None,
            on_leave=tuple(current.on_leave) if current else ()))
    return out
