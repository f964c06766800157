"""The pure parts of the local Kafka broker: configuration, locations, topic specs and reading
the broker's log. No JVM here; tests/integration/test_kafka_broker.py runs the real one."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from contracts.topics import DAY_MS, Audience, Topic
from tools import kafka_local as kl

# The head of a real Kafka 4.1 log after "port already bound" (stack frames shortened).
PORT_BUSY_LOG = """\
[2026-11-27 10:38:16,101] INFO Registered kafka:type=kafka.Log4jController MBean (kafka.utils.Log4jControllerRegistration$)
[2026-11-27 10:38:17,402] WARN [BrokerServer id=1] Something harmless (kafka.server.BrokerServer)
java.lang.IllegalStateException: a warning's exception is not a cause
\tat kafka.server.BrokerServer.startup(BrokerServer.scala:1)
[2026-11-27 10:38:17,613] ERROR Unable to start acceptor for PLAINTEXT (kafka.network.DataPlaneAcceptor)
org.apache.kafka.common.KafkaException: Socket server failed to bind to 127.0.0.1:19092: Address already in use.
\tat org.apache.kafka.server.ServerSocketFactory$KafkaServerSocketFactory.openServerSocket(ServerSocketFactory.java:56) ~[kafka-server-4.1.1.jar:?]
\tat kafka.network.Acceptor.openServerSocket(SocketServer.scala:634) ~[kafka_2.13-4.1.1.jar:?]
Caused by: java.net.BindException: Address already in use
\tat java.base/sun.nio.ch.Net.bind0(Native Method) ~[?:?]
\t... 12 more
[2026-11-27 10:38:17,624] ERROR [BrokerServer id=1] Received a fatal error while waiting for all of the SocketServer Acceptors to be started (kafka.server.BrokerServer)
java.lang.RuntimeException: Unable to start acceptor for PLAINTEXT
\tat kafka.network.Acceptor.liftedTree1$1(SocketServer.scala:550) ~[kafka_2.13-4.1.1.jar:?]
[2026-11-27 10:38:17,700] INFO [BrokerServer id=1] shutting down (kafka.server.BrokerServer)
[2026-11-27 10:38:17,834] ERROR Exiting Kafka due to fatal exception during startup. (kafka.Kafka$)
java.lang.RuntimeException: Received a fatal error while waiting for all of the SocketServer Acceptors to be started
\tat kafka.server.BrokerServer.startup(BrokerServer.scala:597) ~[kafka_2.13-4.1.1.jar:?]
"""

JVM_OUT = """\
Unrecognized VM option 'NoSuchOption'
Error: Could not create the Java Virtual Machine.
Error: A fatal exception has occurred. Program will exit.
"""


def props(tmp_path: Path, port: int = 29092, controller_port: int = 29093) -> dict[str, str]:
    f = tmp_path / "server.properties"
    f.write_text(kl.render_properties(tmp_path, port, controller_port))
    return kl.read_properties(f)


def test_properties_describe_a_single_node_kraft_broker_on_loopback(tmp_path: Path) -> None:
    p = props(tmp_path, 29092, 29093)
    assert p["process.roles"] == "broker,controller"
    assert p["node.id"] == "1"
    assert p["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert p["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert p["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092"
    assert p["controller.listener.names"] == "CONTROLLER"
    # Nothing listens beyond loopback.
    hosts = re.findall(r"://([^:]+):", p["listeners"] + "," + p["advertised.listeners"])
    assert set(hosts) == {"127.0.0.1"}
    assert kl.bootstrap_of(p) == "127.0.0.1:29092"


def test_properties_fit_one_node_and_forbid_auto_created_topics(tmp_path: Path) -> None:
    p = props(tmp_path)
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                "transaction.state.log.min.isr", "min.insync.replicas", "default.replication.factor",
                "share.coordinator.state.topic.replication.factor"):
        assert p[key] == "1", key
    assert p["auto.create.topics.enable"] == "false"
    assert p["group.initial.rebalance.delay.ms"] == "0"
    assert Path(p["log.dirs"]) == tmp_path / "data"


def test_properties_refuse_one_port_for_both_listeners(tmp_path: Path) -> None:
    with pytest.raises(kl.KafkaLocalError, match="must differ"):
        kl.render_properties(tmp_path, 19092, 19092)


def test_errors_of_a_failed_start_name_the_cause_without_stack_frames() -> None:
    errors = kl.extract_errors(PORT_BUSY_LOG, limit=20)
    assert errors[0] == "Unable to start acceptor for PLAINTEXT"
    assert errors[1] == "KafkaException: Socket server failed to bind to 127.0.0.1:19092: Address already in use."
    assert "BindException: Address already in use" in errors
    assert not any("\tat" in e or e.startswith("at ") for e in errors)
    # A WARN's exception and INFO lines are not causes; logger names are dropped.
    assert not any("harmless" in e or "IllegalStateException" in e or "shutting down" in e for e in errors)
    assert not any(e.endswith(")") and "(kafka." in e for e in errors)
    # Each line once, though the RuntimeException repeats.
    assert len(errors) == len(set(errors))


def test_a_long_error_list_keeps_the_root_cause_and_the_last_line() -> None:
    errors = kl.extract_errors(PORT_BUSY_LOG, limit=3)
    assert len(errors) == 3
    assert errors[0] == "Unable to start acceptor for PLAINTEXT"
    assert "Address already in use" in errors[1]
    assert errors[-1].startswith("RuntimeException: Received a fatal error")


def test_a_clean_log_has_no_errors() -> None:
    clean = "\n".join(line for line in PORT_BUSY_LOG.splitlines() if " INFO " in line)
    assert kl.extract_errors(clean) == []


def test_failure_cause_prefers_the_broker_log_then_the_jvm_output() -> None:
    cause, from_jvm = kl.failure_cause(PORT_BUSY_LOG, JVM_OUT)
    assert not from_jvm and "Address already in use" in cause[1]
    cause, from_jvm = kl.failure_cause("", JVM_OUT)
    assert from_jvm and cause[0] == "Unrecognized VM option 'NoSuchOption'"
    info_only = "[2026-11-27 10:38:16,101] INFO Starting (kafka.server.KafkaRaftServer)\n"
    cause, from_jvm = kl.failure_cause(info_only, "")
    assert not from_jvm and cause == [info_only.strip()]
    assert kl.failure_cause("", "") == (["the broker wrote nothing to its log"], False)


def test_jvm_output_drops_frames_and_log4j_status_lines() -> None:
    out = (
        "2026-11-27T10:38:17.925Z main WARN Unable to register Log4j shutdown hook\n"
        "Exception in thread \"main\" java.lang.NoClassDefFoundError: scala/Product\n"
        "\tat kafka.Kafka.main(Kafka.scala:1)\n"
    )
    assert kl.extract_jvm_errors(out) == [
        'Exception in thread "main" java.lang.NoClassDefFoundError: scala/Product'
    ]


def test_the_version_is_read_from_the_log() -> None:
    log = ("[x] INFO Kafka version: 4.0.0 (org.apache.kafka.common.utils.AppInfoParser)\n"
           "[y] INFO Kafka version: 4.1.1 (org.apache.kafka.common.utils.AppInfoParser)\n")
    assert kl._logged_version(log) == "4.1.1"
    assert kl._logged_version("nothing") is None


def test_cluster_ids_are_fresh_22_character_uuids() -> None:
    ids = {kl.new_cluster_id() for _ in range(50)}
    assert len(ids) == 50
    for cid in ids:
        assert len(cid) == 22 and re.fullmatch(r"[A-Za-z0-9_-]{22}", cid)
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16


def test_the_pom_names_a_kafka_4_version(tmp_path: Path) -> None:
    assert re.fullmatch(r"4\.\d+\.\d+", kl.kafka_version())
    pom = tmp_path / "pom.xml"
    pom.write_text('<project xmlns="http://maven.apache.org/POM/4.0.0"><properties>'
                   "<kafka.version> 4.2.0 </kafka.version></properties></project>")
    assert kl.kafka_version(pom) == "4.2.0"
    pom.write_text('<project xmlns="http://maven.apache.org/POM/4.0.0"/>')
    with pytest.raises(kl.KafkaLocalError):
        kl.kafka_version(pom)


def test_locations_follow_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONEWINDOW_KAFKA_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert kl.kafka_home("4.1.1") == tmp_path / "cache" / "onewindow" / "kafka-4.1.1"
    monkeypatch.setenv("ONEWINDOW_KAFKA_HOME", str(tmp_path / "kh"))
    assert kl.kafka_home("4.1.1") == tmp_path / "kh"

    monkeypatch.delenv("ONEWINDOW_DATA_DIR", raising=False)
    assert kl.default_data_dir() == kl.REPO_ROOT / "var" / "kafka"
    assert not kl.default_data_dir().is_relative_to(kl.REPO_ROOT / "services")
    monkeypatch.setenv("ONEWINDOW_DATA_DIR", str(tmp_path / "d"))
    assert kl.default_data_dir() == tmp_path / "d" / "kafka"

    monkeypatch.delenv("ONEWINDOW_KAFKA_PORT", raising=False)
    assert kl.default_port() == 19092
    monkeypatch.setenv("ONEWINDOW_KAFKA_PORT", "29092")
    monkeypatch.setenv("ONEWINDOW_KAFKA_CONTROLLER_PORT", "29093")
    assert (kl.default_port(), kl.default_controller_port()) == (29092, 29093)
    monkeypatch.setenv("ONEWINDOW_KAFKA_PORT", "kafka")
    with pytest.raises(kl.KafkaLocalError, match="ONEWINDOW_KAFKA_PORT"):
        kl.default_port()


def test_catalog_topics_get_a_dead_letter_twin() -> None:
    t = Topic("x.cases", owner="x", key="receipt_no", audience=Audience.PUBLIC, partitions=6,
              retention_ms=7 * DAY_MS, compacted=True)
    spec, dlq = kl.topic_specs([t])
    assert spec == kl.TopicSpec("x.cases", 6, {"retention.ms": str(7 * DAY_MS), "cleanup.policy": "compact"})
    # Dead letters are never compacted away (each failed message matters), one partition.
    assert dlq == kl.TopicSpec("x.cases.dlq", 1, {"retention.ms": str(7 * DAY_MS)})
    assert kl.topic_specs([t], with_dlq=False) == [spec]
    plain = kl.TopicSpec("y", 2)
    assert kl.topic_specs([plain, plain]) == [plain]


def test_the_catalog_specs_cover_every_declared_topic() -> None:
    import contracts

    names = {s.name for s in kl.catalog_specs()}
    for t in contracts.all_topics():
        assert {t.name, t.dlq} <= names


def test_start_rejects_a_heap_that_is_not_a_jvm_size(tmp_path: Path) -> None:
    with pytest.raises(kl.KafkaLocalError, match="heap"):
        kl.start(tmp_path / "k", heap="lots")
    assert not (tmp_path / "k").exists()


def test_stop_and_status_handle_a_stale_pid_file(tmp_path: Path) -> None:
    data = tmp_path / "k"
    data.mkdir()
    (data / "kafka.pid").write_text("999999999\n")  # beyond any pid_max
    st = kl.status(data)
    assert not st.running and st.stale_pid_file
    result = kl.stop(data)
    assert result.stopped == [] and result.stale_pid_file
    assert not (data / "kafka.pid").exists()
    # A pid that runs but is not our broker (this test process) is stale too.
    import os

    (data / "kafka.pid").write_text(f"{os.getpid()}\n")
    assert kl.running_pid(data) is None
    assert kl.stop(data).stale_pid_file


def test_run_sync_works_inside_a_running_loop() -> None:
    import asyncio

    async def inner() -> int:
        await asyncio.sleep(0)
        return 7

    async def outer() -> int:
        return kl.run_sync(inner)

    assert asyncio.run(outer()) == 7
    with pytest.raises(ZeroDivisionError):
        kl.run_sync(lambda: _divide())


async def _divide() -> float:
    return 1 / 0


def test_the_cluster_id_comes_from_the_formatted_storage(tmp_path: Path) -> None:
    assert kl.cluster_id(tmp_path) is None
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "meta.properties").write_text(
        "#\nnode.id=1\ndirectory.id=oQbHUpCmvm0xIEqD5YDbwQ\nversion=1\ncluster.id=DQNrjn2hTnGZURDTYWhJgA\n")
    assert kl.cluster_id(tmp_path) == "DQNrjn2hTnGZURDTYWhJgA"


def test_format_accepts_a_cluster_id_starting_with_a_dash(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """One random id in 64 starts with "-"; Kafka's own StorageTool must still take it as the
    value (run for real: the jars are fetched by the set-up)."""
    from tools import kafka_local

    monkeypatch.setattr(kafka_local, "new_cluster_id", lambda: "-AbCdEfGhIjKlMnOpQrStU")
    libs = kafka_local.ensure_jars()
    (tmp_path / kafka_local.PROPERTIES_FILE).write_text(kafka_local.render_properties(tmp_path, 39992, 39993))
    kafka_local._format_storage(libs, tmp_path)
    meta = (tmp_path / kafka_local.DATA_SUBDIR / "meta.properties").read_text()
    assert "cluster.id=-AbCdEfGhIjKlMnOpQrStU" in meta
