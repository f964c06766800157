"""The runtime's own cost per event: records through an idempotent handler (inbox row + state
change + outbox row in one transaction) and the relay publishing the results, on the real broker,
SQLite or PostgreSQL. Uses the runtime's test service (tests/runtime/example.py).

    .venv/bin/python -m benchmarks.runtime_pipeline --events 20000 [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from contracts.envelope import Envelope
from tools import kafka_local
from services.runtime.testing import running
from tests.runtime.example import IN, OUT, Counter, WidgetArrived, make


async def run(bootstrap: str, events: int, database_url: str | None, batch: int) -> dict[str, object]:
    await kafka_local.ensure_topics(bootstrap, kafka_local.topic_specs([IN, OUT]))
    tmp = Path(tempfile.mkdtemp(prefix="bench-rt-"))
    run_id = uuid.uuid4().hex[:6]
    envs = [Envelope.wrap(WidgetArrived(widget=f"{run_id}-{i}")) for i in range(events)]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    futs = [await producer.send(e.topic, e.body(), key=e.key, headers=e.kafka_headers()) for e in envs]
    await asyncio.gather(*futs)
    await producer.stop()
    svc = make(tmp, database_url=database_url, name=f"bench{run_id}", kafka_bootstrap_servers=bootstrap,
               consumer_batch_size=batch)
    ob = svc.db.tables.outbox
    async with running(svc):
        start = time.perf_counter()
        while True:
            async with svc.uow() as uow:
                n = (await uow.session.execute(
                    select(func.count()).select_from(Counter).where(Counter.widget.startswith(f"{run_id}-")))).scalar_one()
                unsent = (await uow.session.execute(select(func.count()).where(ob.c.sent_at.is_(None)))).scalar_one()
            if n >= events and unsent == 0:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - start
    await kafka_local.delete_topics(bootstrap, [IN.name, OUT.name, IN.dlq, OUT.dlq])
    return {
        "events": events,
        "database": (database_url or "sqlite").split(":")[0],
        "consumer_batch": batch,
        "events_per_s": round(events / elapsed),
        "seconds": round(elapsed, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"))
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--batch", type=int, default=100)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.bootstrap, args.events, args.database_url, args.batch))))


if __name__ == "__main__":
    main()
