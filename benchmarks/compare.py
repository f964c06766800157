"""The project against its peers, side by side in one run: one line per comparison,

    NAME: ratio=X.XX project=P peer=Q UNIT

where ``ratio = project / peer`` (the medians of the rounds; the two sides alternate within
every round, so a change in the machine's load hits both). Progress and details go to stderr.

    .venv/bin/python -m benchmarks.compare --quick          # <= 60 s with a broker running
    .venv/bin/python -m benchmarks.compare                  # the full sizes
    .venv/bin/python -m benchmarks.compare --only handler_vs_raw --rounds 7

Kafka: ``--bootstrap`` (or ``KAFKA_BOOTSTRAP_SERVERS``) names a running broker; otherwise a broker
of the benchmarks' own is started in ``var/bench-kafka`` (port 29692) and stopped at the end --
its start (5 s on a quiet machine, 20 s or more on a loaded one) comes on top of the quick run's
time budget, so pass a running broker when the 60 s matter.
PostgreSQL: ``--postgres`` (or ``ONEWINDOW_BENCH_POSTGRES_URL``, else ``ONEWINDOW_TEST_POSTGRES_URL``)
names a server on which each round gets a fresh database; without one the PostgreSQL
comparisons are skipped (said on stderr).

Comparisons
-----------
``handler_vs_raw``                     the runtime's handler path (a batch handler, ``Batch``:
                                       inbox, state, outbox in one transaction per batch, the relay
                                       publishing), SQLite, vs a raw aiokafka consume->produce loop
                                       (benchmarks/raw_pipeline.py), same records, batches of 100
``handler_vs_raw_postgresql``          the same on PostgreSQL
``per_event_handler_vs_raw``           the same logic as a per-event handler (full run only)
``per_event_handler_vs_raw_postgresql`` ... on PostgreSQL (full run only)

A ``quick`` size of 0 keeps a comparison out of ``--quick``.

Adding a comparison (the extension point)
----------------------------------------
Put it in a module of its own, ``benchmarks/compare_<topic>.py`` (every such module is imported
before the run, in name order; nothing in this file changes): write one round as an async
function returning ``(project, peer)`` in the unit, and register it with :func:`comparison`::

    # benchmarks/compare_seal.py
    from benchmarks.compare import Context, Skip, comparison

    @comparison("seal_vs_naive", unit="notices/s", quick=20, full=200)
    async def seal_vs_naive(ctx: Context, size: int) -> tuple[float, float]:
        project = await seal_rate(size)          # e.g. benchmarks/seal_throughput.py
        peer = await naive_pyhanko_rate(size)    # e.g. a naive signers.sign_pdf in benchmarks/
        return project, peer

``size`` is the ``quick`` or the ``full`` size (``quick=0``: the full run only);
``ctx.bootstrap()`` gives a broker (started on first use), ``ctx.postgres`` the PostgreSQL
server or ``None`` (raise :class:`Skip` to skip that comparison), ``ctx.quick`` the mode,
``ctx.round`` the round number (alternate the sides' order with it, as the handler rounds do).
Comparisons run in registration order, this file's first. ``--quick`` shares its time budget
(``--budget``, 50 s) equally among the comparisons it runs, so keep quick sizes small: a round of
a few seconds. The deadline rollover (``rollover_vs_...``, SQLite and PostgreSQL) and sealing
(``seal_vs_naive``) are to be added this way.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH_KAFKA_DIR = REPO / "var" / "bench-kafka"
BENCH_KAFKA_PORT = 29692
BENCH_KAFKA_CONTROLLER_PORT = 29693

#: Modules whose import registers more comparisons, besides every ``benchmarks/compare_*.py``.
PLUGINS: list[str] = ["benchmarks.deadline_clocks"]


def plugin_modules() -> list[str]:
    found = sorted(f"benchmarks.{p.stem}" for p in Path(__file__).parent.glob("compare_*.py"))
    return [*found, *(m for m in PLUGINS if m not in found)]

RoundFn = Callable[["Context", int], Awaitable[tuple[float, float]]]


class Skip(Exception):
    """Raised by a round when the comparison cannot run here (no PostgreSQL, no tool)."""


@dataclass
class Comparison:
    name: str
    unit: str
    run: RoundFn
    quick: int
    full: int
    rounds: tuple[int, int] = (3, 5)  # quick, full


COMPARISONS: list[Comparison] = []


def comparison(name: str, *, unit: str, quick: int, full: int, rounds: tuple[int, int] = (3, 5)) -> Callable[[RoundFn], RoundFn]:
    """Register one round of a comparison (see the module's docstring)."""

    def register(fn: RoundFn) -> RoundFn:
        if any(c.name == name for c in COMPARISONS):
            raise ValueError(f"comparison {name} registered twice")
        COMPARISONS.append(Comparison(name, unit, fn, quick, full, rounds))
        return fn

    return register


@dataclass
class Context:
    quick: bool
    postgres: str | None
    bootstrap_arg: str | None
    round: int = 0
    _bootstrap: str | None = None
    _started_broker: bool = False
    notes: list[str] = field(default_factory=list)

    async def bootstrap(self) -> str:
        if self._bootstrap is None:
            if self.bootstrap_arg:
                self._bootstrap = self.bootstrap_arg
            else:
                from tools import kafka_local

                began = time.monotonic()
                info = await asyncio.to_thread(
                    kafka_local.start, BENCH_KAFKA_DIR, port=BENCH_KAFKA_PORT,
                    controller_port=BENCH_KAFKA_CONTROLLER_PORT, topics=[],
                )
                self._started_broker = not info.already_running
                self._bootstrap = info.bootstrap
                say(f"kafka: {info.bootstrap} ({'started' if self._started_broker else 'running'}, "
                    f"{time.monotonic() - began:.1f}s)")
        return self._bootstrap

    async def close(self) -> None:
        if self._started_broker:
            from tools import kafka_local

            await asyncio.to_thread(kafka_local.stop, BENCH_KAFKA_DIR)


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- the handler path ------------------------------------------------------------------------
BATCH = 100


async def _handler_round(ctx: Context, size: int, handler: str, postgres: bool) -> tuple[float, float]:
    from benchmarks.raw_pipeline import run as raw_run
    from benchmarks.runtime_pipeline import handler_path

    if postgres and not ctx.postgres:
        raise Skip("no PostgreSQL server (--postgres, ONEWINDOW_BENCH_POSTGRES_URL or ONEWINDOW_TEST_POSTGRES_URL)")
    bootstrap = await ctx.bootstrap()

    async def project() -> float:
        return (await handler_path(bootstrap, size, BATCH, ctx.postgres if postgres else None, handler)).per_second

    async def peer() -> float:
        return (await raw_run(bootstrap, size, BATCH)).per_second

    if ctx.round % 2:
        q = await peer()
        p = await project()
    else:
        p = await project()
        q = await peer()
    return p, q


@comparison("handler_vs_raw", unit="events/s", quick=2000, full=10000)
async def handler_vs_raw(ctx: Context, size: int) -> tuple[float, float]:
    """The handler path as the runtime offers it: a batch handler (``Batch``), SQLite."""
    return await _handler_round(ctx, size, "batch", postgres=False)


@comparison("handler_vs_raw_postgresql", unit="events/s", quick=2000, full=10000)
async def handler_vs_raw_postgresql(ctx: Context, size: int) -> tuple[float, float]:
    return await _handler_round(ctx, size, "batch", postgres=True)


@comparison("per_event_handler_vs_raw", unit="events/s", quick=0, full=4000)
async def per_event_handler_vs_raw(ctx: Context, size: int) -> tuple[float, float]:
    """The same logic as a per-event handler (``session.get`` / ``add`` / ``emit``), as the
    services' handlers are written until they opt in to batches."""
    return await _handler_round(ctx, size, "event", postgres=False)


@comparison("per_event_handler_vs_raw_postgresql", unit="events/s", quick=0, full=4000)
async def per_event_handler_vs_raw_postgresql(ctx: Context, size: int) -> tuple[float, float]:
    return await _handler_round(ctx, size, "event", postgres=True)


# -- the runner ------------------------------------------------------------------------------
def _fmt(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.3g}"


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    for module in plugin_modules():
        importlib.import_module(module)
    ctx = Context(quick=args.quick, postgres=args.postgres, bootstrap_arg=args.bootstrap)
    selected = [c for c in COMPARISONS if not args.only or c.name in args.only]
    unknown = set(args.only or ()) - {c.name for c in COMPARISONS}
    if unknown:
        raise SystemExit(f"unknown comparison(s): {', '.join(sorted(unknown))}; known: {', '.join(c.name for c in COMPARISONS)}")
    results: list[dict[str, Any]] = []
    say(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} on {os.cpu_count()} cores")
    began = time.monotonic()
    todo = [c for c in selected if (c.quick if args.quick else c.full)]  # quick=0: the full run only
    try:
        for index, comp in enumerate(todo):
            size = comp.quick if args.quick else comp.full
            rounds = args.rounds or (comp.rounds[0] if args.quick else comp.rounds[1])
            # --quick keeps to its time budget: each comparison gets an equal share of what is
            # left, and stops adding rounds (after the first) once it has used it.
            share = (args.budget - (time.monotonic() - began)) / (len(todo) - index)
            comp_began = time.monotonic()
            projects: list[float] = []
            peers: list[float] = []
            try:
                for r in range(rounds):
                    if args.quick and r and time.monotonic() - comp_began > share * r / (r + 1):
                        say(f"  {comp.name}: {r} round(s), the quick run's time budget")
                        break
                    ctx.round = r
                    p, q = await comp.run(ctx, size)
                    projects.append(p)
                    peers.append(q)
                    say(f"  {comp.name} round {r + 1}/{rounds}: project={_fmt(p)} peer={_fmt(q)} "
                        f"ratio={p / q:.3f} load={os.getloadavg()[0]:.2f}")
            except Skip as why:
                say(f"{comp.name}: skipped: {why}")
                continue
            p, q = statistics.median(projects), statistics.median(peers)
            print(f"{comp.name}: ratio={p / q:.2f} project={_fmt(p)} peer={_fmt(q)} {comp.unit}", flush=True)
            results.append({"name": comp.name, "ratio": p / q, "project": p, "peer": q, "unit": comp.unit,
                            "size": size, "projects": projects, "peers": peers, "load": os.getloadavg()})
    finally:
        await ctx.close()
    say(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, 3 rounds (<= 60 s)")
    ap.add_argument("--only", nargs="*", help="run only these comparisons")
    ap.add_argument("--rounds", type=int, default=0, help="rounds per comparison (default 3 quick, 5 full)")
    ap.add_argument("--budget", type=float, default=50.0, help="seconds the quick run aims at (fewer rounds when slow)")
    ap.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    ap.add_argument("--postgres", default=os.environ.get("ONEWINDOW_BENCH_POSTGRES_URL")
                    or os.environ.get("ONEWINDOW_TEST_POSTGRES_URL"))
    ap.add_argument("--json", type=Path, help="also write the rounds' figures here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("aiokafka", "faststream", "kafka"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    began = time.monotonic()
    results = asyncio.run(run(args))
    say(f"{time.monotonic() - began:.1f}s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    # Run as ``python -m benchmarks.compare``: the plugins' ``from benchmarks.compare import
    # comparison`` must reach this module (and its registry), not a second copy of it.
    sys.modules.setdefault("benchmarks.compare", sys.modules[__name__])
    main()
