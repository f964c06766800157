"""The Compose file brought up with podman-compose (PyPI) against the image built here.

deploy/compose/compose.yaml with deploy/compose/compose.podman-host.yaml, the override for a
machine without a registry: the kafka-topics job and the six OneWindow services (the five and
the console) run as Compose makes them (named volumes, read-only root, capabilities dropped, the
seal passphrase as a Compose secret) from the image `onewindow image build` makes, on the host
network, against the project's own broker and, when ONEWINDOW_TEST_POSTGRES_URL is set (CI),
PostgreSQL on the host. One application goes through intake's port to the sealed notice and its
SMS; then `podman-compose down -v` leaves no container nor volume behind.

Kafka, PostgreSQL, Prometheus, Alertmanager and Grafana of compose.yaml are not started (their
images come from a registry); deploy/README.md says what this leaves to a real Docker host.
The image is the one test_image_run.py builds (cached; see tools/image.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e.harness import (
    TEST_ENV, Suite, eventually, free_port, postgres_databases,
)
from tools import image, kafka_local
from tools.registry import BUS_SERVICES

from .containers import approve_one_application, built_image, podman
from .conftest import COMPOSE_DIR

BUILD_TIMEOUT = 1500  # as test_image_run.py: the first image build on a fresh machine
pytestmark = [pytest.mark.containers, pytest.mark.e2e, pytest.mark.timeout(BUILD_TIMEOUT)]

SERVICES = (*BUS_SERVICES, "console")
OVERRIDE = COMPOSE_DIR / "compose.podman-host.yaml"


def _podman_compose() -> str:
    exe = shutil.which("podman-compose") or str(Path(sys.executable).with_name("podman-compose"))
    if not Path(exe).exists():
        pytest.fail("podman-compose is not installed: pip install -e '.[test]' (scripts/bootstrap.sh does)")
    return exe


class ComposeStack(Suite):
    """:class:`Suite` whose services are the Compose project's containers."""

    project: str = ""
    topics_after_job: set[str] = set()
    files: tuple[Path, ...] = ()
    compose_env: dict[str, str] = {}

    def compose(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [_podman_compose(), "-p", self.project]
        for f in self.files:
            cmd += ["-f", str(f)]
        proc = subprocess.run([*cmd, *args], cwd=COMPOSE_DIR, env=self.compose_env, text=True,
                              capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError(f"podman-compose {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def container(self, service: str) -> str:
        return f"{self.project}_{service}_1"  # podman-compose's naming: project_service_index

    def log(self, service: str) -> str:
        out = podman("logs", self.container(service), check=False)
        return (out.stdout or "") + (out.stderr or "")

    def project_containers(self) -> list[str]:
        out = podman("ps", "-a", "--filter", f"label=io.podman.compose.project={self.project}",
                      "--format", "{{.Names}}", check=False)
        return out.stdout.split()

    def project_volumes(self) -> list[str]:
        out = podman("volume", "ls", "--filter", f"label=io.podman.compose.project={self.project}",
                      "--format", "{{.Name}}", check=False)
        return out.stdout.split()


@pytest.fixture(scope="module")
def image_ref() -> str:
    return built_image()


@pytest.fixture(scope="module")
def stack(image_ref: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    work = tmp_path_factory.mktemp("compose")
    secrets = work / "secrets"
    secrets.mkdir()
    passphrase = secrets / "seal_key_passphrase"
    passphrase.write_text("compose-test-" + os.urandom(12).hex())
    os.chmod(passphrase, 0o444)  # the image's uid 10001 reads it
    with contextlib.ExitStack() as exits:
        kafka_ports: set[int] = set()
        while len(kafka_ports) < 2:
            kafka_ports.add(free_port())
        port, controller = sorted(kafka_ports)
        # No topics: the Compose file's kafka-topics job is what creates them.
        broker = kafka_local.start(work / "kafka", port=port, controller_port=controller, topics=[], wait=120)
        exits.callback(kafka_local.stop, work / "kafka")

        ports = {name: free_port() for name in SERVICES}
        secret = "compose-" + os.urandom(24).hex()
        env = {
            # Only what podman needs from this process's environment: anything else (an
            # ONEWINDOW_* of the developer's shell) would be interpolated into the stack.
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "USER", "LANG", "XDG_RUNTIME_DIR")},
            "CONTAINERS_CONF": image.podman_env()["CONTAINERS_CONF"],
            "ONEWINDOW_IMAGE": image_ref,
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "ONEWINDOW_AUTH_SECRET": secret,
            "SEAL_KEY_PASSPHRASE_FILE": str(passphrase),
            "ONEWINDOW_SEAL_PUBLIC_URL": f"http://127.0.0.1:{ports['seal']}",
            "ONEWINDOW_NOTIFY_PUBLIC_URL": f"http://127.0.0.1:{ports['notify']}",
            "ONEWINDOW_NOTIFY_RATING_URL_TEMPLATE":
                f"http://127.0.0.1:{ports['intake']}/intake/public/ratings/{{receipt_no}}",
            # compose.yaml interpolates these for services not started here (PostgreSQL, Grafana).
            "POSTGRES_PASSWORD": "unused-here", "ONEWINDOW_DB_PASSWORD": "unused-here",
            "GRAFANA_ADMIN_PASSWORD": "unused-here",
            **{f"{name.upper()}_PORT": str(p) for name, p in ports.items()},
        }
        admin_url = os.environ.get("ONEWINDOW_TEST_POSTGRES_URL")
        if admin_url:
            urls = exits.enter_context(postgres_databases(admin_url, f"cmp{os.getpid()}"))
            for name in SERVICES:
                env[f"{name.upper()}_DATABASE_URL"] = urls[name]
        # The test's own settings (fast polling, no quiet hours: compose.yaml sets TZ Asia/Shanghai,
        # where a CI run at night would hold the SMS), in a third file as an operator would add one.
        settings = {**TEST_ENV, "ONEWINDOW_SEAL_AUTO_ISSUE": "0"}
        test_override = work / "compose.test.yaml"
        test_override.write_text(yaml.safe_dump({"services": {n: {"environment": settings} for n in SERVICES}}))

        suite = ComposeStack(work, ports, secret, broker.bootstrap)
        suite.project = f"ow-compose-{os.getpid()}"
        suite.files = (COMPOSE_DIR / "compose.yaml", OVERRIDE, test_override)
        suite.compose_env = env
        exits.callback(suite.close)

        def down() -> None:
            if suite.project_containers() or suite.project_volumes():  # not yet down (a test failed)
                with contextlib.suppress(Exception):
                    suite.compose("down", "-v", "-t", "10", check=False, timeout=300)
            for c in suite.project_containers():  # what down left behind, said and removed
                print(f"left by podman-compose down: container {c}", flush=True)
                podman("rm", "-f", "-t", "0", c, check=False)
            for v in suite.project_volumes():
                print(f"left by podman-compose down: volume {v}", flush=True)
                podman("volume", "rm", "-f", v, check=False)

        exits.callback(down)
        yield suite


@pytest.fixture(scope="module")
def started(stack: ComposeStack) -> ComposeStack:
    # The one-shot job first, to completion (compose.yaml's services wait for it).
    began = time.monotonic()
    job = stack.compose("run", "--rm", "kafka-topics", timeout=300)
    assert job.returncode == 0
    stack.topics_after_job = set(kafka_local.run_sync(lambda: kafka_local.list_topics(stack.bootstrap)))
    job_s = time.monotonic() - began
    stack.compose("up", "-d", "--no-build", *SERVICES, timeout=600)
    up_s = time.monotonic() - began - job_s

    def all_ready() -> bool:
        for name in SERVICES:
            state = podman("inspect", "--format", "{{.State.Status}}", stack.container(name), check=False)
            if state.stdout.strip() not in ("running", "created"):
                raise RuntimeError(f"{name} is {state.stdout.strip() or 'missing'}:\n{stack.log(name)[-4000:]}")
        return all(stack.ready(n) for n in SERVICES)

    try:
        eventually(all_ready, timeout=240, interval=0.5, what="every service ready")
    except AssertionError:
        tails = "\n".join(f"--- {n}\n{stack.log(n)[-3000:]}" for n in SERVICES)
        raise AssertionError(f"services not ready:\n{tails}") from None
    print(f"[compose] kafka-topics job {job_s:.0f}s, up -d {up_s:.0f}s, "
          f"all ready {time.monotonic() - began - job_s - up_s:.0f}s later", flush=True)
    # notify's volume holds the file provider's SMS outbox (Suite.sms_lines reads data_dir/notify/).
    mount = podman("volume", "inspect", "--format", "{{.Mountpoint}}", f"{stack.project}_notify").stdout.strip()
    stack.data_dir = Path(mount)
    return stack


def test_the_topics_job_created_the_catalog_on_the_broker(started: ComposeStack) -> None:
    # The broker started empty (topics=[] above); what is there now, the job made.
    wanted = {s.name for s in kafka_local.catalog_specs()}
    assert wanted and started.topics_after_job == wanted, sorted(wanted ^ started.topics_after_job)


def test_every_service_runs_as_compose_made_it(started: ComposeStack) -> None:
    for name in SERVICES:
        r = started.client(name).get("/readyz")
        assert r.status_code == 200, (name, r.text)
        inspected = json.loads(podman("inspect", started.container(name)).stdout)[0]
        host = inspected["HostConfig"]
        assert inspected["Config"]["User"] == "10001:10001", name
        assert host["ReadonlyRootfs"] is True and host["NetworkMode"] == "host", (name, host["NetworkMode"])
        assert {"CAP_CHOWN", "CAP_NET_BIND_SERVICE"}.isdisjoint(inspected["EffectiveCaps"] or []), name
        mounts = {m["Destination"]: m for m in inspected["Mounts"]}
        assert mounts["/var/lib/onewindow"]["Type"] == "volume", mounts
        assert mounts["/var/lib/onewindow"]["Name"] == f"{started.project}_{name}"
        if name == "seal":
            assert "/run/secrets/seal_key_passphrase" in mounts, mounts
    if os.environ.get("ONEWINDOW_TEST_POSTGRES_URL"):
        env = json.loads(podman("inspect", started.container("intake")).stdout)[0]["Config"]["Env"]
        assert any(e.startswith("DATABASE_URL=postgresql") for e in env)


def test_one_application_through_the_compose_stack_to_the_sealed_notice(started: ComposeStack) -> None:
    suite = started
    walked = approve_one_application(suite, "compose", "13900008888", "李小红")
    detail = walked.item
    # The console, another container, renders the item's public guide from intake's API.
    page = suite.client("console").get(f"/portal/items/{detail['code']}")
    assert page.status_code == 200 and detail["name"] in page.text, page.text[:500]


def test_down_removes_every_container_and_volume(started: ComposeStack) -> None:
    assert len(started.project_containers()) == len(SERVICES)  # `run --rm` left no job container
    started.compose("down", "-v", "-t", "10", timeout=300)
    assert started.project_containers() == []
    assert started.project_volumes() == []
