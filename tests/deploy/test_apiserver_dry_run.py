"""The manifests (the base, the county overlay) applied with `kubectl apply --dry-run=server
--validate=strict` against a real kube-apiserver and etcd, built here from the Go module proxy
(tools/k8s_apiserver.py; scripts/bootstrap.sh builds them once per machine), with the CRDs that
Strimzi, CloudNativePG and the Prometheus Operator publish installed — the same CRDs kubeconform
checks against (tests/deploy/schemas.py). The server, not a schema copy, decides: its own
validation, defaulting, admission (Pod Security, namespaces) and strict field validation, which
refuses an unknown field and names it."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import k8s_apiserver

from . import schemas
from .conftest import K8S, by_kind, kustomize

# the CRDs' first making runs Maven and Strimzi's generator (about a minute); the server starts in seconds
pytestmark = pytest.mark.timeout(600)


def _crd_files() -> list[Path]:
    """The CRD YAML: the two operators' from their Go modules, Strimzi's generated once and
    cached beside the built binaries."""
    crds: list[Path] = []
    for module, version, sub in (schemas.PROMETHEUS_OPERATOR, schemas.CLOUDNATIVE_PG):
        crds += sorted((schemas.go_module_dir(module, version) / sub).glob("*.yaml"))
    key = hashlib.sha256(json.dumps(schemas.STRIMZI_KINDS).encode() + schemas.STRIMZI_POM.read_bytes()).hexdigest()[:12]
    strimzi = k8s_apiserver.cache_root() / f"strimzi-crds-{key}"
    if not (strimzi / ".complete").exists():
        strimzi.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix="strimzi.", dir=strimzi.parent))
        try:
            for path in schemas.strimzi_crds(tmp):
                shutil.copy(path, tmp / path.name)
            shutil.rmtree(tmp / "libs", ignore_errors=True)
            shutil.rmtree(tmp / "crds", ignore_errors=True)
            (tmp / ".complete").write_text("ok\n")
            shutil.rmtree(strimzi, ignore_errors=True)
            os.replace(tmp, strimzi)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return crds + sorted(strimzi.glob("*.yaml"))


@pytest.fixture(scope="module")
def api() -> Iterator[k8s_apiserver.ApiServer]:
    if k8s_apiserver.binaries() is None or k8s_apiserver.kubectl_binary() is None:
        pytest.fail("kube-apiserver, etcd and kubectl are not built on this machine: scripts/bootstrap.sh builds "
                    "them (python -m tools.k8s_apiserver build)")
    try:
        crds = _crd_files()
    except schemas.SchemaError as exc:
        pytest.fail(str(exc))
    # the project's kubectl, the server's release (not whatever the machine has)
    with k8s_apiserver.ApiServer(kubectl=str(k8s_apiserver.kubectl_binary())) as server:
        installed = server.install_crds(crds)
        assert {"customresourcedefinition.apiextensions.k8s.io/kafkas.kafka.strimzi.io",
                "customresourcedefinition.apiextensions.k8s.io/clusters.postgresql.cnpg.io",
                "customresourcedefinition.apiextensions.k8s.io/podmonitors.monitoring.coreos.com"} <= set(installed)
        # created for real, as deploy/README.md has the operators do before the Secrets: the overlay's
        # own Namespace, so Pod Security `restricted` is enforced in it during the dry runs
        server.kubectl("apply", "-f", str(K8S / "overlays" / "county" / "namespace.yaml"))
        yield server


STRIMZI_V1BETA2 = re.compile(r"Warning: Version v1beta2 of the Kafka\w* API is deprecated\. Please use the v1 version instead\.")


def test_the_server_is_the_release_built_here(api: k8s_apiserver.ApiServer) -> None:
    assert api.server_version() == k8s_apiserver.KUBERNETES_VERSION
    client = json.loads(api.kubectl("version", "-o", "json").stdout)["clientVersion"]["gitVersion"]
    assert client == k8s_apiserver.KUBERNETES_VERSION  # the project's kubectl, not the machine's


def _applied(stdout: str) -> set[str]:
    """`kind.group/name` of each "... created (server dry run)" line."""
    out = set()
    for line in stdout.splitlines():
        assert line.endswith("(server dry run)"), line
        out.add(line.split()[0])
    return out


def _kind_name(doc: dict[str, Any]) -> tuple[str, str]:
    return doc["kind"].lower(), doc["metadata"]["name"]


@pytest.mark.parametrize("overlay", ["base", "overlays/county"])
def test_the_manifests_pass_a_server_side_dry_run(overlay: str, api: k8s_apiserver.ApiServer) -> None:
    proc = api.dry_run("-k", str(K8S / overlay))
    assert proc.returncode == 0, proc.stderr
    # No warning (Pod Security `restricted` would warn on a lax pod) but Strimzi 0.49's: it
    # deprecates the v1beta2 API, which the manifests keep for the older operators deploy/README.md allows.
    warnings = [w for w in proc.stderr.splitlines() if w.startswith("Warning")]
    assert not [w for w in warnings if not STRIMZI_V1BETA2.fullmatch(w)], proc.stderr
    applied = _applied(proc.stdout)
    docs = kustomize(K8S / overlay)
    # every document was accepted, each once
    assert len(applied) == len(docs) == len(proc.stdout.splitlines())
    assert {(r.split("/")[0].split(".")[0], r.split("/", 1)[1]) for r in applied} == {_kind_name(d) for d in docs}


def _one(docs: list[dict[str, Any]], kind: str, name: str | None, edit) -> str:  # type: ignore[no-untyped-def]
    doc = copy.deepcopy(by_kind(docs, kind)[name] if name else next(d for d in docs if d["kind"] == kind))
    edit(doc)
    return yaml.safe_dump(doc, sort_keys=False)


CASES = [
    # (kind, name, the edit, what the server must say): strict field validation names unknown fields
    ("Deployment", "intake", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(readinessprobe={}),
     'unknown field "spec.template.spec.containers[0].readinessprobe"'),
    ("Kafka", "onewindow-kafka", lambda d: d["spec"]["kafka"].update(replicaz=3), 'unknown field "spec.kafka.replicaz"'),
    ("Cluster", "onewindow-pg", lambda d: d["spec"].update(instancez=3), 'unknown field "spec.instancez"'),
    ("Database", None, lambda d: d["spec"].update(ownr="intake"), 'unknown field "spec.ownr"'),
    ("PodMonitor", None, lambda d: d["spec"]["podMetricsEndpoints"][0].update(portt="http"),
     'unknown field "spec.podMetricsEndpoints[0].portt"'),
    ("PrometheusRule", None, lambda d: d["spec"]["groups"][0].update(rulez=[]), 'unknown field "spec.groups[0].rulez"'),
    # the CRDs' schemas: types and enums (with --validate=false an unknown field above would be
    # pruned silently and the dry run pass; these fail either way)
    ("KafkaTopic", None, lambda d: d["spec"].update(partitions="three"),
     "spec.partitions: Invalid value"),
    ("KafkaUser", None, lambda d: d["spec"]["authorization"].update(type="everything"),
     'spec.authorization.type: Unsupported value: "everything"'),
    # what only the server's own validation knows: a selector that does not select the pods
    ("Deployment", "seal", lambda d: d["spec"]["selector"]["matchLabels"].update({"app.kubernetes.io/name": "other"}),
     "spec.template.metadata.labels: Invalid value"),
]


@pytest.mark.parametrize(("kind", "name", "edit", "said"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_a_wrong_field_is_refused_by_the_server_named(kind: str, name: str | None, edit, said: str,  # type: ignore[no-untyped-def]
                                                      county: list[dict[str, Any]],
                                                      api: k8s_apiserver.ApiServer) -> None:
    good = _one(county, kind, name, lambda d: None)
    assert api.dry_run("-f", "-", input=good).returncode == 0  # the document itself is accepted ...
    proc = api.dry_run("-f", "-", input=_one(county, kind, name, edit))
    assert proc.returncode != 0, proc.stdout  # ... and refused with the one wrong field, named
    assert said in proc.stderr, proc.stderr
    assert "(server dry run)" not in proc.stdout


def test_pod_security_restricted_is_enforced_in_the_namespace(county: list[dict[str, Any]],
                                                              api: k8s_apiserver.ApiServer) -> None:
    """The county namespace enforces Pod Security `restricted`: the Deployments pass it (no
    warning above); one that lets a container escalate privileges draws the admission's warning."""
    def lax(d: dict[str, Any]) -> None:
        d["spec"]["template"]["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True

    proc = api.dry_run("-f", "-", input=_one(county, "Deployment", "intake", lax))
    assert 'would violate PodSecurity "restricted:latest"' in proc.stderr, proc.stderr
    assert "allowPrivilegeEscalation" in proc.stderr


def test_the_staging_replaces_become_the_published_modules() -> None:
    """What lets kube-apiserver build from the module proxy: the staging folders the module zip
    lacks are swapped for the same release's published modules; nothing else in go.mod changes."""
    go_mod = ("module k8s.io/kubernetes\n\nrequire k8s.io/api v0.0.0\n\nreplace (\n"
              "\tk8s.io/api => ./staging/src/k8s.io/api\n"
              "\tk8s.io/kube-aggregator => ./staging/src/k8s.io/kube-aggregator\n"
              "\tgithub.com/x/y => github.com/x/y v1.2.3\n)\n")
    out = k8s_apiserver.rewrite_staging_replaces(go_mod, "v0.33.13")
    assert "\tk8s.io/api => k8s.io/api v0.33.13\n" in out
    assert "\tk8s.io/kube-aggregator => k8s.io/kube-aggregator v0.33.13\n" in out
    assert "staging" not in out
    assert out.replace("k8s.io/api v0.33.13", "").count("v0.33.13") == 1
    assert "github.com/x/y => github.com/x/y v1.2.3" in out and "require k8s.io/api v0.0.0" in out
