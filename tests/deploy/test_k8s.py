"""The Kubernetes manifests: Kustomize builds them; the core kinds validate against the
Kubernetes JSON schemas (kubernetes-validate ships them, offline; strict: unknown fields fail);
the Prometheus Operator kinds validate against its CRD models (cloudcoil-models-prometheus-operator);
and what the deployment depends on in the Strimzi and CloudNativePG resources is checked here.
test_kubeconform.py validates every resource, the custom ones included, against the real CRD
schemas (deploy/README.md, "What is validated where")."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest
from cloudcoil.models.prometheus_operator import v1 as monitoring

from tools.deploy_gen import PLANS
from tools.registry import BUS_SERVICES
from tools.registry import SERVICES  # every service is deployed; those on the bus get Kafka users
from tools.registry import DEFAULT_PORTS

from .conftest import by_kind

K8S_VERSION = "1.33.0"
CRD_GROUPS = ("kafka.strimzi.io/", "postgresql.cnpg.io/", "monitoring.coreos.com/")
#: Secrets the operators create (deploy/README.md, "Secrets") or the operators' controllers write.
EXTERNAL_SECRETS = {
    "onewindow-auth", "onewindow-seal", "onewindow-sms", "onewindow-kafka-cluster-ca-cert",
    "onewindow-console",  # the console's OIDC client secret (optional)
    *(f"onewindow-db-{s}" for s in SERVICES),
    *BUS_SERVICES,  # Strimzi's User Operator: one Secret per KafkaUser, named after it
}


def _core(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if not d["apiVersion"].startswith(CRD_GROUPS)]


@pytest.mark.parametrize("overlay", ["base", "county"])
def test_core_kinds_validate_strictly(overlay: str, request: pytest.FixtureRequest) -> None:
    docs = request.getfixturevalue(overlay)
    core = _core(docs)
    assert {d["kind"] for d in core} >= {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget",
                                         "HorizontalPodAutoscaler", "ServiceAccount", "PersistentVolumeClaim"}
    for doc in core:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_validator_rejects_a_broken_deployment(county: list[dict[str, Any]]) -> None:
    deployment = copy.deepcopy(by_kind(county, "Deployment")["intake"])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}  # misspelt field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    deployment = copy.deepcopy(by_kind(county, "Deployment")["intake"])
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


@pytest.mark.parametrize("kind", ["PodMonitor", "PrometheusRule"])
def test_prometheus_operator_resources_match_the_crds(kind: str, county: list[dict[str, Any]]) -> None:
    model = getattr(monitoring, kind)
    for doc in by_kind(county, kind).values():
        parsed = model.model_validate(doc)  # types and patterns of the CRD
        # A field the CRD does not know would be dropped by the model: the round trip shows it.
        assert parsed.model_dump(by_alias=True, exclude_unset=True, mode="json") == doc


def test_every_service_is_deployed_with_probes_limits_and_no_privileges(county: list[dict[str, Any]]) -> None:
    deployments = by_kind(county, "Deployment")
    assert set(deployments) == set(SERVICES)
    for name, d in deployments.items():
        pod = d["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        assert c["args"] == ["serve", name]
        assert c["image"].startswith("registry.county.local/onewindow/onewindow:")
        assert c["ports"] == [{"name": "http", "containerPort": DEFAULT_PORTS[name], "protocol": "TCP"}]
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
        env = {e["name"]: e for e in c["env"]}
        assert env["DATABASE_URL"]["value"].endswith(f"@onewindow-pg-rw:5432/{name}")
        assert env["ONEWINDOW_DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"onewindow-db-{name}"
        mounts = {m["name"] for m in c["volumeMounts"]}
        if name in BUS_SERVICES:
            assert env["ONEWINDOW_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == name
            assert "kafka-ca" in mounts
        else:  # the console: no Kafka credentials, no CA
            assert not any(k.startswith("ONEWINDOW_KAFKA_") for k in env) and "kafka-ca" not in mounts


def test_budgets_and_autoscalers_point_at_the_services(county: list[dict[str, Any]]) -> None:
    deployments = by_kind(county, "Deployment")
    budgets = by_kind(county, "PodDisruptionBudget")
    assert set(budgets) == set(SERVICES)
    for name, pdb in budgets.items():
        pod_labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    hpas = by_kind(county, "HorizontalPodAutoscaler")
    assert set(hpas) == {n for n, p in PLANS.items() if p.hpa_max}
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
        assert not PLANS[name].volume  # only stateless services scale out
    for name, plan in PLANS.items():
        if plan.volume:
            assert deployments[name]["spec"]["strategy"]["type"] == "Recreate"
            assert deployments[name]["spec"]["replicas"] == 1


def test_secrets_and_config_are_referenced_not_committed(county: list[dict[str, Any]]) -> None:
    assert not by_kind(county, "Secret"), "no Secret with values is committed"
    config = by_kind(county, "ConfigMap")
    referenced: set[str] = set()
    for d in by_kind(county, "Deployment").values():
        pod = d["spec"]["template"]["spec"]
        for c in pod["containers"]:
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    referenced.add(ref["name"])
            for src in c.get("envFrom", []):
                assert src["configMapRef"]["name"] in config
        referenced |= {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    for role in by_kind(county, "Cluster")["onewindow-pg"]["spec"]["managed"]["roles"]:
        referenced.add(role["passwordSecret"]["name"])
    assert referenced <= EXTERNAL_SECRETS, referenced - EXTERNAL_SECRETS
    assert {"onewindow-seal", "onewindow-sms", "onewindow-auth"} <= referenced
    assert config["onewindow-config"]["data"]["ONEWINDOW_NOTIFY_SMS_PROVIDER"] == "smpp"  # the overlay's patch


def test_kafka_is_kraft_three_nodes_replicated(county: list[dict[str, Any]]) -> None:
    kafka = by_kind(county, "Kafka")["onewindow-kafka"]
    assert kafka["apiVersion"] == "kafka.strimzi.io/v1beta2"
    assert kafka["metadata"]["annotations"] == {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"}
    cfg = kafka["spec"]["kafka"]["config"]
    assert cfg["default.replication.factor"] == 3 and cfg["min.insync.replicas"] == 2
    assert cfg["auto.create.topics.enable"] is False
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    listeners = {x["name"]: x for x in kafka["spec"]["kafka"]["listeners"]}
    assert all(x["tls"] and x["authentication"]["type"] == "scram-sha-512" for x in listeners.values())
    assert "external" in listeners  # the county overlay opens it for the bureaus
    assert {"topicOperator", "userOperator"} <= set(kafka["spec"]["entityOperator"])
    (pool,) = by_kind(county, "KafkaNodePool").values()
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == "onewindow-kafka"
    assert pool["spec"]["replicas"] == 3 and set(pool["spec"]["roles"]) == {"controller", "broker"}
    for kind in ("KafkaTopic", "KafkaUser"):
        for doc in by_kind(county, kind).values():
            assert doc["metadata"]["labels"]["strimzi.io/cluster"] == "onewindow-kafka"
            assert doc["metadata"]["namespace"] == "onewindow"  # with the Kafka, for the operators


def test_a_database_per_service(county: list[dict[str, Any]]) -> None:
    cluster = by_kind(county, "Cluster")["onewindow-pg"]
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1" and cluster["spec"]["instances"] == 3
    roles = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
    assert set(roles) == set(SERVICES)
    databases = {d["spec"]["name"]: d["spec"] for d in by_kind(county, "Database").values()}
    assert set(databases) == set(SERVICES)
    for name, spec in databases.items():
        assert spec["owner"] == name and spec["cluster"]["name"] == "onewindow-pg"
        assert roles[name]["login"] is True and roles[name]["passwordSecret"]["name"] == f"onewindow-db-{name}"


def test_the_pod_monitor_scrapes_every_service_pod(county: list[dict[str, Any]]) -> None:
    (monitor,) = by_kind(county, "PodMonitor").values()
    selector = monitor["spec"]["selector"]["matchLabels"]
    for d in by_kind(county, "Deployment").values():
        labels = d["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items()
        assert labels[monitor["spec"]["jobLabel"]] == "onewindow"  # job="onewindow", as the rules expect
        ports = {p["name"] for p in d["spec"]["template"]["spec"]["containers"][0]["ports"]}
        assert monitor["spec"]["podMetricsEndpoints"][0]["port"] in ports
    relabel = monitor["spec"]["podMetricsEndpoints"][0]["relabelings"][0]
    assert relabel["targetLabel"] == "service"
