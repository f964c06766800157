"""Poison messages on every topic of the catalog (contracts.all_topics()): records that are no
CloudEvent at all, CloudEvents of a type nobody knows, and events of the topic's own types whose
body breaks their schema. Every consumer group subscribed to the topic dead-letters each of them
to ``<topic>.dlq`` with the reason, counts it in ``onewindow_dead_letters_total`` on its
service's /metrics, and moves on: applications filed afterwards go through every service as if
nothing had happened (tests/faults/load.py checks them). A topic no service consumes gets no dead
letters (there is nobody to refuse them); the test names those topics."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

from aiokafka import AIOKafkaProducer

import contracts
from contracts.base import event_types
from services.runtime.deadletters import read as read_dead_letters
from tests.e2e.harness import Suite, declared_subscriptions, eventually, subscriptions

from .sizes import SEED
from .load import Driver, check_outcome, prepare

AFTER = 24  # applications filed after the poison


def poison_for(topic: str) -> list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]:
    """Three bad records for ``topic``: (label, key, body, headers)."""
    own = sorted(t for t, cls in event_types().items() if cls.topic == topic)
    def ce(ce_type: str) -> list[tuple[str, bytes]]:
        return [(k, v.encode()) for k, v in {
            "ce_id": f"poison-{uuid.uuid4()}", "ce_source": "urn:onewindow:poisoner", "ce_type": ce_type,
            "ce_specversion": "1.0", "content-type": "application/json"}.items()]
    out = [
        ("not a CloudEvent", b"poison", b"\x00\xff not json at all", []),  # keyed: some topics are compacted
        ("unknown type", b"poison", b"{}", ce("onewindow.nobody.NoSuchEvent.v1")),
    ]
    if own:
        out.append(("breaks its schema", b"poison", b'{"receipt_no": 42, "unit_code": null}', ce(own[0])))
    return out


async def test_poison_on_every_topic_is_dead_lettered_and_counted_and_the_rest_flows(
    fault_suite: Suite, tmp_path: Path
) -> None:
    suite = fault_suite
    # Who consumes what: the groups the services declare (built here with the suite's settings)
    # must all be on the broker; the broker's view (it may show more, e.g. demo-only handlers)
    # is the truth the counts are checked against.
    declared = declared_subscriptions(tmp_path / "scratch", suite.env)
    topics = [t.name for t in contracts.all_topics()]
    sent: dict[str, int] = {}
    producer = AIOKafkaProducer(bootstrap_servers=suite.bootstrap, acks="all")
    await producer.start()
    try:
        for topic in topics:
            records = poison_for(topic)
            for _, key, body, headers in records:
                await producer.send_and_wait(topic, body, key=key, headers=headers)
            sent[topic] = len(records)
    finally:
        await producer.stop()

    # Each subscriber of a topic dead-letters each poison record, with its reason, and counts it.
    def counted() -> dict[str, list[tuple[str, str, str]]]:
        subs = subscriptions(suite.bootstrap)
        for topic, groups in declared.items():
            assert groups <= {g for _, _, g in subs.get(topic, [])}, (topic, groups, subs.get(topic))
        for topic, consumers in subs.items():
            for service, handler, _group in consumers:
                n = suite.metric(service, "onewindow_dead_letters_total", handler=handler, topic=topic,
                                 reason="invalid")
                assert n == sent[topic], (service, handler, topic, n, sent[topic])
        return subs

    subs = eventually(counted, timeout=120, interval=1, what="every subscriber counted the poison of its topics")
    for topic in topics:
        letters = await read_dead_letters(topic, bootstrap=suite.bootstrap)
        by_group = Counter(d.headers["dlq_consumer"] for d in letters)
        expected = {group: sent[topic] for _, _, group in subs.get(topic, [])}
        assert dict(by_group) == expected, (topic, dict(by_group), expected)
        assert all(d.headers["dlq_reason"] == "invalid" and d.headers["dlq_topic"] == topic for d in letters)
        assert all(d.event_id is None or d.event_id.startswith("poison-") for d in letters)
    unconsumed = sorted(set(topics) - set(subs))
    print(f"poisoned {len(topics)} topics; consumed by the suite: {sorted(subs)}; no consumer: {unconsumed}")
    assert set(subs) <= set(topics), set(subs) - set(topics)

    # ... and the rest keeps flowing.
    work = prepare(suite, AFTER, SEED)
    await Driver(suite, work, concurrency=4).run()
    eventually(lambda: check_outcome(suite, work), timeout=180, interval=2,
               what="applications filed after the poison settled everywhere")
