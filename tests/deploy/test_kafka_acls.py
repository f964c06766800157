"""The Kafka ACLs, enforced by a real broker: the project's own (tools/kafka_local.py) started
with SASL/SCRAM-SHA-512 and Kafka's StandardAuthorizer, its users and ACLs those
tools/deploy_gen.py generates for the cluster's KafkaUsers (deploy/k8s/base/kafka/users.yaml).

As each principal, against every topic of the catalog and every dead-letter twin:

- a bureau (county-bureau) reads every public topic, is refused every internal one, and every
  write anywhere;
- each service writes exactly the topics the generator grants it (its own, the commands it sends,
  the twins of what it consumes) and is refused the others; it reads exactly what it consumes and
  the twins of that (its dead-letter API);
- consumer groups: a service may use groups ``<service>.*`` only;
- the operator reads the dead letters and writes them back.

Reads are proven with a record the super user put on every partition 0 beforehand: an allowed
read returns it, a refused one raises TopicAuthorizationFailedError. Nothing is inferred from
a silent empty answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import GroupAuthorizationFailedError, KafkaError, TopicAuthorizationFailedError

import contracts
from tests.e2e.harness import free_port
from tools import deploy_gen, kafka_local
from tools.registry import BUS_SERVICES

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

MARK = b"acl-probe"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, kafka_local.SaslConfig]]:
    data = tmp_path_factory.mktemp("sasl-kafka")
    ports = set()
    while len(ports) < 3:
        ports.add(free_port())
    port, controller, internal = sorted(ports)
    info = kafka_local.start(data, port=port, controller_port=controller, internal_port=internal, sasl=True, wait=120)
    try:
        cfg = kafka_local.sasl_config(data)
        assert cfg is not None
        yield info.bootstrap, cfg
    finally:
        kafka_local.stop(data)


@pytest.fixture(scope="module", autouse=True)
def _quiet() -> Iterator[None]:
    # aiokafka warns at each PLAIN/SCRAM login without TLS, and logs each refusal as an error.
    logger = logging.getLogger("aiokafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def _all_topics() -> list[str]:
    catalog = contracts.all_topics()
    return sorted({t.name for t in catalog} | {t.dlq for t in catalog})


async def _produce(bootstrap: str, options: dict, topics: list[str]) -> dict[str, bool]:
    """topic -> whether the principal's write was accepted."""
    out: dict[str, bool] = {}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=15000, **options)
    await producer.start()
    try:
        for topic in topics:
            try:
                await asyncio.wait_for(producer.send_and_wait(topic, MARK, key=b"acl", partition=0), 30)
                out[topic] = True
            except TopicAuthorizationFailedError:
                out[topic] = False
    finally:
        await producer.stop()
    return out


async def _read(bootstrap: str, options: dict, topic: str) -> bool:
    """Whether the principal may read ``topic`` (no consumer group: the topic ACL alone)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                request_timeout_ms=15000, **options)
    await consumer.start()
    try:
        # Without Describe the topic is absent from the principal's metadata (the broker answers
        # TOPIC_AUTHORIZATION_FAILED for it by name); with Describe but no Read, the fetch fails.
        if topic not in await consumer.topics():
            return False
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        for _ in range(40):
            batch = await consumer.getmany(tp, timeout_ms=500)
            if any(r.value == MARK for r in batch.get(tp, [])):
                return True
        raise AssertionError(f"{topic}: neither a record nor a refusal within 20 s")
    except TopicAuthorizationFailedError:
        return False
    finally:
        await consumer.stop()


async def _reads(bootstrap: str, options: dict, topics: list[str]) -> dict[str, bool]:
    results = await asyncio.gather(*(_read(bootstrap, options, t) for t in topics))
    return dict(zip(topics, results))


@pytest.fixture(scope="module")
def seeded(broker: tuple[str, kafka_local.SaslConfig]) -> list[str]:
    """Every topic with one probe record, written by the super user on the internal listener."""
    _, cfg = broker
    topics = _all_topics()
    written = kafka_local.run_sync(lambda: _produce(cfg.admin_bootstrap, cfg.admin_options(), topics))
    assert all(written.values()), written
    return topics


def test_the_broker_refuses_a_client_without_credentials_or_with_a_wrong_password(
        broker: tuple[str, kafka_local.SaslConfig]) -> None:
    bootstrap, cfg = broker

    async def connect(options: dict) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=5000, **options)
        try:
            await asyncio.wait_for(producer.start(), 20)
        finally:
            with contextlib.suppress(Exception):
                await producer.stop()

    with pytest.raises((KafkaError, asyncio.TimeoutError, OSError)):
        kafka_local.run_sync(lambda: connect({}))  # plaintext on a SASL listener
    wrong = {**cfg.client_options("intake"), "sasl_plain_password": "not-the-password"}
    with pytest.raises((KafkaError, asyncio.TimeoutError, OSError)):
        kafka_local.run_sync(lambda: connect(wrong))


def test_a_bureau_reads_every_public_topic_and_nothing_else_and_writes_nothing(
        broker: tuple[str, kafka_local.SaslConfig], seeded: list[str]) -> None:
    bootstrap, cfg = broker
    (bureau,) = deploy_gen.BUREAUS
    public = {t.name for t in contracts.all_topics() if t.public}
    assert public, "the catalog has public topics"
    reads = kafka_local.run_sync(lambda: _reads(bootstrap, cfg.client_options(bureau), seeded))
    assert {t for t, ok in reads.items() if ok} == public
    writes = kafka_local.run_sync(lambda: _produce(bootstrap, cfg.client_options(bureau), seeded))
    assert not any(writes.values()), {t for t, ok in writes.items() if ok}


@pytest.mark.parametrize("service", BUS_SERVICES)
def test_each_service_writes_only_its_topics_and_reads_only_what_it_consumes(
        service: str, broker: tuple[str, kafka_local.SaslConfig], seeded: list[str]) -> None:
    bootstrap, cfg = broker
    options = cfg.client_options(service)
    writes = kafka_local.run_sync(lambda: _produce(bootstrap, options, seeded))
    assert {t for t, ok in writes.items() if ok} == set(deploy_gen.writes(service))
    reads = kafka_local.run_sync(lambda: _reads(bootstrap, options, seeded))
    assert {t for t, ok in reads.items() if ok} == set(deploy_gen.reads(service))


def test_a_service_uses_only_its_own_consumer_groups(broker: tuple[str, kafka_local.SaslConfig],
                                                     seeded: list[str]) -> None:
    bootstrap, cfg = broker
    service = next(s for s in BUS_SERVICES if deploy_gen.reads(s))
    topic = deploy_gen.reads(service)[0]

    async def consume(group: str) -> None:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                                    request_timeout_ms=15000, **cfg.client_options(service))
        await consumer.start()
        try:
            for _ in range(60):
                batch = await consumer.getmany(timeout_ms=500)
                if any(r.value == MARK for recs in batch.values() for r in recs):
                    await consumer.commit()
                    return
            raise AssertionError("no record within 30 s")
        finally:
            await consumer.stop()

    kafka_local.run_sync(lambda: consume(f"{service}.acl-check"))
    other = next(s for s in BUS_SERVICES if s != service)
    with pytest.raises(GroupAuthorizationFailedError):
        kafka_local.run_sync(lambda: asyncio.wait_for(consume(f"{other}.acl-check"), 60))


def test_the_operator_reads_dead_letters_and_writes_them_back(broker: tuple[str, kafka_local.SaslConfig],
                                                              seeded: list[str]) -> None:
    bootstrap, cfg = broker
    catalog = contracts.all_topics()
    options = cfg.client_options(deploy_gen.OPERATOR_USER)
    reads = kafka_local.run_sync(lambda: _reads(bootstrap, options, seeded))
    assert {t for t, ok in reads.items() if ok} == {t.dlq for t in catalog}
    writes = kafka_local.run_sync(lambda: _produce(bootstrap, options, seeded))
    assert {t for t, ok in writes.items() if ok} == {t.name for t in catalog}


def test_the_acls_on_the_broker_are_the_generated_ones(tmp_path: Path) -> None:
    users, lines = kafka_local.acl_spec()
    assert set(users) == {*BUS_SERVICES, deploy_gen.OPERATOR_USER, *deploy_gen.BUREAUS}
    generated = sum(len(a["operations"]) for u in deploy_gen.kafka_users() for a in u["spec"]["authorization"]["acls"])
    assert len(lines) == generated
    assert all(line.split()[4] in ("LITERAL", "PREFIXED") for line in lines)
