"""The databases unavailable for a while, mid-run: the five services each on a PostgreSQL database
of their own; every connection to them is cut (pg_terminate_backend) and new ones refused
(ALLOW_CONNECTIONS false) for some seconds while N applications go through the suite. Every
service reports not ready (/readyz 503, database unreachable) meanwhile, becomes ready again by
itself when the databases come back, and nothing is lost, dead-lettered or sent twice
(tests/faults/load.py).

PostgreSQL is what makes this real: a SQLite file kept open by a running process cannot be taken
away from it (its open connections go on working whatever happens to the path), so the test runs
where ``ONEWINDOW_TEST_POSTGRES_URL`` names a server, as CI does (.ci/run).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.registry import BUS_SERVICES as SERVICES
from tests.e2e.harness import Broker, Suite, eventually, postgres_databases, running_suite

from .sizes import N, SEED
from .load import Driver, check_outcome, dead_letter_counts, prepare

POSTGRES_URL = os.environ.get("ONEWINDOW_TEST_POSTGRES_URL")

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL: set ONEWINDOW_TEST_POSTGRES_URL "
                                "(CI does; .ci/run starts one)")


def _admin_dsn() -> str:
    from sqlalchemy.engine import make_url

    return make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)


def _set_outage(databases: list[str], down: bool) -> None:
    import psycopg

    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        for db in databases:
            conn.execute(f'ALTER DATABASE "{db}" WITH ALLOW_CONNECTIONS {"false" if down else "true"}')
            if down:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,))


@pytest.fixture
def pg_databases() -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database per service (name -> SQLAlchemy URL), dropped afterwards."""
    keep = os.environ.get("ONEWINDOW_FAULTS_KEEP_DATABASES") == "1"  # to look into a failure
    with postgres_databases(POSTGRES_URL, "flt", keep=keep) as urls:
        try:
            yield urls
        finally:
            _set_outage([url.rsplit("/", 1)[1] for url in urls.values()], down=False)


@pytest.fixture
def pg_suite(fault_broker: Broker, pg_databases: dict[str, str], tmp_path: Path) -> Iterator[Suite]:
    with running_suite(fault_broker.bootstrap, tmp_path / "suite",
                       service_env={s: {"DATABASE_URL": url} for s, url in pg_databases.items()}) as s:
        yield s


async def test_the_databases_away_for_a_while_services_not_ready_then_recover_losing_nothing(
    pg_suite: Suite, pg_databases: dict[str, str]
) -> None:
    suite = pg_suite
    rng = random.Random(SEED)
    databases = [url.rsplit("/", 1)[1] for url in pg_databases.values()]
    print(f"seed {SEED}: {N} applications, every database away once")
    work = prepare(suite, N, SEED)
    driver = Driver(suite, work, concurrency=8)
    reported: dict[str, dict] = {}
    timeline: dict[str, float] = {}

    def not_ready_everywhere() -> bool:
        for name in SERVICES:
            if name not in reported:
                code, checks = suite.readiness(name)
                assert code == 503 and checks["database"].startswith("unreachable"), (name, code, checks)
                reported[name] = checks
        return True

    async def outage() -> None:
        await driver.at(int(rng.uniform(0.2, 0.5) * N)).wait()
        timeline["down"] = time.monotonic()
        await asyncio.to_thread(_set_outage, databases, True)
        await asyncio.to_thread(eventually, not_ready_everywhere, timeout=60, interval=0.5,
                                what="every service reports its database unreachable on /readyz")
        await asyncio.sleep(rng.uniform(3, 8))
        timeline["up"] = time.monotonic()
        await asyncio.to_thread(_set_outage, databases, False)
        await asyncio.to_thread(eventually, lambda: all(suite.ready(n) for n in SERVICES), timeout=120,
                                interval=0.5, what="every service ready again once its database is back")
        timeline["ready"] = time.monotonic()

    began = time.monotonic()
    await asyncio.gather(driver.run(), outage())
    assert set(reported) == set(SERVICES)
    eventually(lambda: check_outcome(suite, work, notify_db=pg_databases["notify"]), timeout=120 + N * 0.3,
               interval=3, what=f"every application settled in every service (seed {SEED})")
    dlq = dead_letter_counts(suite.bootstrap)
    assert not any(dlq.values()), f"the outage turned events into dead letters: {dlq}"
    print(f"seed {SEED}: databases away {timeline['up'] - timeline['down']:.0f}s, services ready "
          f"{timeline['ready'] - timeline['up']:.1f}s after; settled after {time.monotonic() - began:.0f}s; "
          f"driver retries {dict(driver.errors)}")
