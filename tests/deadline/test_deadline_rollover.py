"""The rollover's plans (``usecases/rollover.py``): the domain decides once per kind of clock and
the decision is applied to every clock of that kind. On a mixed set of clocks -- several units
and items, limits of 1..12 days, open and closed stops, extensions, decided cases, cards already
fired -- over successive midnights, each tick must write exactly what the domain says clock by
clock (``clock_to_row``'s alert columns, ``check_alerts``' cards) and exactly what ``uow.emit``
would put in the outbox (ids, topic, key, the headers' JSON text, the payload bytes), once; a
crash mid-rollover leaves whole batches and the next tick finishes the rest, nothing twice. On
SQLite, and on PostgreSQL when ``ONEWINDOW_TEST_POSTGRES_URL`` names a server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select as orm_select

from contracts.base import Event
from contracts.common import CaseKind
from contracts.deadline import DeadlineWarned, StopReason
from contracts.envelope import Envelope
from services.deadline import store
from services.deadline.app import create_service
from services.deadline.config import DeadlineSettings
from services.deadline.domain import Clock
from services.deadline.usecases import watch
from services.deadline.usecases.shared import state_of
from services.runtime.app import Service

from .helpers import local

pytestmark = pytest.mark.timeout(120)

UNITS = ("SCJG", "GAJ", "FGJ-2", "ZJ_J")
ITEMS = ("SCJG-001", "ITEM.7", "X1")
TICKS = (local(2025, 10, 20, 0, 0), local(2025, 10, 22, 0, 0), local(2025, 10, 24, 0, 0), local(2025, 10, 28, 0, 0))
ALERT_COLUMNS = ("state", "overdue", "due_at", "next_warning_at", "fired", "due_date", "statutory_due_date")


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


async def _seed(svc: Service, n: int = 600) -> None:
    """``n`` clocks accepted over three weeks: most plain (many of one kind: the plans' case),
    one in twenty each with an open stop, a closed stop, an extension or a decision."""
    st = state_of(svc)
    async with svc.uow() as uow:
        cal = await st.calendar.current(uow.session)
        for i in range(n):
            unit = UNITS[i % len(UNITS)]
            clock, _ = Clock.start(
                cal, receipt_no=f"2025-{unit.replace('_', '-')}-{i:05d}", unit_code=unit, item_code=ITEMS[i % len(ITEMS)],
                case_kind=CaseKind.IMMEDIATE if i % 13 == 0 else CaseKind.PROMISED,
                accepted_at=local(2025, 9, 29, 9) + timedelta(days=i % 21, hours=i % 7), promised_days=1 + i % 12,
                statutory_days=20,
            )
            variant = i % 20
            if variant == 0:  # stopped: no card while it stands
                clock.stop(cal, stop_id="s", reason=StopReason.HEARING, at=clock.accepted_at + timedelta(days=1))
            elif variant == 1:  # stopped and resumed: a later due date
                clock.stop(cal, stop_id="s", reason=StopReason.TESTING, at=clock.accepted_at + timedelta(days=1))
                clock.resume(cal, stop_id="s", at=clock.accepted_at + timedelta(days=4))
            elif variant == 2:
                clock.extend(cal, extension_id="e", days=3, approved_by="王建国", reason="现场核查",
                             at=clock.accepted_at + timedelta(days=1))
            elif variant == 3:
                clock.end(cal, decided_at=clock.accepted_at + timedelta(days=2), outcome="approved")
            uow.session.add(store.clock_to_row(clock, cal, st.thresholds))
        await uow.commit()


async def _clock_rows(svc: Service) -> dict[str, dict[str, Any]]:
    async with svc.uow() as uow:
        rows = (await uow.session.exec(orm_select(store.ClockRow))).all()
    return {r.receipt_no: {k: _norm(getattr(r, k)) for k in ALERT_COLUMNS} for r in rows}


def _norm(v: Any) -> Any:
    return store.aware(v) if isinstance(v, datetime) else v


async def _expected(svc: Service, now: datetime) -> tuple[dict[str, dict[str, Any]], dict[str, list[Event]]]:
    """What the domain says, clock by clock, the tick at ``now`` must leave and issue."""
    st = state_of(svc)
    rows: dict[str, dict[str, Any]] = {}
    events: dict[str, list[Event]] = {}
    async with svc.uow() as uow:
        cal = await st.calendar.current(uow.session)
        for row in (await uow.session.exec(orm_select(store.ClockRow))).all():
            clock = store.clock_from_row(row)
            issued = clock.check_alerts(cal, now=now, thresholds=st.thresholds)
            if issued:
                events[clock.receipt_no] = issued
            new = store.clock_to_row(clock, cal, st.thresholds)
            rows[clock.receipt_no] = {k: _norm(getattr(new, k)) for k in ALERT_COLUMNS}
    return rows, events


async def _outbox(svc: Service, after: int = 0) -> list[tuple[Any, ...]]:
    """(id, event_id, topic, key, headers as stored text, payload bytes) of the rows after ``after``."""
    raw = "headers::text" if svc.db.dialect == "postgresql" else "headers"
    async with svc.db.engine.connect() as conn:
        rows = (await conn.execute(
            text(f"SELECT id, event_id, topic, key, {raw}, payload FROM outbox WHERE id > :after ORDER BY id"),
            {"after": after},
        )).all()
    return [(r[0], r[1], r[2], r[3], r[4], bytes(r[5])) for r in rows]


def _check_cards(written: list[tuple[Any, ...]], expected: dict[str, list[Event]], source: str) -> None:
    """The outbox rows are, card for card, what ``uow.emit`` writes (``Envelope``), each once,
    each clock's cards in the domain's order."""
    by_receipt: dict[str, list[tuple[Any, ...]]] = {}
    for row in written:
        by_receipt.setdefault(row[3], []).append(row)
    assert set(by_receipt) == set(expected)
    for receipt, events in expected.items():
        rows = by_receipt[receipt]
        assert len(rows) == len(events), receipt
        for (_, event_id, topic, key, headers, payload), e in zip(rows, events):
            ce_time = json.loads(headers)["ce_time"]
            env = Envelope.wrap(e, id=watch.card_id(e), time=datetime.fromisoformat(ce_time), source=source)
            assert event_id == env.id
            assert (topic, key) == (env.topic, env.key.decode())  # type: ignore[union-attr]
            assert headers == json.dumps(env.headers()), receipt  # the JSON text, key order included
            assert payload == env.body(), receipt  # the payload bytes


async def test_a_mixed_rollover_writes_what_the_domain_and_emit_say(svc: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    await _seed(svc)
    # Count the clocks the domain checks one by one (the rest went by a plan).
    checked: list[str] = []
    due_clock = store.due_clock

    def counting(values: Any, sqlite: bool) -> store.DueClock:
        checked.append(values[0])
        return due_clock(values, sqlite)

    monkeypatch.setattr(store, "due_clock", counting)
    async with svc.uow() as uow:
        source = uow.source or "deadline"
    total_cards = warned = missed = 0
    last_id = 0
    for now in TICKS:
        want_rows, want_events = await _expected(svc, now)
        checked.clear()
        tick = await watch.watch_once(svc, now, batch_size=7)
        cards = sum(len(v) for v in want_events.values())
        assert tick.warnings + tick.overdue == cards
        assert tick.warnings == sum(isinstance(e, DeadlineWarned) for v in want_events.values() for e in v)
        assert await _clock_rows(svc) == want_rows, now
        written = await _outbox(svc, last_id)
        _check_cards(written, want_events, source)
        if written:
            last_id = written[-1][0]
        if tick.clocks > 20:  # plans did most of it: one domain check per kind of clock
            assert len(checked) < tick.clocks / 2, (len(checked), tick.clocks)
        total_cards += cards
        warned += tick.warnings
        missed += tick.overdue
        assert (await watch.watch_once(svc, now)).clocks == 0  # nothing left, nothing twice
    # The set exercised every kind of outcome.
    assert warned > 20 and missed > 20
    assert len(await _outbox(svc)) == total_cards
    async with svc.uow() as uow:
        overdue_open = (await uow.session.exec(
            orm_select(store.ClockRow).where(store.ClockRow.overdue == True)  # noqa: E712
        )).all()
    assert len(overdue_open) == missed


async def test_a_crash_mid_rollover_loses_nothing_and_repeats_nothing(svc: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    await _seed(svc)
    now = TICKS[-1]
    want_rows, want_events = await _expected(svc, now)
    cards = sum(len(v) for v in want_events.values())
    assert cards > 50
    calls = 0
    add = store.add_outbox_values

    async def failing(session: Any, outbox: Any, rows: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 4:  # the fourth batch dies after writing its clocks, before its commit
            await add(session, outbox, rows)
            raise ConnectionError("the database went away")
        await add(session, outbox, rows)

    monkeypatch.setattr(store, "add_outbox_values", failing)
    with pytest.raises(ConnectionError):
        await watch.watch_once(svc, now, batch_size=7)
    partial = await _outbox(svc)
    assert 0 < len(partial) < cards  # three batches committed, the fourth rolled back whole
    rows = await _clock_rows(svc)
    done = {r[3] for r in partial}
    for receipt, row in rows.items():
        if receipt in done:
            assert row == want_rows[receipt], receipt
    monkeypatch.setattr(store, "add_outbox_values", add)
    # The restarted watcher takes what is still due.
    await watch.watch_once(svc, now, batch_size=7)
    assert await _clock_rows(svc) == want_rows
    written = await _outbox(svc)
    assert len({r[1] for r in written}) == len(written) == cards
    async with svc.uow() as uow:
        _check_cards(written, want_events, uow.source or "deadline")


async def test_the_watcher_queries_use_the_partial_indexes(svc: Service) -> None:
    """The alert indexes hold only the rows with an instant; the watcher's queries still search
    them (no scan of the clock table)."""
    await _seed(svc, 40)
    async with svc.db.engine.connect() as conn:
        if svc.db.dialect == "postgresql":  # its plans follow its statistics: the definitions
            defs = dict((await conn.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'deadline_clock'"
            ))).all())
            for column in ("due_at", "next_warning_at", "decided_on"):
                assert f"WHERE ({column} IS NOT NULL)" in defs[f"ix_deadline_clock_{column}"]
            return
        for column in ("due_at", "next_warning_at"):
            for sql in (f"SELECT receipt_no FROM deadline_clock WHERE {column} <= '2025-10-24' ORDER BY {column} LIMIT 7",
                        f"SELECT min({column}) FROM deadline_clock WHERE {column} IS NOT NULL"):
                plan = " ".join(str(r[-1]) for r in (await conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"))).all())
                assert f"INDEX ix_deadline_clock_{column}" in plan, plan
        indexes = dict((await conn.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deadline_clock'"
        ))).all())
    assert "WHERE due_at IS NOT NULL" in indexes["ix_deadline_clock_due_at"]


async def test_the_benchmark_measures_the_rollover(database_url: str) -> None:
    """``benchmarks/deadline_clocks.py`` (``python -m benchmarks.compare``'s ``deadline_rollover``):
    a loaded database, a rollover on a copy of it, the clocks per CPU-second (and on a local
    PostgreSQL the server's CPU), the bare-writes peer on another copy."""
    import os

    from benchmarks import deadline_clocks as bench

    server = os.environ.get("ONEWINDOW_TEST_POSTGRES_URL") if database_url.startswith("postgresql") else None
    base = await bench.base(400, server)
    wall_rate, clocks, m = await bench.rollover_rate(base, batch=50)
    assert clocks == m.clocks > 0 and wall_rate > 0 and m.per_cpu > 0
    if server is not None:
        assert m.server_cpu is not None and m.server_cpu >= 0
    assert f"{clocks:,} clocks" in m.describe()
    peer, peer_clocks = await bench.bare_writes_rate(base, batch=50)
    assert peer_clocks == clocks and peer > 0


async def test_sqlite_batches_get_a_larger_page_cache_and_give_it_back(svc: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite each batch runs with the rollover's page cache (its SELECT's pages are the ones
    its UPDATE rewrites); the connection has SQLite's default back once the batch returns it to
    the pool, so no memory is kept between ticks. PostgreSQL is left alone."""
    await _seed(svc, 120)
    seen: list[int] = []
    write = store.write_alert_rows

    async def recording(session: Any, groups: Any) -> None:
        conn = await session.connection()
        if svc.db.is_sqlite:
            seen.append((
                (await conn.exec_driver_sql("PRAGMA cache_size")).scalar_one(),
                (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar_one(),
            ))
        else:
            seen.append((0, 0))
        await write(session, groups)

    monkeypatch.setattr(store, "write_alert_rows", recording)
    tick = await watch.watch_once(svc, TICKS[-1], batch_size=7)
    assert tick.batches > 2 and len(seen) == tick.batches
    if not svc.db.is_sqlite:
        return
    assert set(seen) == {(-store.ROLLOVER_CACHE_KIB, 0)}  # and no automatic checkpoint in its commits
    pool = svc.db.engine.sync_engine.pool
    assert pool.checkedout() == 0
    async with svc.db.engine.connect() as conn:  # the connection the batches used, back from the pool
        assert (await conn.exec_driver_sql("PRAGMA cache_size")).scalar_one() == -2000
        assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar_one() == 1000


async def test_sqlite_checkpoints_run_beside_the_batches(svc: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite the WAL is checkpointed beside the tick's batches (another connection, another
    thread), at most one at a time, and the tick ends with the WAL copied into the database file:
    what the batches' automatic checkpoints did before, off their commits."""
    if not svc.db.is_sqlite:
        assert store.WalCheckpoints(svc.db.engine.url)._path is None  # nothing to do elsewhere
        return
    await _seed(svc, 120)
    made: list[str] = []
    checkpoint = store.WalCheckpoints._checkpoint

    def recording(self: store.WalCheckpoints) -> None:
        made.append(self._path)  # type: ignore[arg-type]
        checkpoint(self)

    monkeypatch.setattr(store.WalCheckpoints, "_checkpoint", recording)
    tick = await watch.watch_once(svc, TICKS[-1], batch_size=7)
    assert tick.batches > 2 and tick.clocks > 0
    assert 1 <= len(made) <= tick.batches and set(made) == {svc.db.engine.url.database}
    import sqlite3

    # The database file alone (immutable: its WAL not read) holds every card of the tick.
    conn = sqlite3.connect(f"file:{svc.db.engine.url.database}?immutable=1", uri=True)
    try:
        cards = conn.execute("SELECT count(*) FROM outbox WHERE topic LIKE 'deadline.%'").fetchone()[0]
    finally:
        conn.close()
    assert cards == tick.warnings + tick.overdue > 0


async def test_the_benchmark_probes_the_api_wait(database_url: str) -> None:
    """``--api-probe``: an API-like writer beside the rollover, timed."""
    import os

    from benchmarks import deadline_clocks as bench

    server = os.environ.get("ONEWINDOW_TEST_POSTGRES_URL") if database_url.startswith("postgresql") else None
    base = await bench.base(400, server)
    async with bench.copy_of(base, 50) as service:
        probe = bench.WriterProbe(service, every=0.001)
        probe.start()
        while not probe.waits:  # writing before the rollover starts
            await asyncio.sleep(0.005)
        m = await bench.measure_rollover(service)
        report = await probe.stop()
        async with service.uow() as uow:  # the probe's writes are real, committed transactions
            last = await store.kv_get(uow.session, "bench-probe")
    assert m.clocks > 0
    assert f"{len(probe.waits)} transactions, wait median" in report
    assert last in (str(len(probe.waits) - 1), str(len(probe.waits)))  # (a cancel may land after a commit)


async def test_a_clock_written_between_the_batch_read_and_its_write_is_taken_again(
    svc: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handler deciding a case while the watcher plans its batch: on SQLite the batch's SELECT
    runs before its write transaction, so the UPDATE only takes rows nobody wrote meanwhile;
    else the whole batch is rolled back and taken again, and the decided case gets no card. On
    PostgreSQL the batch's rows are locked: the other writer waits for the batch."""
    await _seed(svc, 200)
    now = TICKS[-1]
    _, want_events = await _expected(svc, now)
    st = state_of(svc)
    select_due = store.due_clocks
    victim: list[str] = []
    calls = 0

    async def decide_meanwhile(session: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        due, more = await select_due(session, *args, **kwargs)
        calls += 1
        if calls == 2 and due:  # the second batch: a case of it is decided by someone else
            receipt = due[0][0]
            if svc.db.is_sqlite:
                async with svc.uow() as other:
                    cal = await st.calendar.current(other.session)
                    row = await store.get_clock(other.session, receipt)
                    assert row is not None
                    clock = store.clock_from_row(row)
                    clock.end(cal, decided_at=now - timedelta(hours=1), outcome="approved")
                    store.clock_to_row(clock, cal, st.thresholds, row)
                    other.session.add(row)
                    await other.commit()
                victim.append(receipt)
            else:
                async with svc.db.engine.connect() as conn:
                    await conn.execute(text("SET lock_timeout = '200ms'"))
                    with pytest.raises(Exception, match="lock"):
                        await conn.execute(text("UPDATE deadline_clock SET outcome = 'x' WHERE receipt_no = :r"), {"r": receipt})
        return due, more

    monkeypatch.setattr(store, "due_clocks", decide_meanwhile)
    tick = await watch.watch_once(svc, now, batch_size=7)
    assert calls > 2
    written = await _outbox(svc)
    by_receipt: dict[str, int] = {}
    for row in written:
        by_receipt[row[3]] = by_receipt.get(row[3], 0) + 1
    assert len({r[1] for r in written}) == len(written)  # nothing twice
    if not svc.db.is_sqlite:
        assert by_receipt == {r: len(v) for r, v in want_events.items()}
        return
    (receipt,) = victim
    assert receipt in want_events and receipt not in by_receipt  # decided before its card: none
    assert by_receipt == {r: len(v) for r, v in want_events.items() if r != receipt}
    assert tick.warnings + tick.overdue == len(written)
    async with svc.uow() as uow:
        row = await store.get_clock(uow.session, receipt)
    assert row is not None and row.state == "ended" and not row.fired
