"""The image, built and run: `onewindow image build` (podman, a Debian base made here with
mmdebstrap, the wheelhouse, no network during the build), then the five back-end services run
from it as containers on the host network against the project's own broker (and PostgreSQL when
ONEWINDOW_TEST_POSTGRES_URL is set), and one application goes from the window to the sealed
notice and the SMS through the containers' ports.

The broker runs as the cluster's does: SASL/SCRAM-SHA-512 and the StandardAuthorizer with the
ACLs tools/deploy_gen.py generates (tools/kafka_local.py, `--sasl`); each container connects as
its own KafkaUser. So this is also the suite end to end under those ACLs: a subscription or a
write the ACLs forgot would leave a service unready or the application stuck.

Podman runs with deploy/podman/containers.conf (runc, no default ulimits); see deploy/README.md.
The first build on a machine makes the base (~1-2 min) and the wheelhouse; later runs reuse the
cached tarball, the wheelhouse and podman's layers.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import (
    TEST_ENV, Suite, eventually, free_port, postgres_databases,
)
from tools import image, kafka_local

from .containers import approve_one_application, built_image, podman
from tools.registry import BUS_SERVICES, DEFAULT_PORTS

BUILD_TIMEOUT = 1500  # the first build on a fresh machine: mmdebstrap (~1-2 min), wheels, podman build
pytestmark = [pytest.mark.containers, pytest.mark.e2e, pytest.mark.timeout(BUILD_TIMEOUT)]


@pytest.fixture(scope="module")
def image_ref() -> str:
    return built_image()


class ContainerSuite(Suite):
    """:class:`Suite` (tests/e2e/harness.py) whose services are containers of the image on the
    host network, sharing one bind-mounted data folder (owned by the image's uid 10001)."""

    ref: str = ""
    prefix: str = ""
    secrets_dir: Path | None = None

    def container(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def start(self, *names: str, wait: float = 180) -> None:
        names = names or tuple(self.ports)
        for name in names:
            env = {**self.env, **self.service_env.get(name, {}), "ONEWINDOW_HTTP_PORT": str(self.ports[name])}
            volumes = [f"{self.data_dir}:/var/lib/onewindow"]
            if name == "seal" and self.secrets_dir is not None:
                volumes.append(f"{self.secrets_dir}:/run/secrets/onewindow-seal:ro")
            podman(*image.run_args(self.ref, self.container(name), name, env, volumes=volumes))

        def all_ready() -> bool:
            for n in names:
                state = podman("inspect", "--format", "{{.State.Status}}", self.container(n)).stdout.strip()
                if state not in ("running", "created"):
                    raise RuntimeError(f"container {n} is {state}:\n{self.log(n)[-4000:]}")
            return all(self.ready(n) for n in names)

        try:
            eventually(all_ready, timeout=wait, interval=0.5, what=f"{list(names)} ready")
        except AssertionError:
            tails = "\n".join(f"--- {n}\n{self.log(n)[-3000:]}" for n in names)
            raise RuntimeError(f"containers not ready: {list(names)}\n{tails}") from None

    def log(self, service: str) -> str:
        out = podman("logs", self.container(service), check=False)
        return (out.stdout or "") + (out.stderr or "")

    def stop(self, *names: str) -> None:
        """Remove the containers (SIGTERM, SIGKILL after 10 s); checked, retried, and what
        could not be removed is said."""
        left = [self.container(n) for n in names or tuple(self.ports)]
        for grace in ("10", "0", "0"):
            if not left:
                return
            with contextlib.suppress(subprocess.TimeoutExpired):
                podman("rm", "-f", "-t", grace, *left, check=False, timeout=120)
            left = [c for c in left if podman("container", "exists", c, check=False).returncode == 0]
        if left:
            print(f"containers not removed: {left} (podman rm -f {' '.join(left)})", flush=True)


@pytest.fixture(scope="module")
def container_suite(image_ref: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContainerSuite]:
    data = tmp_path_factory.mktemp("containers")
    data_dir = data / "data"
    data_dir.mkdir()
    os.chown(data_dir, 10001, 10001)  # the image's user writes there
    secrets = data / "seal-secret"
    secrets.mkdir()
    (secrets / "passphrase").write_text("containers-test-" + os.urandom(12).hex())
    os.chmod(secrets / "passphrase", 0o444)
    with contextlib.ExitStack() as stack:
        kafka_ports: set[int] = set()
        while len(kafka_ports) < 3:
            kafka_ports.add(free_port())
        port, controller, internal = sorted(kafka_ports)
        broker = kafka_local.start(data / "kafka", port=port, controller_port=controller, internal_port=internal,
                                   sasl=True, wait=120)
        stack.callback(kafka_local.stop, data / "kafka")
        sasl = kafka_local.sasl_config(data / "kafka")
        assert sasl is not None
        service_env: dict[str, dict[str, str]] = {s: sasl.service_env(s) for s in BUS_SERVICES}
        admin_url = os.environ.get("ONEWINDOW_TEST_POSTGRES_URL")
        if admin_url:
            urls = stack.enter_context(postgres_databases(admin_url, f"img{os.getpid()}"))
            for s, u in urls.items():
                if s in BUS_SERVICES:
                    service_env[s]["DATABASE_URL"] = u
        ports = {name: free_port() for name in BUS_SERVICES}
        secret = "containers-" + os.urandom(24).hex()
        env = {
            **TEST_ENV,
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "ONEWINDOW_AUTH_SECRET": secret,
            "ONEWINDOW_HTTP_HOST": "127.0.0.1",  # host network: listen on loopback only
            "ONEWINDOW_SEAL_KEY_PASSPHRASE_FILE": "/run/secrets/onewindow-seal/passphrase",
            "ONEWINDOW_SEAL_AUTO_ISSUE": "0",
            "ONEWINDOW_NOTIFY_RATING_URL_TEMPLATE":
                f"http://127.0.0.1:{ports['intake']}/intake/public/ratings/{{receipt_no}}",
        }
        suite = ContainerSuite(data_dir, ports, secret, broker.bootstrap, env=env, service_env=service_env)
        suite.ref = image_ref
        suite.prefix = f"ow-test-{os.getpid()}"
        suite.secrets_dir = secrets
        stack.callback(suite.stop)
        stack.callback(suite.close)
        suite.start(wait=240)
        yield suite


def test_a_service_refuses_to_start_without_its_required_settings(image_ref: str) -> None:
    out = podman("run", "--rm", "--network", "none", image_ref, "serve", "seal", check=False)
    assert out.returncode == 78, out.stdout + out.stderr
    for setting in ("ONEWINDOW_AUTH_SECRET", "KAFKA_BOOTSTRAP_SERVERS", "ONEWINDOW_SEAL_KEY_PASSPHRASE_FILE"):
        assert setting in out.stderr, out.stderr
    out = podman("run", "--rm", "--network", "none", "-e", "ONEWINDOW_AUTH_SECRET=k", "-e",
                  "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9", "-e", "ONEWINDOW_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT",
                  image_ref, "serve", "intake", check=False)
    assert out.returncode == 78
    assert "ONEWINDOW_KAFKA_SASL_USERNAME" in out.stderr and "ONEWINDOW_KAFKA_SASL_PASSWORD" in out.stderr
    assert "ONEWINDOW_AUTH_SECRET" not in out.stderr and "KAFKA_BOOTSTRAP" not in out.stderr
    # One-shot commands are not refused.
    out = podman("run", "--rm", "--network", "none", image_ref, "settings", check=False)
    assert out.returncode == 0 and "KAFKA_BOOTSTRAP_SERVERS" in out.stdout


def test_the_image_runs_as_uid_10001_with_the_fonts_and_exposes_every_port(image_ref: str) -> None:
    out = podman("run", "--rm", "--network", "none", "--entrypoint", "sh", image_ref, "-c",
                  "id -u; fc-list 2>/dev/null | wc -l; ls /usr/share/fonts/truetype; command -v tini; python3 -V")
    lines = out.stdout.split()
    assert lines[0] == "10001", out.stdout
    assert "wqy" in out.stdout and "arphic" in out.stdout and "/usr/bin/tini" in out.stdout
    assert "Python 3.11" in out.stdout
    exposed = podman("image", "inspect", "--format", "{{json .Config.ExposedPorts}}", image_ref).stdout
    for port in {*DEFAULT_PORTS.values(), 8100}:
        assert f"{port}/tcp" in exposed, (port, exposed)


def test_every_service_is_ready_from_its_container(container_suite: ContainerSuite) -> None:
    for name in BUS_SERVICES:
        r = container_suite.client(name).get("/readyz")
        assert r.status_code == 200, (name, r.text)
        assert r.json()["kafka"] == "ok"
        running = podman("inspect", "--format", "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}",
                          container_suite.container(name)).stdout.split()
        assert running == ["10001:10001", "true"], running
    db = "postgresql" if os.environ.get("ONEWINDOW_TEST_POSTGRES_URL") else "sqlite"
    if db == "sqlite":
        assert (container_suite.data_dir / "intake.db").exists()


def test_one_application_from_the_window_to_the_sealed_notice_and_the_sms(container_suite: ContainerSuite) -> None:
    approve_one_application(container_suite, "containers", "13900007777", "王小明")
