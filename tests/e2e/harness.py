"""The whole suite as separate processes, for the end-to-end scenarios, the fault tests and the
fuzzing: a Kafka broker of its own, the five services started by `tools/supervisor.py`
(the code behind `onewindow up`) in a data folder of their own, on free ports, and the helpers
the tests share (tokens, bounded polling, the SMS outbox, metrics, killing and restarting).

A suite never joins the consumer groups of another one: each gets a fresh broker unless
``ONEWINDOW_E2E_KAFKA_BOOTSTRAP`` names one to use (then its groups and topics must be fresh).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import jwt
from prometheus_client.parser import text_string_to_metric_families

from contracts.common import Role
from tools import demo, kafka_local, supervisor
from tools.demo import loader as demo_loader
from services.runtime.settings import ServiceSettings
from tools.registry import SERVICES
from tests.pg import fresh_database

T = TypeVar("T")

SHANGHAI = ZoneInfo("Asia/Shanghai")
SHIFTED_CLOCK = Path(__file__).parent / "shifted_clock"  # sitecustomize.py: time-machine in the services

#: Settings every suite of the tests runs with (besides ports, data folder and broker):
#: no quiet hours (an evening run would otherwise defer applicants' SMS to the morning; quiet
#: hours are unit-tested in tests/notify), providers and lookups not throttled by the load.
TEST_ENV = {
    "ONEWINDOW_LOG_LEVEL": "INFO",
    "ONEWINDOW_NOTIFY_QUIET_HOURS": "off",
    "ONEWINDOW_NOTIFY_RATE_PER_SECOND": "1000",
    "ONEWINDOW_NOTIFY_RATE_BURST": "1000",
    "ONEWINDOW_NOTIFY_WORKER_POLL_SECONDS": "0.2",
    "ONEWINDOW_INTAKE_LOOKUP_RATE_LIMIT": "100000/minute",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_ENV_LOCK = threading.RLock()


@contextlib.contextmanager
def environ(env: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables for the duration of a block: the
    supervisor reads the data folder and ports from the environment and hands it to children.
    One block at a time (a fault test restarts services from threads)."""
    with _ENV_LOCK:
        saved = {k: os.environ.get(k) for k in env}
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def eventually(check: Callable[[], T], *, timeout: float = 60.0, interval: float = 0.25, what: str = "") -> T:
    """Poll ``check`` until it returns something truthy (returned) or ``timeout`` seconds pass.
    ``check`` may raise AssertionError or an HTTP transport error meanwhile; the last one is
    reported when time runs out."""
    end = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            result = check()
            if result:
                return result
            last = None
        except (AssertionError, httpx.TransportError) as exc:
            last = exc
        if time.monotonic() >= end:
            raise AssertionError(f"not within {timeout:.0f}s: {what or check.__name__}"
                                 + (f"; last: {last}" if last else "")) from last
        time.sleep(interval)


# ------------------------------------------------------------------------------- the broker


@dataclass
class Broker:
    data_dir: Path
    port: int
    controller_port: int

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        kafka_local.start(self.data_dir, port=self.port, controller_port=self.controller_port, wait=120)

    def stop(self) -> None:
        kafka_local.stop(self.data_dir)

    def running(self) -> bool:
        return kafka_local.running_pid(self.data_dir) is not None


@contextlib.contextmanager
def dedicated_broker(data_dir: Path) -> Iterator[Broker]:
    """A single-node broker of the project's own (tools.kafka_local) on free ports,
    with the catalog's topics; stopped (its JVM gone) afterwards."""
    port = free_port()
    controller = free_port()
    while controller == port:
        controller = free_port()
    broker = Broker(data_dir, port, controller)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@contextlib.contextmanager
def suite_broker(data_dir: Path) -> Iterator[str]:
    """The bootstrap address a suite runs on: ``ONEWINDOW_E2E_KAFKA_BOOTSTRAP`` when set (its
    catalog topics ensured), else a dedicated broker."""
    given = os.environ.get("ONEWINDOW_E2E_KAFKA_BOOTSTRAP")
    if given:
        kafka_local.ensure_topics_sync(given, kafka_local.catalog_specs())
        yield given
        return
    with dedicated_broker(data_dir) as broker:
        yield broker.bootstrap


# ------------------------------------------------------------------------------- the suite


@dataclass
class Suite:
    data_dir: Path
    ports: dict[str, int]
    secret: str
    bootstrap: str
    #: Environment of every service process (data folder, broker, secret, ports, TEST_ENV, ...).
    env: dict[str, str] = field(default_factory=dict)
    #: Extra environment of one service's process (e.g. its own DATABASE_URL).
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Seconds the services' wall clock is shifted by; tokens are issued on that clock.
    clock_offset: float = 0.0
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    # -- HTTP ----------------------------------------------------------------------------------
    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def client(self, service: str) -> httpx.Client:
        if service not in self.clients:
            self.clients[service] = httpx.Client(base_url=self.url(service), timeout=30)
        return self.clients[service]

    def now(self) -> datetime:
        """The services' clock (the real one unless shifted)."""
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset)

    def token(self, sub: str, role: Role | str, unit: str | None = None, name: str = "", ttl: int = 8 * 3600) -> str:
        """A staff token as `onewindow token` issues it (same claims and key), dated on the
        services' clock so that a shifted clock does not see it issued in the future."""
        settings = ServiceSettings(auth_secret=self.secret, data_dir=self.data_dir)
        now = int(time.time() + self.clock_offset) - 60  # issued a minute ago: never "in the future" for a service
        claims = {"sub": sub, "name": name, "role": Role(role).value, "unit": unit, "iss": settings.auth_issuer,
                  "aud": settings.auth_audience, "iat": now, "exp": now + ttl}
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def headers(self, sub: str, role: Role | str, unit: str | None = None, name: str = "") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sub, role, unit, name)}"}

    def admin(self) -> dict[str, str]:
        return self.headers("e2e-admin", Role.CENTER_ADMIN, name="中心管理员")

    def supervisor(self) -> dict[str, str]:
        return self.headers("e2e-supervisor", Role.SUPERVISOR, name="督查员")

    def ready(self, service: str) -> bool:
        try:
            return self.client(service).get("/readyz", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def readiness(self, service: str) -> tuple[int, dict[str, Any]]:
        r = self.client(service).get("/readyz", timeout=10)
        return r.status_code, r.json()

    # -- files -----------------------------------------------------------------------------------
    def log(self, service: str) -> str:
        return (self.data_dir / "logs" / f"{service}.log").read_text(errors="replace")

    @property
    def sms_outbox(self) -> Path:
        """notify's file provider: one JSON line per SMS handed to the 'carrier'."""
        return self.data_dir / "notify" / "sms-outbox.jsonl"

    def sms_lines(self) -> list[dict[str, Any]]:
        if not self.sms_outbox.exists():
            return []
        return [json.loads(line) for line in self.sms_outbox.read_text(encoding="utf-8").splitlines() if line.strip()]

    # -- metrics ---------------------------------------------------------------------------------
    def metric(self, service: str, name: str, **labels: str) -> float:
        """The sum of the samples of ``name`` (e.g. onewindow_dead_letters_total) whose labels
        include ``labels``, as the service exposes them now."""
        text = self.client(service).get("/metrics").text
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total

    # -- processes -------------------------------------------------------------------------------
    def _process_env(self, name: str | None = None) -> dict[str, str]:
        env = dict(self.env)
        if name is not None:
            env.update(self.service_env.get(name, {}))
        return env

    def start(self, *names: str, wait: float = 180) -> None:
        """Start the named services (all by default) as `onewindow up` does and wait until each
        is ready; fail with the tail of their logs otherwise."""
        names = names or SERVICES
        groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
        for n in names:
            groups.setdefault(tuple(sorted(self.service_env.get(n, {}).items())), []).append(n)
        if len(groups) == 1:  # one environment for all of them (their own extra included)
            with environ({**self.env, **dict(next(iter(groups)))}):
                code = supervisor.up(services=list(names), kafka=False, wait=wait)
            if code != 0:
                raise RuntimeError(f"services did not start: {list(names)}\n{self._log_tails(names)}")
            return
        # Services with an environment of their own (e.g. their own DATABASE_URL) are launched
        # one group at a time (the supervisor reads the environment), then awaited together.
        for extra, group in groups.items():
            with environ({**self.env, **dict(extra)}):
                supervisor.up(services=group, kafka=False, wait=0)

        def all_ready() -> bool:
            dead = [n for n in names if self.pid(n) is None]
            if dead:
                raise RuntimeError(f"services exited at start: {dead}\n{self._log_tails(dead)}")
            return all(self.ready(n) for n in names)

        try:
            eventually(all_ready, timeout=wait, interval=0.5, what=f"{list(names)} ready")
        except AssertionError:
            raise RuntimeError(f"services not ready: {list(names)}\n{self._log_tails(names)}") from None

    def _log_tails(self, names: Iterable[str]) -> str:
        return "\n".join(f"--- {n}\n{self.log(n)[-4000:]}" for n in names
                         if (self.data_dir / "logs" / f"{n}.log").exists())

    def stop(self, *names: str) -> None:
        """Stop the named services (all by default): SIGTERM, SIGKILL after 20 s."""
        with environ(self.env):
            supervisor.down(services=list(names) or None, kafka=False)

    def pid(self, name: str) -> int | None:
        """The pid of the running service (from the supervisor's pid file), None when it is not."""
        try:
            pid = int((self.data_dir / "run" / f"{name}.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as f:
                alive = f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is gone
        except (ProcessLookupError, FileNotFoundError):
            return None
        return pid if alive else None

    def kill(self, name: str) -> int:
        """kill -9 the service's process (its own process group); returns the pid it had."""
        pid = self.pid(name)
        if pid is None:
            raise RuntimeError(f"{name} is not running")
        os.killpg(pid, signal.SIGKILL)
        eventually(lambda: self.pid(name) is None, timeout=30, interval=0.05, what=f"{name} gone after kill -9")
        return pid

    def close(self) -> None:
        for c in self.clients.values():
            c.close()
        self.clients.clear()


def last_weekend_morning(now: datetime | None = None) -> datetime:
    """The latest Saturday at 09:20 (Asia/Shanghai) before ``now`` that is a real rest day (not
    a make-up working day, not a statutory holiday): when weekend duty is due."""
    import holidays

    cal = holidays.country_holidays("CN")
    now = (now or datetime.now(UTC)).astimezone(SHANGHAI)
    day: date = now.date()
    while True:
        if day.weekday() == 5 and not cal.is_working_day(day) and day not in cal:
            moment = datetime(day.year, day.month, day.day, 9, 20, tzinfo=SHANGHAI)
            if moment < now - timedelta(minutes=5):
                return moment
        day -= timedelta(days=1)


@contextlib.contextmanager
def running_suite(
    bootstrap: str,
    data_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    service_env: Mapping[str, Mapping[str, str]] | None = None,
    clock: datetime | None = None,
    wait: float = 180,
) -> Iterator[Suite]:
    """The five services on ``bootstrap`` in ``data_dir``; stopped afterwards. ``clock``: run
    them on a shifted wall clock starting at that moment and running on (time-machine, loaded by
    tests/e2e/shifted_clock/sitecustomize.py; monotonic time stays real)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in SERVICES}
    secret = "e2e-" + os.urandom(24).hex()
    base = {
        "ONEWINDOW_DATA_DIR": str(data_dir),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ONEWINDOW_AUTH_SECRET": secret,
        **TEST_ENV,
        **{f"ONEWINDOW_{n.upper()}_HTTP_PORT": str(p) for n, p in ports.items()},
        # The survey SMS links to this suite's intake.
        "ONEWINDOW_NOTIFY_RATING_URL_TEMPLATE": f"http://127.0.0.1:{ports['intake']}/intake/public/ratings/{{receipt_no}}",
        **(env or {}),
    }
    offset = 0.0
    if clock is not None:
        offset = (clock - datetime.now(UTC)).total_seconds()
        path = os.pathsep.join(p for p in (str(SHIFTED_CLOCK), os.environ.get("PYTHONPATH", "")) if p)
        # One offset for all five: their clocks agree with each other (not with Kafka's).
        base.update({"PYTHONPATH": path, "ONEWINDOW_E2E_CLOCK_OFFSET": f"{offset:.3f}"})
    suite = Suite(data_dir, ports, secret, bootstrap, env=base,
                  service_env={k: dict(v) for k, v in (service_env or {}).items()}, clock_offset=offset)
    try:
        suite.start()
        # The demo catalog goes in through intake's API (tools/demo) with a token on the services'
        # clock; what the supervisor loaded already is left alone.
        demo_loader.load_into(suite.url("intake"),
                              suite.token(demo.STAFF_ID, Role.CENTER_ADMIN, name="演示事项目录"))
        yield suite
    finally:
        suite.close()
        suite.stop()


# ------------------------------------------------------------------------------- the window


def mandatory_materials(suite: Suite, item_code: str) -> list[str]:
    item = suite.client("intake").get(f"/intake/guide/items/{item_code}").json()
    return [m["code"] for m in item["materials"] if m["mandatory"]]


def guide_items(suite: Suite, kind: str) -> list[dict[str, Any]]:
    r = suite.client("intake").get("/intake/guide/items", params={"kind": kind})
    r.raise_for_status()
    return r.json()


def unit_names(suite: Suite) -> dict[str, str]:
    return {u["code"]: u["name"] for u in suite.client("intake").get("/intake/guide/units").json()}


def issue_seals(suite: Suite, units: Iterable[str]) -> None:
    """The center admin issues each unit's No. 2 seal (once; a second request answers 409),
    in use since a month before the services' today."""
    names = unit_names(suite)
    start = (suite.now().astimezone(SHANGHAI) - timedelta(days=30)).date()
    for code in units:
        r = suite.client("seal").post("/seal/seals", headers=suite.admin(), json={
            "unit_code": code, "unit_name": names[code], "start_date": start.isoformat()})
        assert r.status_code in (201, 409), r.text


def subscriptions(bootstrap: str) -> dict[str, list[tuple[str, str, str]]]:
    """topic -> [(service, handler, consumer group)] of every consumer group that has committed an
    offset on the topic, as the broker knows it (a suite's broker holds only the suite's groups,
    named ``<service>.<handler>``)."""
    from aiokafka.admin import AIOKafkaAdminClient

    async def read() -> dict[str, list[tuple[str, str, str]]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            out: dict[str, list[tuple[str, str, str]]] = {}
            for group_id, _protocol in sorted(await admin.list_consumer_groups()):
                service, _, handler = group_id.partition(".")
                for topic in sorted({tp.topic for tp in await admin.list_consumer_group_offsets(group_id)}):
                    out.setdefault(topic, []).append((service, handler, group_id))
            return out
        finally:
            await admin.close()

    return kafka_local.run_sync(read)

def declared_subscriptions(scratch: Path, env: Mapping[str, str] | None = None) -> dict[str, set[str]]:
    """topic -> consumer groups the five services declare (built in this process with ``env``,
    not started; ``scratch`` is their data folder)."""
    import importlib

    out: dict[str, set[str]] = {}
    with environ({**(env or {}), "ONEWINDOW_DATA_DIR": str(scratch)}):
        for name in SERVICES:
            svc = importlib.import_module(f"services.{name}.app").create_service()
            for spec in svc.handlers:
                for topic in spec.topics:
                    out.setdefault(topic, set()).add(spec.group)
    return out


@contextlib.contextmanager
def postgres_databases(admin_url: str, prefix: str, keep: bool = False) -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database per service on the server ``admin_url`` names (service ->
    SQLAlchemy URL), dropped afterwards (unless ``keep``, to look into a failure)."""
    with contextlib.ExitStack() as stack:
        yield {s: stack.enter_context(fresh_database(admin_url, f"{prefix}_{s}", keep)) for s in SERVICES}
