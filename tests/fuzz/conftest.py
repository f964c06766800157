"""The fuzzing's suite: the five services as processes on a broker of their own, fuzzed over
HTTP from the OpenAPI documents they serve (tests/fuzz/test_openapi_fuzz.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.harness import Suite, running_suite, suite_broker


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/fuzz/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.fuzz)


@pytest.fixture(scope="package")
def fuzz_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    with suite_broker(tmp_path_factory.mktemp("fuzz-kafka")) as bootstrap:
        with running_suite(bootstrap, tmp_path_factory.mktemp("fuzz-suite")) as s:
            yield s
