"""pytest plugin: a real Apache Kafka broker for the tests (listed in tests/conftest.py).

``kafka_broker`` / ``kafka_bootstrap`` (session scope) take, in order:

1. ``KAFKA_BOOTSTRAP_SERVERS`` when set: that broker, used as it is;
2. ``ONEWINDOW_KAFKA=testcontainers``: a Kafka container from testcontainers (needs Docker;
   image ``$ONEWINDOW_KAFKA_IMAGE``, default ``confluentinc/cp-kafka:8.0.0``, i.e. Kafka 4.0);
3. otherwise (``ONEWINDOW_KAFKA`` unset or ``local``) the project's own broker,
   ``tools.kafka_local`` — the default, and what CI uses. Its data directory is the
   developer's (``var/kafka``, or ``$ONEWINDOW_DATA_DIR/kafka``):
   - started by a developer (``onewindow kafka start``): used, and left running afterwards;
   - not running: started for the session and stopped at its end, so that a test run leaves
     no JVM behind; ``ONEWINDOW_KAFKA_KEEP=1`` keeps it running (saves the ~4 s start on the
     next run while iterating).
   Several test sessions may share it (two shells, other work in the same tree): each holds a
   lease (``<data dir>/test-leases/<pid>``) and a broker started by tests is stopped only by
   the last session to leave, never under another one's feet.

On every broker the contracts' catalog topics (and ``.dlq`` twins) are ensured first.

``kafka_topic`` is a factory for fresh, uniquely named topics (``test.<prefix>.<random>``), so
tests never read each other's messages; they are deleted when the session ends.

Tests that use these fixtures are marked ``integration`` automatically.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools import kafka_local

FIXTURES = ("kafka_broker", "kafka_bootstrap", "kafka_topic")


@dataclass(frozen=True)
class KafkaUnderTest:
    bootstrap: str
    source: str              # "env", "local" or "testcontainers"
    version: str | None      # the broker's own version string, when known (local broker)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in FIXTURES):
            item.add_marker(pytest.mark.integration)


def _testcontainers_kafka() -> object:
    try:
        from testcontainers.community.kafka import KafkaContainer  # testcontainers >= 4.13
    except ImportError:
        from testcontainers.kafka import KafkaContainer
    image = os.environ.get("ONEWINDOW_KAFKA_IMAGE", "confluentinc/cp-kafka:8.0.0")
    container = KafkaContainer(image=image).with_kraft()
    # Same rule as the local broker: topics come from the catalog, never from a typo.
    container.with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
    return container


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaUnderTest]:
    """The broker the tests talk to, with the catalog's topics in place."""
    env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    mode = os.environ.get("ONEWINDOW_KAFKA", "local").strip().lower() or "local"
    if env:
        kafka_local.ensure_topics_sync(env, kafka_local.catalog_specs())
        yield KafkaUnderTest(env, "env", None)
        return
    if mode == "testcontainers":
        container = _testcontainers_kafka()
        container.start()
        try:
            bootstrap = container.get_bootstrap_server()
            kafka_local.ensure_topics_sync(bootstrap, kafka_local.catalog_specs())
            yield KafkaUnderTest(bootstrap, "testcontainers", None)
        finally:
            container.stop()
        return
    if mode != "local":
        raise pytest.UsageError(f"ONEWINDOW_KAFKA={mode!r}: expected 'local' or 'testcontainers'")

    data_dir = kafka_local.default_data_dir()
    leases = data_dir / "test-leases"
    started_by_tests = data_dir / "test-started"  # the pid of a broker a test session started
    lease = leases / str(os.getpid())
    with _leases_lock(data_dir):
        info = kafka_local.start(data_dir)  # a no-op (topics ensured) when it runs already
        if not info.already_running:
            started_by_tests.write_text(str(info.pid))
        leases.mkdir(exist_ok=True)
        lease.touch()
    try:
        yield KafkaUnderTest(info.bootstrap, "local", info.version)
    finally:
        with _leases_lock(data_dir):
            lease.unlink(missing_ok=True)
            others = []
            for f in leases.iterdir():
                if _pid_alive(f.name):
                    others.append(f)
                else:
                    f.unlink(missing_ok=True)  # a session that died without its teardown
            if (not others and _started_by_tests(started_by_tests, data_dir)
                    and os.environ.get("ONEWINDOW_KAFKA_KEEP") != "1"):
                kafka_local.stop(data_dir)
                started_by_tests.unlink(missing_ok=True)


def _started_by_tests(marker: Path, data_dir: Path) -> bool:
    """Whether the running broker is the one a test session started (the marker holds its pid;
    a broker restarted by hand since has another pid and belongs to the developer)."""
    try:
        pid = int(marker.read_text())
    except (FileNotFoundError, ValueError):
        return False
    return pid == kafka_local.running_pid(data_dir)


@contextlib.contextmanager
def _leases_lock(data_dir: Path) -> Iterator[None]:
    # Its own lock file: kafka_local.start() takes <data dir>/.lock inside this one.
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / ".test-leases.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _pid_alive(name: str) -> bool:
    try:
        os.kill(int(name), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: KafkaUnderTest) -> str:
    """``host:port`` of the broker under test."""
    return kafka_broker.bootstrap


@pytest.fixture(scope="session")
def kafka_topic(kafka_bootstrap: str) -> Iterator[Callable[..., str]]:
    """``kafka_topic(prefix="t", partitions=1, config=None) -> name``: a new topic of its own,
    created and led when the call returns; deleted at the end of the session."""
    created: list[str] = []

    def make(prefix: str = "t", *, partitions: int = 1, config: Mapping[str, str] | None = None) -> str:
        name = f"test.{prefix}.{uuid.uuid4().hex[:12]}"
        spec = kafka_local.TopicSpec(name, partitions, dict(config or {}))
        kafka_local.ensure_topics_sync(kafka_bootstrap, [spec])
        created.append(name)
        return name

    yield make
    if created:
        kafka_local.run_sync(lambda: kafka_local.delete_topics(kafka_bootstrap, created))
