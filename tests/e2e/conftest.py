"""The whole suite as separate processes on the real broker: `suite` starts the five services
(as `onewindow up` does) in a data folder of their own, on free ports, and stops them after."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from services.runtime import supervisor
from services.runtime.auth import Authenticator
from services.runtime.settings import SERVICES, ServiceSettings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Suite:
    data_dir: Path
    ports: dict[str, int]
    secret: str
    bootstrap: str
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def client(self, service: str) -> httpx.Client:
        if service not in self.clients:
            self.clients[service] = httpx.Client(base_url=self.url(service), timeout=30)
        return self.clients[service]

    def token(self, sub: str, role: str, unit: str | None = None, name: str = "") -> str:
        auth = Authenticator(ServiceSettings(auth_secret=self.secret, data_dir=self.data_dir))
        return auth.issue(sub, role, unit, name)

    def headers(self, sub: str, role: str, unit: str | None = None, name: str = "") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sub, role, unit, name)}"}

    def log(self, service: str) -> str:
        return (self.data_dir / "logs" / f"{service}.log").read_text(errors="replace")


@pytest.fixture(scope="session")
def suite(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    data = tmp_path_factory.mktemp("suite")
    ports = {name: _free_port() for name in SERVICES}
    secret = "e2e-" + os.urandom(24).hex()
    env = {
        "ONEWINDOW_DATA_DIR": str(data),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "ONEWINDOW_AUTH_SECRET": secret,
        "ONEWINDOW_LOG_LEVEL": "INFO",
        **{f"ONEWINDOW_{n.upper()}_HTTP_PORT": str(p) for n, p in ports.items()},
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        code = supervisor.up(kafka=False, wait=180)
        s = Suite(data, ports, secret, kafka_bootstrap)
        if code != 0:
            logs = "\n".join(f"--- {n}\n{s.log(n)[-3000:]}" for n in SERVICES if (data / "logs" / f"{n}.log").exists())
            supervisor.down(kafka=False)
            pytest.fail(f"the suite did not start:\n{logs}")
        yield s
        for c in s.clients.values():
            c.close()
        supervisor.down(kafka=False)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
