"""deploy/compose/compose.yaml, read as Compose reads it (variables from env.example), validated
with compose-spec (the Rust compose_spec parser: the Compose Specification's types, unknown keys
refused, references to networks/volumes/secrets checked)."""

from __future__ import annotations

from typing import Any

import compose_spec
import pytest

from tools.registry import BUS_SERVICES
from tools.registry import DEFAULT_PORTS, SERVICES

from .conftest import COMPOSE_DIR, REPO, example_env, interpolate


def _load(text: str) -> Any:
    compose = compose_spec.PyOptions(apply_merge=True).from_yaml(text)
    compose.validate()
    return compose


@pytest.fixture(scope="module")
def stack(compose_text: str) -> dict[str, Any]:
    return _load(compose_text).to_dict()


def test_the_compose_file_is_valid(stack: dict[str, Any]) -> None:
    assert set(stack["services"]) == {
        "kafka-1", "kafka-2", "kafka-3", "kafka-topics", "postgres", *SERVICES, "prometheus", "alertmanager", "grafana"}


def test_the_validator_refuses_mistakes(compose_text: str) -> None:
    for wrong, right in (("  read_only: true", "  readonly: true"),                          # unknown key
                         ("secrets: [seal_key_passphrase]", "secrets: [seal_passphrase]"),  # undefined secret
                         ("condition: service_healthy", "condition: service_happy")):       # bad value
        assert wrong in compose_text
        with pytest.raises(ValueError):
            _load(compose_text.replace(wrong, right, 1))


def test_required_passwords_must_be_set() -> None:
    env = example_env()
    del env["ONEWINDOW_AUTH_SECRET"]
    with pytest.raises(ValueError, match="ONEWINDOW_AUTH_SECRET"):
        interpolate((COMPOSE_DIR / "compose.yaml").read_text(), env)


def test_kafka_is_three_kraft_brokers_with_replication_three(stack: dict[str, Any]) -> None:
    brokers = {n: s for n, s in stack["services"].items() if n.startswith("kafka-") and n != "kafka-topics"}
    assert len(brokers) == 3
    voters = {s["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"] for s in brokers.values()}
    assert voters == {"1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"}
    for name, s in brokers.items():
        env = s["environment"]
        assert s["image"].startswith("apache/kafka:")
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert env["KAFKA_NODE_ID"] == name.split("-")[1]
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3" and env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    topics = stack["services"]["kafka-topics"]
    assert topics["command"][:2] == ["deploy", "ensure-topics"]
    assert "--replication-factor" in topics["command"]


def test_each_service_runs_from_the_image_with_its_own_database(stack: dict[str, Any]) -> None:
    for name in SERVICES:
        s = stack["services"][name]
        assert s["command"] == ["serve", name]
        assert s["environment"]["ONEWINDOW_HTTP_PORT"] == str(DEFAULT_PORTS[name])
        assert s["environment"]["DATABASE_URL"].endswith(f"@postgres:5432/{name}")
        assert s["environment"]["DATABASE_URL"].startswith(f"postgresql+psycopg://{name}:")
        assert f"/readyz" in " ".join(s["healthcheck"]["test"]) and str(DEFAULT_PORTS[name]) in " ".join(s["healthcheck"]["test"])
        if name in BUS_SERVICES:
            assert s["depends_on"]["kafka-topics"]["condition"] == "service_completed_successfully"
        else:  # the console: no Kafka
            assert "kafka-topics" not in s["depends_on"]
        assert s["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert s["read_only"] is True and s["cap_drop"] == ["ALL"]
        assert s["build"]["context"] == "../.." and (COMPOSE_DIR / s["build"]["context"] / "Dockerfile").exists()
    init = (COMPOSE_DIR / "postgres" / "init-databases.sh").read_text()
    assert all(name in init for name in SERVICES)


def test_mounted_files_exist(stack: dict[str, Any]) -> None:
    """Every bind mount of the stack points at a file or folder of the repository."""
    mounts = []
    for s in stack["services"].values():
        for v in s.get("volumes", []):
            source = v.split(":")[0] if isinstance(v, str) else v.get("source", "")
            if source.startswith("."):
                mounts.append(source)
    assert len(mounts) >= 6
    for source in mounts:
        assert (COMPOSE_DIR / source).exists(), source
    prometheus = stack["services"]["prometheus"]
    assert any(str(v).startswith("../prometheus/rules:") for v in prometheus["volumes"])
    assert (REPO / "deploy" / "grafana" / "dashboards" / "onewindow.json").exists()
