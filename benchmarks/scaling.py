"""How cost grows: the end-to-end run (intake's HTTP API to the applicant's SMS) at 1x, 10x and
100x the volume, on one running suite, one volume after the other.

    .venv/bin/python -m benchmarks.scaling --bootstrap 127.0.0.1:29392 [--base 42] [--factors 1 10 100]
        [--limit-seconds 600] [--plot docs/benchmarks-scaling.png]

1x is one working day of the source's center (7,133 applications over about 170 working days:
42). A volume whose run would take longer than ``--limit-seconds`` at the throughput measured
for the previous one is not run (reported as skipped). The plot needs matplotlib (the ``bench``
extra); without it only the table is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.e2e_common import kafka_pid, load_average, promised_items, run_load, start_suite


def measure(bootstrap: str, base: int, factors: list[int], limit: float, kafka_dir: Path,
            concurrency: int) -> list[dict[str, object]]:
    data = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    rows: list[dict[str, object]] = []
    suite = start_suite(bootstrap, data)
    try:
        pids = {**suite.pids(), "kafka": kafka_pid(kafka_dir) or 0}
        items = promised_items(suite)
        asyncio.run(run_load(suite, items, 20, concurrency=4, seed=99, pids=pids))  # warm-up
        rate = None
        for i, f in enumerate(factors):
            n = base * f
            if rate and n / rate > limit:
                rows.append({"factor": f, "applications": n, "skipped": True,
                             "projected_seconds": round(n / rate)})
                print(f"{f}x ({n}): skipped, would take about {n / rate:.0f}s")
                continue
            time.sleep(5)
            load = load_average()
            r = asyncio.run(run_load(suite, items, n, concurrency=concurrency, seed=10 + i, pids=pids))
            s = r.summary()
            rate = s["e2e_per_s"]
            rows.append({"factor": f, "load_average": load, **s})
            print(f"{f}x: {s}")
    finally:
        suite.down()
        shutil.rmtree(data, ignore_errors=True)
    return rows


def plot(rows: list[dict[str, object]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    done = [r for r in rows if not r.get("skipped")]
    n = [r["applications"] for r in done]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(n, [r["seconds"] for r in done], "o-")
    a.set_xscale("log")
    a.set_yscale("log")
    a.set_xlabel("applications")
    a.set_ylabel("seconds to the last SMS")
    a.set_title("time to process")
    b.plot(n, [r["e2e_per_s"] for r in done], "o-", label="applications/s")
    b.plot(n, [r["e2e_p95_ms"] / 1000 for r in done], "s--", label="p95 latency (s)")
    b.set_xscale("log")
    b.set_xlabel("applications")
    b.set_title("throughput and p95 latency")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--kafka-dir", type=Path, default=Path("/tmp/bench-kafka"))
    ap.add_argument("--base", type=int, default=42)
    ap.add_argument("--factors", type=int, nargs="+", default=[1, 10, 100])
    ap.add_argument("--limit-seconds", type=float, default=600)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--plot", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    rows = measure(args.bootstrap, args.base, args.factors, args.limit_seconds, args.kafka_dir, args.concurrency)
    text = json.dumps(rows, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    if args.plot:
        print("plot written" if plot(rows, args.plot) else "matplotlib is not installed: no plot")


if __name__ == "__main__":
    main()
