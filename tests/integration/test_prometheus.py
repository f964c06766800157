"""A real Prometheus (Debian's package) scrapes a real service process with the project's alert
rules, and the alerts fire for real conditions: a poison record on a topic the service consumes
(OneWindowDeadLetters), then the service stopping (OneWindowServiceDown). The dashboard's queries
run against the same server.

The rules are the committed ones with every ``for:`` set to 0s, so that an alert fires at the
first evaluation that sees its condition; scraping and evaluation run every second. Everything
listens on 127.0.0.1; every wait is bounded; the processes are stopped at the end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tools import kafka_local

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "rules" / "onewindow.rules.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "onewindow.json"
SERVICE = "seal"       # a landed service that consumes a topic (seal.commands)
TOPIC = "seal.commands"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, check: Callable[[], Any], timeout: float, proc: subprocess.Popen[bytes] | None = None,
          log: Path | None = None) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            pytest.fail(f"{what}: the process exited with {proc.returncode}\n{tail}")
        try:
            result = check()
        except (httpx.HTTPError, OSError):
            result = None
        if result:
            return result
        time.sleep(0.25)
    tail = log.read_text(errors="replace")[-3000:] if log else ""
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{tail}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


class ServiceProcess:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log
        self.url = f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def service(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    tmp = tmp_path_factory.mktemp("svc")
    port = _free_port()
    env = {**os.environ, "ONEWINDOW_DATA_DIR": str(tmp), "ONEWINDOW_HTTP_PORT": str(port),
           "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "ONEWINDOW_AUTH_SECRET": "k" * 48,
           "ONEWINDOW_LOG_JSON": "false", "ONEWINDOW_HTTP_HOST": "127.0.0.1"}
    env.pop("DATABASE_URL", None)  # its own SQLite file under the temp data dir
    log = tmp / "service.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tools.cli", "serve", SERVICE], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    svc = ServiceProcess(proc, port, log)
    # Probe /readyz as the kubelet (or Compose's healthcheck) does: it keeps the
    # onewindow_service_ready gauge current.
    stop = threading.Event()

    def probe() -> None:
        while not stop.wait(0.5):
            try:
                httpx.get(f"{svc.url}/readyz", timeout=2)
            except httpx.HTTPError:
                pass

    try:
        _wait("the service to be ready", lambda: httpx.get(f"{svc.url}/readyz", timeout=2).status_code == 200,
              120, proc, log)
        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        yield svc
    finally:
        stop.set()
        _stop(proc)


class Prometheus:
    def __init__(self, url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.url, self.proc, self.log = url, proc, log

    def get(self, path: str, **params: str) -> Any:
        r = httpx.get(f"{self.url}{path}", params=params, timeout=5)
        body = r.json()
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        return self.get("/api/v1/query", query=expr)["result"]

    def alerts(self, name: str, state: str = "firing") -> list[dict[str, str]]:
        return [a["labels"] for a in self.get("/api/v1/alerts")["alerts"]
                if a["labels"]["alertname"] == name and a["state"] == state]


def derived_rules(path: Path) -> dict[str, Any]:
    """The committed rules with every ``for:`` at 0s (the expressions are unchanged)."""
    doc = yaml.safe_load(RULES.read_text())
    for group in doc["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "0s"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    return doc


@pytest.fixture(scope="module")
def prometheus(service: ServiceProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("the prometheus server is not installed (Debian package `prometheus`, deploy/apt-packages.txt)")
    tmp = tmp_path_factory.mktemp("prometheus")
    derived_rules(tmp / "onewindow.rules.yml")
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
        "rule_files": [str(tmp / "onewindow.rules.yml")],
        "scrape_configs": [{
            "job_name": "onewindow",
            "static_configs": [{"targets": [f"127.0.0.1:{service.port}"], "labels": {"service": SERVICE}}],
        }],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = _free_port()
    log = tmp / "prometheus.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [binary, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    prom = Prometheus(f"http://127.0.0.1:{port}", proc, log)
    try:
        _wait("Prometheus to be ready", lambda: httpx.get(f"{prom.url}/-/ready", timeout=2).status_code == 200,
              60, proc, log)
        # Scraping works and the rules are loaded and evaluated.
        _wait("the service to be scraped", lambda: prom.query('up{job="onewindow", service="seal"} == 1'), 60, proc, log)
        groups = prom.get("/api/v1/rules")["groups"]
        assert {r["name"] for g in groups for r in g["rules"]} >= {"OneWindowDeadLetters", "OneWindowServiceDown"}
        yield prom
    finally:
        _stop(proc)


async def _produce_poison(bootstrap: str) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        # No CloudEvents headers, not JSON: the consumer cannot even parse it.
        await producer.send_and_wait(TOPIC, b"{this is not an event", key=f"poison-{uuid.uuid4().hex}".encode())
    finally:
        await producer.stop()


def test_a_poison_record_fires_the_dead_letter_alert(service: ServiceProcess, prometheus: Prometheus,
                                                     kafka_bootstrap: str) -> None:
    # Before: the rules have been evaluated on several scrapes, and nothing is dead-lettered.
    _wait("a few rule evaluations", lambda: len(prometheus.query('count_over_time(up{job="onewindow"}[1m])')) == 1
          and float(prometheus.query('count_over_time(up{job="onewindow"}[1m])')[0]["value"][1]) >= 3, 30)
    assert prometheus.alerts("OneWindowDeadLetters", "firing") == []
    assert prometheus.alerts("OneWindowDeadLetters", "pending") == []

    kafka_local.run_sync(lambda: _produce_poison(kafka_bootstrap))

    labels = _wait("OneWindowDeadLetters to fire", lambda: prometheus.alerts("OneWindowDeadLetters"), 60,
                   service.proc, service.log)
    assert {(a["service"], a["topic"], a["reason"]) for a in labels} >= {(SERVICE, TOPIC, "invalid")}
    assert all(a["severity"] == "warning" for a in labels)
    # What Prometheus scraped is what the service counted.
    samples = prometheus.query(f'onewindow_dead_letters_total{{job="onewindow", topic="{TOPIC}", reason="invalid"}}')
    assert samples and float(samples[0]["value"][1]) >= 1


def _dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    # Grafana's own variables, as Grafana would fill them in.
    subst = {"$__rate_interval": "1m", "$__range": "1h", "$service": ".*", "$__interval": "15s"}
    out = []
    for e in exprs:
        for k, v in subst.items():
            e = e.replace(k, v)
        assert "$" not in e, e
        out.append(e)
    return out


def test_the_dashboard_queries_run_on_prometheus(prometheus: Prometheus) -> None:
    queries = _dashboard_queries()
    assert len(queries) >= 30
    for expr in queries:
        prometheus.get("/api/v1/query", query=expr)  # asserts status "success": valid PromQL
    # The engineers' view shows the running service's HTTP traffic (the readiness probes).
    traffic = prometheus.query('sum by (service) (onewindow_http_requests_total{job="onewindow", route="/readyz"})')
    assert traffic and traffic[0]["metric"]["service"] == SERVICE


def test_a_stopped_service_fires_the_service_down_alert(service: ServiceProcess, prometheus: Prometheus) -> None:
    assert prometheus.alerts("OneWindowServiceDown") == []
    _stop(service.proc)
    labels = _wait("OneWindowServiceDown to fire", lambda: prometheus.alerts("OneWindowServiceDown"), 60)
    assert [(a["service"], a["severity"]) for a in labels] == [(SERVICE, "critical")]
    assert re.fullmatch(r"127\.0\.0\.1:\d+", labels[0]["instance"])
