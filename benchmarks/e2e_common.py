"""What the end-to-end benchmarks share: the suite started as ``onewindow up`` starts it (each
service its own process, port and SQLite database) on a broker of the benchmark's own, the load
(applications posted to intake's HTTP API), the watch on notify's SMS file, and resident memory.

The path measured, per application: ``POST /intake/applications`` (a promised item, materials
complete, so it is accepted at once) -> ``ApplicationAccepted`` on Kafka -> notify renders the
acceptance notice (受理通知书, ReportLab PDF) -> ``SealDocument`` -> seal signs it with the unit's
No. 2 seal (pyHanko, PAdES) -> ``DocumentSealed`` -> notify releases it and queues the SMS ->
the delivery worker hands it to the file provider, which appends it to ``sms-outbox.jsonl``
(fsync'd) with the instant it did so. Latency = that instant minus the instant the HTTP request
was sent; every applicant has a mobile number of its own, so each SMS is matched to its
application.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

from tools.simulator.people import People
from tools.simulator.run import issue_seals, wait_for_catalog
from tools.simulator.suite import Suite, make_suite

#: The suite's settings for the benchmark: SMS at any hour and no carrier rate limit (the local
#: file provider has none; a county's carrier account would, see notify's SMPP figures).
BENCH_ENV = {
    "ONEWINDOW_INTAKE_DEMO_CATALOG": "1",
    "ONEWINDOW_NOTIFY_QUIET_HOURS": "off",
    "ONEWINDOW_NOTIFY_RATE_PER_SECOND": "100000",
    "ONEWINDOW_NOTIFY_RATE_BURST": "100000",
    "ONEWINDOW_LOG_LEVEL": "WARNING",
}


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


# --------------------------------------------------------------------------- memory


def rss_kib(pid: int) -> int | None:
    """Resident set size of a process, from /proc/<pid>/status (VmRSS), in KiB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def kafka_pid(kafka_dir: Path) -> int | None:
    try:
        return int((kafka_dir / "kafka.pid").read_text().strip())
    except (OSError, ValueError):
        return None


_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds used: user + system) of a live process, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            # the command name (field 2) may hold spaces: the rest starts after its closing paren
            rest = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(rest[1]), (int(rest[11]) + int(rest[12])) / _TICKS


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds each named process and its live descendants (seal's signing processes, say)
    have used so far."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None:
            stats[int(entry)] = st
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    out = {}
    for name, root in pids.items():
        total, todo = 0.0, [root]
        while todo:
            pid = todo.pop()
            if pid in stats:
                total += stats[pid][1]
                todo.extend(children.get(pid, ()))
        out[name] = total
    return out


class RssSampler:
    """Samples the resident memory of named processes every ``interval`` seconds (peak and last)."""

    def __init__(self, pids: dict[str, int], interval: float = 0.5) -> None:
        self.pids, self.interval = pids, interval
        self.peak: dict[str, int] = {}
        self._task: asyncio.Task | None = None

    def snapshot(self) -> dict[str, int]:
        out = {}
        for name, pid in self.pids.items():
            v = rss_kib(pid)
            if v is not None:
                out[name] = v
        return out

    async def _run(self) -> None:
        while True:
            for name, v in self.snapshot().items():
                self.peak[name] = max(self.peak.get(name, 0), v)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> dict[str, int]:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        return dict(self.peak)


# --------------------------------------------------------------------------- the suite


def start_suite(bootstrap: str, data_dir: Path, log: Callable[[str], None] = print) -> Suite:
    """The five services up, the catalog loaded and every unit's No. 2 seal issued. The suite is
    stopped when the set-up after its start fails (else its processes outlive the benchmark), and
    a seal issued by the seal service itself meanwhile (the center's own, at start: a 409 for
    ours) is taken as issued."""
    suite = make_suite(data_dir, bootstrap, extra_env=BENCH_ENV)
    began = time.perf_counter()
    if suite.up() != 0:
        logs = "\n".join(suite.log(n)[-2000:] for n in suite.services)
        suite.down()
        raise RuntimeError(f"the suite did not start:\n{logs}")
    try:
        items = wait_for_catalog(suite)
        for attempt in range(3):
            try:
                issued = issue_seals(suite)  # units that have a seal already are left alone
                break
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code != 409 or attempt == 2:
                    raise
                time.sleep(1)
        log(f"suite ready in {time.perf_counter() - began:.1f}s; catalog: {items} items; seals issued: {issued}")
    except BaseException:
        suite.down()
        raise
    return suite


def promised_items(suite: Suite) -> list[dict]:
    """Promised items with their mandatory materials (an acceptance notice goes out for them)."""
    with httpx.Client(base_url=suite.url("intake"), timeout=60) as c:
        summaries = [i for i in c.get("/intake/guide/items", params={"kind": "promised"}).json()
                     if i["case_kind"] == "promised"]
        out = []
        for s in summaries:
            g = c.get(f"/intake/guide/items/{s['code']}").json()
            out.append({"code": g["code"], "unit": g["unit_code"],
                        "materials": [m["code"] for m in g["materials"] if m["mandatory"]]})
    return out


# --------------------------------------------------------------------------- the SMS file


class SmsWatch:
    """Follows notify's sms-outbox.jsonl and records when each mobile's first SMS was written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0
        self.first: dict[str, float] = {}
        self.lines = 0
        self._partial = b""

    def poll(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        for line in complete:
            if not line.strip():
                continue
            rec = json.loads(line)
            self.lines += 1
            self.first.setdefault(rec["mobile"], datetime.fromisoformat(rec["at"]).timestamp())


# --------------------------------------------------------------------------- the load


@dataclass
class RunResult:
    applications: int
    concurrency: int
    offered_rate: float | None
    http_seconds: float
    e2e_seconds: float
    http_latency_ms: list[float] = field(repr=False, default_factory=list)
    e2e_latency_ms: list[float] = field(repr=False, default_factory=list)
    missing_sms: int = 0
    http_errors: int = 0
    peak_rss_kib: dict[str, int] = field(default_factory=dict)
    kafka_records: int = 0
    #: CPU seconds each process used during the run (the load generator is this process).
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        e2e = self.e2e_latency_ms
        return {
            "applications": self.applications, "concurrency": self.concurrency, "offered_per_s": self.offered_rate,
            "http_per_s": round(self.applications / self.http_seconds, 1),
            "e2e_per_s": round((self.applications - self.missing_sms) / self.e2e_seconds, 2),
            "seconds": round(self.e2e_seconds, 1),
            "http_p50_ms": round(statistics.median(self.http_latency_ms), 1) if self.http_latency_ms else None,
            "e2e_p50_ms": round(percentile(e2e, 50)), "e2e_p95_ms": round(percentile(e2e, 95)),
            "e2e_p99_ms": round(percentile(e2e, 99)), "e2e_max_ms": round(max(e2e)) if e2e else None,
            "missing_sms": self.missing_sms, "http_errors": self.http_errors,
            "kafka_records": self.kafka_records,
            "kafka_records_per_application": round(self.kafka_records / self.applications, 1)
            if self.applications else None,
            "peak_rss_mib": {k: round(v / 1024) for k, v in self.peak_rss_kib.items()},
            # issue 19, goal 3: what an application costs each process, from first request to last SMS
            "cpu_ms_per_application": {k: round(v * 1000 / self.applications, 1)
                                        for k, v in self.cpu_seconds.items()} if self.applications else {},
            "cpu_ms_per_application_services": round(
                sum(v for k, v in self.cpu_seconds.items() if k not in ("kafka", "load generator"))
                * 1000 / self.applications, 1) if self.applications and self.cpu_seconds else None,
        }


async def run_load(
    suite: Suite, items: list[dict], n: int, *, concurrency: int = 8, rate: float | None = None, seed: int = 1,
    timeout: float = 1800, pids: dict[str, int] | None = None, log: Callable[[str], None] = print,
) -> RunResult:
    """Post ``n`` applications (``concurrency`` in flight, or paced at ``rate`` per second) and wait
    until each applicant's SMS is written."""
    people = People(seed)
    rng = random.Random(seed)
    tokens = {u: suite.token(f"bench-{u.lower()}", "clerk", u, f"{u}窗口") for u in {i["unit"] for i in items}}
    jobs = []
    for _ in range(n):
        it = rng.choice(items)
        jobs.append((it, people.applicant(0.3)))
    watch = SmsWatch(suite.data_dir / "notify" / "sms-outbox.jsonl")
    sent: dict[str, float] = {}
    http_ms: list[float] = []
    errors = 0
    pending = iter(jobs)
    sampler = RssSampler(pids or {})
    sampler.start()
    offsets_before = await _kafka_records(suite.bootstrap)
    cpu_before = {**cpu_seconds(pids or {}), "load generator": time.process_time()}

    async def post(client: httpx.AsyncClient, it: dict, applicant: dict) -> None:
        nonlocal errors
        body = {"item_code": it["code"], "applicant": applicant, "materials": it["materials"]}
        t0 = time.time()
        sent[applicant["mobile"]] = t0
        r = await client.post("/intake/applications", json=body,
                              headers={"Authorization": f"Bearer {tokens[it['unit']]}"})
        http_ms.append((time.time() - t0) * 1000)
        if r.status_code != 201:
            errors += 1
            sent.pop(applicant["mobile"], None)
            log(f"  HTTP {r.status_code}: {r.text[:200]}")

    async def closed_loop(client: httpx.AsyncClient) -> None:
        for it, applicant in pending:  # the workers share one iterator
            await post(client, it, applicant)

    async def paced(client: httpx.AsyncClient) -> None:
        start = time.perf_counter()
        tasks = []
        for i, (it, applicant) in enumerate(jobs):
            delay = start + i / rate - time.perf_counter()  # type: ignore[operator]
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(client, it, applicant)))
        await asyncio.gather(*tasks)

    began = time.time()
    limits = httpx.Limits(max_connections=max(concurrency, 64))
    async with httpx.AsyncClient(base_url=suite.url("intake"), timeout=120, limits=limits) as client:
        if rate:
            await paced(client)
        else:
            await asyncio.gather(*(closed_loop(client) for _ in range(concurrency)))
    http_done = time.time()
    deadline = time.monotonic() + timeout
    last_report = time.monotonic()
    while time.monotonic() < deadline:
        watch.poll()
        if all(m in watch.first for m in sent):
            break
        if time.monotonic() - last_report > 15:
            log(f"  {sum(m in watch.first for m in sent)}/{len(sent)} SMS written")
            last_report = time.monotonic()
        await asyncio.sleep(0.05)
    cpu_after = {**cpu_seconds(pids or {}), "load generator": time.process_time()}
    peak = await sampler.stop()
    got = {m: watch.first[m] for m in sent if m in watch.first}
    e2e_ms = [(got[m] - sent[m]) * 1000 for m in got]
    end = max(got.values()) if got else time.time()
    records = await _kafka_records(suite.bootstrap) - offsets_before
    return RunResult(
        applications=n, concurrency=concurrency, offered_rate=rate, http_seconds=http_done - began,
        e2e_seconds=end - began, http_latency_ms=http_ms, e2e_latency_ms=e2e_ms, missing_sms=len(sent) - len(got),
        http_errors=errors, peak_rss_kib=peak, kafka_records=records,
        cpu_seconds={k: cpu_after[k] - v for k, v in cpu_before.items() if k in cpu_after},
    )


async def _kafka_records(bootstrap: str) -> int:
    """Records on every topic of the suite (sum of end offsets)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    from contracts import all_topics

    names = [t.name for t in all_topics()]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        described = await admin.describe_topics(names)
        tps = [TopicPartition(t["topic"], p["partition"]) for t in described if t["error_code"] == 0
               for p in t["partitions"]]
        return sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()
        await admin.close()


async def mean_record_size(bootstrap: str, topic: str = "intake.applications", sample: int = 500) -> int:
    """Mean size (value + headers) of the last ``sample`` records of ``topic``: the message size
    the bus benchmark is run at."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (desc,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    tps = [TopicPartition(topic, p["partition"]) for p in desc["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    sizes: list[int] = []
    try:
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, max(0, ends[tp] - sample // len(tps)))
        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in tps])

        while await behind():
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for r in records:
                    sizes.append(len(r.value or b"") + sum(len(k) + len(v) for k, v in (r.headers or [])))
    finally:
        await consumer.stop()
    return round(statistics.mean(sizes)) if sizes else 1024
