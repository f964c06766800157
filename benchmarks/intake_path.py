"""CPU per application on the acceptance path of intake, deadline and attendance alone (issue 19,
goal 3): ``POST /intake/applications`` for a promised item with complete materials (accepted at
once: ApplicationReceived, ApplicantContactRecorded, ApplicationAccepted through intake's outbox)
-> deadline starts the clock (ClockStarted) -> intake takes the due date, attendance the clock.

    .venv/bin/onewindow kafka start --data-dir /tmp/ic-kafka --port 29692 --controller-port 29693
    .venv/bin/python -m benchmarks.intake_path --bootstrap 127.0.0.1:29692 [--applications 300]
        [--before /tmp/before --rounds 3]

Starts the three services as ``onewindow up`` does (``tools.supervisor``: each its own process,
port and SQLite database, the demo catalog) on free ports, sends a warm-up, then posts
``--applications`` applications, 8 in flight, and waits until every consumer group of the three
has committed all it was given and each application's ClockStarted is on the bus. Reported per
process: CPU milliseconds per application (user + system from ``/proc/<pid>/stat``, from the
first request to the last commit, background loops included, as in ``e2e_throughput``), and the
HTTP rate. notify and seal are left out: their share is measured by ``e2e_throughput``, and
without them this path's figures are not blurred by their rendering and signing.

``--before DIR`` runs the same measurement from another tree too (the "before": e.g.
``git archive <commit> | tar -x -C /tmp/before`` with this file copied into its ``benchmarks/``),
alternating the two trees ``--rounds`` times on the same broker; the medians of each side and
their ratio (after / before) are printed last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVICES = ("intake", "deadline", "attendance")
CLOCKS = "deadline.clocks"


async def _bus(bootstrap: str) -> tuple[int, int]:
    """(records on deadline.clocks, records the three services' consumer groups still have to commit)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        groups = [g[0] if isinstance(g, tuple) else g.group_id for g in await admin.list_consumer_groups()]
        groups = [g for g in groups if g.split(".", 1)[0] in SERVICES]
        committed: dict = {}
        for g in groups:
            for tp, meta in (await admin.list_consumer_group_offsets(g)).items():
                committed[(g, tp)] = meta.offset
        tps = sorted({tp for _, tp in committed}, key=lambda t: (t.topic, t.partition))
        (desc,) = await admin.describe_topics([CLOCKS])
        clock_tps = [TopicPartition(CLOCKS, p["partition"]) for p in desc["partitions"]]
        ends = await consumer.end_offsets(list({*tps, *clock_tps}))
        lag = sum(max(0, ends[tp] - off) for (_, tp), off in committed.items() if off >= 0)
        return sum(ends[tp] for tp in clock_tps), lag
    finally:
        await consumer.stop()
        await admin.close()


async def _settle(bootstrap: str, clocks_wanted: int, timeout: float = 600) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        clocks, lag = await _bus(bootstrap)
        if clocks >= clocks_wanted and lag == 0:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the services did not catch up (clocks {clocks}/{clocks_wanted}, lag {lag})")


async def _post_all(suite, items: list[dict], n: int, concurrency: int, seed: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    import random

    import httpx

    from tools.simulator.people import People

    people, rng = People(seed), random.Random(seed)
    tokens = {u: suite.token(f"bench-{u.lower()}", "clerk", u, f"{u}窗口") for u in {i["unit"] for i in items}}
    jobs = iter([(it, people.applicant(0.3)) for it in (rng.choice(items) for _ in range(n))])
    errors = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for it, applicant in jobs:
            r = await client.post("/intake/applications",
                                  json={"item_code": it["code"], "applicant": applicant, "materials": it["materials"]},
                                  headers={"Authorization": f"Bearer {tokens[it['unit']]}"})
            if r.status_code != 201:
                errors += 1
                print(f"  HTTP {r.status_code}: {r.text[:200]}", flush=True)

    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=suite.url("intake"), timeout=120) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return time.perf_counter() - began, errors


def measure(bootstrap: str, applications: int, concurrency: int = 8) -> dict[str, object]:
    """One run from this process's tree (the services run from the tree ``tools`` is imported from)."""
    from benchmarks.e2e_common import BENCH_ENV, cpu_seconds, load_average, promised_items
    from tools.simulator.run import wait_for_catalog
    from tools.simulator.suite import make_suite

    data = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    suite = make_suite(data, bootstrap, services=SERVICES, extra_env=BENCH_ENV)
    if suite.up() != 0:
        logs = "\n".join(suite.log(n)[-2000:] for n in suite.services)
        suite.down()
        raise RuntimeError(f"the services did not start:\n{logs}")
    try:
        wait_for_catalog(suite)
        items = promised_items(suite)
        pids = suite.pids()
        clocks0, _ = asyncio.run(_bus(bootstrap))
        asyncio.run(_post_all(suite, items, 20, 4, seed=99))  # warm-up
        asyncio.run(_settle(bootstrap, clocks0 + 20))
        time.sleep(3)
        load_before = load_average()
        clocks1, _ = asyncio.run(_bus(bootstrap))
        cpu0 = cpu_seconds(pids)
        t0 = time.perf_counter()
        http_s, errors = asyncio.run(_post_all(suite, items, applications, concurrency, seed=1))
        asyncio.run(_settle(bootstrap, clocks1 + applications - errors))
        seconds = time.perf_counter() - t0
        cpu1 = cpu_seconds(pids)
    finally:
        suite.down()
        shutil.rmtree(data, ignore_errors=True)
    cpu = {k: round((cpu1[k] - cpu0[k]) * 1000 / applications, 2) for k in cpu0 if k in cpu1}
    return {
        "tree": str(Path(__file__).resolve().parents[1]), "applications": applications, "http_errors": errors,
        "http_per_s": round(applications / http_s, 1), "settled_per_s": round(applications / seconds, 1),
        "cpu_ms_per_application": cpu, "cpu_ms_per_application_three": round(sum(cpu.values()), 2),
        "load_before": load_before, "load_after": load_average(),
    }


def _run_tree(tree: Path, bootstrap: str, applications: int) -> dict[str, object]:
    """A measurement from ``tree``: this file run there, so the services start from its code."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.intake_path", "--bootstrap", bootstrap, "--applications",
         str(applications), "--single"],
        cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True, timeout=1800,
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"the run in {tree} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return json.loads(lines[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--applications", type=int, default=300)
    ap.add_argument("--before", type=Path, default=None, help="Another tree, measured alternately (the before).")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--single", action="store_true", help="One run from this tree, one JSON line (used by --before).")
    args = ap.parse_args()
    if args.single or args.before is None:
        print(json.dumps(measure(args.bootstrap, args.applications), ensure_ascii=False), flush=True)
        return
    here = Path(__file__).resolve().parents[1]
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for r in range(args.rounds):
        for side, tree in (("before", args.before), ("after", here)):
            res = _run_tree(tree, args.bootstrap, args.applications)
            runs[side].append(res)
            print(f"round {r + 1} {side}: {json.dumps(res, ensure_ascii=False)}", flush=True)
    summary: dict[str, object] = {}
    for side, rs in runs.items():
        summary[side] = {name: statistics.median(x["cpu_ms_per_application"][name] for x in rs) for name in SERVICES}
        summary[side]["http_per_s"] = statistics.median(x["http_per_s"] for x in rs)  # type: ignore[index]
    summary["ratio_after_to_before"] = {
        name: round(summary["after"][name] / summary["before"][name], 2) for name in SERVICES  # type: ignore[index]
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
