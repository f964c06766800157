"""End to end: applications per second from intake's HTTP API to the applicant's SMS, with the
bus's own limit measured in the same run and each service's resident memory, idle and under load.

    .venv/bin/onewindow kafka start --data-dir /tmp/bench-kafka --port 29392 --controller-port 29393
    .venv/bin/python -m benchmarks.e2e_throughput --bootstrap 127.0.0.1:29392 [--applications 500]

Starts the five services (``tools.supervisor``, as ``onewindow up``) in a fresh data
folder on free ports, issues every unit's No. 2 seal, sends a warm-up, then:

1. memory, idle: RSS of each service and of the broker after a quiet pause;
2. saturation: ``--applications`` promised-item applications with ``--concurrency`` in flight
   (closed loop), until every SMS is written: throughput, latency percentiles, peak RSS;
3. a paced run at about half the saturated throughput: latency at a load the suite keeps up with;
4. the bus: ``benchmarks.bus_throughput`` at the mean size of an ``intake.applications`` record,
   and the suite's throughput as a ratio of it.

Prints a JSON document (also written to ``--json``).

``--compare VAR=A,B [--rounds N]`` measures instead one setting's values side by side: for each
round and each value in turn, a fresh suite with ``VAR`` set to it, the warm-up and the saturated
run (CPU per application per process included), then the medians per value, e.g. notify's font
subsets kept or not (issue 19, goal 3)::

    .venv/bin/python -m benchmarks.e2e_throughput --bootstrap 127.0.0.1:29592 --kafka-dir /tmp/nc-kafka \
        --applications 300 --compare ONEWINDOW_NOTIFY_NOTICE_FONT_REUSE=false,true --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks import bus_throughput, e2e_common
from benchmarks.e2e_common import RssSampler, kafka_pid, load_average, mean_record_size, promised_items, run_load


def measure(bootstrap: str, applications: int, concurrency: int, kafka_dir: Path, paced: bool = True,
            bus_messages: int = 50_000) -> dict[str, object]:
    data = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    out: dict[str, object] = {"machine": f"{platform.machine()}, {platform.python_version()}, "
                                         f"{__import__('os').cpu_count()} CPUs", "load_before": load_average()}
    suite = e2e_common.start_suite(bootstrap, data)
    try:
        pids = {**suite.pids(), "kafka": kafka_pid(kafka_dir) or 0}
        items = promised_items(suite)
        warm = asyncio.run(run_load(suite, items, 20, concurrency=4, seed=99, pids=pids))
        print(f"warm-up: {warm.summary()}")
        time.sleep(10)
        out["rss_idle_mib"] = {k: round(v / 1024) for k, v in RssSampler(pids).snapshot().items()}
        print(f"idle RSS: {out['rss_idle_mib']}")

        sat = asyncio.run(run_load(suite, items, applications, concurrency=concurrency, seed=1, pids=pids))
        out["saturated"] = sat.summary()
        out["load_during"] = load_average()
        print(f"saturated: {out['saturated']}")
        if paced:
            rate = max(1.0, round(sat.summary()["e2e_per_s"] * 0.5, 1))  # type: ignore[operator]
            n = max(50, min(applications // 2, int(rate * 60)))
            time.sleep(5)
            p = asyncio.run(run_load(suite, items, n, rate=rate, seed=2, pids=pids))
            out["paced"] = p.summary()
            print(f"paced at {rate}/s: {out['paced']}")
        size = asyncio.run(mean_record_size(bootstrap))
    finally:
        suite.down()
        shutil.rmtree(data, ignore_errors=True)
    bus = asyncio.run(bus_throughput.run(bootstrap, bus_messages, size, 3))
    out["bus"] = bus
    sat_s = out["saturated"]
    out["ratio_applications_to_bus_messages"] = round(sat_s["e2e_per_s"] / bus["end_to_end_per_s"], 5)  # type: ignore[index]
    records_per_s = sat_s["kafka_records"] / sat_s["seconds"]  # type: ignore[index,operator]
    out["suite_kafka_records_per_s"] = round(records_per_s, 1)
    out["ratio_records_to_bus_messages"] = round(records_per_s / bus["end_to_end_per_s"], 4)
    out["load_after"] = load_average()
    return out


def compare(bootstrap: str, applications: int, concurrency: int, kafka_dir: Path, variable: str,
            values: list[str], rounds: int) -> dict[str, object]:
    """The saturated run with ``variable`` set to each of ``values`` in turn (a fresh suite each),
    ``rounds`` times, alternating; medians per value."""
    runs: list[dict[str, object]] = []
    before = e2e_common.BENCH_ENV.get(variable)
    try:
        for r in range(rounds):
            for value in values:
                e2e_common.BENCH_ENV[variable] = value
                data = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
                suite = e2e_common.start_suite(bootstrap, data)
                try:
                    pids = {**suite.pids(), "kafka": kafka_pid(kafka_dir) or 0}
                    items = promised_items(suite)
                    asyncio.run(run_load(suite, items, 20, concurrency=4, seed=99, pids=pids))
                    time.sleep(5)
                    load = load_average()
                    sat = asyncio.run(run_load(suite, items, applications, concurrency=concurrency, seed=1 + r,
                                               pids=pids)).summary()
                finally:
                    suite.down()
                    shutil.rmtree(data, ignore_errors=True)
                run = {"round": r, variable: value, "load_before": load, "load_after": load_average(), **sat}
                print(f"round {r} {variable}={value}: {json.dumps(run, ensure_ascii=False)}")
                runs.append(run)
    finally:
        if before is None:
            e2e_common.BENCH_ENV.pop(variable, None)
        else:
            e2e_common.BENCH_ENV[variable] = before

    def median(value: str, get) -> float:  # type: ignore[no-untyped-def]
        return round(statistics.median(get(x) for x in runs if x[variable] == value), 1)

    medians = {v: {"e2e_per_s": median(v, lambda x: x["e2e_per_s"]),
                   "cpu_ms_per_application": {k: median(v, lambda x, k=k: x["cpu_ms_per_application"][k])
                                              for k in runs[0]["cpu_ms_per_application"]},  # type: ignore[index]
                   "cpu_ms_per_application_services": median(v, lambda x: x["cpu_ms_per_application_services"])}
               for v in values}
    return {"machine": f"{platform.machine()}, {platform.python_version()}, {__import__('os').cpu_count()} CPUs",
            "variable": variable, "runs": runs, "medians": medians}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--kafka-dir", type=Path, default=Path("/tmp/bench-kafka"), help="The broker's data dir (its pid).")
    ap.add_argument("--applications", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--no-paced", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--compare", metavar="VAR=A,B", default=None,
                    help="Saturated runs only, once per value of this environment variable, side by side.")
    ap.add_argument("--rounds", type=int, default=2, help="With --compare: rounds of the values in turn.")
    args = ap.parse_args()
    if args.compare:
        variable, _, values = args.compare.partition("=")
        if not variable or not values:
            ap.error("--compare needs VAR=A,B")
        result = compare(args.bootstrap, args.applications, args.concurrency, args.kafka_dir, variable,
                         values.split(","), args.rounds)
    else:
        result = measure(args.bootstrap, args.applications, args.concurrency, args.kafka_dir,
                         paced=not args.no_paced)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
