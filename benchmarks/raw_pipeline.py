"""The peer of the handler path: a raw aiokafka consume -> produce loop, what the bus allows a
consumer that does the least a service could do with the same records.

For each batch of up to ``batch`` records (``getmany``): parse the JSON body and the CloudEvents
headers, build one output message per input (JSON, the input's key, CloudEvents headers), send
them all with the suite's producer settings (acks=all, idempotent, linger 5 ms), wait for every
acknowledgement, then commit the offsets: the same "outputs acknowledged before the offsets move"
order as the runtime. No database, no deduplication.

    .venv/bin/python -m benchmarks.raw_pipeline --bootstrap 127.0.0.1:29592 --events 5000

The clock runs from the first record received to the last commit (the consumer group's join is
not counted, on either side of :mod:`benchmarks.compare`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from benchmarks.pipeline_common import (
    IN_TOPIC,
    OUT_TOPIC,
    PipelineResult,
    ensure_pipeline_topics,
    produce_inputs,
    start_group_at_end,
)


async def consume_produce(bootstrap: str, events: int, batch: int, in_topic: str, out_topic: str, group: str) -> PipelineResult:
    consumer = AIOKafkaConsumer(
        in_topic, bootstrap_servers=bootstrap, group_id=group,
        auto_offset_reset="earliest", enable_auto_commit=False, max_poll_records=batch,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    await consumer.start()
    done = 0
    started = cpu = 0.0
    try:
        while done < events:
            polled = await consumer.getmany(timeout_ms=50, max_records=batch)
            if not polled:
                continue
            if not started:
                started = time.perf_counter()
                cpu = time.process_time()
            futures = []
            for records in polled.values():
                for rec in records:
                    headers = {k: v.decode() for k, v in rec.headers}
                    data = json.loads(rec.value)
                    out = json.dumps({"widget": data["widget"], "count": 1}).encode()
                    out_headers = [
                        ("ce_id", str(uuid.uuid4()).encode()),
                        ("ce_source", b"urn:onewindow:bench"),
                        ("ce_type", b"onewindow.bench.WidgetCounted.v1"),
                        ("ce_specversion", b"1.0"),
                        ("ce_subject", headers.get("ce_subject", "").encode()),
                        ("content-type", b"application/json"),
                    ]
                    futures.append(await producer.send(out_topic, out, key=rec.key, headers=out_headers))
                    done += 1
            await asyncio.gather(*futures)
            await consumer.commit()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
    finally:
        await consumer.stop()
        await producer.stop()
    return PipelineResult("raw", events, batch, elapsed, cpu_seconds=cpu)


async def run(bootstrap: str, events: int, batch: int) -> PipelineResult:
    in_topic, out_topic = await ensure_pipeline_topics(bootstrap)
    group = f"bench-raw-{uuid.uuid4().hex[:8]}"
    await start_group_at_end(bootstrap, group, in_topic)
    await produce_inputs(bootstrap, in_topic, events)
    return await consume_produce(bootstrap, events, batch, in_topic, out_topic, group)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"))
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=100)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.bootstrap, args.events, args.batch)).as_dict()))


if __name__ == "__main__":
    main()


__all__ = ["IN_TOPIC", "OUT_TOPIC", "consume_produce", "run"]
