"""Start and stop the suite as ``onewindow up`` does (``tools.supervisor``: each
service its own process, port and SQLite database), in a data folder of its own, on free ports,
against a given Kafka broker. Used by the simulator, the end-to-end benchmarks and their tests."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.runtime.auth import Authenticator
from services.runtime.settings import ServiceSettings
from tools.registry import BUS_SERVICES as SERVICES


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Suite:
    data_dir: Path
    bootstrap: str
    ports: dict[str, int]
    secret: str
    services: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def token(self, sub: str, role: str, unit: str | None = None, name: str = "", ttl: int = 24 * 3600) -> str:
        auth = Authenticator(ServiceSettings(auth_secret=self.secret, data_dir=self.data_dir))
        return auth.issue(sub, role, unit, name or sub, ttl)

    def client(self, service: str, token: str | None = None, timeout: float = 60) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url(service), headers=headers, timeout=timeout)

    def pids(self) -> dict[str, int]:
        out = {}
        for name in self.services:
            pf = self.data_dir / "run" / f"{name}.pid"
            if pf.exists():
                out[name] = int(pf.read_text().strip())
        return out

    def log(self, service: str) -> str:
        path = self.data_dir / "logs" / f"{service}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- process control (the supervisor reads its settings from the environment)
    @contextmanager
    def environment(self) -> Iterator[None]:
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def up(self, wait: float = 180) -> int:
        from tools import supervisor

        with self.environment():
            return supervisor.up(list(self.services), kafka=False, wait=wait)

    def down(self) -> None:
        from tools import supervisor

        with self.environment():
            supervisor.down(list(self.services), kafka=False)


def make_suite(
    data_dir: Path, bootstrap: str, *, services: tuple[str, ...] = SERVICES, extra_env: Mapping[str, str] | None = None,
    ports: Mapping[str, int] | None = None,
) -> Suite:
    """A suite description (nothing started): free ports, a fresh auth secret, the environment."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ports = dict(ports or {name: free_port() for name in SERVICES})
    secret = "sim-" + secrets.token_hex(24)
    env = {
        "ONEWINDOW_DATA_DIR": str(data_dir),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ONEWINDOW_AUTH_SECRET": secret,
        "ONEWINDOW_LOG_LEVEL": "WARNING",
        **{f"ONEWINDOW_{n.upper()}_HTTP_PORT": str(p) for n, p in ports.items()},
        **dict(extra_env or {}),
    }
    return Suite(data_dir, bootstrap, ports, secret, tuple(services), env)


@contextmanager
def running_suite(data_dir: Path, bootstrap: str, **kw) -> Iterator[Suite]:  # type: ignore[no-untyped-def]
    suite = make_suite(data_dir, bootstrap, **kw)
    code = suite.up()
    try:
        if code != 0:
            logs = "\n".join(f"--- {n}\n{suite.log(n)[-3000:]}" for n in suite.services)
            raise RuntimeError(f"the suite did not start:\n{logs}")
        yield suite
    finally:
        suite.down()
