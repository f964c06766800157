"""The manifests generated from the code (`onewindow deploy generate`) are committed up to date,
and say what the catalog and the services say: topics, ACLs, the PrometheusRule."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import contracts
from tools import deploy_gen
from tools.cli import app
from tools.registry import BUS_SERVICES as SERVICES
from tools.registry import SERVICES as ALL_SERVICES

from .conftest import DEPLOY, REPO, by_kind


def test_committed_manifests_match_the_generator() -> None:
    stale = deploy_gen.drift()
    assert not stale, "run `onewindow deploy generate`:\n" + "\n".join(stale.values())


def test_check_command_fails_on_drift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same check through the CLI, against a copy where one topic has been edited by hand.
    path = deploy_gen.K8S_BASE / "kafka" / "topics.yaml"
    edited = tmp_path / "topics.yaml"
    edited.write_text(path.read_text().replace("partitions: 3", "partitions: 4", 1))
    files = deploy_gen.generated_files()
    monkeypatch.setattr(deploy_gen, "generated_files", lambda: {edited: files[path]})
    result = CliRunner().invoke(app, ["deploy", "check"])
    assert result.exit_code == 1
    assert "partitions: 4" in result.output


def _committed(rel: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((DEPLOY / "k8s" / "base" / rel).read_text()) if d]


def test_topics_are_the_catalog_and_its_dead_letter_twins() -> None:
    topics = {d["spec"]["topicName"]: d for d in _committed("kafka/topics.yaml")}
    catalog = contracts.all_topics()
    assert set(topics) == {t.name for t in catalog} | {t.dlq for t in catalog}
    for t in catalog:
        spec = topics[t.name]["spec"]
        assert spec["partitions"] == t.partitions
        assert spec["replicas"] == 3
        assert spec["config"]["min.insync.replicas"] == 2
        assert spec["config"]["retention.ms"] == t.retention_ms
        assert (spec["config"].get("cleanup.policy") == "compact") == t.compacted
        twin = topics[t.dlq]["spec"]
        assert twin["partitions"] == 1 and twin["replicas"] == 3
        assert "cleanup.policy" not in twin["config"]  # dead letters are never compacted away
    for doc in topics.values():
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] == "onewindow-kafka"


def _acls(user: dict) -> dict[str, set[str]]:
    """resource name (prefix groups end with '*') -> operations."""
    out: dict[str, set[str]] = {}
    for acl in user["spec"]["authorization"]["acls"]:
        r = acl["resource"]
        key = f"{r['type']}:{r['name']}" + ("*" if r["patternType"] == "prefix" else "")
        out.setdefault(key, set()).update(acl["operations"])
    return out


def test_each_service_writes_only_its_own_topics() -> None:
    users = {d["metadata"]["name"]: d for d in _committed("kafka/users.yaml")}
    catalog = {t.name: t for t in contracts.all_topics()}
    for service in SERVICES:
        acls = _acls(users[service])
        written = {k.split(":", 1)[1] for k, ops in acls.items() if k.startswith("topic:") and "Write" in ops}
        for name in written:
            if name.endswith(".dlq"):
                # dead letters of what it consumes, and only that
                assert name[: -len(".dlq")] in deploy_gen.CONSUMES[service], (service, name)
            elif name == "seal.commands":
                assert service in ("intake", "notify"), service
            else:
                assert catalog[name].owner == service, (service, name)
        own = {t for t, spec in catalog.items() if spec.owner == service and t != "seal.commands"}
        assert own <= written, (service, own - written)
        read = {k.split(":", 1)[1] for k, ops in acls.items() if k.startswith("topic:") and "Read" in ops}
        # what it consumes, and the dead-letter twins of that (its admin API lists and replays them)
        consumed = set(deploy_gen.CONSUMES[service])
        assert read == consumed | {f"{name}.dlq" for name in consumed}
        assert acls[f"group:{service}.*"] == {"Read"}
    # seal reads the commands and does not write them; intake and notify write them.
    assert "Write" not in _acls(users["seal"]).get("topic:seal.commands", set())
    assert "Read" in _acls(users["seal"])["topic:seal.commands"]
    for requester in ("intake", "notify"):
        assert "Write" in _acls(users[requester])["topic:seal.commands"]


def test_the_bureau_reads_only_public_topics() -> None:
    users = {d["metadata"]["name"]: d for d in _committed("kafka/users.yaml")}
    acls = _acls(users["county-bureau"])
    topics = {k.split(":", 1)[1]: ops for k, ops in acls.items() if k.startswith("topic:")}
    public = {t.name for t in contracts.all_topics() if t.public}
    assert set(topics) == public
    assert all(ops == {"Read", "Describe"} for ops in topics.values())
    assert "topic:intake.contacts" not in acls  # full names and mobiles stay inside


def test_consumed_topics_exist_in_the_catalog() -> None:
    names = {t.name for t in contracts.all_topics()}
    for service, topics in deploy_gen.CONSUMES.items():
        assert set(topics) <= names, (service, set(topics) - names)
    assert set(deploy_gen.CONSUMES) == set(SERVICES)
    assert set(deploy_gen.PLANS) == set(ALL_SERVICES), "every service the registry finds has a plan"


def _existing_services() -> list[str]:
    return [s for s in SERVICES if (REPO / "services" / s / "app.py").exists()]


@pytest.mark.parametrize("name", _existing_services())
def test_acls_grant_every_subscription_of_the_real_service(name: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The services' handlers are the truth: a topic they subscribe to that CONSUMES lacks
    would be refused by the broker's ACLs on the cluster."""
    monkeypatch.setenv("ONEWINDOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONEWINDOW_AUTH_SECRET", "k" * 48)
    service = importlib.import_module(f"services.{name}.app").create_service()
    subscribed = {topic for spec in service.handlers for topic in spec.topics}
    assert subscribed <= set(deploy_gen.CONSUMES[name]), (
        f"add {sorted(subscribed - set(deploy_gen.CONSUMES[name]))} to CONSUMES[{name!r}] in "
        "tools/deploy_gen.py and run `onewindow deploy generate`")


def test_prometheus_rule_carries_exactly_the_rules_file(base: list[dict]) -> None:
    rule = by_kind(base, "PrometheusRule")["onewindow"]
    source = yaml.safe_load((DEPLOY / "prometheus" / "rules" / "onewindow.rules.yml").read_text())
    assert rule["spec"]["groups"] == source["groups"]


def test_deploy_sub_app_is_mounted() -> None:
    result = CliRunner().invoke(app, ["deploy", "acls"])
    assert result.exit_code == 0, result.output
    assert "county-bureau" in result.output and "seal.commands" in result.output
