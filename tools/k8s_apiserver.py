"""A real Kubernetes API server on loopback, built here from the Go module proxy, for
`kubectl apply --dry-run=server` of the deployment's manifests (tests/deploy).

No release bucket is reachable, so envtest's prebuilt binaries cannot be had; both are built
from source instead, once per machine, into ~/.cache/onewindow/k8s-apiserver/<versions>/:

- kube-apiserver: the `k8s.io/kubernetes` module's source. Its go.mod points the `k8s.io/*`
  staging modules at `./staging/src/...`, which the module zip leaves out (so `go install
  .../cmd/kube-apiserver@v1.33.x` refuses); in a copy the replaces are rewritten to the
  published modules of the same release (`k8s.io/api v0.33.x` ...), then `go build`.
- etcd: the main package of `go.etcd.io/etcd/server/v3`, built as a dependency of a tiny
  module, so its own `../api`-style replaces do not apply.

`ApiServer` starts etcd and kube-apiserver with certificates made here (a CA, the serving
certificate, an admin client certificate in `system:masters`, the service-account key), writes a
kubeconfig, installs CRDs and creates namespaces.

    python -m tools.k8s_apiserver build                   # once per machine (minutes; cached)
    python -m tools.k8s_apiserver dry-run -k deploy/k8s/overlays/county --crd FILE ... -n onewindow
"""

from __future__ import annotations

import argparse
import atexit
import base64
import datetime as dt
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KUBERNETES_VERSION = "v1.33.13"  # the same minor as the schemas kubeconform checks against
STAGING_VERSION = "v0.33.13"  # k8s.io/api, k8s.io/apiserver ... of that release
ETCD_VERSION = "v3.5.21"  # the etcd Kubernetes 1.33 is built and tested with


class ApiServerError(RuntimeError):
    pass


def cache_root() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "onewindow" / "k8s-apiserver"


def cache_dir() -> Path:
    return cache_root() / f"kubernetes-{KUBERNETES_VERSION}-etcd-{ETCD_VERSION}"


@dataclass(frozen=True)
class Binaries:
    kube_apiserver: Path
    etcd: Path


def binaries() -> Binaries | None:
    """The built binaries, or None when this machine has not built them yet."""
    d = cache_dir()
    if not (d / ".complete").exists():
        return None
    return Binaries(d / "kube-apiserver", d / "etcd")


def kubectl_binary() -> Path | None:
    """kubectl of the same release, built from the same source (the project installs it rather
    than assuming one on the machine), or None when not built yet."""
    d = cache_dir()
    return d / "kubectl" if (d / ".kubectl-complete").exists() else None


def go() -> str:
    found = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if found is None:
        raise ApiServerError("Go 1.24 or later is needed to build kube-apiserver and etcd")
    return found


def _run(cmd: list[str], what: str, cwd: Path | None = None, env: dict[str, str] | None = None,
         timeout: float | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-25:]
        raise ApiServerError(f"{what} failed ({' '.join(cmd)}):\n  " + "\n  ".join(tail))
    return proc.stdout


_STAGING_REPLACE = re.compile(r"^(\s*)(k8s\.io/[A-Za-z0-9_.-]+) => \./staging/src/k8s\.io/[A-Za-z0-9_.-]+\s*$",
                              re.MULTILINE)


def rewrite_staging_replaces(go_mod: str, version: str = STAGING_VERSION) -> str:
    """`k8s.io/api => ./staging/src/k8s.io/api` becomes `k8s.io/api => k8s.io/api v0.33.x`."""
    out, n = _STAGING_REPLACE.subn(lambda m: f"{m.group(1)}{m.group(2)} => {m.group(2)} {version}", go_mod)
    if n == 0:
        raise ApiServerError("k8s.io/kubernetes' go.mod has no ./staging replace to rewrite")
    return out


def _fetch_source(gobin: str, work: Path, env: dict[str, str]) -> Path:
    """k8s.io/kubernetes' source from the Go module proxy, writable, its staging replaces rewritten."""
    info = json.loads(_run([gobin, "mod", "download", "-json", f"k8s.io/kubernetes@{KUBERNETES_VERSION}"],
                           "go mod download k8s.io/kubernetes", cwd=work, env=env))
    src = work / "kubernetes"
    shutil.copytree(info["Dir"], src, symlinks=True)
    for root, dirs, files in os.walk(src):  # the module cache is read-only
        for name in dirs + files:
            p = Path(root) / name
            if not p.is_symlink():
                p.chmod(p.stat().st_mode | 0o200)
    src.chmod(0o755)
    for name in ("go.work", "go.work.sum"):  # it lists the staging folders the zip lacks
        (src / name).unlink(missing_ok=True)
    (src / "go.mod").write_text(rewrite_staging_replaces((src / "go.mod").read_text()))
    return src


def _build_kubectl(gobin: str, src: Path, target: Path, env: dict[str, str]) -> None:
    nice = ["nice", "-n", "10"] if shutil.which("nice") else []
    _run([*nice, gobin, "build", "-trimpath", "-ldflags", "-s -w " + _version_ldflags(),
          "-o", str(target), "./cmd/kubectl"], "go build kubectl", cwd=src, env=env)


def build_kubectl(log=print) -> Path:  # type: ignore[no-untyped-def]
    """Build kubectl into the cache beside the server (a no-op when it is there)."""
    have = kubectl_binary()
    if have is not None:
        return have
    final = cache_dir()
    if binaries() is None:
        build(log)  # builds kubectl too
        have = kubectl_binary()
        assert have is not None
        return have
    gobin = go()
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOWORK": "off", "CGO_ENABLED": "0"}
    work = Path(tempfile.mkdtemp(prefix="build.", dir=final.parent))
    try:
        started = time.monotonic()
        log(f"k8s-apiserver: building kubectl {KUBERNETES_VERSION}")
        src = _fetch_source(gobin, work, env)
        _build_kubectl(gobin, src, work / "kubectl", env)
        os.replace(work / "kubectl", final / "kubectl")
        (final / ".kubectl-complete").write_text("ok\n")
        log(f"k8s-apiserver: kubectl built in {time.monotonic() - started:.0f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final / "kubectl"


def build(log=print) -> Binaries:  # type: ignore[no-untyped-def]
    """Build kube-apiserver, etcd and kubectl into the cache (a no-op when they are there)."""
    have = binaries()
    if have is not None:
        build_kubectl(log)
        return have
    gobin = go()
    final = cache_dir()
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="build.", dir=final.parent))
    # nice: the build takes both cores for minutes on machines shared with test runs
    nice = ["nice", "-n", "10"] if shutil.which("nice") else []
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOWORK": "off", "CGO_ENABLED": "0"}
    try:
        out = work / "out"
        out.mkdir()
        started = time.monotonic()
        log(f"k8s-apiserver: fetching k8s.io/kubernetes@{KUBERNETES_VERSION} from the Go module proxy")
        src = _fetch_source(gobin, work, env)
        log("k8s-apiserver: building kube-apiserver (several minutes on two cores)")
        _run([*nice, gobin, "build", "-trimpath", "-ldflags", "-s -w " + _version_ldflags(),
              "-o", str(out / "kube-apiserver"), "./cmd/kube-apiserver"], "go build kube-apiserver", cwd=src, env=env)
        t_apiserver = time.monotonic() - started
        log("k8s-apiserver: building kubectl")
        _build_kubectl(gobin, src, out / "kubectl", env)
        (out / ".kubectl-complete").write_text("ok\n")

        log(f"k8s-apiserver: building etcd {ETCD_VERSION}")
        etcd_mod = work / "etcd"
        etcd_mod.mkdir()
        (etcd_mod / "go.mod").write_text("module onewindow.local/etcd\n\ngo 1.24\n")
        (etcd_mod / "tools.go").write_text('//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n')
        _run([gobin, "get", f"go.etcd.io/etcd/server/v3@{ETCD_VERSION}"], "go get etcd", cwd=etcd_mod, env=env)
        _run([*nice, gobin, "build", "-trimpath", "-ldflags", "-s -w", "-o", str(out / "etcd"),
              "go.etcd.io/etcd/server/v3"], "go build etcd", cwd=etcd_mod, env=env)
        (out / "versions.json").write_text(json.dumps({
            "kubernetes": KUBERNETES_VERSION, "staging": STAGING_VERSION, "etcd": ETCD_VERSION,
            "go": _run([gobin, "version"], "go version").strip(),
            "build_seconds": {"kube-apiserver": round(t_apiserver), "total": round(time.monotonic() - started)},
        }, indent=1) + "\n")
        (out / ".complete").write_text("ok\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(out, final)
        log(f"k8s-apiserver: built into {final} in {time.monotonic() - started:.0f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    have = binaries()
    assert have is not None
    return have


def _version_ldflags() -> str:
    """What Kubernetes' own build stamps in, so `kubectl version` shows the server's release."""
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    pkg = "k8s.io/component-base/version"
    return " ".join(f"-X {pkg}.{k}={v}" for k, v in (
        ("gitVersion", KUBERNETES_VERSION), ("gitMajor", major), ("gitMinor", minor), ("gitTreeState", "clean")))


# --------------------------------------------------------------------------------------------
# Certificates


def _certificates(d: Path) -> dict[str, Path]:
    """A CA, the server's certificate for 127.0.0.1, an admin client certificate (group
    `system:masters`) and the service accounts' signing key, all PEM files in d."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)

    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def name(cn: str, org: str | None = None) -> x509.Name:
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        if org:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
        return x509.Name(attrs)

    def write_key(path: Path, k: ec.EllipticCurvePrivateKey) -> Path:
        path.write_bytes(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))
        path.chmod(0o600)
        return path

    ca_key = key()
    ca_name = name("onewindow-test-apiserver-ca")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))

    def leaf(subject: x509.Name, usage: x509.ObjectIdentifier, k: ec.EllipticCurvePrivateKey,
             san: x509.SubjectAlternativeName | None = None) -> x509.Certificate:
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name).public_key(k.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
             .not_valid_after(now + dt.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if san is not None:
            b = b.add_extension(san, critical=False)
        return b.sign(ca_key, hashes.SHA256())

    server_key, admin_key, sa_key = key(), key(), key()
    server = leaf(name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, server_key,
                  x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                               x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]))
    admin = leaf(name("onewindow-admin", "system:masters"), ExtendedKeyUsageOID.CLIENT_AUTH, admin_key)
    pem = serialization.Encoding.PEM
    files = {
        "ca": d / "ca.crt", "server": d / "server.crt", "admin": d / "admin.crt",
        "server_key": write_key(d / "server.key", server_key), "admin_key": write_key(d / "admin.key", admin_key),
        "sa_key": write_key(d / "sa.key", sa_key), "sa_pub": d / "sa.pub",
    }
    files["ca"].write_bytes(ca.public_bytes(pem))
    files["server"].write_bytes(server.public_bytes(pem))
    files["admin"].write_bytes(admin.public_bytes(pem))
    files["sa_pub"].write_bytes(sa_key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo))
    return files


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------------------------
# The running server


class ApiServer:
    """etcd and kube-apiserver on loopback; `with ApiServer() as api: api.kubectl(...)`."""

    def __init__(self, bins: Binaries | None = None, kubectl: str | None = None, workdir: Path | None = None) -> None:
        found = bins or binaries()
        if found is None:
            raise ApiServerError("kube-apiserver and etcd are not built on this machine: scripts/bootstrap.sh "
                                 "builds them (python -m tools.k8s_apiserver build)")
        self.bins = found
        # the project's own kubectl (same release as the server), else one on the machine
        built = kubectl_binary()
        kubectl_path = kubectl or (str(built) if built else None) or shutil.which("kubectl")
        if kubectl_path is None:
            raise ApiServerError("kubectl is not built (python -m tools.k8s_apiserver build) nor installed")
        self.kubectl_path = kubectl_path
        self._own_workdir = workdir is None
        self.dir = workdir or Path(tempfile.mkdtemp(prefix="onewindow-apiserver."))
        self.kubeconfig = self.dir / "kubeconfig"
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> ApiServer:
        atexit.register(self.stop)  # the servers run in their own sessions: never leave them behind
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        atexit.unregister(self.stop)

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.dir / f"{name}.log", "wb")  # noqa: SIM115 - handed to the child, closed by stop()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        log.close()
        self._procs.append((name, proc))
        return proc

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def _wait(self, name: str, proc: subprocess.Popen[bytes], ready, timeout: float) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ApiServerError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")
            if ready():
                return
            time.sleep(0.25)
        raise ApiServerError(f"{name} was not ready within {timeout:.0f} s:\n{self.log_tail(name)}")

    def start(self, timeout: float = 120) -> None:
        certs = _certificates(self.dir)
        client, peer, secure = _free_port(), _free_port(), _free_port()
        etcd_url = f"http://127.0.0.1:{client}"
        etcd = self._spawn("etcd", [
            str(self.bins.etcd), "--name", "onewindow", "--data-dir", str(self.dir / "etcd"),
            "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"onewindow=http://127.0.0.1:{peer}",
            "--unsafe-no-fsync", "--log-level", "warn",  # a throwaway store: no fsync, no chatter
        ])

        def etcd_healthy() -> bool:
            try:
                with urllib.request.urlopen(f"{etcd_url}/health", timeout=2) as r:  # noqa: S310 - loopback
                    return bool(json.loads(r.read()).get("health") == "true")
            except OSError:
                return False

        self._wait("etcd", etcd, etcd_healthy, timeout)
        self.url = f"https://127.0.0.1:{secure}"
        apiserver = self._spawn("kube-apiserver", [
            str(self.bins.kube_apiserver),
            "--etcd-servers", etcd_url, "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
            "--secure-port", str(secure), "--cert-dir", str(self.dir / "pki"),
            "--tls-cert-file", str(certs["server"]), "--tls-private-key-file", str(certs["server_key"]),
            "--client-ca-file", str(certs["ca"]),
            "--service-account-issuer", "https://kubernetes.default.svc",
            "--service-account-key-file", str(certs["sa_pub"]),
            "--service-account-signing-key-file", str(certs["sa_key"]),
            "--service-cluster-ip-range", "10.0.0.0/24",  # a setting only: nothing is routed there
            "--authorization-mode", "RBAC", "--allow-privileged=false",
            # one API server, no nodes: no endpoints for the `kubernetes` Service to keep
            "--endpoint-reconciler-type", "none",
        ])
        self._write_kubeconfig(certs)
        ctx = ssl.create_default_context(cafile=str(certs["ca"]))
        ctx.load_cert_chain(str(certs["admin"]), str(certs["admin_key"]))

        def apiserver_ready() -> bool:
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2, context=ctx) as r:  # noqa: S310
                    return bool(r.status == 200)
            except OSError:
                return False

        self._wait("kube-apiserver", apiserver, apiserver_ready, timeout)
        # the default namespace and RBAC bootstrap finish right after /readyz
        deadline = time.monotonic() + timeout
        while self.kubectl("get", "namespace", "default", check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise ApiServerError("the default namespace did not appear:\n" + self.log_tail("kube-apiserver"))
            time.sleep(0.5)

    def _write_kubeconfig(self, certs: dict[str, Path]) -> None:
        def b64(p: Path) -> str:
            return base64.b64encode(p.read_bytes()).decode()

        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "onewindow-test",
            "clusters": [{"name": "onewindow-test", "cluster": {
                "server": self.url, "certificate-authority-data": b64(certs["ca"])}}],
            "users": [{"name": "onewindow-admin", "user": {
                "client-certificate-data": b64(certs["admin"]), "client-key-data": b64(certs["admin_key"])}}],
            "contexts": [{"name": "onewindow-test", "context": {"cluster": "onewindow-test", "user": "onewindow-admin"}}],
        }
        self.kubeconfig.write_text(json.dumps(config))
        self.kubeconfig.chmod(0o600)

    def stop(self) -> None:
        for _name, proc in reversed(self._procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self._procs.clear()
        if self._own_workdir:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- use ---------------------------------------------------------------------------------

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,  # noqa: A002
                timeout: float = 180) -> subprocess.CompletedProcess[str]:
        cmd = [self.kubectl_path, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.dir / "kube-cache"),
               *args]
        proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout,
                              stdin=None if input is not None else subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise ApiServerError(f"kubectl {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
        return proc

    def server_version(self) -> str:
        return str(json.loads(self.kubectl("version", "-o", "json").stdout)["serverVersion"]["gitVersion"])

    def install_crds(self, files: Iterable[Path], timeout: float = 120) -> list[str]:
        """Create the CRDs (server-side: the big ones exceed client-side apply's annotation limit)
        and wait until each is established; their names."""
        names: list[str] = []
        for path in files:
            out = self.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path), "-o", "name")
            names += [n for n in out.stdout.split() if n]
        if not names:
            raise ApiServerError("no CRD was installed")
        self.kubectl("wait", "--for", "condition=Established", f"--timeout={int(timeout)}s", *names,
                     timeout=timeout + 30)
        return names

    def create_namespaces(self, *names: str) -> None:
        for name in names:
            self.kubectl("create", "namespace", name)

    def dry_run(self, *source: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """`kubectl apply --dry-run=server --validate=strict`: the server refuses unknown fields
        (kubectl's default, made explicit; with --validate=false the server prunes them silently)."""
        return self.kubectl("apply", "--dry-run=server", "--validate=strict", *source, input=input, check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.k8s_apiserver", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build kube-apiserver, etcd and kubectl into the cache (a no-op when done)")
    sub.add_parser("path", help="print the cache folder; exit 1 when not built")
    run = sub.add_parser("dry-run", help="start a server, install CRDs, `kubectl apply --dry-run=server`")
    run.add_argument("-k", dest="kustomization", action="append", default=[], help="a kustomization folder")
    run.add_argument("-f", dest="files", action="append", default=[], help="a manifest file")
    run.add_argument("--crd", action="append", default=[], help="a CRD YAML file to install first")
    run.add_argument("-n", "--namespace", action="append", default=[], help="a namespace to create first")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build(log=lambda m: print(m, file=sys.stderr))
            print(cache_dir())
            return 0
        if args.command == "path":
            if binaries() is None or kubectl_binary() is None:
                return 1
            print(cache_dir())
            return 0
        with ApiServer() as api:
            print(f"kube-apiserver {api.server_version()} at {api.url}", file=sys.stderr)
            if args.crd:
                api.install_crds(Path(p) for p in args.crd)
            api.create_namespaces(*args.namespace)
            rc = 0
            for source in [("-k", k) for k in args.kustomization] + [("-f", f) for f in args.files]:
                proc = api.dry_run(*source)
                sys.stdout.write(proc.stdout)
                sys.stderr.write(proc.stderr)
                rc = rc or proc.returncode
            return rc
    except ApiServerError as exc:
        print(f"k8s-apiserver: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())


__all__: list[Any] = ["ApiServer", "ApiServerError", "Binaries", "binaries", "build", "build_kubectl", "cache_dir",
                      "kubectl_binary",
                      "rewrite_staging_replaces"]
