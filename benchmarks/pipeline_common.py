"""What the handler-path benchmark and its raw aiokafka peer share: the topics, the events, the
input records, fresh consumer groups and fresh databases.

Both sides read the same kind of input (a CloudEvents record with a small JSON body) from a topic
of two partitions and write one record per input to another. The topics are created once and
kept (one hour of retention); each run produces its own records and gives its consumer group
committed offsets at the topic's end first, so it reads exactly what it produced.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import Field

from contracts.base import Event
from contracts.envelope import Envelope
from tools import kafka_local

IN_TOPIC = "bench.pipeline.in"
OUT_TOPIC = "bench.pipeline.out"
PARTITIONS = 2
_CONFIG = {"retention.ms": str(3_600_000), "segment.ms": str(600_000)}


class BenchWidgetArrived(Event, source="bench", topic=IN_TOPIC, key_field="widget"):
    """Input of the pipeline benchmarks (not in the catalog)."""

    widget: str = Field(description="Widget name, the key.")
    note: str = Field("", description="Payload padding.")


class BenchWidgetCounted(Event, source="bench", topic=OUT_TOPIC, key_field="widget"):
    """Output of the pipeline benchmarks: one per input."""

    widget: str
    count: int


@dataclass
class PipelineResult:
    side: str
    events: int
    batch: int
    seconds: float
    database: str = ""
    #: CPU seconds of this process (both the consumer's and the producer's work) over the run.
    cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_us_per_event(self) -> float:
        return 1e6 * self.cpu_seconds / self.events if self.events else 0.0

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "events_per_s": round(self.per_second), "cpu_us_per_event": round(self.cpu_us_per_event)}


async def ensure_pipeline_topics(bootstrap: str, _side: str = "") -> tuple[str, str]:
    specs = [kafka_local.TopicSpec(IN_TOPIC, PARTITIONS, _CONFIG), kafka_local.TopicSpec(OUT_TOPIC, PARTITIONS, _CONFIG)]
    await kafka_local.ensure_topics(bootstrap, specs, with_dlq=False)
    return IN_TOPIC, OUT_TOPIC


async def start_group_at_end(bootstrap: str, group: str, topic: str = IN_TOPIC) -> None:
    """Commit ``group``'s offsets at the current end of ``topic``: it then reads only what is
    produced afterwards (earlier runs' records stay in the topic)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.commit({tp: ends[tp] for tp in tps})
    finally:
        await consumer.stop()


def input_records(events: int, keys: int | None = None) -> list[Envelope]:
    """``events`` inputs over ``keys`` widgets (default: a quarter as many, so that a widget is
    seen about four times: its first event inserts a row, the others update it)."""
    run = uuid.uuid4().hex[:6]
    keys = keys or max(1, events // 4)
    return [Envelope.wrap(BenchWidgetArrived(widget=f"{run}-{i % keys}", note="x" * 64)) for i in range(events)]


async def produce_inputs(bootstrap: str, topic: str, events: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        futs = [await producer.send(topic, e.body(), key=e.key, headers=e.kafka_headers()) for e in input_records(events)]
        await asyncio.gather(*futs)
    finally:
        await producer.stop()


@contextlib.asynccontextmanager
async def fresh_postgres(admin_url: str) -> AsyncIterator[str]:
    """A new, empty database on the server of ``admin_url``, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url)
    name = f"bench_{uuid.uuid4().hex[:10]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)

    def run(sql: str) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql)

    await asyncio.to_thread(run, f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        await asyncio.to_thread(run, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
