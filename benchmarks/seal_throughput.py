"""Sealed notices per second and latency percentiles of the seal service, on this machine.

    .venv/bin/python -m benchmarks.seal_throughput [--notices 200] [--kafka auto|HOST:PORT|off]

Three levels, each bounded in count:

1. ``sign``: render a notice (ReportLab, CJK font) and seal it (pyHanko PAdES B-B with the seal
   as the visible field, ECDSA P-256), in process, one at a time and with 4 in flight;
2. ``handler``: the SealDocument handler with its SQLite database: rules, rendering, signing, the
   file, the document row, the hash-chained usage log and the outbox row, one transaction each;
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
from services.seal.adapters.render import Notice, render_notice
from services.seal.adapters.signing import SealKey, SoftwareSignerProvider, seal_pdf

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
            pdf, box = render_notice(Notice("受理通知书", UNIT_NAME, PARAGRAPHS, date(2024, 8, 2), addressee="张三",
                                            numbers=[("受理编号", f"SL-2024-{i:06d}")]))
            await seal_pdf(pdf, provider.signer_for(seal_key), face, box=box)
            latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summary(f"sign, {concurrency} in flight", latencies, time.perf_counter() - start)


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


async def bench_handler(n: int, tmp: Path) -> dict:
    from services.seal.app import create_service
    from services.seal.usecases.documents import seal_document

    svc = create_service(_settings(tmp))
    # without Kafka the relay's flush at stop cannot publish; its warning is expected here
    logging.getLogger("services.runtime.outbox").setLevel(logging.ERROR)
    await svc.start(kafka=False)
    try:
        await _issue(svc, "SCJG")
        latencies: list[float] = []
        start = time.perf_counter()
        for i in range(n):
            t = time.perf_counter()
            async with svc.uow() as uow:
                await seal_document(svc, uow, _command(i, "SCJG"), str(uuid.uuid4()))
                await uow.commit()
            latencies.append(time.perf_counter() - t)
        return summary("handler + SQLite (rules, render, sign, file, log, outbox)", latencies, time.perf_counter() - start)
    finally:
        await svc.stop()


def _local_bootstrap() -> str | None:
    from tools import kafka_local

    data_dir = kafka_local.default_data_dir()
    if kafka_local.running_pid(data_dir) is None:
        return None
    return kafka_local.bootstrap_of(kafka_local.read_properties(data_dir / "server.properties"))


async def bench_kafka(n: int, tmp: Path, bootstrap: str, rate: float | None = None) -> dict:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    from contracts.envelope import Envelope, parse
    from contracts.topics import get_topic
    from services.runtime.testing import running
    from services.seal.app import create_service

    unit = f"B{uuid.uuid4().hex[:8].upper()}"
    svc = create_service(_settings(tmp, kafka_bootstrap_servers=bootstrap))
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    async with running(svc):
        await _issue(svc, unit)
        await consumer.start()
        await producer.start()
        try:
            parts = [TopicPartition("seal.documents", p) for p in range(get_topic("seal.documents").partitions)]
            consumer.assign(parts)
            await consumer.seek_to_end(*parts)
            for tp in parts:
                await consumer.position(tp)
            # warm up: one request answered means the service's consumer has joined its group
            warm = Envelope.wrap(_command(0, unit))
            await producer.send_and_wait(warm.topic, warm.body(), key=warm.key, headers=warm.kafka_headers())
            deadline = time.perf_counter() + 120
            warmed = False
            while not warmed and time.perf_counter() < deadline:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    warmed = warmed or any(parse(r.headers, r.value).data.request_id == warm.data.request_id for r in records)
            sent: dict[str, float] = {}
            latencies: list[float] = []
            start = time.perf_counter()

            async def produce() -> None:
                for i in range(n):
                    env = Envelope.wrap(_command(i, unit))
                    sent[env.data.request_id] = time.perf_counter()
                    await producer.send(env.topic, env.body(), key=env.key, headers=env.kafka_headers())
                    if rate:
                        await producer.flush()
                        await asyncio.sleep(1 / rate)
                await producer.flush()

            async def read() -> None:
                deadline = time.perf_counter() + max(120, n)
                while len(latencies) < n and time.perf_counter() < deadline:
                    for records in (await consumer.getmany(timeout_ms=200)).values():
                        now = time.perf_counter()
                        for rec in records:
                            rid = parse(rec.headers, rec.value).data.request_id
                            if rid in sent:
                                latencies.append(now - sent.pop(rid))

            # read while producing, so that a paced run measures each answer when it arrives
            await asyncio.gather(produce(), read())
            wall = time.perf_counter() - start
        finally:
            await producer.stop()
            await consumer.stop()
    how = f"{rate:g} per second offered" if rate else f"{n} queued at once"
    return summary(f"end to end over Kafka ({how})", latencies, wall)


def table(rows: list[dict]) -> str:
    out = ["| case | notices | per second | p50 ms | p90 ms | p99 ms |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        out.append(f"| {r['case']} | {r['n']} | {r['per_s']:.1f} | {r['p50']:.0f} | {r['p90']:.0f} | {r['p99']:.0f} |")
    return "\n".join(out)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notices", type=int, default=200)
    ap.add_argument("--kafka", default="auto", help="auto, off, or a bootstrap address on this machine")
    args = ap.parse_args()
    n = max(1, min(args.notices, 5000))
    rows = [await bench_sign(min(n, 50), 1), await bench_sign(n, 1), await bench_sign(n, 4)]
    rows = rows[1:]  # the first run only warms the font cache and imports
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(await bench_handler(n, Path(tmp) / "handler"))
        bootstrap = None if args.kafka == "off" else (_local_bootstrap() if args.kafka == "auto" else args.kafka)
        if bootstrap:
            host = bootstrap.split(":")[0]
            if host not in ("127.0.0.1", "localhost", "::1"):
                raise SystemExit("the benchmark talks to a broker on this machine only")
            rows.append(await bench_kafka(n, Path(tmp) / "kafka", bootstrap))
            rows.append(await bench_kafka(min(n, 100), Path(tmp) / "kafka-paced", bootstrap, rate=10))
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{datetime.now(UTC):%Y-%m-%d}")
    print(table(rows))


if __name__ == "__main__":
    asyncio.run(main())
