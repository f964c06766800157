"""Background work: the weekend duty watcher and the month-end publication.

Both are plain functions of (service, now) so tests can call them at any chosen moment; the
workers in app.py call them in a loop. Their events carry deterministic ids: a repeat after a
restart is dropped by consumers.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from contracts.base import Event
from services.runtime.app import Service

from . import domain, duty, store
from .config import AttendanceSettings
from .evaluation import monthly_event, ranking_event
from .reporting import calendar, evaluation

log = logging.getLogger(__name__)


async def check_duty(service: Service, now: datetime) -> list[Event]:
    """Raise a DutyGapDetected for each weekend shift whose window nobody of its posts covered
    within the grace, once; a DutyGapResolved when somebody turns up afterwards."""
    settings: AttendanceSettings = service.settings  # type: ignore[assignment]
    rules = settings.attendance_rules
    now_local = domain.to_local(now, rules.zone)
    day = now_local.date()
    emitted: list[Event] = []
    async with service.uow() as uow:
        s = uow.session
        posts = [p.domain() for p in await store.all_posts(s)]
        roster = [r.domain() for r in await store.roster_between(s, day, day)]
        slots = duty.duty_slots(day, posts, roster, rules, calendar())
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
            service.attendance_metrics.duty_gaps.labels(c.slot.window_no).inc()  # type: ignore[attr-defined]
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


def previous_month(day: date) -> str:
    first = day.replace(day=1) - timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


async def publish_period(service: Service, period: str, now: datetime, *, force: bool = False,
                         skip_empty: bool = False) -> list[Event]:
    """Publish the monthly attendance summary (months) and the rankings (months and years),
    once per period unless ``force``. ``skip_empty``: a period in which nobody was at the
    center yet (a fresh installation) is left alone, to be published if staff get back-dated."""
    settings: AttendanceSettings = service.settings  # type: ignore[assignment]
    out: list[Event] = []
    async with service.uow() as uow:
        s = uow.session
        year, month = domain.parse_period(period)
        data, ev = await evaluation(s, period, settings, now)
        if skip_empty and not data.report.people:
            return []
        kinds = (["monthly"] if month is not None else []) + ["ranking"]
        for kind in kinds:
            existing = await s.get(store.PublicationRow, (period, kind))
            if existing is not None and not force:
                continue
            event: Event = monthly_event(data.report) if kind == "monthly" else ranking_event(ev)
            # A forced republication is a new fact (new id); the first one has a stable id.
            event_id = store.stable_id("publish", period, kind) if existing is None else None
            env = await uow.emit(event, id=event_id)
            if existing is None:
                s.add(store.PublicationRow(period=period, kind=kind, published_at=store.utc(now), event_id=env.id))
            else:
                existing.published_at, existing.event_id = store.utc(now), env.id
                s.add(existing)
            out.append(event)
        await uow.commit()
    if out:
        log.info("published %s for %s", ", ".join(type(e).__name__ for e in out), period)
    return out


async def publish_due(service: Service, now: datetime) -> list[Event]:
    """From ``attendance_publish_on_day`` of a month on: last month's report and rankings; in
    January also the year-end rankings of the year before."""
    settings: AttendanceSettings = service.settings  # type: ignore[assignment]
    today = domain.to_local(now, settings.attendance_rules.zone).date()
    if today.day < settings.attendance_publish_on_day:
        return []
    periods = [previous_month(today)]
    if today.month == 1:
        periods.append(str(today.year - 1))
    out: list[Event] = []
    for period in periods:
        out += await publish_period(service, period, now, skip_empty=True)
    return out


def utcnow() -> datetime:
    return datetime.now(UTC)
