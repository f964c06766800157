"""kill -9 each service at random moments while N applications go through the suite, then
restart it (as `onewindow up` does): every application ends in the right state, no event is
lost, no SMS and no notice goes out twice (tests/faults/load.py says what is checked)."""

from __future__ import annotations

import asyncio
import random
import time

from tools.registry import BUS_SERVICES as SERVICES
from tests.e2e.harness import Suite, eventually

from .sizes import KILL_ROUNDS, N, SEED
from .load import Driver, check_outcome, dead_letter_counts, prepare


async def test_kill_9_every_service_at_random_moments_loses_nothing_and_sends_nothing_twice(
    fault_suite: Suite,
) -> None:
    suite = fault_suite
    rng = random.Random(SEED)
    print(f"seed {SEED}: {N} applications, every service killed {KILL_ROUNDS}x")
    work = prepare(suite, N, SEED)
    driver = Driver(suite, work, concurrency=8)

    # The moments: after a random share (5-85 %) of the applications has been filed, plus a
    # random fraction of a second; each service in a random order, KILL_ROUNDS times.
    victims = [s for _ in range(KILL_ROUNDS) for s in rng.sample(SERVICES, len(SERVICES))]
    moments = sorted(int(rng.uniform(0.05, 0.85) * N) for _ in victims)
    kills: list[tuple[str, int, int, int]] = []  # (service, old pid, new pid, filed when killed)
    restarts: dict[str, asyncio.Task[None]] = {}

    async def restart(victim: str, old_pid: int, filed: int) -> None:
        await asyncio.sleep(rng.uniform(0.2, 2.0))  # down for a moment
        await asyncio.to_thread(suite.start, victim)
        kills.append((victim, old_pid, suite.pid(victim) or 0, filed))

    async def chaos() -> None:
        for victim, moment in zip(victims, moments):
            await driver.at(moment).wait()
            await asyncio.sleep(rng.uniform(0, 0.5))
            if victim in restarts:
                await restarts[victim]  # the same service again: after its last restart
            old = await asyncio.to_thread(suite.kill, victim)
            restarts[victim] = asyncio.create_task(restart(victim, old, driver.progress))
        await asyncio.gather(*restarts.values())

    began = time.monotonic()
    await asyncio.gather(driver.run(), chaos())
    loaded = time.monotonic() - began
    assert sorted(k[0] for k in kills) == sorted(victims), kills
    assert all(new and new != old for _, old, new, _ in kills), kills
    for name in SERVICES:
        assert suite.ready(name), f"{name} not ready after its restart"

    outcome = eventually(lambda: check_outcome(suite, work), timeout=120 + N * 0.3, interval=3,
                         what=f"every application settled in every service (seed {SEED})")
    settled = time.monotonic() - began
    dlq = dead_letter_counts(suite.bootstrap)
    assert not any(dlq.values()), f"a kill turned events into dead letters: {dlq}"
    print(f"seed {SEED}: kills {[(k[0], k[3]) for k in kills]}; load {loaded:.0f}s, settled {settled:.0f}s; "
          f"driver retries {dict(driver.errors)}; SMS with unknown outcome (never resent): {len(outcome.unknown_sms)}")
    # A kill can only cut the one send in flight per delivery worker slot: never more than a few.
    assert len(outcome.unknown_sms) <= 8 * KILL_ROUNDS, outcome.unknown_sms
