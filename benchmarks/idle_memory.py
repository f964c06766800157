"""Idle resident memory of each service, as ``onewindow up`` starts them, for one or more trees
side by side (issue 19, goal 5: at most 200 MiB idle per service).

    .venv/bin/onewindow kafka start --data-dir /tmp/mem-kafka --port 29892 --controller-port 29893
    .venv/bin/python -m benchmarks.idle_memory --bootstrap 127.0.0.1:29892 \\
        [--tree before=/tmp/h4-head --tree after=.] [--rounds 2] [--quiet 15] [--json out.json]
    .venv/bin/python -m benchmarks.idle_memory --imports-only [--tree ...]   # no broker needed

**Idle** (needs a broker): per round and per tree in turn, the tree's own ``tools.supervisor.up``
(what ``onewindow up`` runs once its broker is up: every declared service its own process,
``python -m tools.cli serve <name>``, the demo county's settings, the demo catalog loaded through
intake's API) in a fresh data folder on free ports, then ``--quiet`` seconds without requests,
then per service process: ``VmRSS``, ``RssAnon``, ``RssFile`` (``/proc/<pid>/status``), ``Pss``
(``/proc/<pid>/smaps_rollup``), and the RSS of its child processes (seal's signing workers) apart.
The suite is stopped before the next tree starts.

**Imports** (no broker): per tree and service, a fresh interpreter does what ``serve`` does
before it starts the server: ``import tools.cli`` and the service's ``create_service()``; it
reports the modules loaded, the RSS after each step, and the top-level packages loaded, so a
difference between two trees names what one imports that the other does not.

A tree other than this one is a copy (``git archive HEAD | tar -x -C /tmp/h4-head``); it runs
with this checkout's ``.venv`` (the interpreter puts the tree first on ``sys.path``; the
output says which ``tools/cli.py`` was loaded, to be sure).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

# What serve does before uvicorn starts, measured from inside the interpreter.
_IMPORTS = r"""
import json, os, sys, time
def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
out = {"python": rss(), "modules_python": len(sys.modules)}
import tools.cli
out["tools_cli"] = rss()
out["modules_cli"] = len(sys.modules)
out["cli_file"] = tools.cli.__file__
before = set(sys.modules)
service = tools.cli.load_service(sys.argv[1])
out["service_created"] = rss()
out["modules"] = len(sys.modules)
out["packages"] = sorted({m.split(".")[0] for m in sys.modules})
out["service_modules"] = sorted(m for m in sys.modules if m.startswith("services."))
print(json.dumps(out))
"""

_UP = "import sys\nfrom tools import supervisor\nsys.exit(supervisor.up(None, kafka=False))\n"
_DOWN = "import sys\nfrom tools import supervisor\nsys.exit(supervisor.down(None, kafka=False))\n"


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def services_of(tree: Path) -> list[str]:
    """The services the tree declares (its ``tools.registry``), in its order."""
    out = subprocess.run([PYTHON, "-c", "from tools.registry import SERVICES; print(' '.join(SERVICES))"],
                         cwd=tree, capture_output=True, text=True, check=True)
    return out.stdout.split()


# --------------------------------------------------------------------------- /proc


def status_kib(pid: int) -> dict[str, int]:
    """VmRSS, RssAnon, RssFile of a process, KiB (empty if it is gone)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in ("VmRSS", "RssAnon", "RssFile"):
                    out[key] = int(line.split()[1])
    except OSError:
        return {}
    return out


def pss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], list(children.get(pid, ()))
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def sample(pid: int) -> dict[str, float]:
    st = status_kib(pid)
    kids = descendants(pid)
    mib = lambda kib: round(kib / 1024, 1)  # noqa: E731
    return {
        "rss_mib": mib(st.get("VmRSS", 0)), "anon_mib": mib(st.get("RssAnon", 0)),
        "file_mib": mib(st.get("RssFile", 0)), "pss_mib": mib(pss_kib(pid) or 0),
        "children": len(kids), "children_rss_mib": mib(sum(status_kib(k).get("VmRSS", 0) for k in kids)),
    }


# --------------------------------------------------------------------------- idle, whole suite


def idle(tree: Path, bootstrap: str, quiet: float, services: list[str]) -> dict[str, object]:
    """The tree's suite up (as ``onewindow up`` with a broker already running), ``quiet``
    seconds, then each service process's memory; the suite stopped."""
    data = Path(tempfile.mkdtemp(prefix="bench-mem-"))
    env = {
        **os.environ,
        "ONEWINDOW_DATA_DIR": str(data),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ONEWINDOW_AUTH_SECRET": secrets.token_hex(24),
        "ONEWINDOW_LOG_LEVEL": "WARNING",
        **{f"ONEWINDOW_{n.upper()}_HTTP_PORT": str(_free_port()) for n in services},
    }
    out: dict[str, object] = {"at": _now(), "load_before": load_average()}
    try:
        began = time.perf_counter()
        up = subprocess.run([PYTHON, "-c", _UP], cwd=tree, env=env, capture_output=True, text=True)
        out["up_s"] = round(time.perf_counter() - began, 1)
        if up.returncode != 0:
            logs = "\n".join(f"--- {n}\n{(data / 'logs' / f'{n}.log').read_text(errors='replace')[-2000:]}"
                             for n in services if (data / "logs" / f"{n}.log").exists())
            raise RuntimeError(f"the suite of {tree} did not start:\n{up.stdout[-2000:]}{up.stderr[-2000:]}\n{logs}")
        time.sleep(quiet)
        pids = {n: int((data / "run" / f"{n}.pid").read_text()) for n in services}
        out["services"] = {n: sample(pid) for n, pid in pids.items()}
        out["load_after"] = load_average()
    finally:
        subprocess.run([PYTHON, "-c", _DOWN], cwd=tree, env=env, capture_output=True, text=True)
        shutil.rmtree(data, ignore_errors=True)
    return out


# --------------------------------------------------------------------------- imports only


def imports(tree: Path, service: str) -> dict[str, object]:
    data = Path(tempfile.mkdtemp(prefix="bench-mem-imports-"))
    env = {**os.environ, "ONEWINDOW_DATA_DIR": str(data), "ONEWINDOW_LOG_LEVEL": "WARNING"}
    try:
        proc = subprocess.run([PYTHON, "-c", _IMPORTS, service], cwd=tree, env=env, capture_output=True,
                              text=True, timeout=300)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{tree} {service}: {proc.stderr[-3000:]}")
    raw = json.loads(proc.stdout.strip().splitlines()[-1])
    mib = lambda kib: round(kib / 1024, 1)  # noqa: E731
    return {
        "cli_file": raw["cli_file"], "modules": raw["modules"], "modules_after_tools_cli": raw["modules_cli"],
        "rss_python_mib": mib(raw["python"]), "rss_after_tools_cli_mib": mib(raw["tools_cli"]),
        "rss_service_created_mib": mib(raw["service_created"]),
        "packages": raw["packages"], "service_modules": raw["service_modules"],
    }


# --------------------------------------------------------------------------- main


def _trees(specs: list[str]) -> dict[str, Path]:
    out = {}
    for spec in specs or ["this=."]:
        label, _, path = spec.rpartition("=")
        tree = Path(path).resolve()
        if not (tree / "tools" / "cli.py").is_file():
            raise SystemExit(f"{tree} is not a OneWindow tree")
        out[label or tree.name] = tree
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", default=None, help="A running broker (needed unless --imports-only).")
    ap.add_argument("--tree", action="append", default=[], metavar="LABEL=PATH",
                    help="A tree to measure (repeatable; default: this one). Interleaved per round.")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--quiet", type=float, default=15, help="Seconds without requests before sampling.")
    ap.add_argument("--imports-only", action="store_true", help="Only the import figures (no broker).")
    ap.add_argument("--no-imports", action="store_true", help="Skip the import figures.")
    ap.add_argument("--service", action="append", default=[], help="Imports: only these services.")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    trees = _trees(args.tree)
    services = services_of(next(iter(trees.values())))
    result: dict[str, object] = {"at": _now(), "load_before": load_average(),
                                 "trees": {k: str(v) for k, v in trees.items()}}

    if not args.no_imports:
        imp: dict[str, dict[str, object]] = {}
        for service in args.service or services:
            for label, tree in trees.items():
                r = imports(tree, service)
                imp.setdefault(service, {})[label] = r
                print(f"imports {service:<11} {label:<8} modules={r['modules']:<5} "
                      f"rss: python {r['rss_python_mib']} -> tools.cli {r['rss_after_tools_cli_mib']} -> "
                      f"service {r['rss_service_created_mib']} MiB  ({r['cli_file']})", flush=True)
            if len(trees) > 1:
                labels = list(trees)
                first = set(imp[service][labels[0]]["packages"])  # type: ignore[arg-type]
                for label in labels[1:]:
                    other = set(imp[service][label]["packages"])  # type: ignore[arg-type]
                    print(f"  {labels[0]} only: {' '.join(sorted(first - other)) or '-'}")
                    print(f"  {label} only: {' '.join(sorted(other - first)) or '-'}")
        for per in imp.values():
            for r in per.values():
                r.pop("packages")
                r.pop("service_modules")
        result["imports"] = imp

    if not args.imports_only:
        if not args.bootstrap:
            raise SystemExit("--bootstrap is needed for the idle figures (or give --imports-only)")
        runs: list[dict[str, object]] = []
        for r in range(args.rounds):
            for label, tree in trees.items():
                run = {"round": r + 1, "tree": label, **idle(tree, args.bootstrap, args.quiet, services)}
                runs.append(run)
                rss = {n: s["rss_mib"] for n, s in run["services"].items()}  # type: ignore[union-attr]
                print(f"idle round {r + 1} {label:<8} {run['at']} load {run['load_before']}: "
                      f"RSS MiB {json.dumps(rss)}", flush=True)
        result["idle_runs"] = runs
        medians: dict[str, dict[str, dict[str, float]]] = {}
        for label in trees:
            mine = [x for x in runs if x["tree"] == label]
            for n in services:
                for key in ("rss_mib", "anon_mib", "file_mib", "pss_mib", "children_rss_mib"):
                    values = [x["services"][n][key] for x in mine]  # type: ignore[index]
                    medians.setdefault(label, {}).setdefault(n, {})[key] = round(statistics.median(values), 1)
        result["idle_median"] = medians
        print("median idle RSS (MiB): " + json.dumps({k: {n: v["rss_mib"] for n, v in m.items()}
                                                      for k, m in medians.items()}))
    result["load_after"] = load_average()
    result["finished"] = _now()
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
