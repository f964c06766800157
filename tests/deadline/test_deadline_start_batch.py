"""ApplicationAccepted a batch at a time (``handlers.accepted`` over ``clocks.start_clocks``): each
case's clock starts once, as it does event by event; a batch costs the same few queries whatever
its size; a refused start names its event."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from contracts.common import CaseKind
from contracts.envelope import Envelope, parse
from services.deadline import handlers, store
from services.deadline.app import create_service
from services.deadline.config import DeadlineSettings
from services.deadline.usecases.shared import derived_id
from services.runtime.app import Service
from services.runtime.consumer import Batch, Consumer, HandlerContext, Record, Reject

from .helpers import local
from .intake_events import UNIT, UNIT_NAME, accepted

AT = local(2025, 9, 26, 10)  # promised 10 working days: due 16 October 2025 (see test_deadline_handlers)


def records(*events, ids: list[str]) -> list[Record]:  # type: ignore[no-untyped-def]
    envs = [Envelope.wrap(e, id=i) for e, i in zip(events, ids, strict=True)]
    return [Record("intake.applications", 0, n, env.key, env.body(), env.kafka_headers()) for n, env in enumerate(envs)]


def cases_consumer(svc: Service) -> Consumer:
    return Consumer(svc, next(s for s in svc.handlers if s.group == "deadline.cases"))


async def outbox(svc: Service) -> list[Envelope]:
    ob = svc.db.tables.outbox
    async with svc.uow() as uow:
        rows = (await uow.session.execute(select(ob.c.headers, ob.c.payload).order_by(ob.c.id))).all()
    return [parse(r.headers, r.payload) for r in rows]


def _clock_columns(row: store.ClockRow) -> dict[str, object]:
    return {c.name: getattr(row, c.name) for c in store.CLOCKS.columns if c.name != "updated_at"}


@pytest.mark.timeout(60)
async def test_a_batch_starts_each_clock_once_as_event_by_event(svc: Service, tmp_path: Path) -> None:
    r1, r2, r3 = "2025-SCJG-B0001", "2025-JSJ-B0002", "2025-SCJG-B0003"
    events = [accepted(r1, AT), accepted(r2, AT, unit="JSJ"), accepted(r1, AT), accepted(r3, AT, promised=5)]
    ids = ["e1", "e2", "e1-again", "e3"]  # e1-again: the same acceptance under another id
    await cases_consumer(svc).handle_records(records(*events, ids=ids))
    # The same events one per batch, in a service of their own.
    one = create_service(DeadlineSettings(data_dir=tmp_path / "one", auth_secret="deadline-test-secret-0123456789abcdef",
                                          deadline_workers=False))
    await one.db.migrate()
    try:
        for e, i in zip(events, ids, strict=True):
            await cases_consumer(one).handle_records(records(e, ids=[i]))
        got = {}
        for service in (svc, one):
            async with service.uow() as uow:
                got[service] = ({no: _clock_columns(await store.get_clock(uow.session, no))  # type: ignore[arg-type]
                                 for no in (r1, r2, r3)}, await store.unit_names(uow.session))
            got[service] += ([(e.id, e.data) for e in await outbox(service)],)  # type: ignore[assignment]
        assert got[svc] == got[one]
    finally:
        await one.db.dispose()
    clocks, names, started = got[svc]
    assert clocks[r1]["due_date"] == date(2025, 10, 16) and clocks[r3]["state"] == "running"
    assert names == {UNIT: UNIT_NAME, "JSJ": "JSJ局"}
    assert [(type(data).__name__, data.receipt_no, id) for id, data in started] == [
        ("ClockStarted", r1, derived_id("e1", 0)), ("ClockStarted", r2, derived_id("e2", 0)),
        ("ClockStarted", r3, derived_id("e3", 0))]


@pytest.mark.timeout(60)
async def test_a_batch_costs_the_same_statements_whatever_its_size(svc: Service) -> None:
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()[:4]))

    sa_event.listen(svc.db.engine.sync_engine, "before_cursor_execute", count)
    consumer = cases_consumer(svc)
    await consumer.handle_records(records(accepted("2025-SCJG-W0001", AT), ids=["w"]))  # the unit is known
    per_batch = []
    for size, prefix in ((2, "S"), (8, "L")):
        statements.clear()
        events = [accepted(f"2025-SCJG-{prefix}{n:04d}", AT) for n in range(size)]
        await consumer.handle_records(records(*events, ids=[f"{prefix}{n}" for n in range(size)]))
        per_batch.append(list(statements))
    assert per_batch[0] == per_batch[1], per_batch
    assert len(await outbox(svc)) == 11


@pytest.mark.timeout(60)
async def test_a_refused_start_names_its_event(svc: Service) -> None:
    good = accepted("2025-SCJG-R0001", AT)
    # Not a valid event on the bus (promised_days >= 0), so built past validation: the clock's
    # own rule refuses it.
    bad = accepted("2025-SCJG-R0002", AT).model_copy(update={"promised_days": -1})
    async with svc.uow() as uow:
        with pytest.raises(Reject) as err:
            await handlers.accepted(Batch([(e, HandlerContext(Envelope.wrap(e), uow, svc)) for e in (good, bad)],
                                          uow, svc))
    assert str(err.value) == "cannot start the clock of 2025-SCJG-R0002: 承诺时限不能为负数"


def test_a_new_clocks_columns_are_those_of_its_orm_row(cal) -> None:  # type: ignore[no-untyped-def]
    """The Core INSERT's columns (``new_clock_columns``) and ``store.clock_to_row``'s ORM row agree
    column for column (a column added to the row and not to the start would show here)."""
    from services.deadline.domain.clock import Clock
    from services.deadline.usecases.shared import new_clock_columns

    for kind, promised, statutory in ((CaseKind.PROMISED, 10, 20), (CaseKind.IMMEDIATE, 0, 0), (CaseKind.JOINT, 15, 7)):
        clock, _ = Clock.start(cal, receipt_no="2025-SCJG-C0001", unit_code=UNIT, item_code="SCJG-001", item_version=3,
                               case_kind=kind, accepted_at=AT, promised_days=promised, statutory_days=statutory)
        orm = store.clock_to_row(clock, cal, (3, 1))
        columns = new_clock_columns(clock, cal, (3, 1))
        assert set(columns) == {c.name for c in store.CLOCKS.columns}
        assert {k: v for k, v in columns.items() if k != "updated_at"} == {
            c.name: getattr(orm, c.name) for c in store.CLOCKS.columns if c.name != "updated_at"}
