"""The project's own Apache Kafka 4.x broker, run without Docker.

``onewindow kafka start`` (or ``python -m tools.kafka_local start``):

1. fetches the broker's jars from Maven Central once, with Maven and ``deploy/kafka/pom.xml``,
   into a cache outside the working tree (``~/.cache/onewindow/kafka-<version>``, or
   ``$ONEWINDOW_KAFKA_HOME``), saying where, with its progress (a bar on a terminal, a line
   every few MB in logs: size, percent of the expected total);
2. writes ``server.properties`` for a single-node KRaft broker (combined broker and controller,
   node 1) listening on 127.0.0.1 only, clients on 19092 and the controller on 19093
   (``$ONEWINDOW_KAFKA_PORT``, ``$ONEWINDOW_KAFKA_CONTROLLER_PORT``);
3. formats the storage with ``kafka.tools.StorageTool`` the first time;
4. starts ``kafka.Kafka`` detached with a bounded heap, logging to ``<data dir>/logs``;
5. waits until the broker answers a metadata request, then creates the topics of the contracts'
   catalog (each with its ``.dlq`` twin), idempotently.

With ``--sasl`` (``start(sasl=True)``) the broker authenticates and authorizes like the county
cluster: clients connect with SASL/SCRAM-SHA-512 on the client port, Kafka's
``StandardAuthorizer`` refuses what no ACL allows, and the users and ACLs are those
``tools/deploy_gen.py`` generates from the topic catalog (its KafkaUsers), applied at every start
by ``deploy/kafka/Acls.java`` through Kafka's own Admin client. The broker itself, the
controller and the admin tools use a separate PLAIN listener as the super user ``admin``
(``$ONEWINDOW_KAFKA_INTERNAL_PORT``, default client port + 2). Passwords are generated once into
``<data dir>/sasl.json`` (mode 600): :func:`sasl_config` reads them.

The data lives in ``<repo>/var/kafka`` (``$ONEWINDOW_DATA_DIR/kafka`` when set). A broker that
fails to start is reported with the cause from its own log, and its JVM is not left behind.

This module imports no service; ``contracts`` is imported lazily, only to read the catalog.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import json
import secrets
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from contracts.topics import Topic

REPO_ROOT = Path(__file__).resolve().parents[1]
DEPLOY_DIR = REPO_ROOT / "deploy" / "kafka"
POM = DEPLOY_DIR / "pom.xml"
LOG4J_CONFIG = DEPLOY_DIR / "log4j2.properties"

DEFAULT_PORT = 19092
DEFAULT_CONTROLLER_PORT = 19093
DEFAULT_HEAP = "512m"
DEFAULT_WAIT = 60.0
HOST = "127.0.0.1"
NODE_ID = 1

PROPERTIES_FILE = "server.properties"
PID_FILE = "kafka.pid"
OUT_FILE = "kafka.out"  # the JVM's own stdout/stderr (JVM errors before logging starts)
LOG_SUBDIR = "logs"
DATA_SUBDIR = "data"
SASL_FILE = "sasl.json"     # SASL mode: the admin's and the users' passwords, the internal port
ACLS_PROGRAM = DEPLOY_DIR / "Acls.java"
ADMIN_USER = "admin"        # the super user of the internal (PLAIN) listener

# Same flags as Kafka's kafka-run-class.sh, plus dying on OOM so that a broken broker is gone
# rather than hanging.
JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)

_HEAP_RE = re.compile(r"^[1-9]\d*[kKmMgG]?$")

T = TypeVar("T")


class KafkaLocalError(RuntimeError):
    """Something about the local broker went wrong; the message says what and what to do."""


class BrokerStartError(KafkaLocalError):
    """The broker did not come up. ``cause`` holds the relevant lines of its own log."""

    def __init__(self, message: str, cause: list[str], log_file: Path) -> None:
        lines = [message, *(f"  {line}" for line in cause), f"(full log: {log_file})"]
        super().__init__("\n".join(lines))
        self.cause = cause
        self.log_file = log_file


class TopicError(KafkaLocalError):
    """Topics could not be created as the catalog declares them."""


# --------------------------------------------------------------------------------------------
# Locations and settings


def kafka_version(pom: Path = POM) -> str:
    """The Kafka version named by ``deploy/kafka/pom.xml`` (property ``kafka.version``)."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(pom).getroot().find("m:properties/m:kafka.version", ns)
    if node is None or not (node.text or "").strip():
        raise KafkaLocalError(f"{pom} has no <kafka.version> property")
    return node.text.strip()


def kafka_home(version: str | None = None) -> Path:
    """Where the jars are cached: ``$ONEWINDOW_KAFKA_HOME`` or
    ``$XDG_CACHE_HOME/onewindow/kafka-<version>`` (``~/.cache/...``). The jars are in ``libs/``."""
    env = os.environ.get("ONEWINDOW_KAFKA_HOME")
    if env:
        return Path(env).expanduser().resolve()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "onewindow" / f"kafka-{version or kafka_version()}"


def default_data_dir() -> Path:
    """``$ONEWINDOW_DATA_DIR/kafka`` when set, else ``<repo>/var/kafka`` (git-ignored)."""
    env = os.environ.get("ONEWINDOW_DATA_DIR")
    base = Path(env).expanduser() if env else REPO_ROOT / "var"
    return (base / "kafka").resolve()


def _env_port(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise KafkaLocalError(f"{name}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise KafkaLocalError(f"{name}={raw!r} is not a port number")
    return port


def default_port() -> int:
    return _env_port("ONEWINDOW_KAFKA_PORT", DEFAULT_PORT)


def default_controller_port() -> int:
    return _env_port("ONEWINDOW_KAFKA_CONTROLLER_PORT", DEFAULT_CONTROLLER_PORT)


def new_cluster_id() -> str:
    """A random Kafka cluster id: a UUID in URL-safe base64 without padding (22 characters),
    the form ``kafka-storage random-uuid`` prints."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


def _resolve(data_dir: Path | str | None) -> Path:
    return Path(data_dir).expanduser().resolve() if data_dir else default_data_dir()


# --------------------------------------------------------------------------------------------
# The jars


def _libs_ready(libs: Path, version: str) -> bool:
    return libs.is_dir() and any(libs.glob(f"kafka_*-{version}.jar"))


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock across processes (two shells, or a test run beside ``kafka start``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


_DOWNLOADED = re.compile(r"Downloaded from \S+: \S*/([^/\s]+) \((\d+(?:\.\d+)?) (B|kB|KB|MB|GB)")
_COPYING = re.compile(r"Copying (\S+\.jar) to ")
_UNITS = {"B": 1, "kB": 1000, "KB": 1000, "MB": 1000**2, "GB": 1000**3}  # Maven's own (decimal) units

#: What the first fetch brings, per Kafka version (jars, bytes): the percent shown while Maven
#: downloads. Measured from a complete ``libs/``; a version not listed shows sizes without percent.
EXPECTED_JARS: dict[str, tuple[int, int]] = {"4.1.1": (46, 44_186_201)}

#: Off a terminal (CI logs, pipes) a line every so many downloaded bytes, not a bar.
PROGRESS_LINE_BYTES = 5_000_000


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class DownloadProgress:
    """Follows Maven's output: the jars downloaded (count, bytes, percent of the expected total)
    and the jars copied into the cache. ``feed`` returns the plain lines worth printing when no
    terminal shows a bar: one per :data:`PROGRESS_LINE_BYTES` downloaded, and the copy's start."""

    def __init__(self, version: str, line_bytes: int = PROGRESS_LINE_BYTES) -> None:
        self.expected_jars, self.expected_bytes = EXPECTED_JARS.get(version, (0, 0))
        self.line_bytes = line_bytes
        self.files = self.jars = self.bytes = self.copied = 0
        self._next_line = line_bytes
        self.current = ""

    @property
    def percent(self) -> int | None:
        if not self.expected_bytes:
            return None
        return min(99, self.bytes * 100 // self.expected_bytes)  # 100 only when the copy is done

    def describe(self) -> str:
        pct = self.percent
        total = f" of ~{_mb(self.expected_bytes)} ({pct}%)" if pct is not None else ""
        return f"downloaded {_mb(self.bytes)}{total}, {self.jars} jars"

    def feed(self, line: str) -> list[str]:
        if m := _DOWNLOADED.search(line):
            name, size = m.group(1), int(float(m.group(2)) * _UNITS[m.group(3)])
            self.files += 1
            self.current = name
            if name.endswith(".jar"):  # POMs and metadata are small and not in the total
                self.jars += 1
                self.bytes += size
                if self.bytes >= self._next_line:
                    while self._next_line <= self.bytes:
                        self._next_line += self.line_bytes
                    return [f"  {self.describe()}"]
            return []
        if m := _COPYING.search(line):
            self.copied += 1
            self.current = m.group(1)
            if self.copied == 1:
                return [f"  {self.describe()}; copying the jars into the cache"]
        return []


def ensure_jars(console: Console | None = None) -> Path:
    """The directory of the broker's jars, fetched with Maven the first time (slow: about 45
    jars, ~45 MB), instantly afterwards. The download goes to a temporary directory that is
    renamed into place, so an interrupted fetch never leaves a half-filled cache. Progress: a bar
    on a terminal, else a line every few MB; where the jars are cached is said first and last."""
    version = kafka_version()
    home = kafka_home(version)
    libs = home / "libs"
    if _libs_ready(libs, version):
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaLocalError(
            "Maven (mvn) is needed once to fetch the Kafka jars; install it (Debian: apt-get "
            f"install maven) or put the jars of Kafka {version} in {libs}"
        )
    console = console or Console(stderr=True)
    with _file_lock(home / ".lock"):
        if _libs_ready(libs, version):  # another process fetched them while we waited
            return libs
        progress = DownloadProgress(version)
        size = f", ~{_mb(progress.expected_bytes)}" if progress.expected_bytes else ""
        console.print(f"Fetching Apache Kafka {version} jars from Maven Central (first time only{size})")
        console.print(f"  cache: {libs} (Maven keeps its own copy in ~/.m2/repository)")
        tmp = Path(tempfile.mkdtemp(prefix="libs.", dir=home))
        cmd = [
            mvn, "-B", "-f", str(POM), "dependency:copy-dependencies",
            f"-DoutputDirectory={tmp}", "-DincludeScope=runtime",
        ]
        tail: list[str] = []
        try:
            with _progress_display(console, progress) as update:
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, cwd=DEPLOY_DIR)
                assert proc.stdout is not None
                try:
                    for line in proc.stdout:
                        tail = (tail + [line.rstrip()])[-30:]
                        update(progress.feed(line))
                    rc = proc.wait()
                except BaseException:  # Ctrl-C: no Maven left writing into the cache
                    proc.kill()
                    proc.wait()
                    raise
            if rc != 0:
                raise KafkaLocalError(
                    "Maven could not fetch the Kafka jars:\n" + "\n".join(tail)
                )
            if not _libs_ready(tmp, version):
                raise KafkaLocalError(f"Maven ran but {tmp} holds no kafka_*-{version}.jar")
            if libs.exists():  # an incomplete or foreign libs/ (we hold the lock)
                shutil.rmtree(libs)
            os.replace(tmp, libs)  # atomic: libs/ is complete or absent
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    total = sum(f.stat().st_size for f in libs.glob("*.jar"))
    console.print(f"Kafka {version}: {progress.copied} jars ({_mb(total)}, {progress.jars} downloaded "
                  f"now) cached in {libs}")
    return libs


@contextlib.contextmanager
def _progress_display(console: Console, progress: DownloadProgress) -> Iterator[Callable[[list[str]], None]]:
    """A rich progress bar on a terminal; elsewhere the plain lines ``DownloadProgress`` gives."""
    if not console.is_terminal:
        def lines(out: list[str]) -> None:
            for line in out:
                console.print(line)
        yield lines
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    with Progress(TextColumn("[bold]Kafka jars"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TextColumn("{task.description}"), console=console, transient=False) as bar:
        task = bar.add_task("", total=progress.expected_bytes or None)

        def show(_: list[str]) -> None:
            what = (f"copying {progress.copied}/{progress.jars or progress.expected_jars}"
                    if progress.copied else progress.current)
            bar.update(task, completed=progress.bytes, description=what)
        yield show
        bar.update(task, completed=progress.expected_bytes or progress.bytes)


# --------------------------------------------------------------------------------------------
# Configuration


def render_properties(data_dir: Path, port: int, controller_port: int,
                      sasl: "SaslConfig | None" = None) -> str:
    """``server.properties`` of a single-node KRaft broker (broker and controller in one JVM).

    The controller quorum is static (``controller.quorum.voters``) rather than a dynamic quorum
    formatted with ``--standalone``: a dynamic quorum records the controller's endpoint in the
    metadata log at format time, so changing ``ONEWINDOW_KAFKA_CONTROLLER_PORT`` later would
    strand it; a static quorum reads it from this file at every start.
    """
    if port == controller_port:
        raise KafkaLocalError(f"the client and controller ports must differ (both {port})")
    if sasl is not None and sasl.internal_port in (port, controller_port):
        raise KafkaLocalError(f"the internal port {sasl.internal_port} must differ from the others")

    def path(p: Path) -> str:
        return str(p).replace("\\", "\\\\")  # a backslash is an escape in .properties

    settings: dict[str, object] = {
        "process.roles": "broker,controller",
        "node.id": NODE_ID,
        "controller.quorum.voters": f"{NODE_ID}@{HOST}:{controller_port}",
        "controller.listener.names": "CONTROLLER",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": path(data_dir / DATA_SUBDIR),
        # One node: every replication factor is 1.
        "default.replication.factor": 1,
        "min.insync.replicas": 1,
        "offsets.topic.replication.factor": 1,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        # Fewer internal partitions than the default 50: the first consumer group on a fresh
        # broker would otherwise wait for 50 partitions to be created on a 2-core machine.
        "offsets.topic.num.partitions": 10,
        "transaction.state.log.num.partitions": 10,
        "num.partitions": 1,
        # Topics come from the contracts' catalog only; a typo must fail, not create a topic.
        "auto.create.topics.enable": "false",
        "delete.topic.enable": "true",
        # Consumers join at once (tests and local runs start and stop groups often).
        "group.initial.rebalance.delay.ms": 0,
        # A small machine next to five services.
        "num.network.threads": 2,
        "num.io.threads": 4,
        "num.recovery.threads.per.data.dir": 1,
    }
    if sasl is not None:
        settings.update(sasl_settings(port, controller_port, sasl))
    lines = [
        "# Written by tools/kafka_local.py at every start; edit that module instead.",
        *(f"{k}={v}" for k, v in settings.items()),
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class SaslConfig:
    """SASL mode of a broker: the super user's password (internal PLAIN listener), its port, and
    the SCRAM users (name -> password) the ACLs name."""

    admin_password: str
    internal_port: int
    users: Mapping[str, str] = field(default_factory=dict)

    def client_options(self, name: str) -> dict[str, Any]:
        """aiokafka options of user ``name`` on the client (SCRAM) listener."""
        return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_plain_username": name, "sasl_plain_password": self.users[name]}

    def admin_options(self) -> dict[str, Any]:
        """aiokafka options of the super user on the internal (PLAIN) listener."""
        return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN",
                "sasl_plain_username": ADMIN_USER, "sasl_plain_password": self.admin_password}

    @property
    def admin_bootstrap(self) -> str:
        return f"{HOST}:{self.internal_port}"

    def service_env(self, name: str) -> dict[str, str]:
        """The environment a service runs with as user ``name`` (its runtime's settings)."""
        return {"ONEWINDOW_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "ONEWINDOW_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                "ONEWINDOW_KAFKA_SASL_USERNAME": name,
                "ONEWINDOW_KAFKA_SASL_PASSWORD": self.users[name]}


def sasl_settings(port: int, controller_port: int, sasl: SaslConfig) -> dict[str, object]:
    """The broker properties of SASL mode: three listeners, all SASL; SCRAM-SHA-512 for clients,
    PLAIN with a static super user for the broker itself, the controller and the admin tools;
    the StandardAuthorizer, nothing allowed without an ACL."""
    plain = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
             f'username="{ADMIN_USER}" password="{sasl.admin_password}" '
             f'user_{ADMIN_USER}="{sasl.admin_password}";')
    return {
        "listeners": f"CLIENT://{HOST}:{port},INTERNAL://{HOST}:{sasl.internal_port},"
                     f"CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"CLIENT://{HOST}:{port},INTERNAL://{HOST}:{sasl.internal_port}",
        "listener.security.protocol.map": "CLIENT:SASL_PLAINTEXT,INTERNAL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        "inter.broker.listener.name": "INTERNAL",
        "sasl.mechanism.inter.broker.protocol": "PLAIN",
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.client.sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.client.scram-sha-512.sasl.jaas.config":
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "listener.name.internal.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.internal.plain.sasl.jaas.config": plain,
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": plain,
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{ADMIN_USER}",
        "allow.everyone.if.no.acl.found": "false",
    }


def sasl_config(data_dir: Path | str | None = None) -> SaslConfig | None:
    """The SASL mode of the broker of ``data_dir`` (None: a plaintext broker)."""
    path = _resolve(data_dir) / SASL_FILE
    if not path.exists():
        return None
    raw = json.loads(path.read_text())
    return SaslConfig(raw["admin_password"], int(raw["internal_port"]), dict(raw["users"]))


def acl_spec() -> tuple[dict[str, list[str]], list[str]]:
    """The users (name -> ACL lines of ``deploy/kafka/Acls.java``) from the KafkaUsers that
    ``tools/deploy_gen.py`` generates: the same rules as on the cluster."""
    from tools.deploy_gen import kafka_users

    patterns = {"literal": "LITERAL", "prefix": "PREFIXED"}
    users: dict[str, list[str]] = {}
    for user in kafka_users():
        name = user["metadata"]["name"]
        lines = users.setdefault(name, [])
        for acl in user["spec"]["authorization"]["acls"]:
            r = acl["resource"]
            for op in acl["operations"]:
                lines.append(f"acl User:{name} {r['type'].upper()} {r['name']} {patterns[r['patternType']]} {op.upper()}")
    return users, [line for lines in users.values() for line in lines]


def _ensure_sasl_config(data_dir: Path, port: int, internal_port: int | None) -> SaslConfig:
    """Load ``sasl.json``, adding a password for each generated user it lacks (created with the
    admin's password the first time)."""
    names, _ = acl_spec()
    current = sasl_config(data_dir)
    if current is None:
        internal = internal_port or _env_port("ONEWINDOW_KAFKA_INTERNAL_PORT", port + 2)
        current = SaslConfig(secrets.token_hex(16), internal, {})
    elif internal_port and internal_port != current.internal_port:
        current = SaslConfig(current.admin_password, internal_port, current.users)
    users = {**current.users, **{n: secrets.token_hex(16) for n in names if n not in current.users}}
    cfg = SaslConfig(current.admin_password, current.internal_port, users)
    path = data_dir / SASL_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"admin_password": cfg.admin_password, "internal_port": cfg.internal_port,
                               "users": cfg.users}, indent=2))
    tmp.chmod(0o600)
    os.replace(tmp, path)
    return cfg


def apply_acls(libs: Path, data_dir: Path, cfg: SaslConfig) -> str:
    """Create the SCRAM users and their ACLs on the running broker (idempotent)."""
    _, acl_lines = acl_spec()
    spec = [f"user {name} {password}" for name, password in sorted(cfg.users.items())] + acl_lines
    cmd = [_java(), f"-Dlog4j2.configurationFile={LOG4J_CONFIG}", f"-Dkafka.logs.dir={data_dir / LOG_SUBDIR}",
           "-cp", f"{libs}/*", str(ACLS_PROGRAM), cfg.admin_bootstrap, ADMIN_USER, cfg.admin_password]
    proc = subprocess.run(cmd, input="\n".join(spec) + "\n", capture_output=True, text=True, timeout=180,
                          cwd=data_dir)
    if proc.returncode != 0:
        out = [line for line in (proc.stdout + proc.stderr).splitlines() if not line.startswith("\tat ")]
        raise KafkaLocalError("the users and ACLs could not be applied:\n  " + "\n  ".join(out[-12:]))
    return proc.stdout.strip()


def admin_access(data_dir: Path | str | None = None) -> tuple[str, dict[str, Any]]:
    """Where and how the tools administer the broker of ``data_dir``: the client listener
    without credentials, or in SASL mode the internal listener as the super user."""
    data_dir = _resolve(data_dir)
    cfg = sasl_config(data_dir)
    if cfg is not None:
        return cfg.admin_bootstrap, cfg.admin_options()
    return bootstrap_of(read_properties(data_dir / PROPERTIES_FILE)), {}


def read_properties(path: Path) -> dict[str, str]:
    props: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")) and "=" in line:
            k, v = line.split("=", 1)
            props[k.strip()] = v.strip()
    return props


def bootstrap_of(properties: Mapping[str, str]) -> str:
    """``host:port`` clients use, from a broker's properties."""
    listeners = properties.get("advertised.listeners") or properties.get("listeners", "")
    for listener in listeners.split(","):
        name, _, address = listener.partition("://")
        if name.strip() in ("PLAINTEXT", "CLIENT") and address:
            return address
    raise KafkaLocalError(f"no PLAINTEXT or CLIENT listener in {listeners!r}")


# --------------------------------------------------------------------------------------------
# Reading the broker's log


_LOG_LINE = re.compile(r"^\[[^\]]+\] (?P<level>[A-Z]+) (?P<msg>.*?)(?: \([\w.$]+\))?$")
_EXC_LINE = re.compile(
    r"^(?:Caused by: )?(?P<cls>(?:[\w$]+\.)*[\w$]*(?:Exception|Error|Throwable))(?::\s*(?P<msg>.*))?$"
)
_JVM_NOISE = re.compile(r"^\d{4}-\d\d-\d\dT\S+ \S+ (?:WARN|INFO|DEBUG) ")


def extract_errors(log_text: str, limit: int = 6) -> list[str]:
    """The lines that explain a failure: each ERROR/FATAL message of a Kafka log and the
    exceptions (with their ``Caused by``) printed under it, without stack frames, each once,
    in order. Beyond ``limit`` the first ones (the root cause, usually) and the last are kept."""
    found: list[str] = []
    in_error = False
    for raw in log_text.splitlines():
        m = _LOG_LINE.match(raw)
        if m:
            in_error = m["level"] in ("ERROR", "FATAL")
            if in_error:
                found.append(m["msg"].strip())
            continue
        if in_error:
            e = _EXC_LINE.match(raw.strip())
            if e:
                cls = e["cls"].rsplit(".", 1)[-1]
                found.append(f"{cls}: {e['msg']}" if e["msg"] else cls)
    unique = list(dict.fromkeys(found))
    if len(unique) > limit:
        unique = unique[: limit - 1] + unique[-1:]
    return unique


def extract_jvm_errors(out_text: str, limit: int = 5) -> list[str]:
    """The JVM's own complaints (bad option, missing class, no memory) from its stdout/stderr,
    without stack frames and log4j status chatter."""
    lines = [
        line.strip() for line in out_text.splitlines()
        if line.strip() and not line.startswith(("\tat ", "    at ")) and not _JVM_NOISE.match(line)
    ]
    return lines[-limit:]


def failure_cause(server_log: str, jvm_out: str) -> tuple[list[str], bool]:
    """Why a start failed: the log's errors, else the JVM's, else the log's last lines. The
    flag says whether the lines came from the JVM's output rather than the broker's log."""
    cause = extract_errors(server_log)
    if cause:
        return cause, False
    cause = extract_jvm_errors(jvm_out)
    if cause:
        return cause, True
    tail = [line for line in server_log.splitlines() if _LOG_LINE.match(line)][-3:]
    return tail or ["the broker wrote nothing to its log"], False


def _read_from(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as fh:
            if fh.seek(0, os.SEEK_END) < offset:  # rolled over since: read it all
                offset = 0
            fh.seek(offset)
            return fh.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


_VERSION_RE = re.compile(r"Kafka version: (\S+)")


def _logged_version(text: str) -> str | None:
    found = _VERSION_RE.findall(text)
    return found[-1] if found else None


# --------------------------------------------------------------------------------------------
# Processes


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not: reap it if it is our child)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def _is_our_broker(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` is the broker of ``data_dir`` (and not a stranger that reused the pid)."""
    args = _cmdline(pid)
    return "kafka.Kafka" in args and str(data_dir / PROPERTIES_FILE) in args


def _find_brokers(data_dir: Path) -> list[int]:
    """Broker JVMs of ``data_dir``, found by their command line (pid file lost or stale)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _is_our_broker(int(entry.name), data_dir) \
                and _alive(int(entry.name)):
            pids.append(int(entry.name))
    return sorted(pids)


def _read_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def running_pid(data_dir: Path | str | None = None) -> int | None:
    """The pid of the running broker of ``data_dir``, or None."""
    data_dir = _resolve(data_dir)
    pid = _read_pid(data_dir)
    if pid is not None and _is_our_broker(pid, data_dir) and _alive(pid):
        return pid
    others = _find_brokers(data_dir)
    return others[0] if others else None


def _signal_group(pid: int, sig: int) -> None:
    """Signal the broker; it leads its own session (started with ``start_new_session``)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _terminate(pid: int, timeout: float) -> bool:
    """SIGTERM (Kafka shuts down cleanly), SIGKILL after ``timeout``. True if it was killed."""
    _signal_group(pid, signal.SIGTERM)
    if _wait_gone(pid, timeout):
        return False
    _signal_group(pid, signal.SIGKILL)
    if not _wait_gone(pid, 10):
        raise KafkaLocalError(f"the broker (pid {pid}) survived SIGKILL")
    return True


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise KafkaLocalError("Java 17+ is needed to run Kafka (Debian: apt-get install "
                              "openjdk-17-jre-headless)")
    return java


def java_command(libs: Path, data_dir: Path, main: str, *args: str, heap: str | None = None) -> list[str]:
    cmd = [_java()]
    if heap:
        cmd += [f"-Xmx{heap}", *JVM_FLAGS]
    cmd += [
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        f"-Dkafka.logs.dir={data_dir / LOG_SUBDIR}",
    ]
    # e.g. ONEWINDOW_KAFKA_JAVA_OPTS="-XX:+UseSerialGC" for experiments.
    cmd += os.environ.get("ONEWINDOW_KAFKA_JAVA_OPTS", "").split()
    cmd += ["-cp", f"{libs}/*", main, *args]
    return cmd


def _format_storage(libs: Path, data_dir: Path) -> None:
    """Format the log directory once (a fresh cluster id); a formatted one is kept as is."""
    if (data_dir / DATA_SUBDIR / "meta.properties").exists():
        return
    cmd = java_command(libs, data_dir, "kafka.tools.StorageTool", "format",
                       # "=" form: an id may start with "-", which argparse would take for an option
                       f"--cluster-id={new_cluster_id()}",
                       "--config", str(data_dir / PROPERTIES_FILE), "--ignore-formatted")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=data_dir)
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip().splitlines()
        raise KafkaLocalError("kafka.tools.StorageTool could not format the storage:\n  "
                              + "\n  ".join(out[-8:]))


# --------------------------------------------------------------------------------------------
# Async helpers (aiokafka)


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from synchronous code, on a private event loop in a
    worker thread: safe whether or not the caller's thread has a loop (an async test, a
    pytest-asyncio session loop), and Ctrl-C still interrupts the caller's wait."""
    box: dict[str, Any] = {}

    def target() -> None:
        async def main() -> T:
            return await make()

        try:
            box["value"] = asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name="kafka-local", daemon=True)
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


@contextlib.asynccontextmanager
async def _admin(bootstrap: str, timeout: float, client: Mapping[str, Any] | None = None):
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap,
                                request_timeout_ms=max(1000, int(timeout * 1000)), **(client or {}))
    try:
        await admin.start()
        yield admin
    finally:
        await admin.close()


async def describe_cluster(bootstrap: str, timeout: float = 5.0,
                           client: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The broker's answer to a metadata request (brokers, controller, cluster id)."""
    async with _admin(bootstrap, timeout, client) as admin:
        return await admin.describe_cluster()


async def list_topics(bootstrap: str, timeout: float = 10.0,
                      client: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Topic name -> partition count, internal topics (``__...``) left out."""
    async with _admin(bootstrap, timeout, client) as admin:
        topics = await admin.describe_topics()
    return {t["topic"]: len(t["partitions"]) for t in topics
            if t["error_code"] == 0 and not t["is_internal"] and not t["topic"].startswith("__")}


@dataclass(frozen=True)
class TopicSpec:
    """A topic to create: what ``ensure_topics`` needs, whatever declared it."""

    name: str
    partitions: int = 1
    config: Mapping[str, str] = field(default_factory=dict)
    replication_factor: int = 1


def topic_specs(topics: Iterable["Topic | TopicSpec"], *, with_dlq: bool = True) -> list[TopicSpec]:
    """Specs for catalog topics (``contracts.topics.Topic``) and their dead-letter twins.

    A ``.dlq`` twin has one partition (dead letters are inspected and replayed by hand; their
    order across keys does not matter) and the topic's own retention. ``TopicSpec`` items are
    taken as they are."""
    specs: dict[str, TopicSpec] = {}
    for t in topics:
        if isinstance(t, TopicSpec):
            specs[t.name] = t
            continue
        config = dict(t.config())
        specs[t.name] = TopicSpec(t.name, t.partitions, config)
        if with_dlq:
            dlq_config = {k: v for k, v in config.items() if k != "cleanup.policy"}
            specs[t.dlq] = TopicSpec(t.dlq, 1, dlq_config)
    return list(specs.values())


def catalog_specs() -> list[TopicSpec]:
    """Every topic of the contracts' catalog, with its ``.dlq`` twin."""
    import contracts

    return topic_specs(contracts.all_topics())


async def ensure_topics(
    bootstrap: str,
    topics: Iterable["Topic | TopicSpec"],
    *,
    with_dlq: bool = True,
    timeout: float = 30.0,
    client: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Create the topics that do not exist yet, grow those with fewer partitions than declared,
    and wait until every one has a leader. Idempotent: running it again changes nothing.

    Returns, for each topic, ``"created"``, ``"exists"`` or ``"expanded from N"``. Raises
    :class:`TopicError` when the broker refuses one (e.g. an invalid config)."""
    from aiokafka.admin import NewPartitions, NewTopic
    from aiokafka.errors import for_code

    specs = topic_specs(topics, with_dlq=with_dlq)
    if not specs:
        return {}
    result: dict[str, str] = {}
    errors: list[str] = []
    async with _admin(bootstrap, timeout, client) as admin:
        described = await _describe(admin, {s.name for s in specs})
        existing = {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}
        missing = [s for s in specs if s.name not in existing]
        if missing:
            response = await admin.create_topics(
                [NewTopic(s.name, s.partitions, s.replication_factor,
                          topic_configs=dict(s.config)) for s in missing],
                timeout_ms=int(timeout * 1000),
            )
            for name, code, *rest in response.topic_errors:
                if code == 0:
                    result[name] = "created"
                elif code == 36:  # TOPIC_ALREADY_EXISTS: created meanwhile by someone else
                    result[name] = "exists"
                else:
                    message = rest[0] if rest and rest[0] else for_code(code).__name__
                    errors.append(f"{name}: {message}")
        for s in specs:
            have = existing.get(s.name)
            if have is None:
                continue
            if have < s.partitions:
                # Growing moves keys to other partitions: per-key order then holds only among
                # events produced after the change. The catalog's author asked for it.
                await admin.create_partitions({s.name: NewPartitions(s.partitions)})
                result[s.name] = f"expanded from {have}"
            else:
                result[s.name] = "exists"
        if errors:
            raise TopicError("the broker refused to create topics:\n  " + "\n  ".join(errors))
        await _wait_for_leaders(admin, specs, timeout)
    return result


async def _describe(admin: Any, names: set[str]) -> list[dict[str, Any]]:
    """Metadata of ``names``. Asks for all topics: a metadata request naming a missing topic
    would create it on a broker with ``auto.create.topics.enable`` (a shared test broker)."""
    return [t for t in await admin.describe_topics() if t["topic"] in names]


async def _wait_for_leaders(admin: Any, specs: list[TopicSpec], timeout: float) -> None:
    """Wait until the broker's metadata shows every topic with all its partitions led, so that
    a producer right after ``ensure_topics`` does not race the metadata propagation."""
    deadline = time.monotonic() + timeout
    want = {s.name: s.partitions for s in specs}
    while True:
        described = await _describe(admin, set(want))
        ready = {
            t["topic"] for t in described
            if t["error_code"] == 0 and len(t["partitions"]) >= want[t["topic"]]
            and all(p["leader"] >= 0 for p in t["partitions"])
        }
        if ready >= set(want):
            return
        if time.monotonic() >= deadline:
            raise TopicError(f"topics without a leader after {timeout:.0f}s: "
                             f"{', '.join(sorted(set(want) - ready))}")
        await asyncio.sleep(0.1)


def ensure_topics_sync(bootstrap: str, topics: Iterable["Topic | TopicSpec"], **kw: Any) -> dict[str, str]:
    """:func:`ensure_topics` for synchronous callers (the CLI, pytest fixtures)."""
    topics = list(topics)
    return run_sync(lambda: ensure_topics(bootstrap, topics, **kw))


async def delete_topics(bootstrap: str, names: Iterable[str], timeout: float = 30.0) -> None:
    names = list(names)
    if not names:
        return
    async with _admin(bootstrap, timeout) as admin:
        await admin.delete_topics(names, timeout_ms=int(timeout * 1000))


# --------------------------------------------------------------------------------------------
# start / stop / status


@dataclass
class BrokerInfo:
    """What ``start`` did."""

    bootstrap: str
    pid: int
    data_dir: Path
    already_running: bool
    seconds: float               # from launch to answering metadata (0 if already running)
    version: str | None
    formatted: bool              # the storage was formatted by this start (a cold start)
    topics: dict[str, str]       # ensure_topics' result for the catalog

    @property
    def log_file(self) -> Path:
        return self.data_dir / LOG_SUBDIR / "server.log"


@dataclass
class BrokerStatus:
    running: bool
    data_dir: Path
    pid: int | None = None
    bootstrap: str | None = None
    version: str | None = None
    topic_count: int | None = None   # non-internal topics, None when not running or not answering
    answering: bool = False
    stale_pid_file: bool = False


@contextlib.contextmanager
def _quiet_aiokafka() -> Iterator[None]:
    """Connection refusals are expected while the broker boots; aiokafka logs each as ERROR."""
    import logging

    logger = logging.getLogger("aiokafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def cluster_id(data_dir: Path) -> str | None:
    """The cluster id the storage of ``data_dir`` was formatted with."""
    meta = data_dir / DATA_SUBDIR / "meta.properties"
    return read_properties(meta).get("cluster.id") if meta.exists() else None


async def _wait_until_answering(proc: subprocess.Popen[bytes], bootstrap: str, wait: float,
                                expected_cluster: str | None,
                                client: Mapping[str, Any] | None = None) -> None:
    from aiokafka.errors import KafkaError

    deadline = time.monotonic() + wait
    while True:
        if proc.poll() is not None:
            raise _Died(proc.returncode)
        try:
            cluster = await asyncio.wait_for(describe_cluster(bootstrap, timeout=2.0, client=client), 5.0)
            # Another broker on our port (another data dir) may answer before ours fails to
            # bind: only our cluster id counts.
            if cluster.get("brokers") and cluster.get("cluster_id") == expected_cluster:
                return
        except (KafkaError, OSError, asyncio.TimeoutError):
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError
        await asyncio.sleep(0.25)


class _Died(Exception):
    def __init__(self, returncode: int | None) -> None:
        self.returncode = returncode


def start(
    data_dir: Path | str | None = None,
    *,
    port: int | None = None,
    controller_port: int | None = None,
    heap: str = DEFAULT_HEAP,
    wait: float = DEFAULT_WAIT,
    topics: Iterable["Topic | TopicSpec"] | None = None,
    console: Console | None = None,
    sasl: bool | None = None,
    internal_port: int | None = None,
) -> BrokerInfo:
    """Start the broker of ``data_dir`` unless it runs already, then ensure the topics
    (``topics``, by default the contracts' catalog with ``.dlq`` twins).

    ``sasl``: SASL/SCRAM and ACLs (module docstring); None keeps the data dir's mode (a broker
    once started with SASL stays so). ``internal_port``: its PLAIN listener for the tools.

    Raises :class:`BrokerStartError` (with the cause from the broker's log) if it does not
    answer metadata requests within ``wait`` seconds; no JVM is left behind then."""
    data_dir = _resolve(data_dir)
    port = port or default_port()
    controller_port = controller_port or default_controller_port()
    if not _HEAP_RE.match(heap):
        raise KafkaLocalError(f"heap {heap!r} is not a JVM size such as 512m or 1g")
    data_dir.mkdir(parents=True, exist_ok=True)
    with _file_lock(data_dir / ".lock"):
        pid = running_pid(data_dir)
        if pid is not None:
            props = read_properties(data_dir / PROPERTIES_FILE)
            bootstrap = bootstrap_of(props)
            specs = catalog_specs() if topics is None else topics
            admin_bootstrap, client = admin_access(data_dir)
            result = ensure_topics_sync(admin_bootstrap, specs, client=client)
            log = _read_from(data_dir / LOG_SUBDIR / "server.log", 0)
            return BrokerInfo(bootstrap, pid, data_dir, True, 0.0, _logged_version(log),
                              False, result)

        libs = ensure_jars(console)
        _clear_stale_pid(data_dir)
        (data_dir / LOG_SUBDIR).mkdir(exist_ok=True)
        if sasl is None:
            sasl = (data_dir / SASL_FILE).exists()
        if not sasl and (data_dir / SASL_FILE).exists():
            raise KafkaLocalError(f"{data_dir} holds a SASL broker; start it with SASL or use another data dir")
        if sasl and (data_dir / DATA_SUBDIR / "meta.properties").exists() and not (data_dir / SASL_FILE).exists():
            raise KafkaLocalError(f"{data_dir} holds a plaintext broker; use another data dir for SASL")
        cfg = _ensure_sasl_config(data_dir, port, internal_port) if sasl else None
        (data_dir / PROPERTIES_FILE).write_text(render_properties(data_dir, port, controller_port, cfg))
        (data_dir / PROPERTIES_FILE).chmod(0o600)  # the super user's password, in SASL mode
        formatted = not (data_dir / DATA_SUBDIR / "meta.properties").exists()
        _format_storage(libs, data_dir)
        ours = cluster_id(data_dir)

        server_log = data_dir / LOG_SUBDIR / "server.log"
        log_offset = _size(server_log)
        out_path = data_dir / OUT_FILE
        cmd = java_command(libs, data_dir, "kafka.Kafka", str(data_dir / PROPERTIES_FILE), heap=heap)
        began = time.monotonic()
        with open(out_path, "wb") as out:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, cwd=data_dir,
                                    start_new_session=True, close_fds=True)
        (data_dir / PID_FILE).write_text(f"{proc.pid}\n")
        bootstrap = f"{HOST}:{port}"
        admin_bootstrap, client = (cfg.admin_bootstrap, cfg.admin_options()) if cfg else (bootstrap, {})

        def fail(message: str) -> BrokerStartError:
            if proc.poll() is None:
                _terminate(proc.pid, 10)
            proc.wait()
            (data_dir / PID_FILE).unlink(missing_ok=True)
            cause, from_jvm = failure_cause(_read_from(server_log, log_offset),
                                            _read_from(out_path, 0))
            return BrokerStartError(message, cause, out_path if from_jvm else server_log)

        try:
            with _quiet_aiokafka():
                run_sync(lambda: _wait_until_answering(proc, admin_bootstrap, wait, ours, client))
        except _Died as died:
            raise fail(f"Kafka exited during start-up (exit code {died.returncode}):") from None
        except TimeoutError:
            raise fail(f"Kafka did not answer on {bootstrap} within {wait:.0f}s:") from None
        except BaseException:
            # Interrupted (Ctrl-C): take the half-started JVM down with us.
            fail("interrupted")
            raise
        if cfg is not None:
            try:
                apply_acls(libs, data_dir, cfg)
            except KafkaLocalError:
                _terminate(proc.pid, 10)
                (data_dir / PID_FILE).unlink(missing_ok=True)
                raise
        seconds = time.monotonic() - began

    specs = catalog_specs() if topics is None else topics
    result = ensure_topics_sync(admin_bootstrap, specs, client=client)
    version = _logged_version(_read_from(server_log, log_offset))
    return BrokerInfo(bootstrap, proc.pid, data_dir, False, seconds, version, formatted, result)


def _clear_stale_pid(data_dir: Path) -> bool:
    pid_file = data_dir / PID_FILE
    pid = _read_pid(data_dir)
    if pid_file.exists() and (pid is None or not (_is_our_broker(pid, data_dir) and _alive(pid))):
        pid_file.unlink(missing_ok=True)
        return True
    return False


@dataclass
class StopResult:
    stopped: list[int]          # pids that were running and are gone now
    killed: bool                # SIGTERM was not enough
    stale_pid_file: bool        # a pid file named a process that was not running
    seconds: float


def stop(data_dir: Path | str | None = None, *, timeout: float = 30.0) -> StopResult:
    """Stop the broker of ``data_dir``: SIGTERM (a clean shutdown), SIGKILL after ``timeout``
    seconds. Any JVM of this data dir goes, pid file or not."""
    data_dir = _resolve(data_dir)
    began = time.monotonic()
    with _file_lock(data_dir / ".lock") if data_dir.exists() else contextlib.nullcontext():
        pids = []
        pid = _read_pid(data_dir)
        if pid is not None and _is_our_broker(pid, data_dir) and _alive(pid):
            pids.append(pid)
        stale = (data_dir / PID_FILE).exists() and not pids
        pids += [p for p in _find_brokers(data_dir) if p not in pids]
        killed = False
        for p in pids:
            killed |= _terminate(p, timeout)
        (data_dir / PID_FILE).unlink(missing_ok=True)
    return StopResult(pids, killed, stale, time.monotonic() - began)


def status(data_dir: Path | str | None = None) -> BrokerStatus:
    """Whether the broker of ``data_dir`` runs and answers, its pid, address, version and
    number of (non-internal) topics."""
    data_dir = _resolve(data_dir)
    pid = running_pid(data_dir)
    stale = (data_dir / PID_FILE).exists() and pid is None
    if pid is None:
        return BrokerStatus(False, data_dir, stale_pid_file=stale)
    props_file = data_dir / PROPERTIES_FILE
    bootstrap = bootstrap_of(read_properties(props_file)) if props_file.exists() else None
    version = _logged_version(_read_from(data_dir / LOG_SUBDIR / "server.log", 0))
    count = None
    answering = False
    if bootstrap:
        try:
            admin_bootstrap, client = admin_access(data_dir)
            cluster = run_sync(lambda: describe_cluster(admin_bootstrap, timeout=3.0, client=client))
            if cluster.get("cluster_id") == cluster_id(data_dir):  # not a stranger on our port
                count = len(run_sync(lambda: list_topics(admin_bootstrap, timeout=3.0, client=client)))
                answering = True
        except Exception:  # noqa: BLE001 - running but not (yet) answering: say so, not crash
            pass
    return BrokerStatus(True, data_dir, pid, bootstrap, version, count, answering)


# --------------------------------------------------------------------------------------------
# CLI: mounted as ``onewindow kafka`` by tools/cli.py


kafka_app = typer.Typer(
    name="kafka",
    help="The project's own Apache Kafka broker (single-node KRaft, no Docker).",
    no_args_is_help=True,
)

_DATA_DIR_OPT = typer.Option(None, "--data-dir", help="Broker data directory "
                             "[default: $ONEWINDOW_DATA_DIR/kafka or <repo>/var/kafka]")


def _console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _summary(result: Mapping[str, str]) -> str:
    if not result:
        return "the catalog declares no topics yet"
    created = sum(1 for v in result.values() if v == "created")
    expanded = sum(1 for v in result.values() if v.startswith("expanded"))
    parts = [f"{created} created"] if created else []
    if expanded:
        parts.append(f"{expanded} expanded")
    parts.append(f"{len(result) - created - expanded} already present")
    return f"{len(result)} topics ({', '.join(parts)})"


@kafka_app.command("start")
def start_cmd(
    data_dir: Path | None = _DATA_DIR_OPT,
    port: int | None = typer.Option(None, help="Client port [default: $ONEWINDOW_KAFKA_PORT or 19092]"),
    controller_port: int | None = typer.Option(
        None, help="Controller port [default: $ONEWINDOW_KAFKA_CONTROLLER_PORT or 19093]"),
    heap: str = typer.Option(DEFAULT_HEAP, help="JVM maximum heap (-Xmx)"),
    wait: float = typer.Option(DEFAULT_WAIT, help="Seconds to wait for the broker to answer"),
    sasl: bool = typer.Option(False, "--sasl", help="SASL/SCRAM and the generated ACLs, as on the cluster "
                              "(a data dir started so stays so; passwords in <data dir>/sasl.json)"),
) -> None:
    """Fetch the jars (first time), format the storage (first time), start the broker and
    create the catalog's topics. A no-op when it runs already."""
    console = _console()
    try:
        ensure_jars(console)  # its own progress display, before the spinner below
        with console.status("Starting Kafka..."):
            info = start(data_dir, port=port, controller_port=controller_port, heap=heap,
                         wait=wait, console=console, sasl=sasl or None)
    except TopicError as exc:
        console.print(f"[yellow]Kafka is running, but its topics are not as the catalog "
                      f"declares.[/yellow] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    except KafkaLocalError as exc:
        console.print(f"[red]Kafka did not start.[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    if info.already_running:
        console.print(f"Kafka is already running (pid {info.pid}) on {info.bootstrap}; "
                      f"nothing started. Topics: {_summary(info.topics)}.")
        return
    kind = "cold start, storage formatted" if info.formatted else "warm start"
    console.print(f"[green]Kafka {info.version or ''} is up[/green] on {info.bootstrap} "
                  f"(pid {info.pid}, {info.seconds:.1f}s, {kind}). Topics: {_summary(info.topics)}.\n"
                  f"Log: {info.log_file}")


@kafka_app.command("stop")
def stop_cmd(
    data_dir: Path | None = _DATA_DIR_OPT,
    timeout: float = typer.Option(30.0, help="Seconds before SIGTERM turns into SIGKILL"),
) -> None:
    """Stop the broker (SIGTERM, then SIGKILL); no JVM is left behind."""
    console = _console()
    try:
        with console.status("Stopping Kafka..."):
            result = stop(data_dir, timeout=timeout)
    except KafkaLocalError as exc:
        console.print(f"[red]Kafka did not stop.[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    if not result.stopped:
        note = " (removed a stale pid file)" if result.stale_pid_file else ""
        console.print(f"Kafka is not running{note}.")
        return
    how = "killed after the timeout" if result.killed else "shut down cleanly"
    console.print(f"Kafka stopped: pid {', '.join(map(str, result.stopped))} {how} "
                  f"in {result.seconds:.1f}s.")


def print_status(data_dir: Path | str | None = None, console: Console | None = None) -> BrokerStatus:
    """Print the broker's status (``onewindow kafka status``, ``onewindow status``)."""
    console = console or Console(highlight=False)
    st = status(data_dir)
    if not st.running:
        note = " (stale pid file)" if st.stale_pid_file else ""
        console.print(f"Kafka is not running{note}. Data: {st.data_dir}")
        return st
    table = Table(title="Kafka", show_header=False, box=None, title_justify="left")
    table.add_row("state", "running, answering" if st.answering else "running, not answering")
    table.add_row("pid", str(st.pid))
    table.add_row("bootstrap", st.bootstrap or "?")
    table.add_row("version", st.version or "?")
    table.add_row("topics", "?" if st.topic_count is None else str(st.topic_count))
    table.add_row("data", str(st.data_dir))
    console.print(table)
    return st


@kafka_app.command("status")
def status_cmd(data_dir: Path | None = _DATA_DIR_OPT) -> None:
    """Whether the broker runs (exit code 0) or not (exit code 3, as systemctl does)."""
    if not print_status(data_dir).running:
        raise typer.Exit(3)


@kafka_app.command("fetch")
def fetch_cmd() -> None:
    """Fetch the broker's jars from Maven Central into the cache (done by start when needed)."""
    console = _console()
    try:
        libs = ensure_jars(console)
    except KafkaLocalError as exc:
        console.print(f"[red]The Kafka jars could not be fetched.[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    console.print(f"Kafka {kafka_version()} jars: {libs}")


@kafka_app.command("topics")
def topics_cmd() -> None:
    """The contracts' topic catalog: partitions, key, audience (each has a .dlq twin)."""
    import contracts

    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 120  # piped (CI logs, grep): do not squeeze to 80 columns
    catalog = contracts.all_topics()
    if not catalog:
        console.print("The contracts declare no topics yet.")
        return
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("topic", no_wrap=True)
    for column in ("parts", "key", "audience", "retention", "owner"):
        table.add_column(column, no_wrap=True)
    for t in catalog:
        retention = f"{t.retention_ms / 86_400_000:g}d" + (" compact" if t.compacted else "")
        table.add_row(t.name, str(t.partitions), t.key or "-", str(t.audience), retention, t.owner)
    console.print(table)
    console.print(f"{len(catalog)} topics, each with a .dlq twin (1 partition).")


if __name__ == "__main__":
    kafka_app()
