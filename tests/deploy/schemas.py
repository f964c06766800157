"""The schemas every Kubernetes manifest is validated against with kubeconform, offline, all
taken from what the projects publish on the registries these machines reach:

- Kubernetes 1.33 (core kinds): the strict JSON schemas shipped in the `kubernetes-validate`
  package (PyPI), used in place;
- the Prometheus Operator (PodMonitor, PrometheusRule ...): the CRD YAML in its Go module
  (`github.com/prometheus-operator/prometheus-operator`, `example/prometheus-operator-crd/`);
- CloudNativePG (Cluster, Database ...): the CRD YAML in its Go module
  (`github.com/cloudnative-pg/cloudnative-pg`, `config/crd/bases/`);
- Strimzi (Kafka, KafkaNodePool, KafkaTopic, KafkaUser): generated from its API model
  (`io.strimzi:api`, Maven Central) by Strimzi's own generator (`io.strimzi:crd-generator`) as
  Strimzi's build does (deploy/schemas/strimzi-pom.xml); the generator needs Java 21 or later.

Each CRD version's `openAPIV3Schema` becomes a JSON schema `<group>/<kind>_<version>.json`
(kubeconform's layout for CRDs), made strict the way the API server prunes: an object that
lists its properties admits no other (unless it says `x-kubernetes-preserve-unknown-fields`).
Everything is cached under ~/.cache/onewindow/k8s-schemas/ (keyed by the versions below).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
K8S_VERSION = "1.33.0"
KUBECONFORM_VERSION = "v0.7.0"
PROMETHEUS_OPERATOR = ("github.com/prometheus-operator/prometheus-operator", "v0.85.0", "example/prometheus-operator-crd")
CLOUDNATIVE_PG = ("github.com/cloudnative-pg/cloudnative-pg", "v1.27.0", "config/crd/bases")
STRIMZI_POM = REPO / "deploy" / "schemas" / "strimzi-pom.xml"
STRIMZI_KINDS = {
    "io.strimzi.api.kafka.model.kafka.Kafka": "kafka",
    "io.strimzi.api.kafka.model.nodepool.KafkaNodePool": "kafkanodepool",
    "io.strimzi.api.kafka.model.topic.KafkaTopic": "kafkatopic",
    "io.strimzi.api.kafka.model.user.KafkaUser": "kafkauser",
}


class SchemaError(RuntimeError):
    pass


def cache_root() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "onewindow" / "k8s-schemas"


def kubeconform() -> str:
    """The kubeconform binary: on PATH, in the venv (scripts/bootstrap.sh installs it there with
    `go install`), or in Go's bin folder."""
    for candidate in (shutil.which("kubeconform"), str(REPO / ".venv" / "bin" / "kubeconform"),
                      str(Path.home() / "go" / "bin" / "kubeconform")):
        if candidate and Path(candidate).exists():
            return candidate
    raise SchemaError("kubeconform is not installed: scripts/bootstrap.sh installs it "
                      f"(go install github.com/yannh/kubeconform/cmd/kubeconform@{KUBECONFORM_VERSION})")


_REF = "/api/_definitions.json#/$defs/"


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for v in node.values():
            _refs(v, found)
    elif isinstance(node, list):
        for v in node:
            _refs(v, found)


def _local_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v.replace(_REF, "#/$defs/") if k == "$ref" and isinstance(v, str) else _local_refs(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_local_refs(v) for v in node]
    return node


def core_schema_dir() -> Path:
    """The strict Kubernetes schemas of `kubernetes-validate`, made standalone for kubeconform:
    they refer to a shared `/api/_definitions.json`, which kubeconform cannot load, so each file
    gets the definitions it reaches copied into its own `$defs` (cached)."""
    import kubernetes_validate

    source = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{K8S_VERSION}-local-strict"
    if not source.is_dir():
        raise SchemaError(f"kubernetes-validate ships no schemas for Kubernetes {K8S_VERSION} ({source})")
    final = cache_root() / f"core-v{K8S_VERSION}-strict-{_key()}"
    if (final / ".complete").exists():
        return final
    definitions = json.loads((source / "_definitions.json").read_text())["$defs"]
    cache_root().mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="core.", dir=cache_root()))
    try:
        for path in source.glob("*.json"):
            if path.name.startswith("_") or path.name == "all.json":
                continue
            schema = json.loads(path.read_text())
            defs = dict(schema.get("$defs", {}))
            todo: set[str] = set()
            _refs(schema, todo)
            while todo:
                name = todo.pop()
                if name in defs or name not in definitions:
                    continue
                defs[name] = definitions[name]
                _refs(defs[name], todo)
            schema = _local_refs(schema)
            if defs:
                schema["$defs"] = _local_refs(defs)
            (tmp / path.name).write_text(json.dumps(schema))
        (tmp / ".complete").write_text("ok\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def core_schema_location() -> str:
    return str(core_schema_dir()) + "/{{ .ResourceKind }}{{ .KindSuffix }}.json"


# --------------------------------------------------------------------------------------------
# CRD YAML -> strict JSON schemas


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _strict(v) for k, v in node.items()}
        if (out.get("type") == "object" and "properties" in out and "additionalProperties" not in out
                and not out.get("x-kubernetes-preserve-unknown-fields")):
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


class _Loader(yaml.SafeLoader):
    """YAML 1.1's `=` (the "value" tag) is a plain string in a CRD's enum."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def write_crd_schemas(crd_files: list[Path], dest: Path) -> list[Path]:
    written = []
    for path in crd_files:
        for crd in yaml.load_all(path.read_text(), Loader=_Loader):  # noqa: S506 - a safe loader
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group = crd["spec"]["group"]
            kind = crd["spec"]["names"]["kind"].lower()
            for version in crd["spec"]["versions"]:
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if not schema:
                    continue
                out = dest / group / f"{kind}_{version['name']}.json"
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(_strict(schema), indent=1))
                written.append(out)
    return written


# --------------------------------------------------------------------------------------------
# Sources


def _run(cmd: list[str], what: str, **kw: Any) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, **kw)
    if proc.returncode != 0:
        raise SchemaError(f"{what} failed:\n  " + "\n  ".join((proc.stdout + proc.stderr).splitlines()[-15:]))
    return proc.stdout


def go_module_dir(module: str, version: str) -> Path:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if go is None:
        raise SchemaError("go is needed to fetch the operators' CRDs from the Go module proxy")
    with tempfile.TemporaryDirectory() as tmp:  # outside any module: a plain download
        out = _run([go, "mod", "download", "-json", f"{module}@{version}"], f"go mod download {module}", cwd=tmp)
    return Path(json.loads(out)["Dir"])


def java21() -> str:
    """A Java 21+ runtime (Strimzi's generator is compiled for 21): $JAVA21_HOME, $JAVA_HOME,
    `java` on PATH or any JDK under /usr/lib/jvm."""
    candidates = [os.environ.get("JAVA21_HOME", ""), os.environ.get("JAVA_HOME", "")]
    candidates = [str(Path(c) / "bin" / "java") for c in candidates if c]
    candidates += [shutil.which("java") or ""]
    candidates += sorted(str(p) for p in Path("/usr/lib/jvm").glob("*/bin/java"))
    for java in candidates:
        if not java or not Path(java).exists():
            continue
        out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
        m = re.search(r'version "(\d+)', out)
        if m and int(m.group(1)) >= 21:
            return java
    raise SchemaError("Strimzi's CRD generator needs Java 21 or later (a JDK under /usr/lib/jvm, or "
                      "JAVA21_HOME); none found")


def strimzi_crds(dest: Path) -> list[Path]:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise SchemaError("Maven (mvn) is needed to fetch Strimzi's API model and CRD generator")
    libs = dest / "libs"
    _run([mvn, "-B", "-q", "-f", str(STRIMZI_POM), "dependency:copy-dependencies", f"-DoutputDirectory={libs}"],
         "Maven (Strimzi's api and crd-generator)")
    out = dest / "crds"
    out.mkdir(parents=True, exist_ok=True)
    targets = {cls: out / f"{name}.yaml" for cls, name in STRIMZI_KINDS.items()}
    _run([java21(), "-cp", f"{libs}/*", "io.strimzi.crdgenerator.CrdGenerator", "--label", "app:strimzi",
          "--target-kube", "1.16+", "--crd-api-version", "v1", "--api-versions", "v1beta2",
          "--storage-version", "v1beta2", "--yaml", *(f"{cls}={path}" for cls, path in targets.items())],
         "Strimzi's CrdGenerator")
    return list(targets.values())


def _key() -> str:
    h = hashlib.sha256()
    h.update(json.dumps([PROMETHEUS_OPERATOR, CLOUDNATIVE_PG, STRIMZI_KINDS]).encode())
    h.update(STRIMZI_POM.read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:12]


def crd_schema_dir() -> Path:
    """The folder of the CRDs' JSON schemas, made once (a minute or two: two Go modules, Maven,
    the generator) and cached."""
    final = cache_root() / _key()
    if (final / ".complete").exists():
        return final
    cache_root().mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="schemas.", dir=cache_root()))
    try:
        crds: list[Path] = []
        for module, version, sub in (PROMETHEUS_OPERATOR, CLOUDNATIVE_PG):
            crds += sorted((go_module_dir(module, version) / sub).glob("*.yaml"))
        crds += strimzi_crds(tmp / "strimzi")
        schemas = tmp / "schemas"
        if not write_crd_schemas(crds, schemas):
            raise SchemaError("no CRD schema was written")
        (schemas / ".complete").write_text("ok\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(schemas, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def validate(manifests: str, crd_dir: Path) -> dict[str, Any]:
    """kubeconform -strict on a stream of YAML documents; its JSON report."""
    proc = subprocess.run(
        [kubeconform(), "-strict", "-summary", "-output", "json", "-kubernetes-version", K8S_VERSION,
         "-schema-location", core_schema_location(),
         "-schema-location", str(crd_dir) + "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json", "-"],
        input=manifests, capture_output=True, text=True, timeout=300)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise SchemaError(f"kubeconform said: {proc.stdout}{proc.stderr}") from None
    report["returncode"] = proc.returncode
    return report
