"""The county calendar as other services follow it: the fold of the calendar's change events
(services/runtime/workdays.py: CountyCalendar) and the follower's record handling
(services/runtime/calendar_follower.py). The end-to-end run through the broker is
tests/e2e/test_calendar_everywhere.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contracts.deadline import CalendarAction, CalendarChanged
from contracts.envelope import Envelope
from services.deadline.domain.calendar import CalendarBook
from services.runtime.workdays import CountyCalendar, national_calendar

pytestmark = pytest.mark.timeout(60)

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def change(version: int, action: CalendarAction, *, day: date | None = None, year: int | None = None,
           holidays: list[date] | None = None, working_days: list[date] | None = None) -> CalendarChanged:
    return CalendarChanged(
        year=year or (day.year if day else 2026), calendar_version=version, action=action, day=day,
        holidays=holidays or [], working_days=working_days or [], changed_by="县政务服务中心",
        changed_at=AT, reason="县政府通知", clocks_moved=0,
    )


def test_no_events_is_the_national_calendar() -> None:
    assert CountyCalendar().calendar().fingerprint == national_calendar().fingerprint


def test_a_county_day_off_and_a_county_working_day_move_working_day_arithmetic() -> None:
    county = CountyCalendar()
    friday, saturday = date(2026, 12, 11), date(2026, 12, 12)
    before = county.calendar().add_working_days(date(2026, 12, 10), 1)
    assert before == friday
    assert county.apply(change(1, CalendarAction.ADD_HOLIDAY, day=friday))
    assert not county.calendar().is_working_day(friday)
    assert county.calendar().add_working_days(date(2026, 12, 10), 1) == date(2026, 12, 14)
    assert county.apply(change(2, CalendarAction.ADD_WORKING_DAY, day=saturday))
    assert county.calendar().add_working_days(date(2026, 12, 10), 1) == saturday
    assert county.calendar().version == 2
    assert county.apply(change(3, CalendarAction.REMOVE_OVERRIDE, day=friday))
    assert county.calendar().is_working_day(friday)


def test_replayed_or_duplicate_events_are_skipped_and_missing_versions_counted() -> None:
    county = CountyCalendar()
    friday = date(2026, 12, 11)
    assert county.apply(change(1, CalendarAction.ADD_HOLIDAY, day=friday))
    assert not county.apply(change(1, CalendarAction.ADD_WORKING_DAY, day=friday))  # a redelivery
    assert not county.calendar().is_working_day(friday)
    assert county.gaps == 0
    assert county.apply(change(4, CalendarAction.REMOVE_OVERRIDE, day=friday))
    assert county.gaps == 2 and county.version == 4


def test_the_fold_compiles_exactly_what_the_owner_of_the_calendar_compiles() -> None:
    """The same changes in deadline's CalendarBook and in the followers' fold give the same
    working days (one calendar, not two interpretations)."""
    book = CalendarBook()
    county = CountyCalendar()
    hol = [date(2101, 1, 1), date(2101, 2, 11), date(2101, 2, 14)]
    work = [date(2100, 12, 25), date(2101, 2, 19)]
    c = book.load_schedule(2101, holidays=hol, working_days=work, by="中心", at=AT, reason="国办发明电")
    county.apply(change(c.version, CalendarAction.LOAD_SCHEDULE, year=2101, holidays=hol, working_days=work))
    c = book.set_day(date(2026, 12, 11), working=False, by="中心", at=AT, reason="县政府通知")
    county.apply(change(c.version, CalendarAction.ADD_HOLIDAY, day=date(2026, 12, 11)))
    c = book.set_day(date(2026, 12, 12), working=True, by="中心", at=AT, reason="县政府通知")
    county.apply(change(c.version, CalendarAction.ADD_WORKING_DAY, day=date(2026, 12, 12)))
    c = book.remove_override(date(2026, 12, 12), by="中心", at=AT, reason="撤销")
    county.apply(change(c.version, CalendarAction.REMOVE_OVERRIDE, day=date(2026, 12, 12)))
    assert county.calendar().fingerprint == book.calendar().fingerprint
    assert county.calendar().is_official(2101)
    assert county.version == book.version == 4


def test_the_follower_applies_records_of_its_event_type_only() -> None:
    from types import SimpleNamespace

    from prometheus_client import CollectorRegistry, Gauge

    from services.runtime.calendar_follower import CalendarFollower

    class _Metrics:
        def __init__(self) -> None:
            self.registry = CollectorRegistry()

        def gauge(self, name: str, doc: str) -> Gauge:
            return Gauge(name, doc, registry=self.registry)

    service = SimpleNamespace(name="svc", settings=SimpleNamespace(aiokafka_options=lambda: {}), metrics=_Metrics())
    follower = CalendarFollower(service, CalendarChanged)  # type: ignore[arg-type]
    assert follower.topic == "deadline.calendar"
    env = Envelope.wrap(change(1, CalendarAction.ADD_HOLIDAY, day=date(2026, 12, 11)))
    headers, body = env.kafka_headers(), env.body()
    assert follower.apply_record(headers, body)
    assert not follower.calendar.is_working_day(date(2026, 12, 11))
    assert not follower.apply_record(headers, body)  # the same record again
    assert not follower.apply_record([("ce_type", b"x")], b"{}")  # unreadable: skipped, not fatal
    assert follower.readiness() != "ok"
    follower._mark_ready()
    assert follower.readiness() == "ok"



async def test_a_follower_started_after_the_changes_replays_them_then_follows_on_the_real_broker(
        kafka_bootstrap: str, kafka_topic) -> None:  # type: ignore[no-untyped-def]
    """Two changes published before the follower starts are replayed from the beginning of the
    topic (no consumer group: nothing committed anywhere), then it is ready, then a third
    arrives live."""
    import asyncio
    from types import SimpleNamespace

    from aiokafka import AIOKafkaProducer
    from prometheus_client import CollectorRegistry, Gauge

    from services.runtime.calendar_follower import CalendarFollower

    topic = kafka_topic("calendar")
    friday, saturday = date(2026, 12, 11), date(2026, 12, 12)

    async def send(event: CalendarChanged) -> None:
        env = Envelope.wrap(event)
        await producer.send_and_wait(topic, env.body(), key=env.key, headers=env.kafka_headers())

    class _Metrics:
        registry = CollectorRegistry()

        def gauge(self, name: str, doc: str) -> Gauge:
            return Gauge(name, doc, registry=self.registry)

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    task = None
    try:
        await send(change(1, CalendarAction.ADD_HOLIDAY, day=friday))
        await send(change(2, CalendarAction.ADD_WORKING_DAY, day=saturday))
        service = SimpleNamespace(name="svc", metrics=_Metrics(),
                                  settings=SimpleNamespace(aiokafka_options=lambda: {"bootstrap_servers": kafka_bootstrap}))
        follower = CalendarFollower(service, CalendarChanged, poll_ms=100)  # type: ignore[arg-type]
        follower.topic = topic
        task = asyncio.create_task(follower.run())
        await asyncio.wait_for(follower.ready.wait(), timeout=60)
        assert follower.state.version == 2
        assert not follower.calendar.is_working_day(friday) and follower.calendar.is_working_day(saturday)
        await send(change(3, CalendarAction.REMOVE_OVERRIDE, day=friday))
        for _ in range(300):
            if follower.state.version == 3:
                break
            await asyncio.sleep(0.1)
        assert follower.state.version == 3 and follower.calendar.is_working_day(friday)
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await producer.stop()
