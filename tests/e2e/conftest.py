"""The whole suite as separate processes on the real broker: `suite` starts the five services
(as `onewindow up` does) in a data folder of their own, on free ports, and stops them after the
last test of this package (tests/e2e).

The suite gets a Kafka broker of its own (tests/e2e/harness.py): the services' consumer groups
are the production names (``notify.applications`` ...), so sharing the session broker would mix
them with another suite's (a developer's `onewindow up`, the fault tests) and with other tests'
events for the same receipt numbers. ``ONEWINDOW_E2E_KAFKA_BOOTSTRAP`` names a broker to use
instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import Suite, running_suite, suite_broker

__all__ = ["Suite"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="package")
def e2e_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with suite_broker(tmp_path_factory.mktemp("e2e-kafka")) as bootstrap:
        yield bootstrap


@pytest.fixture(scope="package")
def suite(e2e_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    with running_suite(e2e_bootstrap, tmp_path_factory.mktemp("suite")) as s:
        yield s
