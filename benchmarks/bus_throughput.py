"""The bus's own limit: raw aiokafka produce -> consume throughput on the local broker, at a
given message size, with the suite's producer settings (acks=all, idempotent, linger 5 ms).

    .venv/bin/python -m benchmarks.bus_throughput --messages 50000 --size 1024

Prints JSON: produce rate, consume rate, and the end-to-end rate (first send to last receive).
The end-to-end benchmark of the suite reports its throughput as a ratio of this figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tools import kafka_local


async def run(bootstrap: str, messages: int, size: int, partitions: int) -> dict[str, float]:
    topic = f"bench.bus.{uuid.uuid4().hex[:8]}"
    await kafka_local.ensure_topics(bootstrap, [kafka_local.TopicSpec(topic, partitions, {})])
    payload = os.urandom(size)
    headers = [("ce_id", b"x" * 36), ("ce_type", b"onewindow.bench.Bench.v1"), ("ce_source", b"urn:onewindow:bench"),
               ("ce_specversion", b"1.0")]
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"bench-{uuid.uuid4().hex[:6]}",
                                auto_offset_reset="earliest", enable_auto_commit=False, max_poll_records=1000)
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5,
                                max_batch_size=256 * 1024)
    await producer.start()
    received = 0
    done = asyncio.Event()
    last_receive = 0.0

    async def consume() -> None:
        nonlocal received, last_receive
        while received < messages:
            batch = await consumer.getmany(timeout_ms=1000, max_records=1000)
            for records in batch.values():
                received += len(records)
            if batch:
                last_receive = time.perf_counter()
                await consumer.commit()
        done.set()

    # make sure the consumer owns its partitions before the clock starts
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=200)
    task = asyncio.create_task(consume())
    start = time.perf_counter()
    futures = []
    for i in range(messages):
        futures.append(await producer.send(topic, payload, key=str(i % 997).encode(), headers=headers))
    await asyncio.gather(*futures)
    produced = time.perf_counter()
    await asyncio.wait_for(done.wait(), timeout=600)
    await task
    await producer.stop()
    await consumer.stop()
    await kafka_local.delete_topics(bootstrap, [topic])
    return {
        "messages": messages,
        "size_bytes": size,
        "partitions": partitions,
        "produce_per_s": round(messages / (produced - start)),
        "end_to_end_per_s": round(messages / (last_receive - start)),
        "seconds": round(last_receive - start, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"))
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--partitions", type=int, default=3)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.bootstrap, args.messages, args.size, args.partitions))))


if __name__ == "__main__":
    main()
