"""The start-up time of ``onewindow up``: cold, warm, and the services alone.

    .venv/bin/python -m benchmarks.startup [--kafka-port 29394] [--controller-port 29395] [--repeat 3]

Runs the real command (``.venv/bin/onewindow up``, which starts the local Kafka broker and the
five services and returns when every ``/readyz`` answers) in a fresh data folder, on its own
broker ports and free service ports:

- **cold**: nothing exists — the broker's storage is formatted, the topics created, every
  service's database migrated, the demo catalog loaded; Python's bytecode cache is a fresh
  folder too (``PYTHONPYCACHEPREFIX``), as after an install;
- **warm**: ``onewindow down`` then ``onewindow up`` again: the broker restarts on its storage,
  the databases are at head;
- **services only**: the broker left running (``onewindow down <the five>``), the services
  restarted at once, and once more after ``--pause`` seconds (by then the broker's group
  coordinator has expired the stopped consumers, so the new ones join without waiting).

Also times until the demo catalog is served (``GET /intake/guide/items`` lists 246 items).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.e2e_common import load_average
from services.runtime.settings import REPO_ROOT
from tools.registry import SERVICES
from tools.simulator.suite import free_port

CLI = str(REPO_ROOT / ".venv" / "bin" / "onewindow")


def _run(args: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    proc = subprocess.run([CLI, *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    took = time.perf_counter() - began
    if proc.returncode != 0:
        raise RuntimeError(f"onewindow {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return took


def _catalog_served(url: str, began: float, timeout: float = 120) -> float:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if len(httpx.get(f"{url}/intake/guide/items", timeout=5).json()) >= 246:
                return time.perf_counter() - began
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.1)
    raise TimeoutError("the catalog was not served")


def measure(kafka_port: int, controller_port: int, repeat: int, pause: float = 45) -> dict[str, object]:
    base = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    ports = {n: free_port() for n in SERVICES}
    env = {
        **os.environ,
        "ONEWINDOW_DATA_DIR": str(base / "data"),
        "ONEWINDOW_KAFKA_PORT": str(kafka_port),
        "ONEWINDOW_KAFKA_CONTROLLER_PORT": str(controller_port),
        "ONEWINDOW_AUTH_SECRET": secrets.token_hex(24),
        "ONEWINDOW_LOG_LEVEL": "WARNING",
        "PYTHONPYCACHEPREFIX": str(base / "pycache"),
        **{f"ONEWINDOW_{n.upper()}_HTTP_PORT": str(p) for n, p in ports.items()},
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    intake = f"http://127.0.0.1:{ports['intake']}"
    out: dict[str, object] = {"load_before": load_average()}
    try:
        began = time.perf_counter()
        out["cold_up_s"] = round(_run(["up"], env), 1)
        out["cold_catalog_served_s"] = round(_catalog_served(intake, began), 1)
        warm, services_only = [], []
        for _ in range(repeat):
            _run(["down"], env)
            warm.append(_run(["up"], env))
            _run(["down", *SERVICES], env)
            services_only.append(_run(["up"], env))
        out["warm_up_s"] = [round(x, 1) for x in warm]
        out["warm_up_median_s"] = round(statistics.median(warm), 1)
        out["services_only_up_s"] = [round(x, 1) for x in services_only]
        out["services_only_median_s"] = round(statistics.median(services_only), 1)
        # The same after a pause: the consumer groups' coordinator has expired the stopped members.
        _run(["down", *SERVICES], env)
        time.sleep(pause)
        out["services_only_after_pause_s"] = round(_run(["up"], env), 1)
        out["pause_s"] = pause
    finally:
        try:
            _run(["down"], env)
        finally:
            shutil.rmtree(base, ignore_errors=True)
    out["load_after"] = load_average()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kafka-port", type=int, default=29394)
    ap.add_argument("--controller-port", type=int, default=29395)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pause", type=float, default=45, help="Seconds between stop and start for the last row.")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    result = measure(args.kafka_port, args.controller_port, args.repeat, args.pause)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
