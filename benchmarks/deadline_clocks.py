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
   batches of ``deadline_watch_batch_size``), and the tick right after (nothing left).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from contracts.common import CaseKind  # noqa: E402
from services.deadline import store  # noqa: E402
from services.deadline.app import create_service  # noqa: E402
from services.deadline.config import DeadlineSettings  # noqa: E402
from services.deadline.domain import Clock  # noqa: E402
from services.deadline.usecases import watch  # noqa: E402
from services.runtime.workdays import TZ  # noqa: E402

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


async def plans(svc) -> list[str]:  # type: ignore[no-untyped-def]
    if not svc.db.is_sqlite:
        return []
    now = "2025-11-17 01:00:00.000000"
    out = []
    async with svc.db.engine.connect() as conn:
        for sql in (
            f"SELECT receipt_no FROM deadline_clock WHERE due_at <= '{now}' ORDER BY due_at LIMIT 500",
            f"SELECT receipt_no FROM deadline_clock WHERE next_warning_at <= '{now}' ORDER BY next_warning_at LIMIT 500",
            "SELECT min(due_at) FROM deadline_clock",
            "SELECT min(next_warning_at) FROM deadline_clock",
        ):
            rows = (await conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"))).all()
            out.append(f"{sql}\n    -> " + "; ".join(str(r[-1]) for r in rows))
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clocks", type=int, default=1_000_000)
    ap.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    ap.add_argument("--batch", type=int, default=500, help="clocks per watcher transaction")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="deadline-bench-") as tmp:
        settings = DeadlineSettings(
            data_dir=Path(tmp), database_url=args.database_url, auth_secret="bench" * 8,
            deadline_workers=False, deadline_watch_batch_size=args.batch, log_json=False,
        )
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
        t = time.perf_counter()
        res = await watch.watch_once(svc, midnight)
        roll_s = time.perf_counter() - t
        t = time.perf_counter()
        after = await watch.watch_once(svc, midnight)
        after_s = time.perf_counter() - t
        ob = svc.db.tables.outbox
        async with svc.db.engine.connect() as conn:
            events = (await conn.execute(select(func.count()).select_from(ob))).scalar_one()
        print(f"  rollover tick at 00:00: {res.clocks:,} clocks, {res.warnings:,} yellow + {res.overdue:,} red cards "
              f"({events:,} outbox events) in {roll_s:.1f} s = {res.clocks / roll_s:,.0f} clocks/s, "
              f"{res.batches} transactions", flush=True)
        print(f"  next tick (nothing left): {after.clocks} clocks in {after_s * 1000:.1f} ms", flush=True)
        size = ""
        if svc.db.is_sqlite:
            db_file = Path(tmp) / "deadline.db"
            if db_file.exists():
                size = f"{db_file.stat().st_size / 1e6:.0f} MB"
        await svc.db.dispose()

    figures = {
        "clocks": total, "database": settings.database_url or "sqlite (file)", "load_seconds": round(load_s, 1),
        "idle_tick_ms_median": round(idle_runs[len(idle_runs) // 2] * 1000, 2),
        "idle_tick_ms_max": round(idle_runs[-1] * 1000, 2),
        "rollover_clocks": res.clocks, "rollover_warnings": res.warnings, "rollover_overdue": res.overdue,
        "rollover_seconds": round(roll_s, 2), "rollover_clocks_per_second": round(res.clocks / roll_s),
        "after_rollover_ms": round(after_s * 1000, 1), "database_size": size,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
    }
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
