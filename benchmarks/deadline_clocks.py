"""Benchmark: the deadline watcher over 1,000,000 open clocks (not a test; figures go to
docs/benchmarks.md).

    .venv/bin/python -m benchmarks.deadline_clocks            # SQLite in a temp folder, 1,000,000 clocks
    .venv/bin/python -m benchmarks.deadline_clocks --clocks 100000 --database-url postgresql+psycopg://...

What it does:
1. migrates a fresh database of the deadline service and loads N open clocks: accepted over the
   30 calendar days before Monday 17 November 2025, promised limits of 1-20 working days, in the
   state the watcher would have left them at 00:00 that day (cards already due are recorded as
   fired). Every row is computed by the domain (``Clock.start`` / ``check_alerts`` /
   ``clock_to_row``) for each (acceptance day, limit) pair, then copied under N receipt numbers;
2. measures one watcher tick at 09:00 when nothing is due: the two indexed queries for due
   clocks and the two ``min()`` lookups for the next wake-up (the query plans are printed, to
   show the indexes at work);
3. measures one day's rollover: the tick at 00:00 on Tuesday 18 November, which issues every
   yellow and red card due that midnight (rows updated, events written to the outbox, in
   batches of ``deadline_watch_batch_size``), and the tick right after (nothing left). Besides
   the wall time it gives the clocks per CPU-second of this process (the watcher and, on SQLite,
   the database's thread): on a machine shared with other work, the figure the load distorts
   least; on a PostgreSQL server of this machine also the server's CPU (this database's backends,
   the checkpointer, WAL writer and background writer, from /proc: :func:`server_cpu`) and the
   clocks per CPU-second of both.

With ``--database-url postgresql+psycopg://.../postgres`` a fresh database is created on that
server for the run and dropped afterwards. ``--batch N``: the watcher's batch size (default: the
service's ``deadline_watch_batch_size``). ``--api-probe``: an API-like writer beside the rollover
(a short write transaction every 10 ms in the same event loop, as the service's API has it) and
how long it waited -- what a larger batch costs the API on SQLite (one writer at a time).

``python -m benchmarks.compare`` runs ``deadline_rollover`` (SQLite) and
``deadline_rollover_postgresql`` from here (:data:`benchmarks.compare.PLUGINS`): the watcher's
rollover against a peer measured in the same round on a copy of the same database, the bare
writes of the same rows with plain SQLAlchemy Core (one executemany UPDATE of the clocks' alert
columns and one ``insert(outbox)`` of the same outbox rows per batch of the watcher's size, every value
computed beforehand, nothing read). ratio = rollover clocks/s / bare-write clocks/s: the share
of the bare writing speed the rollover keeps while it also reads the clocks and runs the domain.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from contracts.common import CaseKind  # noqa: E402
from services.deadline import store  # noqa: E402
from services.deadline.app import create_service  # noqa: E402
from services.deadline.config import DeadlineSettings  # noqa: E402
from services.deadline.domain import Clock  # noqa: E402
from services.deadline.usecases import watch  # noqa: E402
from services.runtime import clock as suite_clock  # noqa: E402
from services.runtime.workdays import TZ  # noqa: E402
from contracts.base import utcnow  # noqa: E402

TODAY = date(2025, 11, 17)  # a Monday
UNITS = [f"U{i:02d}" for i in range(27)]  # 27 units handle business in the center


def templates(st, cal) -> dict[tuple[date, int], dict]:  # type: ignore[no-untyped-def]
    """One row (as column values) per acceptance day and promised limit, computed by the domain
    as the watcher would have left it at 00:00 on TODAY."""
    now = datetime.combine(TODAY, datetime.min.time(), tzinfo=TZ)
    out = {}
    for back in range(1, 31):
        day = TODAY - timedelta(days=back)
        for promised in range(1, 21):
            clock, _ = Clock.start(
                cal, receipt_no="TEMPLATE", unit_code="U00", item_code="ITEM.1", case_kind=CaseKind.PROMISED,
                accepted_at=datetime.combine(day, datetime.min.time(), tzinfo=TZ).replace(hour=10),
                promised_days=promised, statutory_days=20,
            )
            clock.check_alerts(cal, now=now, thresholds=st.thresholds)
            row = store.clock_to_row(clock, cal, st.thresholds)
            values = {c.name: getattr(row, c.name) for c in store.ClockRow.__table__.columns}
            out[(day, promised)] = values
    return out


async def load(svc, n: int, batch: int = 20_000) -> float:  # type: ignore[no-untyped-def]
    st = svc.state.deadline
    async with svc.uow() as uow:
        cal = await st.calendar.current(uow.session)
    tpl = templates(st, cal)
    keys = list(tpl)
    rng = random.Random(20251117)
    table = store.ClockRow.__table__
    started = time.perf_counter()
    async with svc.db.engine.begin() as conn:
        rows = []
        for i in range(n):
            values = dict(tpl[keys[rng.randrange(len(keys))]])
            values["receipt_no"] = f"2025-{UNITS[i % len(UNITS)]}-{i:07d}"
            values["unit_code"] = UNITS[i % len(UNITS)]
            rows.append(values)
            if len(rows) == batch:
                await conn.execute(insert(table), rows)
                rows = []
        if rows:
            await conn.execute(insert(table), rows)
    return time.perf_counter() - started


# -- databases ---------------------------------------------------------------------------------
def _admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


#: The server (maintenance database) URL each database this module created was created from.
_ADMIN_URLS: dict[str, str] = {}


def create_pg_database(url: str, template: str | None = None) -> str:
    """A new database on the server of ``url`` (a copy of ``template`` when given); its URL.
    ``url`` may itself name a database this module created (its server is used)."""
    import psycopg

    admin = _ADMIN_URLS.get(url, url)
    name = f"bench_deadline_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_dsn(admin), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    created = make_url(admin).set(database=name).render_as_string(hide_password=False)
    _ADMIN_URLS[created] = admin
    return created


def drop_pg_database(url: str) -> None:
    import psycopg

    with psycopg.connect(_admin_dsn(_ADMIN_URLS[url]), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def _settings(data_dir: Path, database_url: str | None, batch: int | None = None) -> DeadlineSettings:
    """The service's settings for a run; ``batch``: the watcher's batch size (else its default)."""
    return DeadlineSettings(
        data_dir=data_dir, database_url=database_url, auth_secret="bench" * 8, deadline_workers=False,
        log_json=False, **({} if batch is None else {"deadline_watch_batch_size": batch}),
    )


MIDNIGHT = datetime(2025, 11, 18, 0, 0, tzinfo=TZ)


# -- the comparison for benchmarks.compare ---------------------------------------------------------
@dataclass
class Base:
    """A loaded database kept as a template: a SQLite file, or a PostgreSQL database."""

    clocks: int
    sqlite_file: Path | None = None
    pg_url: str | None = None


_BASES: dict[tuple[int, str | None], Base] = {}


async def base(clocks: int, postgres: str | None) -> Base:
    """The loaded database of ``clocks`` open clocks (built once per process, removed at exit)."""
    key = (clocks, postgres)
    if key in _BASES:
        return _BASES[key]
    tmp = Path(tempfile.mkdtemp(prefix="deadline-base-"))
    atexit.register(shutil.rmtree, tmp, True)
    url = create_pg_database(postgres) if postgres else None
    if url:
        atexit.register(drop_pg_database, url)
    svc = create_service(_settings(tmp, url))
    await svc.db.migrate()
    await load(svc, clocks)
    async with svc.db.engine.connect() as conn:
        await conn.execute(text("ANALYZE"))
        await conn.commit()
    await svc.db.dispose()
    _BASES[key] = Base(clocks, sqlite_file=None if url else tmp / "deadline.db", pg_url=url)
    return _BASES[key]


@contextlib.asynccontextmanager
async def copy_of(b: Base, batch: int | None = None) -> AsyncIterator[Any]:
    """A service on a fresh copy of the base (file copy; ``CREATE DATABASE ... TEMPLATE``)."""
    tmp = Path(tempfile.mkdtemp(prefix="deadline-round-"))
    url = None
    if b.pg_url:
        url = create_pg_database(b.pg_url, template=make_url(b.pg_url).database)
    else:
        assert b.sqlite_file is not None
        shutil.copy(b.sqlite_file, tmp / "deadline.db")
    svc = create_service(_settings(tmp, url, batch))
    try:
        await watch.next_wake(svc, MIDNIGHT)  # the connection opened
        async with svc.uow() as uow:
            await svc.state.deadline.calendar.current(uow.session)  # the compiled calendar, as a running watcher has it
        yield svc
    finally:
        await svc.db.dispose()
        if url:
            drop_pg_database(url)
        shutil.rmtree(tmp, ignore_errors=True)


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of a local process, from /proc; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS


async def server_cpu(svc: Any) -> Any:
    """On a local PostgreSQL: a coroutine function giving the server's CPU seconds since this call
    -- this database's backends and the server's checkpointer, WAL writer and background writer
    (shared with any other database's work at the same time) -- or None when the server's
    processes cannot be read here (not PostgreSQL, another machine)."""
    if svc.db.is_sqlite:
        return None
    sql = text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
               "OR backend_type IN ('checkpointer', 'walwriter', 'background writer')")

    async def pids() -> list[int]:
        async with svc.db.engine.connect() as conn:
            return list((await conn.execute(sql)).scalars())

    start = {pid: _proc_cpu(pid) for pid in await pids()}
    if not start or any(v is None for v in start.values()):
        return None

    async def spent() -> float:
        total = 0.0
        for pid in set(start) | set(await pids()):
            now = _proc_cpu(pid)
            if now is not None:
                total += now - (start.get(pid) or 0.0)
        return total

    return spent


@dataclass
class Rollover:
    """One measured rollover: clocks, wall seconds, CPU seconds of this process and (PostgreSQL
    on this machine) of the server."""

    clocks: int
    wall: float
    cpu: float
    server_cpu: float | None = None

    @property
    def per_cpu(self) -> float:
        """Clocks per CPU-second: this process, plus the server's when measured."""
        return self.clocks / (self.cpu + (self.server_cpu or 0.0))

    def describe(self) -> str:
        text_ = (f"{self.clocks:,} clocks in {self.wall:.2f} s = {self.clocks / self.wall:,.0f}/s wall; "
                 f"{self.clocks / self.cpu:,.0f} per CPU-second of the watcher's process "
                 f"({self.cpu / self.clocks * 1e6:.1f} µs a clock)")
        if self.server_cpu is not None:
            text_ += (f"; server {self.server_cpu / self.clocks * 1e6:.1f} µs a clock; "
                      f"{self.per_cpu:,.0f} per CPU-second of client + server")
        return text_


async def measure_rollover(svc: Any, now: datetime = None) -> Rollover:  # type: ignore[assignment]
    """Time one ``watch_once`` at ``now`` (the rollover at 00:00 on 18 November by default)."""
    spent = await server_cpu(svc)
    t, c = time.perf_counter(), time.process_time()
    res = await watch.watch_once(svc, now or MIDNIGHT)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return Rollover(res.clocks, wall, cpu, await spent() if spent else None)


class WriterProbe:
    """An API-like writer beside the rollover, in the same process and event loop as a running
    service has them: every ``every`` seconds a short transaction (one key-value row written,
    committed); :attr:`waits` is how long each took. On SQLite it waits for the watcher's batch
    to release the write lock (and for the event loop, which the batch's Python work holds)."""

    def __init__(self, svc: Any, every: float = 0.01) -> None:
        self.svc, self.every, self.waits = svc, every, []  # type: list[float]
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        n = 0
        while True:
            t = time.perf_counter()
            async with self.svc.uow() as uow:
                await store.kv_set(uow.session, "bench-probe", str(n))
                await uow.commit()
            self.waits.append(time.perf_counter() - t)
            n += 1
            await asyncio.sleep(self.every)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> str:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        w = sorted(self.waits)
        if not w:
            return "API-like writer: no transaction finished"
        return (f"API-like writer: {len(w)} transactions, wait median {w[len(w) // 2] * 1000:.1f} ms, "
                f"p99 {w[min(len(w) - 1, int(len(w) * 0.99))] * 1000:.1f} ms, max {w[-1] * 1000:.1f} ms")


async def rollover_rate(b: Base, batch: int | None = None) -> tuple[float, int, Rollover]:
    """The watcher's rollover at 00:00 on a copy of ``b``: (clocks/s, clocks, the measure)."""
    async with copy_of(b, batch) as svc:
        m = await measure_rollover(svc)
    return m.clocks / m.wall, m.clocks, m


async def bare_writes_rate(b: Base, batch: int | None = None) -> tuple[float, int]:
    """The same rows written with plain Core executemany statements, everything computed
    beforehand (untimed): (clocks/s, clocks)."""
    async with copy_of(b, batch) as svc:
        st = svc.state.deadline
        table = store.ClockRow.__table__
        ob = svc.db.tables.outbox
        wall_now = suite_clock.system_now()
        ce_time = utcnow().isoformat()
        updates: list[dict[str, Any]] = []
        cards: list[list[dict[str, Any]]] = []
        async with svc.uow() as uow:  # untimed: what the rollover will write
            cal = await st.calendar.current(uow.session)
            due, _ = await store.due_clocks(uow.session, MIDNIGHT, 10**9)
            for values in due:
                clock = store.due_clock(values, svc.db.is_sqlite).clock
                events = clock.check_alerts(cal, now=MIDNIGHT, thresholds=st.thresholds)
                values = store.alert_columns(clock, cal, st.thresholds)
                updates.append({**values, "b_receipt_no": clock.receipt_no, "updated_at": wall_now})
                rows = [store.outbox_row(e, watch.card_id(e), "deadline", ce_time, wall_now) for e in events]
                cards.append([{**r, "headers": json.loads(r["headers"])} for r in rows])
        stmt = update(table).where(table.c.receipt_no == bindparam("b_receipt_no"))
        batch = batch or st.settings.deadline_watch_batch_size
        t = time.perf_counter()
        for i in range(0, len(updates), batch):
            async with svc.db.engine.begin() as conn:
                await conn.execute(stmt, updates[i:i + batch])
                rows = [r for chunk in cards[i:i + batch] for r in chunk]
                if rows:
                    await conn.execute(insert(ob), rows)
        wall = time.perf_counter() - t
    return len(updates) / wall, len(updates)


def _register() -> None:
    # Run as ``python -m benchmarks.compare``, the harness is ``__main__`` (importing
    # benchmarks.compare again would register into a second copy of it).
    main = sys.modules.get("__main__")
    if hasattr(main, "comparison") and str(getattr(main, "__file__", "")).endswith("compare.py"):
        harness: Any = main
    else:
        try:
            import benchmarks.compare as harness
        except ImportError:  # the harness is not there: this module still runs on its own
            return
    Skip, comparison = harness.Skip, harness.comparison

    async def round_(ctx: Any, size: int, postgres: bool) -> tuple[float, float]:
        if postgres and not ctx.postgres:
            raise Skip("no PostgreSQL server (--postgres, ONEWINDOW_BENCH_POSTGRES_URL or ONEWINDOW_TEST_POSTGRES_URL)")
        b = await base(size, ctx.postgres if postgres else None)
        if ctx.round % 2:
            peer, _ = await bare_writes_rate(b)
            project, clocks, m = await rollover_rate(b)
        else:
            project, clocks, m = await rollover_rate(b)
            peer, _ = await bare_writes_rate(b)
        print(f"    deadline rollover: {m.describe()} (goal: 20,000/s; load average {os.getloadavg()[0]:.1f}); "
              f"bare writes {peer:,.0f}/s", file=sys.stderr, flush=True)
        return project, peer

    @comparison("deadline_rollover", unit="clocks/s", quick=10_000, full=1_000_000)
    async def deadline_rollover(ctx: Any, size: int) -> tuple[float, float]:
        return await round_(ctx, size, postgres=False)

    @comparison("deadline_rollover_postgresql", unit="clocks/s", quick=10_000, full=1_000_000)
    async def deadline_rollover_postgresql(ctx: Any, size: int) -> tuple[float, float]:
        return await round_(ctx, size, postgres=True)


if __name__ != "__main__":
    _register()


async def plans(svc) -> list[str]:  # type: ignore[no-untyped-def]
    if not svc.db.is_sqlite:
        return []
    now = "2025-11-17 01:00:00.000000"
    out = []
    async with svc.db.engine.connect() as conn:
        for sql in (
            f"SELECT receipt_no FROM deadline_clock WHERE due_at <= '{now}' ORDER BY due_at LIMIT 500",
            f"SELECT receipt_no FROM deadline_clock WHERE next_warning_at <= '{now}' ORDER BY next_warning_at LIMIT 500",
            "SELECT min(due_at) FROM deadline_clock WHERE due_at IS NOT NULL",
            "SELECT min(next_warning_at) FROM deadline_clock WHERE next_warning_at IS NOT NULL",
        ):
            rows = (await conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"))).all()
            out.append(f"{sql}\n    -> " + "; ".join(str(r[-1]) for r in rows))
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clocks", type=int, default=1_000_000)
    ap.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    ap.add_argument("--batch", type=int, default=None, help="clocks per watcher transaction (default: the service's setting)")
    ap.add_argument("--api-probe", action="store_true",
                    help="beside the rollover, an API-like writer (a short transaction every 10 ms): how long it waited")
    args = ap.parse_args()

    server_url = args.database_url
    database_url = create_pg_database(server_url) if server_url and server_url.startswith("postgresql") else server_url
    try:
        await run(args, database_url)
    finally:
        if database_url and database_url != server_url:
            drop_pg_database(database_url)


async def run(args: argparse.Namespace, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="deadline-bench-") as tmp:
        settings = _settings(Path(tmp), database_url, args.batch)
        svc = create_service(settings)
        await svc.db.migrate()
        print(f"loading {args.clocks:,} open clocks into {svc.db.dialect} ...", flush=True)
        load_s = await load(svc, args.clocks)
        async with svc.db.engine.connect() as conn:
            total = (await conn.execute(select(func.count()).select_from(store.ClockRow.__table__))).scalar_one()
        print(f"  loaded {total:,} in {load_s:.1f} s", flush=True)
        if svc.db.is_sqlite:
            async with svc.db.engine.connect() as conn:
                await conn.execute(text("ANALYZE"))
        for p in await plans(svc):
            print("  plan:", p)

        # 1. An idle tick at 09:00 on Monday: nothing due.
        idle_at = datetime(2025, 11, 17, 9, tzinfo=TZ)
        idle_runs = []
        for _ in range(20):
            t = time.perf_counter()
            res = await watch.watch_once(svc, idle_at)
            nxt = await watch.next_wake(svc, idle_at)
            idle_runs.append(time.perf_counter() - t)
            assert res.clocks == 0
        idle_runs.sort()
        print(f"  idle tick (find nothing due + next wake-up at {nxt.astimezone(TZ):%Y-%m-%d %H:%M}): "
              f"median {idle_runs[len(idle_runs) // 2] * 1000:.2f} ms, max {idle_runs[-1] * 1000:.2f} ms", flush=True)

        # 2. The rollover at 00:00 on Tuesday.
        midnight = datetime(2025, 11, 18, 0, 0, tzinfo=TZ)
        load_before = os.getloadavg()
        spent = await server_cpu(svc)
        probe = WriterProbe(svc) if args.api_probe else None
        if probe:
            probe.start()
        t, c, times0 = time.perf_counter(), time.process_time(), os.times()
        res = await watch.watch_once(svc, midnight)
        roll_s, roll_cpu, times1 = time.perf_counter() - t, time.process_time() - c, os.times()
        # user vs kernel: on SQLite the kernel's share is the WAL's and checkpoints' page copies
        roll_user, roll_system = times1.user - times0.user, times1.system - times0.system
        roll_server = await spent() if spent else None
        if probe:  # its own CPU counts in this process's figures below (run without it for the rate)
            print(f"  {await probe.stop()} (batches of {svc.state.deadline.settings.deadline_watch_batch_size})", flush=True)
        t = time.perf_counter()
        after = await watch.watch_once(svc, midnight)
        after_s = time.perf_counter() - t
        ob = svc.db.tables.outbox
        async with svc.db.engine.connect() as conn:
            events = (await conn.execute(select(func.count()).select_from(ob))).scalar_one()
        print(f"  rollover tick at 00:00: {res.clocks:,} clocks, {res.warnings:,} yellow + {res.overdue:,} red cards "
              f"({events:,} outbox events) in {roll_s:.1f} s = {res.clocks / roll_s:,.0f} clocks/s, "
              f"{res.batches} transactions; {res.clocks / roll_cpu:,.0f} clocks per CPU-second of this process"
              + ("" if roll_server is None else
                 f", {res.clocks / (roll_cpu + roll_server):,.0f} per CPU-second of this process and the server "
                 f"({roll_server / res.clocks * 1e6:.1f} µs of the server's CPU a clock)")
              + f" (load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after)", flush=True)
        print(f"  next tick (nothing left): {after.clocks} clocks in {after_s * 1000:.1f} ms", flush=True)
        size = ""
        if svc.db.is_sqlite:
            db_file = Path(tmp) / "deadline.db"
            if db_file.exists():
                size = f"{db_file.stat().st_size / 1e6:.0f} MB"
        await svc.db.dispose()

    figures = {
        "clocks": total, "database": svc.db.dialect, "load_seconds": round(load_s, 1),
        "idle_tick_ms_median": round(idle_runs[len(idle_runs) // 2] * 1000, 2),
        "idle_tick_ms_max": round(idle_runs[-1] * 1000, 2),
        "rollover_clocks": res.clocks, "rollover_warnings": res.warnings, "rollover_overdue": res.overdue,
        "rollover_seconds": round(roll_s, 2), "rollover_clocks_per_second": round(res.clocks / roll_s),
        "rollover_cpu_seconds": round(roll_cpu, 2), "rollover_clocks_per_cpu_second": round(res.clocks / roll_cpu),
        "rollover_user_seconds": round(roll_user, 2), "rollover_system_seconds": round(roll_system, 2),
        "rollover_server_cpu_seconds": None if roll_server is None else round(roll_server, 2),
        "rollover_clocks_per_cpu_second_with_server": (
            None if roll_server is None else round(res.clocks / (roll_cpu + roll_server))),
        "load_average": [round(x, 2) for x in load_before],
        "after_rollover_ms": round(after_s * 1000, 1), "database_size": size,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
    }
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
