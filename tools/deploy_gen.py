"""Deployment manifests generated from the code, so they cannot drift from it.

``onewindow deploy generate`` writes, under ``deploy/k8s/base/``:

- ``kafka/topics.yaml``: a Strimzi ``KafkaTopic`` for every topic of the contracts' catalog and
  its ``.dlq`` twin (partitions, retention and compaction from the catalog, the twins' shape from
  :func:`tools.kafka_local.topic_specs`, replication 3, ``min.insync.replicas`` 2);
- ``kafka/users.yaml``: a Strimzi ``KafkaUser`` per service, for the operators' dead-letter
  replays, and for each subscribing bureau, with ACLs: a service writes only its own topics
  (``seal.commands`` is written by notify and intake, read by seal), reads what it consumes, writes the
  ``.dlq`` twins of what it consumes; a bureau reads only the public topics;
- ``services.yaml``: per service (every one the registry finds, the console included) a
  ServiceAccount, Deployment, Service, PodDisruptionBudget, a HorizontalPodAutoscaler for the
  stateless HTTP-facing ones and a PersistentVolumeClaim for those that keep files; only the
  services on the bus get Kafka credentials and the cluster CA;
- ``postgres/cluster.yaml``: the CloudNativePG ``Cluster`` with a managed role per service and
  a ``Database`` per service owned by it;
- ``monitoring/prometheusrule.yaml``: a ``PrometheusRule`` with exactly the groups of
  ``deploy/prometheus/rules/onewindow.rules.yml`` (the file Prometheus loads in Compose and
  that ``promtool test rules`` tests).

``onewindow deploy check`` fails when a committed file differs from what would be generated (CI
runs it through ``tests/deploy``). ``onewindow deploy ensure-topics`` creates the catalog's topics
on a broker with a chosen replication (the Compose stack's one-shot ``kafka-topics`` job).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
import yaml

from tools.registry import BUS_SERVICES as SERVICES
from tools.registry import DEFAULT_PORTS, REPO_ROOT, declarations
from tools.registry import SERVICES as DEPLOYED  # every service, on the bus or not (the console)

DEPLOY_DIR = REPO_ROOT / "deploy"
K8S_BASE = DEPLOY_DIR / "k8s" / "base"
RULES_FILE = DEPLOY_DIR / "prometheus" / "rules" / "onewindow.rules.yml"

KAFKA_CLUSTER = "onewindow-kafka"
POSTGRES_CLUSTER = "onewindow-pg"
PART_OF = "onewindow"
IMAGE = "onewindow"  # the overlay's `images:` sets registry and tag
REPLICAS = 3
MIN_INSYNC = 2
UID = 10001

#: Topics written by services other than their owner (a command topic belongs to the service
#: that executes the commands; only the requesters write it), and the topics each service's
#: handlers read: both as the services declare them (``DECLARATION`` in their config.py).
#: tests/deploy checks the reads against the real handlers: a subscription missing there would
#: be refused by the broker's ACLs on the cluster.
WRITERS: Mapping[str, tuple[str, ...]] = {
    topic: tuple(d.name for d in declarations().values() if topic in d.writes)
    for topic in sorted({t for d in declarations().values() for t in d.writes})
}
CONSUMES: Mapping[str, tuple[str, ...]] = {name: declarations()[name].consumes for name in SERVICES}

#: Bureaus that subscribe to the public topics (each gets a KafkaUser; consumer groups must
#: start with its name).
BUREAUS: tuple[str, ...] = ("county-bureau",)
OPERATOR_USER = "onewindow-operator"


@dataclass(frozen=True)
class ServicePlan:
    """How a service runs on the cluster."""

    name: str
    replicas: int
    hpa_max: int | None = None          # None: no autoscaler
    volume: str | None = None           # size of a PVC for files the service keeps
    cpu: str = "100m"
    memory: str = "256Mi"
    memory_limit: str = "512Mi"
    secret_env: tuple[tuple[str, str, str, bool], ...] = ()  # (env, secret, key, optional)
    secret_files: tuple[tuple[str, str], ...] = ()           # (secret, mount path)
    extra_env: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def port(self) -> int:
        return DEFAULT_PORTS[self.name]


#: Why each shape: intake and attendance answer HTTP (clerks, the public status lookup, the
#: fingerprint terminals' pushes) and keep all state in PostgreSQL, so they scale out. deadline
#: runs a clock watcher whose emits carry deterministic ids, so two replicas are safe but more
#: buy nothing (its work is bounded by the partitions). seal keeps the sealed PDFs on disk and
#: notify the notice PDFs and a per-process SMS rate limit: one replica each, on a volume.
PLANS: Mapping[str, ServicePlan] = {
    "intake": ServicePlan("intake", replicas=2, hpa_max=6),
    "seal": ServicePlan(
        "seal", replicas=1, volume="20Gi", cpu="250m", memory="384Mi", memory_limit="1Gi",
        secret_files=(("onewindow-seal", "/run/secrets/onewindow-seal"),),
        extra_env=(("ONEWINDOW_SEAL_KEY_PASSPHRASE_FILE", "/run/secrets/onewindow-seal/passphrase"),),
    ),
    "deadline": ServicePlan("deadline", replicas=2),
    "notify": ServicePlan(
        "notify", replicas=1, volume="10Gi", cpu="200m", memory="384Mi", memory_limit="1Gi",
        secret_env=(
            ("ONEWINDOW_NOTIFY_SMPP_PASSWORD", "onewindow-sms", "smpp-password", True),
            ("ONEWINDOW_NOTIFY_ALIYUN_ACCESS_KEY_SECRET", "onewindow-sms", "aliyun-access-key-secret", True),
            ("ONEWINDOW_NOTIFY_ALIYUN_RECEIPT_TOKEN", "onewindow-sms", "aliyun-receipt-token", True),
        ),
    ),
    "attendance": ServicePlan("attendance", replicas=2, hpa_max=4),
    # The staff's web pages: no Kafka, its own database (accounts, sessions), the back-end
    # services through their Services; stateless otherwise, so it scales out like intake.
    "console": ServicePlan(
        "console", replicas=2, hpa_max=4,
        secret_env=(("ONEWINDOW_CONSOLE_OIDC_CLIENT_SECRET", "onewindow-console", "oidc-client-secret", True),),
        extra_env=tuple((f"ONEWINDOW_CONSOLE_{s.upper()}_URL", f"http://{s}") for s in SERVICES),
    ),
}


def on_bus(name: str) -> bool:
    return declarations()[name].kafka


# ---------------------------------------------------------------------------------------------
# Kafka: topics and users


def _catalog() -> list[Any]:
    import contracts

    return contracts.all_topics()


def kafka_topics() -> list[dict[str, Any]]:
    """KafkaTopic resources for the catalog and its dead-letter twins."""
    from tools.kafka_local import topic_specs

    out = []
    for spec in topic_specs(_catalog()):
        config: dict[str, Any] = {k: _typed(v) for k, v in sorted(spec.config.items())}
        config["min.insync.replicas"] = MIN_INSYNC
        out.append({
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaTopic",
            "metadata": {"name": spec.name, "labels": {"strimzi.io/cluster": KAFKA_CLUSTER}},
            "spec": {"topicName": spec.name, "partitions": spec.partitions, "replicas": REPLICAS, "config": config},
        })
    return out


def _typed(value: str) -> Any:
    return int(value) if value.isdigit() else value


def writes(service: str) -> list[str]:
    """Topics ``service`` publishes to: its own, the commands it sends, and the dead-letter
    twins of the topics it consumes (the runtime dead-letters bad records there)."""
    own = [t.name for t in _catalog() if t.owner == service and t.name not in WRITERS]
    extra = [name for name, writers in WRITERS.items() if service in writers]
    dlq = [f"{name}.dlq" for name in CONSUMES.get(service, ())]
    return sorted(set(own) | set(extra) | set(dlq))


def reads(service: str) -> list[str]:
    """What it consumes, and the dead-letter twins of those: its admin API lists its own dead
    letters (services/runtime/deadletters_api.py) and replays them in-process, writing nothing back."""
    consumed = set(CONSUMES.get(service, ()))
    return sorted(consumed | {f"{name}.dlq" for name in consumed})


def _acl(kind: str, name: str, operations: Iterable[str], pattern: str = "literal") -> dict[str, Any]:
    return {
        "resource": {"type": kind, "name": name, "patternType": pattern},
        "operations": list(operations),
        "host": "*",
    }


def _user(name: str, acls: list[dict[str, Any]], component: str) -> dict[str, Any]:
    return {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaUser",
        "metadata": {
            "name": name,
            "labels": {"strimzi.io/cluster": KAFKA_CLUSTER, "app.kubernetes.io/part-of": PART_OF,
                       "app.kubernetes.io/component": component},
        },
        "spec": {"authentication": {"type": "scram-sha-512"}, "authorization": {"type": "simple", "acls": acls}},
    }


def kafka_users() -> list[dict[str, Any]]:
    """KafkaUser resources: one per service, one for the operators, one per bureau."""
    users = []
    for service in SERVICES:
        acls = [_acl("topic", t, ("Write", "Describe")) for t in writes(service)]
        acls += [_acl("topic", t, ("Read", "Describe")) for t in reads(service)]
        acls.append(_acl("group", f"{service}.", ("Read",), "prefix"))  # groups are <service>.<handler>
        users.append(_user(service, acls, "service"))
    # `onewindow dlq list|replay`: read the twins, write the records back to their topic.
    catalog = _catalog()
    ops = [_acl("topic", t.dlq, ("Read", "Describe")) for t in catalog]
    ops += [_acl("topic", t.name, ("Write", "Describe")) for t in catalog]
    ops.append(_acl("group", OPERATOR_USER, ("Read",), "prefix"))
    users.append(_user(OPERATOR_USER, ops, "operator"))
    for bureau in BUREAUS:
        acls = [_acl("topic", t.name, ("Read", "Describe")) for t in catalog if t.public]
        acls.append(_acl("group", bureau, ("Read",), "prefix"))
        users.append(_user(bureau, acls, "bureau"))
    return users


# ---------------------------------------------------------------------------------------------
# The services


def _labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/component": "service"}


def _env(plan: ServicePlan) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "ONEWINDOW_DB_PASSWORD",
         "valueFrom": {"secretKeyRef": {"name": f"onewindow-db-{plan.name}", "key": "password"}}},
        # $(VAR) is expanded by the kubelet from the variable above (password must be URL-safe).
        {"name": "DATABASE_URL",
         "value": f"postgresql+psycopg://{plan.name}:$(ONEWINDOW_DB_PASSWORD)@{POSTGRES_CLUSTER}-rw:5432/{plan.name}"},
    ]
    if on_bus(plan.name):
        env += [
            {"name": "ONEWINDOW_KAFKA_SASL_USERNAME", "value": plan.name},
            # Strimzi's User Operator writes the SCRAM password into a Secret named after the user.
            {"name": "ONEWINDOW_KAFKA_SASL_PASSWORD",
             "valueFrom": {"secretKeyRef": {"name": plan.name, "key": "password"}}},
        ]
    env += [
        {"name": "ONEWINDOW_AUTH_SECRET",
         "valueFrom": {"secretKeyRef": {"name": "onewindow-auth", "key": "token-key", "optional": True}}},
        {"name": "ONEWINDOW_HTTP_PORT", "value": str(plan.port)},
    ]
    for name, secret, key, optional in plan.secret_env:
        ref: dict[str, Any] = {"name": secret, "key": key}
        if optional:
            ref["optional"] = True
        env.append({"name": name, "valueFrom": {"secretKeyRef": ref}})
    env += [{"name": k, "value": v} for k, v in plan.extra_env]
    return env


def _deployment(plan: ServicePlan) -> dict[str, Any]:
    labels = _labels(plan.name)
    mounts = [
        {"name": "data", "mountPath": "/var/lib/onewindow"},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "data", "persistentVolumeClaim": {"claimName": f"{plan.name}-data"}} if plan.volume
        else {"name": "data", "emptyDir": {}},
        {"name": "tmp", "emptyDir": {}},
    ]
    if on_bus(plan.name):
        mounts.append({"name": "kafka-ca", "mountPath": "/run/secrets/kafka-ca", "readOnly": True})
        # The cluster CA Strimzi creates, to verify the brokers' TLS certificates.
        volumes.append({"name": "kafka-ca", "secret": {"secretName": f"{KAFKA_CLUSTER}-cluster-ca-cert",
                                                       "items": [{"key": "ca.crt", "path": "ca.crt"}]}})
    for i, (secret, path) in enumerate(plan.secret_files):
        vol = f"secret-{i}"
        mounts.append({"name": vol, "mountPath": path, "readOnly": True})
        volumes.append({"name": vol, "secret": {"secretName": secret, "defaultMode": 0o400}})
    probe = {"httpGet": {"path": "/healthz", "port": "http"}}
    container = {
        "name": plan.name,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": ["serve", plan.name],
        "ports": [{"name": "http", "containerPort": plan.port, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": "onewindow-config"}}],
        "env": _env(plan),
        "startupProbe": {**probe, "periodSeconds": 5, "failureThreshold": 36},  # migrations run at start
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 10,
                           "timeoutSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {**probe, "periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 3},
        "resources": {"requests": {"cpu": plan.cpu, "memory": plan.memory}, "limits": {"memory": plan.memory_limit}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }
    spec: dict[str, Any] = {
        "replicas": plan.replicas,
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": {"app.kubernetes.io/name": plan.name, "app.kubernetes.io/part-of": PART_OF}},
        # A volume (ReadWriteOnce) cannot be attached to two pods during a rolling update.
        "strategy": {"type": "Recreate"} if plan.volume else {
            "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "serviceAccountName": plan.name,
                "automountServiceAccountToken": False,
                "terminationGracePeriodSeconds": 30,
                "securityContext": {
                    "runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID, "fsGroup": UID,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [container],
                "volumes": volumes,
            },
        },
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": plan.name, "labels": labels}, "spec": spec}


def service_manifests() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in DEPLOYED:
        plan = PLANS[name]
        labels = _labels(name)
        selector = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": PART_OF}
        out.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "labels": labels},
                    "automountServiceAccountToken": False})
        if plan.volume:
            out.append({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": f"{name}-data", "labels": labels},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": plan.volume}}},
            })
        out.append(_deployment(plan))
        out.append({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": labels},
            "spec": {"selector": selector,
                     "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]},
        })
        budget: dict[str, Any] = {"minAvailable": 1} if plan.replicas > 1 else {"maxUnavailable": 1}
        out.append({
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name, "labels": labels},
            "spec": {**budget, "selector": {"matchLabels": selector}},
        })
        if plan.hpa_max:
            out.append({
                "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": name, "labels": labels},
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                    "minReplicas": plan.replicas,
                    "maxReplicas": plan.hpa_max,
                    "metrics": [{"type": "Resource", "resource": {
                        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
                },
            })
    return out


# ---------------------------------------------------------------------------------------------
# PostgreSQL (CloudNativePG)


def postgres_manifests() -> list[dict[str, Any]]:
    """One Cluster (a primary and two replicas) with a login role per service, and a Database
    per service owned by it. The passwords are the Secrets ``onewindow-db-<service>``
    (kubernetes.io/basic-auth) the operators create (deploy/README.md); the Deployments read the
    same Secrets. A county with its own PostgreSQL drops this file from the overlay."""
    roles = [{"name": name, "ensure": "present", "login": True, "passwordSecret": {"name": f"onewindow-db-{name}"}}
             for name in DEPLOYED]
    cluster = {
        "apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": POSTGRES_CLUSTER},
        "spec": {
            "instances": 3,
            "storage": {"size": "50Gi"},
            "bootstrap": {"initdb": {"database": "onewindow", "owner": "onewindow"}},
            "managed": {"roles": roles},
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
        },
    }
    databases = [{"apiVersion": "postgresql.cnpg.io/v1", "kind": "Database", "metadata": {"name": f"onewindow-{name}"},
                  "spec": {"name": name, "owner": name, "cluster": {"name": POSTGRES_CLUSTER}}} for name in DEPLOYED]
    return [cluster, *databases]


# ---------------------------------------------------------------------------------------------
# Monitoring


def prometheus_rule(rules_file: Path = RULES_FILE) -> dict[str, Any]:
    """The Prometheus Operator's PrometheusRule with the groups of the rules file, unchanged."""
    groups = yaml.safe_load(rules_file.read_text())["groups"]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "onewindow", "labels": {"app.kubernetes.io/part-of": PART_OF, "role": "alert-rules"}},
        "spec": {"groups": groups},
    }


# ---------------------------------------------------------------------------------------------
# Files


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # no &id001 anchors: plain, greppable YAML
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line strings (PromQL, runbooks) as literal blocks, so the file reads like the source.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(docs: Iterable[Mapping[str, Any]], source: str) -> str:
    header = (f"# GENERATED by `onewindow deploy generate` from {source}.\n"
              "# Do not edit: change the source and regenerate (tests/deploy fails on drift).\n")
    body = "---\n".join(
        yaml.dump(dict(d), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110) for d in docs
    )
    return header + body


def generated_files() -> dict[Path, str]:
    """Every generated file and its content."""
    return {
        K8S_BASE / "kafka" / "topics.yaml": dump(kafka_topics(), "the contracts' topic catalog (contracts/*.py)"),
        K8S_BASE / "kafka" / "users.yaml": dump(kafka_users(), "tools/deploy_gen.py (WRITERS, CONSUMES, BUREAUS)"),
        K8S_BASE / "services.yaml": dump(service_manifests(), "tools/deploy_gen.py (PLANS)"),
        K8S_BASE / "postgres" / "cluster.yaml": dump(postgres_manifests(), "tools/deploy_gen.py (the registry's services)"),
        K8S_BASE / "monitoring" / "prometheusrule.yaml": dump(
            [prometheus_rule()], "deploy/prometheus/rules/onewindow.rules.yml"),
    }


def write() -> list[Path]:
    changed = []
    for path, text in generated_files().items():
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(path)
    return changed


def drift() -> dict[Path, str]:
    """For each generated file that differs from what the code generates: a unified diff."""
    out = {}
    for path, text in generated_files().items():
        current = path.read_text() if path.exists() else ""
        if current != text:
            rel = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
            out[path] = "".join(difflib.unified_diff(
                current.splitlines(keepends=True), text.splitlines(keepends=True),
                f"{rel} (committed)", f"{rel} (generated)"))
    return out


# ---------------------------------------------------------------------------------------------
# CLI (`onewindow deploy ...`)

deploy_app = typer.Typer(help="Deployment manifests generated from the code; topics on a broker.", no_args_is_help=True)


@deploy_app.command("generate")
def generate_cmd() -> None:
    """Write the generated manifests under deploy/k8s/base/."""
    changed = write()
    for path in changed:
        typer.echo(f"wrote {path.relative_to(REPO_ROOT)}")
    if not changed:
        typer.echo("generated manifests are up to date")


@deploy_app.command("check")
def check_cmd() -> None:
    """Exit 1 when a generated manifest differs from what the code generates."""
    diffs = drift()
    for diff in diffs.values():
        typer.echo(diff)
    if diffs:
        typer.echo("generated manifests are stale: run `onewindow deploy generate`", err=True)
        raise typer.Exit(1)
    typer.echo("generated manifests are up to date")


@deploy_app.command("acls")
def acls_cmd() -> None:
    """What each Kafka user may write and read."""
    for user in kafka_users():
        typer.echo(user["metadata"]["name"])
        for acl in user["spec"]["authorization"]["acls"]:
            r = acl["resource"]
            suffix = "*" if r["patternType"] == "prefix" else ""
            typer.echo(f"  {','.join(acl['operations']):<16} {r['type']:<6} {r['name']}{suffix}")


@deploy_app.command("ensure-topics")
def ensure_topics_cmd(
    bootstrap: str = typer.Option(..., envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers."),
    replication_factor: int = typer.Option(REPLICAS, help="Replicas of each topic."),
    min_insync: int = typer.Option(MIN_INSYNC, help="min.insync.replicas of each topic."),
    timeout: float = typer.Option(60.0, help="Seconds to wait for the brokers."),
) -> None:
    """Create the catalog's topics and their .dlq twins (idempotent): the Compose stack's job."""
    from tools.kafka_local import TopicSpec, ensure_topics_sync, topic_specs

    specs = [
        TopicSpec(s.name, s.partitions, {**s.config, "min.insync.replicas": str(min_insync)}, replication_factor)
        for s in topic_specs(_catalog())
    ]
    for name, outcome in sorted(ensure_topics_sync(bootstrap, specs, with_dlq=False, timeout=timeout).items()):
        typer.echo(f"{name}: {outcome}")
