"""Fixtures of the fault tests: each test gets a Kafka broker of its own (on its own ports and
data folder, started and stopped here, so that restarting it or poisoning its topics touches no
other test) and the five services as processes on it.

Sizes (docs/testing.md): ``ONEWINDOW_FAULTS_N`` applications per run (default 200, the CI size;
``ONEWINDOW_FAULTS_FULL=1`` makes it 2000 and kills every service twice), ``ONEWINDOW_FAULTS_SEED``
to replay a run's random choices (the seed is printed and named in failures).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Broker, Suite, dedicated_broker, running_suite

FULL = os.environ.get("ONEWINDOW_FAULTS_FULL") == "1"
N = int(os.environ.get("ONEWINDOW_FAULTS_N") or (2000 if FULL else 200))
KILL_ROUNDS = int(os.environ.get("ONEWINDOW_FAULTS_KILL_ROUNDS") or (2 if FULL else 1))
SEED = int(os.environ.get("ONEWINDOW_FAULTS_SEED") or random.SystemRandom().randrange(1, 10**6))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.faults)


def pytest_report_header() -> str:
    return f"fault tests: N={N} applications, kill rounds={KILL_ROUNDS}, seed={SEED} (ONEWINDOW_FAULTS_SEED)"


@pytest.fixture
def fault_broker(tmp_path: Path) -> Iterator[Broker]:
    with dedicated_broker(tmp_path / "kafka") as broker:
        yield broker


@pytest.fixture
def fault_suite(fault_broker: Broker, tmp_path: Path) -> Iterator[Suite]:
    with running_suite(fault_broker.bootstrap, tmp_path / "suite") as s:
        yield s
