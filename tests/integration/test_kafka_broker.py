"""The real Apache Kafka broker (tests/kafka_plugin.py picks it): it answers, it is 4.x, the
catalog's topics exist, topic creation is idempotent, and a CloudEvent survives a round trip
through aiokafka and through FastStream with every ``ce_`` header intact. For the project's own
broker, also its life cycle: a second start is a no-op, stop leaves no JVM, and a broker that
cannot start says why."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.admin import ApiVersionRequest
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import Field

import contracts
from contracts.base import Event
from contracts.envelope import Envelope, decode_headers, parse
from contracts.topics import DAY_MS, Audience, Topic
from tools import kafka_local

pytestmark = pytest.mark.integration

# A test-only topic and event (source ``test_kafka``: outside the catalog and the schemas).
# The Topic is built directly rather than declared with contracts.topics.topic(), which would
# add it to the catalog of every other test in the session.
PROBE = Topic(
    f"test.kafka.probe.{uuid.uuid4().hex[:12]}", owner="test_kafka", key="receipt_no",
    audience=Audience.INTERNAL, partitions=3, retention_ms=2 * DAY_MS,
    description="Round trips of the broker tests.",
)


class KafkaProbeRecorded(Event, source="test_kafka", topic=PROBE.name, version=1,
                         key_field="receipt_no"):
    """A probe sent through the broker and compared on arrival."""

    receipt_no: str = Field(description="Receipt number; the Kafka key.")
    note: str = Field(description="Free text, non-ASCII on purpose.")
    count: int = Field(description="Any number.")


def _envelope(note: str) -> Envelope:
    event = KafkaProbeRecorded(receipt_no=f"TEST{uuid.uuid4().hex[:10].upper()}",
                               note=f"一窗受理 · {note}", count=3)
    return Envelope.wrap(
        event, extensions={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})


def _assert_intact(sent: Envelope, headers: list[tuple[str, bytes]], body: bytes,
                   key: bytes | None) -> None:
    got = decode_headers(headers)
    sent_ce = {k: v for k, v in sent.headers().items() if k.startswith("ce_")}
    assert {"ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time", "ce_subject",
            "ce_traceparent"} <= set(sent_ce)
    assert {k: v for k, v in got.items() if k.startswith("ce_")} == sent_ce
    assert got["content-type"] == "application/json"
    assert key == sent.key
    back = parse(headers, body)
    assert back == sent
    assert isinstance(back.data, KafkaProbeRecorded) and back.data.note == sent.data.note


@pytest.fixture(scope="module")
def probe_topic(kafka_bootstrap: str) -> Iterator[str]:
    kafka_local.ensure_topics_sync(kafka_bootstrap, [PROBE])
    yield PROBE.name
    kafka_local.run_sync(lambda: kafka_local.delete_topics(kafka_bootstrap, [PROBE.name, PROBE.dlq]))


async def _topic_configs(bootstrap: str, names: list[str]) -> dict[str, dict[str, str]]:
    async with kafka_local._admin(bootstrap, 10) as admin:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
    out: dict[str, dict[str, str]] = {}
    for response in responses:
        for res in response.to_object()["resources"]:
            assert res["error_code"] == 0, res
            out[res["resource_name"]] = {e["config_names"]: e["config_value"]
                                         for e in res["config_entries"]}
    return out


# ---------------------------------------------------------------------------------- broker


async def test_the_broker_answers_metadata_and_is_kafka_4(kafka_broker) -> None:
    cluster = await kafka_local.describe_cluster(kafka_broker.bootstrap)
    addresses = {f"{b['host']}:{b['port']}" for b in cluster["brokers"]}
    assert kafka_broker.bootstrap in addresses
    assert cluster["cluster_id"]

    client = AIOKafkaClient(bootstrap_servers=kafka_broker.bootstrap)
    await client.bootstrap()
    try:
        node = next(iter(client.cluster.brokers())).nodeId
        versions = await client.send(node, ApiVersionRequest())
    finally:
        await client.close()
    fetch = {key: (lo, hi) for key, lo, hi in versions.api_versions}[1]
    # Kafka 4.0 removed Fetch v0-v3 (KIP-896): a broker that still offers them is 3.x or older.
    assert fetch[0] >= 4, f"Fetch versions {fetch}: not a Kafka 4.x broker"
    if kafka_broker.version is not None:  # the local broker logs its exact version
        assert kafka_broker.version.startswith("4."), kafka_broker.version


async def test_every_catalog_topic_exists_as_declared(kafka_bootstrap: str, probe_topic: str) -> None:
    declared = [*contracts.all_topics(), PROBE]  # the catalog, whatever it holds today, and ours
    present = await kafka_local.list_topics(kafka_bootstrap)
    for t in declared:
        assert present.get(t.name) == t.partitions, t.name
        assert present.get(t.dlq) == 1, t.dlq
    configs = await _topic_configs(kafka_bootstrap, [t.name for t in declared])
    for t in declared:
        assert configs[t.name]["retention.ms"] == str(t.retention_ms), t.name
        assert configs[t.name]["cleanup.policy"] == ("compact" if t.compacted else "delete"), t.name


async def test_topic_creation_is_idempotent(kafka_bootstrap: str) -> None:
    t = Topic(f"test.kafka.idem.{uuid.uuid4().hex[:12]}", owner="test_kafka", key=None,
              audience=Audience.INTERNAL, partitions=2, retention_ms=DAY_MS)
    try:
        first = await kafka_local.ensure_topics(kafka_bootstrap, [t])
        assert first == {t.name: "created", t.dlq: "created"}
        second = await kafka_local.ensure_topics(kafka_bootstrap, [t])
        assert second == {t.name: "exists", t.dlq: "exists"}
        present = await kafka_local.list_topics(kafka_bootstrap)
        assert (present[t.name], present[t.dlq]) == (2, 1)

        # The whole catalog again: nothing to create.
        again = await kafka_local.ensure_topics(kafka_bootstrap, contracts.all_topics())
        assert set(again.values()) <= {"exists"}

        # A topic declared with more partitions grows; fewer never shrink it.
        grown = Topic(t.name, t.owner, t.key, t.audience, partitions=4, retention_ms=DAY_MS)
        assert (await kafka_local.ensure_topics(kafka_bootstrap, [grown]))[t.name] == "expanded from 2"
        assert (await kafka_local.ensure_topics(kafka_bootstrap, [t]))[t.name] == "exists"
        assert (await kafka_local.list_topics(kafka_bootstrap))[t.name] == 4
    finally:
        await kafka_local.delete_topics(kafka_bootstrap, [t.name, t.dlq])


async def test_a_refused_topic_is_reported(kafka_bootstrap: str) -> None:
    bad = kafka_local.TopicSpec(f"test.kafka.bad.{uuid.uuid4().hex[:12]}", 1,
                                {"cleanup.policy": "shred"})
    with pytest.raises(kafka_local.TopicError, match=bad.name):
        await kafka_local.ensure_topics(kafka_bootstrap, [bad])


async def test_the_topic_factory_gives_fresh_topics(kafka_bootstrap: str, kafka_topic) -> None:
    a, b = kafka_topic("factory", partitions=2), kafka_topic("factory")
    assert a != b and a.startswith("test.factory.")
    present = await kafka_local.list_topics(kafka_bootstrap)
    assert (present[a], present[b]) == (2, 1)


# ---------------------------------------------------------------------------- round trips


async def test_a_cloudevent_round_trips_through_aiokafka(kafka_bootstrap: str, probe_topic: str) -> None:
    sent = _envelope("aiokafka")
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all",
                                enable_idempotence=True)
    await producer.start()
    try:
        meta = await producer.send_and_wait(probe_topic, sent.body(), key=sent.key,
                                            headers=sent.kafka_headers())
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(probe_topic, meta.partition)
        consumer.assign([tp])
        consumer.seek(tp, meta.offset)
        record = await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await consumer.stop()
    assert record.offset == meta.offset
    _assert_intact(sent, list(record.headers), record.value, record.key)


async def test_a_cloudevent_round_trips_through_faststream(kafka_bootstrap: str, probe_topic: str) -> None:
    sent = _envelope("faststream")
    arrived: asyncio.Future[tuple[list[tuple[str, bytes]], bytes, bytes | None]] = \
        asyncio.get_running_loop().create_future()
    broker = KafkaBroker(kafka_bootstrap, logger=None)

    @broker.subscriber(probe_topic, group_id=f"test-kafka-{uuid.uuid4().hex[:8]}",
                       auto_offset_reset="earliest")
    async def on_probe(msg: KafkaMessage) -> None:
        raw = msg.raw_message
        if decode_headers(raw.headers).get("ce_id") == sent.id and not arrived.done():
            arrived.set_result((list(raw.headers), raw.value, raw.key))

    async with broker:
        await broker.start()
        await broker.publish(sent.body(), topic=probe_topic, key=sent.key, headers=sent.headers())
        headers, body, key = await asyncio.wait_for(arrived, 60)
    _assert_intact(sent, headers, body, key)


# ----------------------------------------------------------- the project's own broker only


def _local_only(kafka_broker) -> None:
    if kafka_broker.source != "local":
        pytest.skip(f"life cycle of the project's own broker; this run uses {kafka_broker.source}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_starting_again_is_a_no_op(kafka_broker) -> None:
    _local_only(kafka_broker)
    pid = kafka_local.status().pid
    again = kafka_local.start()
    assert again.already_running and again.pid == pid and again.seconds == 0
    assert again.bootstrap == kafka_broker.bootstrap
    assert set(again.topics.values()) <= {"exists"}


def test_a_second_broker_starts_cold_and_stops_without_a_trace(kafka_broker, tmp_path: Path) -> None:
    _local_only(kafka_broker)
    data = tmp_path / "kafka"
    port, controller = _free_port(), _free_port()
    try:
        info = kafka_local.start(data, port=port, controller_port=controller, heap="256m")
        assert not info.already_running and info.formatted
        assert info.bootstrap == f"127.0.0.1:{port}"
        assert info.version and info.version.startswith("4.")
        st = kafka_local.status(data)
        assert st.running and st.answering and st.pid == info.pid
        assert st.topic_count == len(kafka_local.catalog_specs())

        assert kafka_local.start(data, port=port, controller_port=controller).already_running
    finally:
        result = kafka_local.stop(data)
    assert result.stopped == [info.pid]
    assert kafka_local._find_brokers(data) == []
    assert not (data / kafka_local.PID_FILE).exists()
    assert not kafka_local.status(data).running


def test_a_broker_that_cannot_start_says_why_and_leaves_no_jvm(kafka_broker, tmp_path: Path) -> None:
    # Its port is the one the broker under test listens on: that broker answers metadata
    # requests there before the new one fails to bind, and must not pass for it.
    _local_only(kafka_broker)
    data = tmp_path / "kafka"
    taken = kafka_broker.bootstrap
    with pytest.raises(kafka_local.BrokerStartError) as failure:
        kafka_local.start(data, port=int(taken.rsplit(":", 1)[1]), controller_port=_free_port(),
                          heap="256m", wait=60)
    message = str(failure.value)
    assert f"failed to bind to {taken}: Address already in use" in message
    assert failure.value.log_file == data / "logs" / "server.log"
    assert kafka_local._find_brokers(data) == []
    assert not (data / kafka_local.PID_FILE).exists()
