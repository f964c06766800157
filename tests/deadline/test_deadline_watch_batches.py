"""The watcher's batch path (``usecases/watch.py``, ``store.due_clocks`` / ``write_alerts`` /
``add_outbox_rows``): Core statements instead of the ORM, the outbox rows built without the
envelope. It must write what the domain and ``uow.emit`` would: the same clock columns, the same
events, ids, headers and payload bytes. On SQLite, and on PostgreSQL when
``ONEWINDOW_TEST_POSTGRES_URL`` names a server."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlmodel import select as orm_select

from contracts.base import utcnow
from contracts.common import CaseKind, Role
from contracts.deadline import DeadlineMissed, DeadlineWarned, StopReason
from services.deadline import store
from services.deadline.app import create_service
from services.deadline.config import DeadlineSettings
from services.deadline.usecases import clocks, watch
from services.deadline.usecases.shared import _NS, derived_id, state_of
from services.runtime import clock as suite_clock
from services.runtime.app import Service
from services.runtime.auth import Staff

from .helpers import local
from .intake_events import UNIT, accepted

NOW = local(2025, 10, 24, 0, 0)  # a Friday midnight


@pytest.fixture
async def svc(tmp_path: Path, database_url: str) -> AsyncIterator[Service]:
    service = create_service(
        DeadlineSettings(
            data_dir=tmp_path, database_url=database_url, auth_secret="deadline-test-secret-0123456789abcdef",
            deadline_workers=False, deadline_warning_days=[2, 4],
        )
    )
    await service.db.migrate()
    try:
        yield service
    finally:
        await service.db.dispose()


def test_derived_ids_are_uuid5() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        parts = [rng.choice(["card", "recompute", "日历"]), f"2025-U{rng.randrange(99)}-{rng.randrange(10**7)}",
                 rng.choice(["warn:2", "overdue", 3, None])]
        assert derived_id(*parts) == str(uuid.uuid5(_NS, "|".join(str(p) for p in parts)))


async def _outbox(svc: Service) -> list[tuple]:
    ob = svc.db.tables.outbox
    async with svc.db.engine.connect() as conn:
        rows = (await conn.execute(select(ob.c.id, ob.c.event_id, ob.c.topic, ob.c.key, ob.c.headers, ob.c.payload)
                                   .order_by(ob.c.id))).all()
        raw = (await conn.execute(text(
            "SELECT headers::text FROM outbox ORDER BY id" if svc.db.dialect == "postgresql"
            else "SELECT headers FROM outbox ORDER BY id"
        ))).scalars().all()
    return [(*r, t) for r, t in zip(rows, raw)]


async def test_outbox_rows_are_what_uow_emit_writes(svc: Service) -> None:
    events = [
        DeadlineWarned(receipt_no="2025-SCJG-00001", unit_code="SCJG", item_code="ITEM.1", threshold_days=2,
                       days_left=2, due_date=date(2025, 10, 28), warned_at=NOW),
        DeadlineMissed(receipt_no="2025-SCJG-00002", unit_code="SCJG", item_code="ITEM.1", due_date=date(2025, 10, 23),
                       statutory_due_date=date(2025, 11, 6), overdue_at=NOW),
    ]
    async with svc.uow() as uow:
        for i, e in enumerate(events):
            await uow.emit(e, id=f"emit-{i}")
        await uow.commit()
    async with svc.uow() as uow:
        rows = [store.outbox_row(e, f"bulk-{i}", uow.source or "", utcnow().isoformat(), suite_clock.system_now())
                for i, e in enumerate(events)]
        await store.add_outbox_rows(uow.session, svc.db.tables.outbox, rows)
        await uow.commit()
    written = await _outbox(svc)
    assert len(written) == 4
    for emitted, bulk in zip(written[:2], written[2:]):
        _, eid, topic, key, headers, payload, raw = emitted
        _, beid, btopic, bkey, bheaders, bpayload, braw = bulk
        assert (beid, bheaders["ce_id"]) == (eid.replace("emit", "bulk"), eid.replace("emit", "bulk"))
        assert (btopic, bkey, bytes(bpayload)) == (topic, key, bytes(payload))
        assert list(bheaders) == list(headers)  # the same keys, in Envelope.headers()'s order
        assert {**bheaders, "ce_id": "", "ce_time": ""} == {**headers, "ce_id": "", "ce_time": ""}
        assert braw == json.dumps(bheaders) and raw == json.dumps(headers)  # the column's own serialisation


async def _start(svc: Service, receipt_no: str, at: datetime, promised: int, kind: CaseKind = CaseKind.PROMISED) -> None:
    st = state_of(svc)
    async with svc.uow() as uow:
        await clocks.start_clock(uow, st, accepted(receipt_no, at, promised=promised, kind=kind), cause=f"c-{receipt_no}")
        await uow.commit()


async def _clock_rows(svc: Service) -> dict[str, dict]:
    keep = ("state", "overdue", "due_at", "next_warning_at", "fired", "due_date", "statutory_due_date", "stops", "extensions")
    async with svc.uow() as uow:
        rows = (await uow.session.exec(orm_select(store.ClockRow))).all()
    return {r.receipt_no: {k: getattr(r, k) for k in keep} for r in rows}


async def test_a_rollover_in_batches_writes_what_the_domain_says(svc: Service) -> None:
    st = state_of(svc)
    # Clocks accepted over the three weeks before, limits of 1..12 working days: some get a red
    # card, some a yellow one (thresholds 2 and 4), some both skipped into a red, some nothing.
    receipts = []
    for i in range(36):
        r = f"2025-SCJG-{i:05d}"
        await _start(svc, r, local(2025, 10, 1, 10) + timedelta(days=i % 21), promised=1 + i % 12,
                     kind=CaseKind.IMMEDIATE if i == 5 else CaseKind.PROMISED)
        receipts.append(r)
    # One stopped (no card while stopped), one stopped and resumed (a later due date).
    head = Staff(sub="head-1", name="王建国", role=Role.UNIT_HEAD, unit=UNIT)
    for receipt, stop_id, started in ((receipts[1], "s1", local(2025, 10, 20, 9)), (receipts[0], "s2", local(2025, 10, 2, 9))):
        async with svc.uow() as uow:
            await clocks.stop_clock(uow, st, receipt, head, reason=StopReason.HEARING, started_at=started, note=None,
                                    stop_id=stop_id)
            await uow.commit()
    async with svc.uow() as uow:
        await clocks.end_stop(uow, st, receipts[0], "s2", head, ended_at=local(2025, 10, 9, 9))
        await uow.commit()
    # What the domain says each clock's row must become at NOW (the ORM path's conversion).
    before = await _clock_rows(svc)
    expected_rows: dict[str, dict] = {}
    expected_events: dict[str, object] = {}
    async with svc.uow() as uow:
        cal = await st.calendar.current(uow.session)
        for row in (await uow.session.exec(orm_select(store.ClockRow))).all():
            clock = store.clock_from_row(row)
            for e in clock.check_alerts(cal, now=NOW, thresholds=st.thresholds):
                expected_events[watch.card_id(e)] = e
            new = store.clock_to_row(clock, cal, st.thresholds)
            expected_rows[clock.receipt_no] = {k: getattr(new, k) for k in before[clock.receipt_no]}
    assert expected_events and any(isinstance(e, DeadlineMissed) for e in expected_events.values())
    assert any(isinstance(e, DeadlineWarned) for e in expected_events.values())

    tick = await watch.watch_once(svc, NOW, batch_size=4)
    assert tick.batches > 2 and tick.warnings + tick.overdue == len(expected_events)
    after = await _clock_rows(svc)
    for r in receipts:
        got = {k: store.aware(v) if isinstance(v, datetime) else v for k, v in after[r].items()}
        want = {k: store.aware(v) if isinstance(v, datetime) else v for k, v in expected_rows[r].items()}
        assert got == want, r
    written = await _outbox(svc)
    cards = {eid: json.loads(bytes(payload)) for _, eid, _, _, headers, payload, _ in written
             if headers["ce_type"].split(".")[2] in ("DeadlineWarned", "DeadlineMissed")}
    assert set(cards) == set(expected_events)
    for eid, e in expected_events.items():
        assert cards[eid] == json.loads(e.model_dump_json()), eid  # type: ignore[attr-defined]
    # Exactly once: nothing left at the same instant, nor a day later for these cards.
    assert (await watch.watch_once(svc, NOW)).clocks == 0
    assert (await watch.watch_once(svc, NOW + timedelta(hours=9))).clocks == 0
