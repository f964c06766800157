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
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks import bus_throughput
from benchmarks.e2e_common import (RssSampler, kafka_pid, load_average, mean_record_size, promised_items,
                                   run_load, start_suite)


def measure(bootstrap: str, applications: int, concurrency: int, kafka_dir: Path, paced: bool = True,
            bus_messages: int = 50_000) -> dict[str, object]:
    data = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    out: dict[str, object] = {"machine": f"{platform.machine()}, {platform.python_version()}, "
                                         f"{__import__('os').cpu_count()} CPUs", "load_before": load_average()}
    suite = start_suite(bootstrap, data)
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--kafka-dir", type=Path, default=Path("/tmp/bench-kafka"), help="The broker's data dir (its pid).")
    ap.add_argument("--applications", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--no-paced", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    result = measure(args.bootstrap, args.applications, args.concurrency, args.kafka_dir, paced=not args.no_paced)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
