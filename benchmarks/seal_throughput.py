"""Sealed notices per second and latency percentiles of the seal service, on this machine.

    .venv/bin/python -m benchmarks.seal_throughput [--notices 200] [--workers 2] [--kafka auto|HOST:PORT|off]

Levels, each bounded in count:

1. ``sign``: render a notice (ReportLab, CJK font) and seal it (pyHanko PAdES B-B with the seal
   as the visible field, ECDSA P-256), in process, one at a time and with 4 in flight;
   ``sign, N processes``: the same through the service's signing processes (``run_pdf_job`` in a
   pool of ``--workers``, as ``seal_sign_workers`` runs it), all queued at once (throughput) and
   paced at ``--rate`` per second (latency);
2. ``handler``: the SealDocument handler with its SQLite database: rules, rendering, signing, the
   file, the document row, the hash-chained usage log and the outbox row, one transaction each;
   and with the signing processes, batches of ``--batch`` in one transaction (``seal_documents``);
3. ``kafka``: end to end on a real broker (loopback only): commands produced to seal.commands,
   latency until DocumentSealed is read back from seal.documents. ``auto`` uses the project's
   local broker when it is running (``onewindow kafka start``); ``off`` skips it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from contracts.common import DocumentType, Role
from contracts.seal import NoticeContent, SealDocument
from services.seal.adapters.authority import KeyProtector, SealAuthority, SealSubject
from services.seal.adapters.image import SealFace, seal_pdf as face_pdf
from services.seal.adapters.render import Notice
from services.seal.adapters.signing import SealKey, SoftwareSignerProvider

PASSPHRASE = "benchmark-passphrase-0123"
UNIT_NAME = "某某县市场监督管理局"
PARAGRAPHS = [
    "你（单位）于2024年8月1日提交的食品经营许可申请，经审查，申请材料齐全、符合法定形式，"
    "根据《中华人民共和国行政许可法》第三十二条的规定，决定予以受理。",
    "承诺办结时限为10个工作日，请于办结后凭本通知书到中心窗口领取结果，或关注短信通知。",
]


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))
    return s[k]


def summary(name: str, latencies: list[float], wall: float) -> dict:
    return {
        "case": name, "n": len(latencies), "per_s": len(latencies) / wall,
        "p50": pct(latencies, 50) * 1000, "p90": pct(latencies, 90) * 1000, "p99": pct(latencies, 99) * 1000,
        "mean": statistics.fmean(latencies) * 1000,
    }


async def bench_sign(n: int, concurrency: int) -> dict:
    from services.seal.usecases.documents import seal_job_pdf

    protector = KeyProtector(PASSPHRASE)
    root, key = SealAuthority.create_root(authority_name="基准测试根", organization="基准测试")
    ca = SealAuthority(root, key, crl_url="http://127.0.0.1/seal/crl")
    issued = ca.issue(SealSubject("SCJG", UNIT_NAME), protector)
    provider = SoftwareSignerProvider(protector)
    face = face_pdf(SealFace(UNIT_NAME))
    seal_key = SealKey("s", issued.cert, (root,), issued.encrypted_key_pem)
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker() -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            t = time.perf_counter()
            notice = Notice("受理通知书", UNIT_NAME, PARAGRAPHS, date(2024, 8, 2), addressee="张三",
                            numbers=[("受理编号", f"SL-2024-{i:06d}")])
            await seal_job_pdf(provider.signer_for(seal_key), face, pdf=None, notice=notice, box=None,
                               reason="行政审批专用章：受理通知书", location="某某县", signer_name=UNIT_NAME)
            latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summary(f"sign, {concurrency} in flight", latencies, time.perf_counter() - start)


def _job(i: int, material):  # type: ignore[no-untyped-def]
    """A notice's job naming the seal's material (which the process gets on its first miss)."""
    from services.seal.usecases.documents import PdfJob

    doc_no = f"SCJG-2024-{i:06d}"
    notice = Notice("受理通知书", UNIT_NAME, PARAGRAPHS, date(2024, 8, 2), addressee="张三",
                    numbers=[("受理编号", f"SL-2024-{i:06d}"), ("文书编号", doc_no)],
                    footer=f"本文书加盖电子印章，可在 http://127.0.0.1:8102/seal/documents/{doc_no} 核验。")
    return PdfJob(seal=material.ident, reason="行政审批专用章：受理通知书", location="某某县", signer_name=UNIT_NAME,
                  notice=notice)


def _material(issued, root, face: bytes):  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization

    from services.seal.usecases.documents import SealMaterial

    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)  # noqa: E731
    return SealMaterial.of("s", pem(issued.cert), (pem(root),), issued.encrypted_key_pem, face)


def _timed_job(job) -> float | None:  # type: ignore[no-untyped-def]
    """``run_pdf_job`` in a signing process, returning the CPU seconds it took there (None: the
    process lacks the seal's material, as the service's pool answers)."""
    from services.seal.usecases.documents import run_pdf_job

    t = time.thread_time()
    if run_pdf_job(job) is None:
        return None
    return time.thread_time() - t


async def bench_pool(n: int, workers: int, rate: float | None = None) -> dict:
    """Render and sign through a pool of signing processes, as the service does with
    ``seal_sign_workers``: all queued at once, or paced at ``rate`` per second."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from dataclasses import replace

    from services.seal.usecases.documents import _worker_start

    protector = KeyProtector(PASSPHRASE)
    root, key = SealAuthority.create_root(authority_name="基准测试根", organization="基准测试")
    ca = SealAuthority(root, key, crl_url="http://127.0.0.1/seal/crl")
    issued = ca.issue(SealSubject("SCJG", UNIT_NAME), protector)
    material = _material(issued, root, face_pdf(SealFace(UNIT_NAME)))
    loop = asyncio.get_running_loop()

    async def run(i: int) -> float:
        job = _job(i, material)
        took = await loop.run_in_executor(pool, _timed_job, job)
        if took is None:  # as the service does: once more, with the seal's material
            took = await loop.run_in_executor(pool, _timed_job, replace(job, material=material))
        assert took is not None
        return took

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_worker_start, initargs=(protector,)) as pool:
        # warm every process: imports, the font, the seal's signer, the notice's template and
        # the seal's update of it (learned from two notices sealed at different seconds)
        await asyncio.gather(*(run(i) for i in range(workers * 4)))
        await asyncio.sleep(1.1)
        await asyncio.gather(*(run(i) for i in range(workers * 4)))
        latencies: list[float] = []
        cpu: list[float] = []

        async def one(i: int) -> None:
            t = time.perf_counter()
            cpu.append(await run(i))
            latencies.append(time.perf_counter() - t)

        start = time.perf_counter()
        tasks = []
        for i in range(n):
            tasks.append(asyncio.create_task(one(i)))
            if rate:
                await asyncio.sleep(max(0.0, start + (i + 1) / rate - time.perf_counter()))
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - start
    how = f"{rate:g} per second offered" if rate else "all queued"
    ms = statistics.fmean(cpu) * 1000
    return summary(f"sign, {workers} processes ({how}; {ms:.1f} ms CPU each in a process: "
                   f"{workers * 1000 / ms:.0f}/s on {workers} free cores)", latencies, wall)


def _pool_cpu(svc) -> float:  # type: ignore[no-untyped-def]
    """CPU seconds used so far by the service's signing processes (Linux /proc)."""
    pool = getattr(svc.state, "sign_pool", None)
    total = 0.0
    for pid in list(getattr(pool, "_processes", None) or {}):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _settings(tmp: Path, **kw):  # type: ignore[no-untyped-def]
    from services.seal.config import SealSettings

    return SealSettings(data_dir=tmp, seal_key_passphrase=PASSPHRASE, log_json=False, http_port=8102,
                        auth_secret="benchmark-secret-0123456789-abcdefghij", **kw)


def _command(i: int, unit: str) -> SealDocument:
    return SealDocument(
        request_id=f"bench-{uuid.uuid4().hex}", receipt_no=f"SL-2024-{i:06d}", unit_code=unit,
        document_type=DocumentType.ACCEPTANCE, title="受理通知书", requested_by="benchmark",
        content=NoticeContent(addressee="张三", paragraphs=PARAGRAPHS),
    )


async def _issue(svc, unit: str) -> None:  # type: ignore[no-untyped-def]
    import httpx

    token = svc.auth.issue("bench", Role.CENTER_ADMIN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://seal") as c:
        r = await c.post("/seal/seals", json={"unit_code": unit, "unit_name": UNIT_NAME, "start_date": "2024-08-01"},
                         headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()


async def bench_handler(n: int, tmp: Path, workers: int = 0, batch: int = 1) -> dict:
    from services.seal.app import create_service
    from services.seal.usecases.documents import seal_documents

    svc = create_service(_settings(tmp, seal_sign_workers=workers))
    # without Kafka the relay's flush at stop cannot publish; its warning is expected here
    logging.getLogger("services.runtime.outbox").setLevel(logging.ERROR)
    await svc.start(kafka=False)
    try:
        await _issue(svc, "SCJG")
        latencies: list[float] = []

        async def run(first: int, count: int) -> None:
            for b in range(first, first + count, batch):
                t = time.perf_counter()
                async with svc.uow() as uow:
                    items = [(_command(i, "SCJG"), str(uuid.uuid4())) for i in range(b, min(b + batch, first + count))]
                    await seal_documents(svc, uow, items)
                    await uow.commit()
                latencies.extend([time.perf_counter() - t] * len(items))

        await run(0, max(batch, workers * batch))  # warm the signing processes
        await asyncio.sleep(1.1)  # and again at another second (the seal's update of the template)
        await run(0, max(batch, workers * batch))
        latencies.clear()
        start = time.perf_counter()
        cpu0, kids0 = time.process_time(), _pool_cpu(svc)
        await run(n, n)
        wall = time.perf_counter() - start
        own_ms, kids_ms = (time.process_time() - cpu0) * 1000 / n, (_pool_cpu(svc) - kids0) * 1000 / n
        # what two free cores would do: the service's process is one thread of work, the signing
        # processes take the rest
        cap = min(1000 / own_ms, 2000 / (own_ms + kids_ms)) if workers else 1000 / own_ms
        how = f", {workers} signing processes, batches of {batch}" if workers else ", in process"
        how += f"; CPU ms each: {own_ms:.1f} service + {kids_ms:.1f} signing: {cap:.0f}/s on 2 free cores"
        return summary(f"handler + SQLite (rules, render, sign, file, log, outbox{how})", latencies, wall)
    finally:
        await svc.stop()


def _local_bootstrap() -> str | None:
    from tools import kafka_local

    data_dir = kafka_local.default_data_dir()
    if kafka_local.running_pid(data_dir) is None:
        return None
    return kafka_local.bootstrap_of(kafka_local.read_properties(data_dir / "server.properties"))


#: The service under test, run in a process of its own (as in production: the load comes from
#: other processes). It is started from a source tree given on its command line, so that the
#: HEAD's copy and the working tree's can be measured side by side in one run. A line protocol
#: on stdin/stdout: ``mark`` (CPU counters restart), ``cpu`` (CPU seconds since the mark: the
#: service's process, its signing processes), end of input: stop.
_SERVE = r"""
import asyncio, json, logging, os, sys, time
from pathlib import Path
cfg = json.loads(sys.argv[1])
sys.path.insert(0, cfg["root"])
os.chdir(cfg["root"])
from services.runtime.testing import running
from services.seal.app import create_service
from services.seal.config import SealSettings
logging.basicConfig(level=logging.WARNING)

def children_cpu(pid):
    total = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            kids = Path(f"/proc/{pid}/task/{tid}/children").read_text().split()
        except OSError:
            continue
        for kid in kids:
            try:
                f = Path(f"/proc/{kid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    return total

async def serve():
    import httpx
    from contracts.common import Role
    svc = create_service(SealSettings(**cfg["settings"]))
    async with running(svc):
        token = svc.auth.issue("bench", Role.CENTER_ADMIN)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://seal") as c:
            r = await c.post("/seal/seals", json={"unit_code": cfg["unit"], "unit_name": cfg["unit_name"],
                                                  "start_date": "2024-08-01"},
                             headers={"Authorization": f"Bearer {token}"})
            r.raise_for_status()
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        own0 = kids0 = 0.0
        while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
            if line == "mark":
                own0, kids0 = time.process_time(), children_cpu(os.getpid())
                print("marked", flush=True)
            elif line == "cpu":
                print(json.dumps([time.process_time() - own0, children_cpu(os.getpid()) - kids0]), flush=True)

asyncio.run(serve())
"""


class ServiceProcess:
    """The seal service in a process of its own, started from the source tree ``root``."""

    def __init__(self, root: Path, settings: dict, unit: str) -> None:
        import json
        import sys

        self.args = [sys.executable, "-c", _SERVE, json.dumps(
            {"root": str(root), "unit": unit, "unit_name": UNIT_NAME, "settings": settings})]
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def __aenter__(self) -> "ServiceProcess":
        self.proc = await asyncio.create_subprocess_exec(*self.args, stdin=asyncio.subprocess.PIPE,
                                                         stdout=asyncio.subprocess.PIPE)
        try:
            await self._expect("ready", 180)
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def _expect(self, word: str, timeout: float = 30) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        while True:
            line = (await asyncio.wait_for(self.proc.stdout.readline(), timeout)).decode().strip()
            if not line:
                raise RuntimeError(f"the service process ended (waiting for {word!r})")
            if line.startswith(word):
                return line

    async def say(self, line: str, answer: str) -> str:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()
        return await self._expect(answer)

    async def cpu(self) -> tuple[float, float]:
        import json

        own, kids = json.loads(await self.say("cpu", "["))
        return own, kids

    async def __aexit__(self, *exc: object) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 60)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def bench_kafka(n: int, tmp: Path, bootstrap: str, rate: float | None = None, workers: int = 0,
                      batch: int = 1, root: Path | None = None, label: str = "") -> dict:
    """End to end: the service in a process of its own (from the tree ``root``, default this
    one); this process produces the commands and reads the outcomes, as a requester would."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    from contracts.envelope import Envelope, parse
    from contracts.topics import get_topic

    unit = f"B{uuid.uuid4().hex[:8].upper()}"
    tmp.mkdir(parents=True, exist_ok=True)
    settings = {"data_dir": str(tmp), "seal_key_passphrase": PASSPHRASE, "log_json": False, "http_port": 8102,
                "auth_secret": "benchmark-secret-0123456789-abcdefghij", "kafka_bootstrap_servers": bootstrap,
                "seal_sign_workers": workers, "consumer_batch_size": batch}
    root = root or Path(__file__).resolve().parent.parent
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=0)
    async with ServiceProcess(root, settings, unit) as service:
        await consumer.start()
        await producer.start()
        try:
            parts = [TopicPartition("seal.documents", p) for p in range(get_topic("seal.documents").partitions)]
            consumer.assign(parts)
            await consumer.seek_to_end(*parts)
            for tp in parts:
                await consumer.position(tp)
            # warm up: the consumer has joined its group, every signing process has its seal's
            # signer and the notice's template; twice, a second apart (a process learns the
            # seal's update of a template from two notices sealed at different seconds)
            for wave in range(2):
                if wave:
                    await asyncio.sleep(1.1)
                warm = [Envelope.wrap(_command(i, unit)) for i in range(max(1, workers) * max(batch, 4))]
                waiting = {w.data.request_id for w in warm}
                for w in warm:
                    await producer.send(w.topic, w.body(), key=w.key, headers=w.kafka_headers())
                await producer.flush()
                deadline = time.perf_counter() + 180
                while waiting and time.perf_counter() < deadline:
                    for records in (await consumer.getmany(timeout_ms=500)).values():
                        for r in records:
                            waiting.discard(parse(r.headers, r.value).data.request_id)
            if os.environ.get("SEAL_BENCH_PAUSE"):  # time to attach a profiler to the service
                print(f"service pid {service.pid}", flush=True)
                await asyncio.sleep(float(os.environ["SEAL_BENCH_PAUSE"]))
            await service.say("mark", "marked")
            sent: dict[str, float] = {}
            latencies: list[float] = []
            start = time.perf_counter()

            async def produce() -> None:
                for i in range(n):
                    env = Envelope.wrap(_command(i, unit))
                    sent[env.data.request_id] = time.perf_counter()
                    await producer.send(env.topic, env.body(), key=env.key, headers=env.kafka_headers())
                    if rate:  # on a fixed schedule: the send's time does not lower the offered rate
                        await asyncio.sleep(max(0.0, start + (i + 1) / rate - time.perf_counter()))
                await producer.flush()

            async def read() -> None:
                deadline = time.perf_counter() + max(120, n)
                while len(latencies) < n and time.perf_counter() < deadline:
                    for records in (await consumer.getmany(timeout_ms=100)).values():
                        now = time.perf_counter()
                        for rec in records:
                            rid = parse(rec.headers, rec.value).data.request_id
                            if rid in sent:
                                latencies.append(now - sent.pop(rid))

            # read while producing, so that a paced run measures each answer when it arrives
            await asyncio.gather(produce(), read())
            wall = time.perf_counter() - start
            own, kids = await service.cpu()
        finally:
            await producer.stop()
            await consumer.stop()
    if len(latencies) < n:
        raise RuntimeError(f"only {len(latencies)} of {n} notices came back sealed")
    how = f"{rate:g}/s offered" if rate else f"{n} queued at once"
    how += f", {workers} signing processes, batches of {batch}" if workers else f", in process, batches of {batch}"
    own_ms, kids_ms = own * 1000 / n, kids * 1000 / n
    how += f"; CPU ms each: {own_ms:.1f} service + {kids_ms:.1f} signing"
    return summary(f"{label}end to end over Kafka ({how})", latencies, wall)


def table(rows: list[dict]) -> str:
    out = ["| case | notices | per second | p50 ms | p90 ms | p99 ms |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        out.append(f"| {r['case']} | {r['n']} | {r['per_s']:.1f} | {r['p50']:.0f} | {r['p90']:.0f} | {r['p99']:.0f} |")
    return "\n".join(out)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notices", type=int, default=200)
    ap.add_argument("--kafka", default="auto", help="auto, off, or a bootstrap address on this machine")
    ap.add_argument("--workers", type=int, default=2, help="signing processes (seal_sign_workers); 0: none")
    ap.add_argument("--batch", type=int, default=8, help="stamp requests per transaction with signing processes")
    ap.add_argument("--rate", type=float, default=50.0, help="notices per second offered in the paced run")
    ap.add_argument("--only", choices=("all", "kafka"), default="all", help="kafka: the end-to-end rows only")
    ap.add_argument("--before", type=Path, default=None,
                    help="another source tree (e.g. `git archive HEAD services contracts` unpacked): each "
                         "end-to-end row runs for it and for this tree, interleaved")
    ap.add_argument("--after", type=Path, default=None,
                    help="the tree measured as \"after\" (default: this one), e.g. HEAD with one service's "
                         "changes copied in, to keep other work in the tree out of the comparison")
    ap.add_argument("--rounds", type=int, default=1, help="end-to-end rounds (with --before: pairs)")
    ap.add_argument("--load", choices=("both", "queued", "paced"), default="both",
                    help="end to end: all queued at once, paced at --rate, or both")
    args = ap.parse_args()
    n = max(1, min(args.notices, 5000))
    rows: list[dict] = []
    if args.only == "all":
        first = await bench_sign(min(n, 50), 1)
        await asyncio.sleep(1.1)
        rows = [first, await bench_sign(n, 1), await bench_sign(n, 4)]
        rows = rows[1:]  # the first run only warms the font cache and imports
        if args.workers:
            rows.append(await bench_pool(n, args.workers))
            rows.append(await bench_pool(n, args.workers, rate=args.rate))
    with tempfile.TemporaryDirectory() as tmp:
        if args.only == "all":
            # interleaved: the machine's load shifts between runs
            for r in range(2):
                rows.append(await bench_handler(n, Path(tmp) / f"handler{r}"))
                if args.workers:
                    rows.append(await bench_handler(n, Path(tmp) / f"handler-pool{r}", args.workers, args.batch))
        bootstrap = None if args.kafka == "off" else (_local_bootstrap() if args.kafka == "auto" else args.kafka)
        if bootstrap:
            host = bootstrap.split(":")[0]
            if host not in ("127.0.0.1", "localhost", "::1"):
                raise SystemExit("the benchmark talks to a broker on this machine only")
            after = args.after.resolve() if args.after else None
            trees = [(args.before.resolve(), "before: "), (after, "after: ")] if args.before else [(after, "")]
            cases = [dict(workers=args.workers, batch=args.batch)]
            k = 0
            for _round in range(max(1, args.rounds)):
                for case in cases:
                    for rate in {"both": (None, args.rate), "queued": (None,), "paced": (args.rate,)}[args.load]:
                        for root, label in trees:
                            k += 1
                            row = await bench_kafka(n, Path(tmp) / f"kafka{k}", bootstrap, rate=rate, root=root,
                                                    label=label, **case)
                            print(f"{datetime.now(UTC):%H:%M:%S} load {os.getloadavg()[0]:.1f}: {row['case']}: "
                                  f"{row['per_s']:.1f}/s p50 {row['p50']:.0f} p99 {row['p99']:.0f} ms", flush=True)
                            rows.append(row)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{datetime.now(UTC):%Y-%m-%d}")
    print(table(rows))


if __name__ == "__main__":
    asyncio.run(main())
