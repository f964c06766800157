"""Fixtures of the fault tests: each test gets a Kafka broker of its own (on its own ports and
data folder, started and stopped here, so that restarting it or poisoning its topics touches no
other test) and the five services as processes on it.

Sizes and seed: tests/faults/sizes.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Broker, Suite, dedicated_broker, running_suite

from .sizes import KILL_ROUNDS, N, SEED


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
