"""Reading and replaying dead letters (``<topic>.dlq``).

A dead letter is the original record, unchanged, with headers saying why it failed
(``dlq_reason``, ``dlq_error``, ``dlq_consumer``, where it came from). Once the cause is fixed,
replaying publishes it back to its original topic with its original ``ce_id``: consumers that had
processed it skip it (inbox), the one that failed now processes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts.envelope import decode_headers

from .consumer import DLQ_HEADERS
from .settings import ServiceSettings


@dataclass
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]

    @property
    def event_id(self) -> str | None:
        return self.headers.get("ce_id")

    def summary(self) -> dict[str, Any]:
        return {
            "dlq_offset": f"{self.partition}:{self.offset}",
            "ce_id": self.event_id,
            "ce_type": self.headers.get("ce_type"),
            "reason": self.headers.get("dlq_reason"),
            "error": self.headers.get("dlq_error"),
            "consumer": self.headers.get("dlq_consumer"),
            "from": f"{self.headers.get('dlq_topic')}[{self.headers.get('dlq_partition')}]@{self.headers.get('dlq_offset')}",
            "time": self.headers.get("dlq_time"),
        }

    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v.encode()) for k, v in self.headers.items() if k not in DLQ_HEADERS]


def _options(bootstrap: str | None, options: dict[str, Any] | None = None) -> dict[str, Any]:
    # A running service passes its own connection settings; the CLI reads them from the environment.
    opts = dict(options) if options is not None else ServiceSettings().aiokafka_options()
    if bootstrap:
        opts["bootstrap_servers"] = bootstrap
    return opts


async def read(topic: str, *, limit: int | None = None, bootstrap: str | None = None,
               options: dict[str, Any] | None = None) -> list[DeadLetter]:
    """Every dead letter of ``topic`` currently in ``topic.dlq`` (oldest first)."""
    opts = _options(bootstrap, options)
    parts = await _partitions(opts, f"{topic}.dlq")
    if not parts:
        return []
    consumer = AIOKafkaConsumer(enable_auto_commit=False, group_id=None, **opts)
    await consumer.start()
    out: list[DeadLetter] = []
    try:
        tps = [TopicPartition(f"{topic}.dlq", p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        remaining = {tp: end for tp, end in ends.items() if end > 0}
        while remaining:
            batch = await consumer.getmany(*remaining.keys(), timeout_ms=2000)
            if not batch:
                break
            for tp, records in batch.items():
                for r in records:
                    out.append(DeadLetter(r.partition, r.offset, r.key, r.value, decode_headers(r.headers)))
                    if r.offset + 1 >= remaining.get(tp, 0):
                        remaining.pop(tp, None)
    finally:
        await consumer.stop()
    out.sort(key=lambda d: d.headers.get("dlq_time", ""))
    return out[:limit] if limit else out


async def _partitions(opts: dict[str, Any], topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(**opts)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    for t in described:
        if t.get("topic") == topic and not t.get("error_code"):
            return sorted(p["partition"] for p in t.get("partitions", []))
    return []


async def replay(topic: str, event_ids: set[str] | None = None, *, bootstrap: str | None = None) -> int:
    """Publish the chosen dead letters (all when ``event_ids`` is empty) back to ``topic``."""
    letters = [d for d in await read(topic, bootstrap=bootstrap) if not event_ids or d.event_id in event_ids]
    if not letters:
        return 0
    producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **_options(bootstrap))
    await producer.start()
    try:
        futures = [
            await producer.send(d.headers.get("dlq_topic", topic), d.value, key=d.key, headers=d.original_headers())
            for d in letters
        ]
        for f in futures:
            await f
    finally:
        await producer.stop()
    return len(letters)
