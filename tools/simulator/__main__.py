"""Simulate the source's January to August and print the year-end report computed from events.

    .venv/bin/python -m tools.simulator --bootstrap 127.0.0.1:29392 [--scale 1] [--all-services]

Starts its own services (on free ports, in ``--data-dir``, on the compressed clock) against the
given Kafka broker, replays the plan through intake's HTTP API, waits until deadline caught up,
then reads the public topics and prints the report (zh-CN) beside what the plan intended.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from tools.reporting.render import render_zh
from tools.registry import BUS_SERVICES as SERVICES

from .plan import YearParameters
from .run import simulate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.simulator", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers (a broker of your own).")
    ap.add_argument("--scale", type=float, default=1.0, help="Volume factor (1: the source's; 0.05 for a quick run).")
    ap.add_argument("--seed", type=int, default=YearParameters.seed)
    ap.add_argument("--data-dir", type=Path, default=None, help="Fresh folder for the services' data (default: a temp dir).")
    ap.add_argument("--all-services", action="store_true",
                    help="Run all five services (notices sealed, SMS written), not only intake and deadline.")
    ap.add_argument("--json", type=Path, default=None, help="Also write the report and the plan's intent as JSON here.")
    ap.add_argument("--keep", action="store_true", help="Leave the services running afterwards.")
    args = ap.parse_args(argv)

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="onewindow-sim-"))
    if data_dir.exists() and any(data_dir.iterdir()):
        print(f"{data_dir} is not empty: give a fresh --data-dir", file=sys.stderr)
        return 2
    params = replace(YearParameters(), scale=args.scale, seed=args.seed)
    services = tuple(SERVICES) if args.all_services else ("intake", "deadline")
    sim = simulate(params, bootstrap=args.bootstrap, data_dir=data_dir, services=services, keep=args.keep)
    print()
    print(render_zh(sim.report))
    intended = sim.plan.intended()
    print("\nplan intended (inputs, for comparison):")
    for k, v in intended.items():
        if k != "units_without_business":
            print(f"  {k}: {v}")
    if args.json:
        args.json.write_text(json.dumps({
            "report": sim.report.model_dump(mode="json"), "intended": intended,
            "replay": {"requests": sim.replay.requests, "seconds": round(sim.replay.seconds, 1),
                       "failures": sim.replay.failures[:20], "retried": sim.replay.retried,
                       "by_action": dict(sim.replay.sent)},
            "settle_seconds": round(sim.settle_seconds, 1),
        }, ensure_ascii=False, indent=2, default=str))
    if not args.keep and args.data_dir is None:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 1 if sim.replay.failures else 0


if __name__ == "__main__":
    sys.exit(main())
