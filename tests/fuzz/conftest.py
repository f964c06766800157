"""The fuzzing's suite: the five services as processes on a broker of their own, fuzzed over
HTTP from the OpenAPI documents they serve (tests/fuzz/test_openapi_fuzz.py). Each service on a
PostgreSQL database of its own where ``ONEWINDOW_TEST_POSTGRES_URL`` names a server (CI does):
PostgreSQL refuses what SQLite takes (NUL in text, integers beyond BIGINT), so a request that
reaches the database unchecked shows there; on SQLite otherwise."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from tests.e2e.harness import Suite, postgres_databases, running_suite, suite_broker


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/fuzz/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.fuzz)


def pytest_report_header() -> str:
    return f"fuzzing on {'PostgreSQL' if os.environ.get('ONEWINDOW_TEST_POSTGRES_URL') else 'SQLite'}"


@pytest.fixture(scope="package")
def fuzz_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    postgres = os.environ.get("ONEWINDOW_TEST_POSTGRES_URL")
    with contextlib.ExitStack() as stack:
        databases = stack.enter_context(postgres_databases(postgres, "fuzz")) if postgres else {}
        bootstrap = stack.enter_context(suite_broker(tmp_path_factory.mktemp("fuzz-kafka")))
        yield stack.enter_context(running_suite(
            bootstrap, tmp_path_factory.mktemp("fuzz-suite"),
            service_env={s: {"DATABASE_URL": url} for s, url in databases.items()}))
