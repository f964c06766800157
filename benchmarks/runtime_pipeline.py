"""The runtime's own cost per event: records through an idempotent handler (inbox row + state
change + outbox row in one transaction) and the relay publishing the results, on the real broker,
SQLite or PostgreSQL. The peer is :mod:`benchmarks.raw_pipeline` (same records, same batch size);
:mod:`benchmarks.compare` runs both interleaved.

    .venv/bin/python -m benchmarks.runtime_pipeline --bootstrap 127.0.0.1:29592 --events 5000 \\
        [--database-url URL] [--batch 100] [--handler event|batch]

The service has one consumer group and nothing else: its handler reads the widget's counter row,
inserts or updates it and emits one ``BenchWidgetCounted`` (a quarter as many widgets as events,
so a row is inserted once and updated about three times). ``--handler event`` is a per-event
handler as services write them today (``session.get``, ``session.add``, ``ctx.emit``);
``--handler batch`` is the same logic as a batch handler (:class:`services.runtime.consumer.Batch`:
the batch's rows loaded in one query).

The clock runs from the first record the handler receives (the consumer group's join is not
counted) until every input is processed and every output acknowledged by the broker, read from
the service's own metrics: nothing polls the database meanwhile, and nothing consumes the
output topic.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from sqlmodel import Field as SQLField
from sqlmodel import select

from benchmarks.pipeline_common import (
    IN_TOPIC,
    BenchWidgetArrived,
    BenchWidgetCounted,
    PipelineResult,
    ensure_pipeline_topics,
    fresh_postgres,
    produce_inputs,
    start_group_at_end,
)
from services.runtime.app import Service
from services.runtime import consumer as _consumer
from services.runtime.consumer import HandlerContext
from services.runtime.db import service_registry
from services.runtime.settings import ServiceSettings
from services.runtime.testing import running

Base, metadata = service_registry()


class BenchCounter(Base, table=True):
    widget: str = SQLField(primary_key=True)
    count: int = 0


async def count_widget(event: BenchWidgetArrived, ctx: HandlerContext) -> None:
    """A per-event handler as services write them."""
    row = await ctx.session.get(BenchCounter, event.widget)
    if row is None:
        row = BenchCounter(widget=event.widget, count=0)
        ctx.session.add(row)
    row.count += 1
    await ctx.emit(BenchWidgetCounted(widget=event.widget, count=row.count))


# Older runtimes (the "before" of docs/benchmarks.md) have no batch handlers.
Batch = getattr(_consumer, "Batch", None)


async def count_widgets(batch: "Batch[BenchWidgetArrived]") -> None:
    """The same as a batch handler: the batch's rows in one query, one flush at the commit."""
    session = batch.session
    wanted = {event.widget for event, _ in batch}
    rows = {r.widget: r for r in (await session.exec(select(BenchCounter).where(BenchCounter.widget.in_(wanted)))).all()}
    for event, ctx in batch:
        row = rows.get(event.widget)
        if row is None:
            row = rows[event.widget] = BenchCounter(widget=event.widget, count=0)
            session.add(row)
        row.count += 1
        await ctx.emit(BenchWidgetCounted(widget=event.widget, count=row.count))


GROUP = "count"


def make_service(data_dir: Path, bootstrap: str, database_url: str | None, batch: int, handler: str) -> Service:
    name = f"bench{uuid.uuid4().hex[:8]}"
    settings = ServiceSettings(
        data_dir=data_dir, database_url=database_url, kafka_bootstrap_servers=bootstrap,
        auth_secret="bench-secret-0123456789abcdef0123456789", consumer_batch_size=batch, log_level="WARNING",
    )
    svc = Service(name, settings, metadata, None)
    svc.subscribe(GROUP, count_widgets if handler == "batch" else count_widget)
    return svc


@contextlib.asynccontextmanager
async def database(database_url: str | None) -> AsyncIterator[str | None]:
    """``None`` (SQLite in the service's temporary folder) or a fresh database on the PostgreSQL
    server of ``database_url``."""
    if database_url is None or database_url.startswith("sqlite"):
        yield database_url
        return
    async with fresh_postgres(database_url) as url:
        yield url


def _value(counter: object) -> float:
    return sum(s.value for m in counter.collect() for s in m.samples if s.name.endswith("_total"))  # type: ignore[attr-defined]


async def handler_path(bootstrap: str, events: int, batch: int, database_url: str | None = None,
                       handler: str = "event", timeout: float = 300.0) -> PipelineResult:
    await ensure_pipeline_topics(bootstrap)
    kind = "sqlite" if database_url is None or database_url.startswith("sqlite") else "postgresql"
    with tempfile.TemporaryDirectory(prefix="bench-rt-") as tmp:
        async with database(database_url) as url:
            svc = make_service(Path(tmp), bootstrap, url, batch, handler)
            await start_group_at_end(bootstrap, f"{svc.name}.{GROUP}", IN_TOPIC)
            await produce_inputs(bootstrap, IN_TOPIC, events)
            m = svc.metrics
            async with running(svc):
                deadline = time.monotonic() + timeout
                while _value(m.messages_received) == 0:
                    if time.monotonic() > deadline:
                        raise TimeoutError("the handler received nothing")
                    await asyncio.sleep(0.002)
                started = time.perf_counter()
                cpu = time.process_time()
                while _value(m.messages_processed) < events or _value(m.outbox_published) < events:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"processed {_value(m.messages_processed)}, published {_value(m.outbox_published)} of {events}")
                    await asyncio.sleep(0.005)
                elapsed = time.perf_counter() - started
                cpu = time.process_time() - cpu
                failed = _value(m.messages_failed) + _value(m.dead_letters)
            if failed:
                raise RuntimeError(f"{failed} handler failures / dead letters during the benchmark")
    return PipelineResult(f"handler-{handler}", events, batch, elapsed, kind, cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"))
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--database-url", default=None, help="PostgreSQL server (a fresh database is made on it); default SQLite")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--handler", choices=("event", "batch"), default="event")
    args = ap.parse_args()
    result = asyncio.run(handler_path(args.bootstrap, args.events, args.batch, args.database_url, args.handler))
    print(json.dumps(result.as_dict()))


if __name__ == "__main__":
    main()
