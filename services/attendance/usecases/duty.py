"""AB-post duty: a day's coverage for the staff (weekend shifts and weekday office sessions), and
the watcher's step that raises and resolves gap alerts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from contracts.base import Event
from services.runtime.uow import UnitOfWork

from .. import domain, store
from ..domain import duty
from .shared import Attendance, attendance

if TYPE_CHECKING:
    from services.runtime.app import Service

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlotStatus:
    slot: duty.DutySlot
    coverage: duty.Coverage
    alerted: bool


async def _slots(s, att: Attendance, day: date) -> list[duty.DutySlot]:  # type: ignore[no-untyped-def]
    """Every slot of a day: weekend/rostered shifts and weekday office sessions (leave and
    trainings of the day considered)."""
    posts = [p.domain() for p in await store.all_posts(s)]
    roster = [r.domain() for r in await store.roster_between(s, day, day)]
    trainings = [t.domain() for t in await store.trainings_between(s, day, day)]
    first = datetime.combine(day, time())
    leaves = [lv.domain() for lv in await store.leaves_between(s, first, first + timedelta(days=1))]
    return duty.day_slots(day, posts, roster, att.rules, att.calendar, trainings=trainings, leaves=leaves)


async def duty_status(uow: UnitOfWork, att: Attendance, day: date) -> list[SlotStatus]:
    """Every shift of a day (weekend, rostered, weekday sessions), who turned up first and
    whether it was alerted."""
    rules = att.rules
    s = uow.session
    slots = await _slots(s, att, day)
    start = datetime.combine(day, time(), tzinfo=rules.zone)
    punches = store.local_punches(await store.punches_between(s, start, start + timedelta(days=1)), rules.zone)
    alerted = await store.alert_keys(s, day)
    return [SlotStatus(slot, duty.coverage(slot, punches, rules), slot.key in alerted)
            for slot in slots]


async def check_duty(service: "Service", now: datetime) -> list[Event]:
    """Raise a DutyGapDetected for each shift (weekend, rostered, weekday session) whose window nobody of its posts covered
    within the grace, once; a DutyGapResolved when somebody turns up afterwards. Events carry
    deterministic ids: a repeat after a restart is dropped by consumers."""
    att = attendance(service)
    rules = att.rules
    now_local = domain.to_local(now, rules.zone)
    day = now_local.date()
    emitted: list[Event] = []
    async with service.uow() as uow:
        s = uow.session
        slots = await _slots(s, att, day)
        if not slots:
            return []
        staff = {m.staff_id: m.domain() for m in await store.all_staff(s)}
        start = datetime.combine(day, datetime.min.time(), tzinfo=rules.zone)
        punches = store.local_punches(await store.punches_between(s, start, start + timedelta(days=1)), rules.zone)
        known = await store.alert_keys(s, day)
        for c in duty.due_gaps(slots, punches, rules, now_local):
            if c.slot.key in known:
                continue
            event = duty.gap_event(c, staff, rules, now)
            await uow.emit(event, id=store.stable_id("duty-gap", c.slot.key))
            emitted.append(event)
            s.add(store.DutyAlertRow(slot_key=c.slot.key, window_no=c.slot.window_no, day=day,
                                     opening=c.slot.opening, detected_at=store.utc(now)))
            known.add(c.slot.key)
            att.metrics.duty_gaps.labels(c.slot.window_no).inc()
            log.warning("duty gap: window %s, %s %s, nobody of %s punched in", c.slot.window_no, day,
                        c.slot.opening, ", ".join(c.slot.expected) or "(no posts)")
        await s.flush()
        by_key = {sl.key: sl for sl in slots}
        for alert in await store.open_alerts(s, day):
            slot = by_key.get(alert.slot_key)
            if slot is None:
                continue
            c = duty.coverage(slot, punches, rules)
            if c.first_arrival is None:
                continue
            resolved = duty.resolved_event(c, staff, rules)
            await uow.emit(resolved, id=store.stable_id("duty-resolved", alert.slot_key))
            emitted.append(resolved)
            alert.resolved_at, alert.resolved_by = store.utc(now), c.first_arrival[0]
            s.add(alert)
        await uow.commit()
    return emitted
