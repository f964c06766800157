"""The Kafka broker restarted mid-run (stopped, away for a few seconds, started again on the same
data folder and ports) while N applications go through the suite: the services report not ready
while it is away, reconnect by themselves, and every application ends in the right state with
no event lost and no SMS or notice twice (tests/faults/load.py)."""

from __future__ import annotations

import asyncio
import random
import time

from tools.registry import BUS_SERVICES as SERVICES
from tests.e2e.harness import Broker, Suite, eventually

from .sizes import N, SEED
from .load import Driver, check_outcome, dead_letter_counts, prepare


async def test_a_broker_restart_mid_run_loses_nothing_and_sends_nothing_twice(
    fault_broker: Broker, fault_suite: Suite
) -> None:
    suite = fault_suite
    rng = random.Random(SEED)
    print(f"seed {SEED}: {N} applications, the broker restarted once")
    work = prepare(suite, N, SEED)
    driver = Driver(suite, work, concurrency=8)
    seen: dict[str, dict] = {}
    timeline: dict[str, float] = {}
    filed: dict[str, int] = {}  # applications filed when the broker stopped / started again

    def kafka_down_everywhere() -> bool:
        for name in SERVICES:
            if name not in seen:
                code, checks = suite.readiness(name)
                assert code == 503 and checks["kafka"] != "ok", (name, code, checks)
                seen[name] = checks
        return True

    async def restart_broker() -> None:
        await driver.at(int(rng.uniform(0.2, 0.5) * N)).wait()
        timeline["stop"] = time.monotonic()
        filed["at stop"] = driver.progress
        await asyncio.to_thread(fault_broker.stop)
        assert not fault_broker.running()
        # Not ready while the broker is away; the API still takes applications (outbox).
        await asyncio.to_thread(eventually, kafka_down_everywhere, timeout=60, interval=0.5,
                                what="every service reports Kafka down on /readyz")
        await asyncio.sleep(rng.uniform(2, 6))
        timeline["start"] = time.monotonic()
        filed["at start"] = driver.progress
        await asyncio.to_thread(fault_broker.start)
        await asyncio.to_thread(eventually, lambda: all(suite.ready(n) for n in SERVICES), timeout=180,
                                interval=0.5, what="every service ready again after the broker came back")
        timeline["ready"] = time.monotonic()

    began = time.monotonic()
    await asyncio.gather(driver.run(), restart_broker())
    assert set(seen) == set(SERVICES)
    eventually(lambda: check_outcome(suite, work), timeout=120 + N * 0.3, interval=3,
               what=f"every application settled in every service (seed {SEED})")
    dlq = dead_letter_counts(suite.bootstrap)
    assert not any(dlq.values()), f"the restart turned events into dead letters: {dlq}"
    print(f"seed {SEED}: broker away {timeline['start'] - timeline['stop']:.0f}s, services ready "
          f"{timeline['ready'] - timeline['start']:.0f}s after its start; settled after "
          f"{time.monotonic() - began:.0f}s; applications filed {filed}; driver retries {dict(driver.errors)}")
