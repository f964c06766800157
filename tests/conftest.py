"""Shared fixtures: the real Kafka broker (tests/kafka_plugin.py) and the databases.

Storage tests run on SQLite always and on PostgreSQL too when ``ONEWINDOW_TEST_POSTGRES_URL``
names a server (``.ci/run`` starts one): the ``database_url`` fixture is parametrised over both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg import fresh_database

pytest_plugins = ["tests.kafka_plugin"] if (Path(__file__).parent / "kafka_plugin.py").exists() else []

POSTGRES_URL = os.environ.get("ONEWINDOW_TEST_POSTGRES_URL")  # postgresql+psycopg://user@host/postgres


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    with fresh_database(POSTGRES_URL) as url:
        yield url


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d
