"""`onewindow up | down | status`: the local Kafka broker and every declared service as separate
processes, each on its own port with its own SQLite database under the data folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from services.runtime.settings import ServiceSettings
from tools.registry import DEFAULT_PORTS, REPO_ROOT, SERVICES, declarations

console = Console(stderr=True)

#: The demo county the demo catalog describes (青山县), named consistently on notices and SMS.
DEMO_COUNTY = {
    "ONEWINDOW_NOTIFY_CENTER_NAME": "青山县行政审批服务中心",
    "ONEWINDOW_NOTIFY_CENTER_ADDRESS": "青山县人民路1号政务服务大厦",
    "ONEWINDOW_NOTIFY_COUNTY_GOVERNMENT": "青山县人民政府",
    "ONEWINDOW_NOTIFY_COUNTY_COURT": "青山县人民法院",
    "ONEWINDOW_SEAL_COUNTY_NAME": "青山县",
}


@dataclass
class Proc:
    name: str
    port: int
    pid: int | None
    alive: bool

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def data_dir() -> Path:
    return Path(os.environ.get("ONEWINDOW_DATA_DIR") or ServiceSettings().data_dir)


def _pidfile(name: str) -> Path:
    return data_dir() / "run" / f"{name}.pid"


def _logfile(name: str) -> Path:
    return data_dir() / "logs" / f"{name}.log"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited child not yet reaped) counts as dead.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


def _port(name: str) -> int:
    env = os.environ.get(f"ONEWINDOW_{name.upper()}_HTTP_PORT")
    return int(env) if env else DEFAULT_PORTS[name]


def processes() -> list[Proc]:
    out = []
    for name in SERVICES:
        pid = None
        pf = _pidfile(name)
        if pf.exists():
            try:
                pid = int(pf.read_text().strip())
            except ValueError:
                pid = None
        out.append(Proc(name, _port(name), pid, bool(pid and _alive(pid))))
    return out


def _ready(proc: Proc) -> tuple[bool, str]:
    try:
        r = httpx.get(f"{proc.url}/readyz", timeout=2)
    except httpx.HTTPError as exc:
        return False, type(exc).__name__
    if r.status_code == 200:
        return True, "ready"
    try:
        checks = r.json()
        return False, ", ".join(f"{k}={v}" for k, v in checks.items() if v != "ok" and k != "ready")
    except ValueError:
        return False, f"HTTP {r.status_code}"


def up(services: list[str] | None = None, wait: float = 180, kafka: bool = True, demo: bool = True) -> int:
    names = services or list(SERVICES)
    if kafka:
        from tools import kafka_local

        info = kafka_local.start(console=console)
        console.print(f"Kafka: {info.bootstrap}" + (" (already running)" if info.already_running else ""))
    (data_dir() / "run").mkdir(parents=True, exist_ok=True)
    (data_dir() / "logs").mkdir(parents=True, exist_ok=True)
    started: list[Proc] = []
    for proc in processes():
        if proc.name not in names:
            continue
        if proc.alive:
            console.print(f"{proc.name}: already running (pid {proc.pid})")
            started.append(proc)
            continue
        env = dict(os.environ)
        env["ONEWINDOW_DATA_DIR"] = str(data_dir())
        env["ONEWINDOW_HTTP_PORT"] = str(proc.port)
        if demo:
            # the demo county: seal issues each unit its No. 2 seal (the catalog is loaded below),
            # the console has an account for each role
            env.setdefault("ONEWINDOW_SEAL_AUTO_ISSUE", "1")
            env.setdefault("ONEWINDOW_CONSOLE_DEMO_ACCOUNTS", "1")
            for key, value in DEMO_COUNTY.items():
                env.setdefault(key, value)
        log = open(_logfile(proc.name), "ab")
        p = subprocess.Popen(
            [sys.executable, "-m", "tools.cli", "serve", proc.name],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        _pidfile(proc.name).write_text(str(p.pid))
        started.append(Proc(proc.name, proc.port, p.pid, True))
    deadline = time.monotonic() + wait
    pending = {p.name: p for p in started}
    status: dict[str, str] = {}
    with console.status("waiting for the services to be ready ...") as spinner:
        while pending and time.monotonic() < deadline:
            for name, proc in list(pending.items()):
                if proc.pid and not _alive(proc.pid):
                    status[name] = "exited; see " + str(_logfile(name))
                    del pending[name]
                    continue
                ok, why = _ready(proc)
                status[name] = why
                if ok:
                    del pending[name]
            spinner.update(f"waiting for: {', '.join(pending) or 'nothing'}")
            if pending:
                time.sleep(0.5)
    if demo and status.get("intake") == "ready":
        _load_demo_catalog(next(p for p in started if p.name == "intake"))
    _print_table(started, status)
    for proc in started:
        welcome = declarations()[proc.name].welcome
        if welcome and status.get(proc.name) == "ready":
            console.print(welcome.format(url=proc.url))
    failed = [n for n, s in status.items() if s != "ready"]
    if failed:
        console.print(f"[red]not ready:[/red] {', '.join(failed)} (logs in {data_dir() / 'logs'})")
        return 1
    return 0


def _load_demo_catalog(intake: Proc) -> None:
    """The demo county's catalog (tools/demo), through intake's API once it is ready; skipped
    with ONEWINDOW_INTAKE_DEMO_CATALOG=0. Units and items already there are left alone."""
    from tools.demo import loader

    if not loader.wanted():
        return
    try:
        units, items = loader.load_into(intake.url, loader.admin_token(data_dir()))
    except (httpx.HTTPError, loader.DemoLoadError, RuntimeError) as exc:
        console.print(f"[yellow]demo catalog not loaded:[/yellow] {exc}")
        return
    if units or items:
        console.print(f"demo catalog: {units} units and {items} items loaded into intake")


def _print_table(procs: list[Proc], status: dict[str, str]) -> None:
    table = Table(title="OneWindow services")
    for col in ("service", "status", "pid", "API docs", "metrics"):
        table.add_column(col)
    for p in procs:
        table.add_row(p.name, status.get(p.name, "?"), str(p.pid or "-"), f"{p.url}/docs", f"{p.url}/metrics")
    Console(width=None if sys.stdout.isatty() else 140).print(table)


def down(services: list[str] | None = None, kafka: bool = True, timeout: float = 20) -> int:
    names = services or list(SERVICES)
    for proc in processes():
        if proc.name not in names or not proc.pid:
            continue
        if proc.alive:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            end = time.monotonic() + timeout
            while _alive(proc.pid) and time.monotonic() < end:
                time.sleep(0.2)
            if _alive(proc.pid):
                os.killpg(proc.pid, signal.SIGKILL)
            console.print(f"{proc.name}: stopped")
        _pidfile(proc.name).unlink(missing_ok=True)
    if kafka and services is None:
        from tools import kafka_local

        kafka_local.stop()
    return 0


def status() -> int:
    procs = processes()
    st = {p.name: (_ready(p)[1] if p.alive else "stopped") for p in procs}
    _print_table(procs, st)
    from tools import kafka_local

    st = kafka_local.status()
    if st.running:
        console.print(f"Kafka: running (pid {st.pid}) on {st.bootstrap}, {st.topic_count} topics")
    else:
        console.print("Kafka: not running")
    return 0
