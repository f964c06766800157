"""One simulated year, end to end: start the suite on the compressed clock, load the plan's
catalog from intake's guide, replay the plan, wait until the services have caught up, and
compute the year-end report from the public topics.

The report is computed from the records appended to the public topics since the run began (the
end offsets are taken before the services start), so it shows what this run caused and nothing
else. A broker is often shared: the test session's broker holds other tests' events, some
stamped in the simulated year (the attendance tests publish ClockEnded of June 2025, for
instance), and a developer's broker holds earlier runs of the same plan, whose receipt numbers
are the same ones (intake numbers each unit's cases from 1 in a fresh database)."""

from __future__ import annotations

import asyncio
import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tools.reporting import REPORT_TOPICS, YearEndReport, compute
from tools.reporting.source import end_offsets, read_topics
from services.runtime.clock import write_clock_file

from .catalog import guide_catalog
from .plan import TZ, Plan, YearParameters, build_plan
from .replay import Replay, ReplayResult
from .suite import Suite, make_suite

#: What the services need to run on the simulated clock (see docs/benchmarks.md, year-end report).
SIMULATION_ENV = {
    "ONEWINDOW_INTAKE_DEMO_CATALOG": "1",
    # The supervisors publish the monthly reports in the plan, on simulated dates.
    "ONEWINDOW_INTAKE_MONTHLY_REPORTS": "false",
    # deadline's watcher sleeps on the system clock and compares with it: it would give a red card
    # to every simulated case still open. Cards are not part of the report; the clocks are.
    "ONEWINDOW_DEADLINE_WORKERS": "false",
    # notify, when it runs: SMS at any (real) hour, and no carrier rate limit on the local file.
    "ONEWINDOW_NOTIFY_QUIET_HOURS": "off",
    "ONEWINDOW_NOTIFY_RATE_PER_SECOND": "1000",
    "ONEWINDOW_NOTIFY_RATE_BURST": "1000",
}


@dataclass
class Simulation:
    plan: Plan
    replay: ReplayResult
    report: YearEndReport
    settle_seconds: float
    #: where the report began reading: the end offset of every report topic's partition when the
    #: run began (records before them belong to other runs and tests)
    since: dict[TopicPartition, int]


def wait_for_catalog(suite: Suite, items: int | None = None, timeout: float = 120) -> int:
    """Until intake's guide lists the demo catalog (loaded by a worker at start)."""
    end = _time.monotonic() + timeout
    last = -1
    with httpx.Client(base_url=suite.url("intake"), timeout=30) as c:
        while _time.monotonic() < end:
            n = len(c.get("/intake/guide/items").json())
            if n and n == last and (items is None or n >= items):
                return n
            last = n
            _time.sleep(1.0)
    raise TimeoutError("the demo catalog did not load")


def issue_seals(suite: Suite, day: date | None = None) -> int:
    """A No. 2 seal (2号章) for every unit, so that notices can be sealed (seal runs on the
    system clock: the seal starts today). Units that have one already are left alone."""
    admin = suite.token("sim-admin", "center_admin", None, "中心管理员")
    issued = 0
    with suite.client("intake") as intake, suite.client("seal", admin) as seal:
        have = {s["unit_code"] for s in seal.get("/seal/seals").raise_for_status().json()}
        for unit in intake.get("/intake/guide/units").raise_for_status().json():
            if unit["code"] in have:
                continue
            r = seal.post("/seal/seals", json={"unit_code": unit["code"], "unit_name": unit["name"],
                                               "start_date": (day or date.today()).isoformat()})
            r.raise_for_status()
            issued += 1
    return issued


async def _progress(bootstrap: str, group: str, topic: str) -> tuple[int, dict[TopicPartition, int]]:
    """(records of ``topic`` not yet committed by ``group``, end offsets of the report topics)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        described = await admin.describe_topics(list(dict.fromkeys([topic, *REPORT_TOPICS])))
        tps = [TopicPartition(t["topic"], p["partition"]) for t in described if t["error_code"] == 0
               for p in t["partitions"]]
        ends = await consumer.end_offsets(tps)
        committed = await admin.list_consumer_group_offsets(group)
        lag = sum(max(0, ends[tp] - (committed[tp].offset if tp in committed else 0)) for tp in tps if tp.topic == topic)
        return lag, {tp: end for tp, end in ends.items() if tp.topic in REPORT_TOPICS}
    finally:
        await consumer.stop()
        await admin.close()


def wait_until_settled(bootstrap: str, timeout: float = 900, log: Callable[[str], None] = print) -> float:
    """Until deadline has consumed every case event and no report topic has grown for three
    polls in a row: intake's relay and deadline's publish a committed row at once, so a topic
    that stood still that long has what both outboxes held."""
    began = _time.monotonic()
    stable, last = 0, None
    while _time.monotonic() - began < timeout:
        lag, ends = asyncio.run(_progress(bootstrap, "deadline.cases", "intake.applications"))
        stable = stable + 1 if (lag == 0 and ends == last) else 0
        last = ends
        if stable >= 3:
            return _time.monotonic() - began
        if lag:
            log(f"  waiting for deadline: {lag} case events to go")
        _time.sleep(1.0)
    raise TimeoutError("the services did not catch up")


def simulate(
    params: YearParameters, *, bootstrap: str, data_dir: Path, services: tuple[str, ...] = ("intake", "deadline"),
    keep: bool = False, log: Callable[[str], None] = print,
) -> Simulation:
    data_dir.mkdir(parents=True, exist_ok=True)
    # Before anything of this run is published: the report reads from here on.
    since = asyncio.run(end_offsets(REPORT_TOPICS, bootstrap_servers=bootstrap))
    clock = data_dir / "clock"
    # The catalog is loaded when the services start: at the first instant of the simulated year.
    write_clock_file(clock, datetime.combine(params.start, time(0, 0), TZ))
    suite = make_suite(data_dir, bootstrap, services=services,
                       extra_env={**SIMULATION_ENV, "ONEWINDOW_CLOCK": f"file:{clock}"})
    log(f"starting {', '.join(services)} in {data_dir} (Kafka {bootstrap})")
    if suite.up() != 0:
        suite.down()
        raise RuntimeError("the suite did not start: " + "; ".join(suite.log(n)[-500:] for n in services))
    try:
        n = wait_for_catalog(suite)
        if "seal" in services:
            log(f"issued {issue_seals(suite)} No. 2 seals")
        with httpx.Client(base_url=suite.url("intake"), timeout=60) as c:
            catalog = guide_catalog(c)
        plan = build_plan(params, catalog)
        log(f"catalog: {n} items; plan: {len(plan.cases)} cases, {len(plan.steps)} steps "
            f"({plan.steps[0].at:%Y-%m-%d} to {plan.steps[-1].at:%Y-%m-%d})")
        replay = Replay(suite, clock, plan)
        try:
            result = replay.run(lambda i, total, step: log(
                f"  {i}/{total} steps, simulated {step.at:%Y-%m-%d %H:%M}"))
        finally:
            replay.close()
        log(f"replayed {result.requests} requests in {result.seconds:.0f}s "
            f"({result.requests / max(result.seconds, 1e-9):.0f}/s), {len(result.failures)} failed, "
            f"{result.retried} retried after a 409")
        settle = wait_until_settled(bootstrap, log=log)
        read = asyncio.run(read_topics(bootstrap_servers=bootstrap, timeout_s=600, start_offsets=since))
        report = compute(read.envelopes, params.start, params.end)
        return Simulation(plan, result, report, settle, since)
    finally:
        if not keep:
            suite.down()
