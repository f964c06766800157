"""Read the public topics from the beginning, as any subscriber could, up to their end now.

A fresh consumer without a group (partitions assigned by hand, nothing committed), so reading
never disturbs the services' consumer groups and every run starts from the first record kept.
Records that are not valid CloudEvents of a known type are counted and skipped: a report must
not stop at one bad record (the services dead-letter those anyway).

A reader that wants only what was appended after some moment (the simulator: what its own replay
caused, on a broker other runs and tests share) takes :func:`end_offsets` at that moment and
passes them to :func:`read_topics` as ``start_offsets``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts.envelope import Envelope, EnvelopeError, parse

from .figures import REPORT_TOPICS

log = logging.getLogger(__name__)


@dataclass
class ReadResult:
    envelopes: list[Envelope] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count
    missing_topics: list[str] = field(default_factory=list)


async def end_offsets(
    topics: Iterable[str] = REPORT_TOPICS, *, bootstrap_servers: str, **client_options: Any,
) -> dict[TopicPartition, int]:
    """The end offset of every partition of ``topics`` now (topics that do not exist are left out)."""
    partitions = [TopicPartition(name, p)
                  for name, ids in (await _partitions(list(topics), bootstrap_servers, client_options)).items()
                  for p in ids]
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False,
                                **client_options)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def read_topics(
    topics: Iterable[str] = REPORT_TOPICS, *, bootstrap_servers: str, timeout_s: float = 60.0,
    start_offsets: Mapping[TopicPartition, int] | None = None, **client_options: Any,
) -> ReadResult:
    """Every record of ``topics`` from the beginning to the end offsets taken at the start.

    With ``start_offsets`` (from :func:`end_offsets`), each partition named there is read from
    that offset instead of its beginning; a partition not named (a topic created since) is read
    from its beginning."""
    import asyncio

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", max_partition_fetch_bytes=4 * 1024 * 1024, **client_options,
    )
    result = ReadResult()
    await consumer.start()
    try:
        partitions: list[TopicPartition] = []
        for name, ids in (await _partitions(list(topics), bootstrap_servers, client_options)).items():
            if not ids:
                result.missing_topics.append(name)
                continue
            partitions += [TopicPartition(name, p) for p in sorted(ids)]
        if not partitions:
            return result
        consumer.assign(partitions)
        starts = {tp: off for tp, off in (start_offsets or {}).items() if off > 0}
        from_beginning = [tp for tp in partitions if tp not in starts]
        if from_beginning:
            await consumer.seek_to_beginning(*from_beginning)
        for tp in partitions:
            if tp in starts:
                consumer.seek(tp, starts[tp])
        ends = await consumer.end_offsets(partitions)
        pending = {tp for tp in partitions if ends[tp] > starts.get(tp, 0)}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while pending:
            if loop.time() > deadline:
                raise TimeoutError(f"reading the topics took longer than {timeout_s:.0f}s")
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for tp, records in batch.items():
                for rec in records:
                    if rec.offset >= ends[tp]:
                        continue
                    try:
                        result.envelopes.append(parse(rec.headers or [], rec.value or b""))
                    except EnvelopeError as exc:
                        reason = exc.reason.split(":")[0]
                        result.skipped[reason] = result.skipped.get(reason, 0) + 1
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    if result.skipped:
        log.warning("skipped records that are not valid events: %s", result.skipped)
    return result


async def _partitions(topics: list[str], bootstrap_servers: str, options: dict[str, Any]) -> dict[str, list[int]]:
    """Partition ids of each topic (empty when the topic does not exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **options)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    out = {name: [] for name in topics}
    for t in described:
        if t["error_code"] == 0:
            out[t["topic"]] = [p["partition"] for p in t["partitions"]]
    return out
