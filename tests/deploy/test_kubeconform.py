"""Every Kubernetes manifest (the base with its generated files, and the county overlay) validated
strictly by kubeconform against the real schemas: Kubernetes 1.33's, and the CRDs that Strimzi,
CloudNativePG and the Prometheus Operator publish (tests/deploy/schemas.py says where each comes
from). Nothing is skipped: a kind without a schema is an error. A wrong field fails, named."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from . import schemas
from .conftest import K8S, by_kind, kustomize

pytestmark = pytest.mark.timeout(900)  # the first run fetches two Go modules and Strimzi's jars


@pytest.fixture(scope="module")
def crd_dir() -> Path:
    try:
        schemas.kubeconform()
        return schemas.crd_schema_dir()
    except schemas.SchemaError as exc:
        pytest.fail(str(exc))


def _validate(docs: list[dict[str, Any]], crd_dir: Path) -> dict[str, Any]:
    return schemas.validate(yaml.safe_dump_all(docs, sort_keys=False), crd_dir)


@pytest.mark.parametrize("overlay", ["base", "overlays/county"])
def test_every_manifest_is_valid_against_the_real_schemas(overlay: str, crd_dir: Path) -> None:
    docs = kustomize(K8S / overlay)
    report = _validate(docs, crd_dir)
    bad = [r for r in report["resources"] if r["status"] != "statusValid"]
    assert not bad, bad
    assert report["summary"] == {"valid": len(docs), "invalid": 0, "errors": 0, "skipped": 0}, report["summary"]
    kinds = {d["kind"] for d in docs}
    assert {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "Cluster", "Database", "PodMonitor",
            "PrometheusRule", "Deployment", "Service"} <= kinds


def _broken(docs: list[dict[str, Any]], kind: str, name: str | None, edit) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    doc = copy.deepcopy(by_kind(docs, kind)[name] if name else next(d for d in docs if d["kind"] == kind))
    edit(doc)
    return [doc]


CASES = [
    # (kind, name, the edit, what kubeconform must name)
    ("Deployment", "intake", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(readinessprobe={}),
     "readinessprobe"),
    ("Kafka", "onewindow-kafka", lambda d: d["spec"]["kafka"].update(replicaz=3), "replicaz"),
    ("KafkaTopic", None, lambda d: d["spec"].update(partitions="three"), "partitions"),
    ("KafkaUser", None, lambda d: d["spec"]["authorization"].update(type="everything"), "type"),
    ("Cluster", "onewindow-pg", lambda d: d["spec"].update(instancez=3), "instancez"),
    ("Database", None, lambda d: d["spec"].update(ownr="intake"), "ownr"),
    ("PodMonitor", None, lambda d: d["spec"]["podMetricsEndpoints"][0].update(portt="http"), "portt"),
    ("PrometheusRule", None, lambda d: d["spec"]["groups"][0].update(rulez=[]), "rulez"),
]


@pytest.mark.parametrize(("kind", "name", "edit", "field"), CASES, ids=[c[0] for c in CASES])
def test_a_wrong_field_fails_and_is_named(kind: str, name: str | None, edit, field: str,  # type: ignore[no-untyped-def]
                                         county: list[dict[str, Any]], crd_dir: Path) -> None:
    report = _validate(_broken(county, kind, name, edit), crd_dir)
    assert report["returncode"] != 0
    (result,) = report["resources"]
    assert result["status"] == "statusInvalid", result
    assert field in result["msg"], result["msg"]
