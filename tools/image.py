"""The suite's container image, built here with podman, air-gapped: ``onewindow image build``.

No container registry is reachable from the county's data center (nor from these machines), so
nothing is pulled:

1. the base: a Debian bookworm root file system made with ``mmdebstrap`` from the machine's own
   apt sources (python3 3.11, python3-venv, the CJK fonts, tini, tzdata, CA certificates), kept
   as a tarball in the cache (``~/.cache/onewindow/image/``, or ``$ONEWINDOW_IMAGE_CACHE``) and
   ``podman import``-ed as ``localhost/onewindow-base:bookworm-<key>`` (the key hashes the
   package list and the apt sources, so a change makes a new base);
2. the wheelhouse: ``pip wheel`` of the project's dependencies (and the build back end), cached
   per ``pyproject.toml`` and hard-linked into ``deploy/wheelhouse/`` (git-ignored);
3. ``podman build --network none`` of the repository's ``Dockerfile`` with
   ``PYTHON_IMAGE=<that base>`` and ``OFFLINE=1``: pip installs from the wheelhouse only.

The same Dockerfile builds on an ordinary Docker host from ``python:3.11-slim-bookworm``
(its default). Podman runs with ``deploy/podman/containers.conf`` (runc, no default ulimits).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import typer

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO_ROOT / "Dockerfile"
WHEELHOUSE = REPO_ROOT / "deploy" / "wheelhouse"
CONTAINERS_CONF = REPO_ROOT / "deploy" / "podman" / "containers.conf"

SUITE = "bookworm"  # its python3 is 3.11, the version the project runs on
#: Debian packages of the base: the interpreter, what the runtime stage would otherwise
#: apt-get (fonts, tini), time zones and CA certificates.
BASE_PACKAGES = (
    "python3", "python3-venv", "tini", "fonts-wqy-microhei", "fonts-arphic-gbsn00lp",
    "tzdata", "ca-certificates",
)
BASE_REPO = "localhost/onewindow-base"
IMAGE_REPO = "localhost/onewindow"
#: What the base keeps out: manuals, documentation (but the copyright files) and translations.
_DPKG_EXCLUDES = (
    "path-exclude=/usr/share/man/*", "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright", "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
)
_APT_SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))


class ImageError(RuntimeError):
    """The image could not be built or inspected; the message says why and what to install."""


def cache_dir() -> Path:
    env = os.environ.get("ONEWINDOW_IMAGE_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "onewindow" / "image"


def project_version() -> str:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _need(tool: str, package: str) -> str:
    path = shutil.which(tool) or (f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else None)
    if path is None:
        raise ImageError(f"{tool} is not installed: apt-get install {package} "
                         "(scripts/bootstrap.sh installs it from deploy/apt-packages.txt)")
    return path


def podman_env() -> dict[str, str]:
    """The environment podman runs with: the project's containers.conf unless one is given."""
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(CONTAINERS_CONF))
    return env


def podman(*args: str, check: bool = True, capture: bool = True, timeout: float | None = None,
           ) -> subprocess.CompletedProcess[str]:
    """Run ``podman ARGS`` (runc and the project's containers.conf); raise with its output on failure."""
    exe = _need("podman", "podman")
    _need("runc", "runc")
    proc = subprocess.run([exe, *args], env=podman_env(), text=True, timeout=timeout,
                          capture_output=capture, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        out = ((proc.stdout or "") + (proc.stderr or "")).strip().splitlines()
        raise ImageError(f"podman {' '.join(args[:3])} failed (exit {proc.returncode}):\n  "
                         + "\n  ".join(out[-25:]))
    return proc


def image_exists(ref: str) -> bool:
    return podman("image", "exists", ref, check=False).returncode == 0


def image_size(ref: str) -> int:
    return int(podman("image", "inspect", "--format", "{{.Size}}", ref).stdout.strip())


# --------------------------------------------------------------------------------------------
# The base


def _apt_sources() -> Path:
    for p in _APT_SOURCES:
        if p.is_file() and p.read_text().strip():
            return p
    raise ImageError("no Debian apt sources found (/etc/apt/sources.list.d/debian.sources or "
                     "/etc/apt/sources.list): mmdebstrap takes its mirror from them")


def base_key() -> str:
    """Hash of what makes the base: suite, packages, excludes and the apt sources used."""
    h = hashlib.sha256()
    h.update(json.dumps([SUITE, BASE_PACKAGES, _DPKG_EXCLUDES]).encode())
    h.update(_apt_sources().read_bytes())
    return h.hexdigest()[:12]


def base_tarball() -> Path:
    return cache_dir() / f"debian-{SUITE}-{base_key()}.tar"


def base_ref() -> str:
    return f"{BASE_REPO}:{SUITE}-{base_key()}"


def ensure_base_tarball(refresh: bool = False, log=print) -> tuple[Path, float]:  # type: ignore[no-untyped-def]
    """The base's root file system as a tarball (mmdebstrap, ~1 min the first time, cached)."""
    tar = base_tarball()
    with _lock(cache_dir() / ".base.lock"):
        if tar.exists() and not refresh:
            return tar, 0.0
        mmdebstrap = _need("mmdebstrap", "mmdebstrap")
        began = time.monotonic()
        tmp = tar.with_name(f"{tar.stem}.part.tar")  # mmdebstrap picks the format by the suffix
        cmd = [mmdebstrap, "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
               "--aptopt=Acquire::Retries \"3\"", *(f"--dpkgopt={o}" for o in _DPKG_EXCLUDES),
               SUITE, str(tmp), str(_apt_sources())]
        log(f"making the Debian {SUITE} base with mmdebstrap (first time only, ~1 min)")
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0 or not tmp.is_file():
            shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
            raise ImageError("mmdebstrap failed:\n  " + "\n  ".join((proc.stdout + proc.stderr).splitlines()[-20:]))
        os.replace(tmp, tar)
        return tar, time.monotonic() - began


def ensure_base(refresh: bool = False, log=print) -> tuple[str, float]:  # type: ignore[no-untyped-def]
    """The base image in podman's storage (imported from the cached tarball when missing)."""
    ref = base_ref()
    tar, seconds = ensure_base_tarball(refresh, log)
    if refresh or not image_exists(ref):
        began = time.monotonic()
        podman("import", "--change", 'CMD ["/bin/bash"]', "--message",
               f"Debian {SUITE} minbase + {' '.join(BASE_PACKAGES)} (mmdebstrap)", str(tar), ref)
        seconds += time.monotonic() - began
    return ref, seconds


# --------------------------------------------------------------------------------------------
# The wheelhouse


def wheelhouse_key() -> str:
    return hashlib.sha256((REPO_ROOT / "pyproject.toml").read_bytes()).hexdigest()[:12]


def ensure_wheels(refresh: bool = False, log=print) -> tuple[Path, float]:  # type: ignore[no-untyped-def]
    """Wheels of every dependency of the project and of its build back end (cached per
    pyproject.toml). Made with this interpreter, which must be CPython 3.11 like the base's."""
    if sys.version_info[:2] != (3, 11):
        raise ImageError(f"the wheelhouse is made with Python 3.11 (the base's); this is "
                         f"{sys.version_info[0]}.{sys.version_info[1]}")
    dest = cache_dir() / f"wheelhouse-{wheelhouse_key()}"
    with _lock(cache_dir() / ".wheels.lock"):
        if dest.is_dir() and not refresh:
            return dest, 0.0
        began = time.monotonic()
        log("preparing the wheelhouse (pip wheel of every dependency)")
        tmp = Path(tempfile.mkdtemp(prefix="wheelhouse.", dir=cache_dir()))
        pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
        # The project's dependencies and its build back end (the image builds the project itself
        # from its sources, with pip's build isolation: offline, from these wheels).
        wanted = [*pyproject["project"]["dependencies"], *pyproject["build-system"]["requires"]]
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
                 "--wheel-dir", str(tmp), *wanted],
                capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if proc.returncode != 0:
                raise ImageError("pip wheel failed:\n  " + "\n  ".join((proc.stdout + proc.stderr).splitlines()[-20:]))
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(tmp, dest)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return dest, time.monotonic() - began


def stage_wheels(source: Path, dest: Path = WHEELHOUSE) -> int:
    """Put the wheels of ``source`` into the build context's wheelhouse (hard links when the
    file system allows), removing wheels of an older set."""
    dest.mkdir(parents=True, exist_ok=True)
    wanted = {p.name: p for p in source.glob("*.whl")}
    for old in dest.glob("*.whl"):
        if old.name not in wanted:
            old.unlink()
    for name, src in wanted.items():
        target = dest / name
        if target.exists():
            continue
        try:
            os.link(src, target)
        except OSError:
            shutil.copy2(src, target)
    return len(wanted)


# --------------------------------------------------------------------------------------------
# The build


@dataclass
class BuildResult:
    ref: str
    base: str
    size_bytes: int
    seconds: dict[str, float] = field(default_factory=dict)  # base, wheels, build, total

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v:.0f}s" for k, v in self.seconds.items())
        return f"{self.ref}: {self.size_bytes / 1e6:.0f} MB ({parts}); base {self.base}"


def build(tag: str | None = None, *, refresh_base: bool = False, refresh_wheels: bool = False,
          no_cache: bool = False, log=print) -> BuildResult:  # type: ignore[no-untyped-def]
    """Build the suite's image with podman, offline, from the local base and the wheelhouse."""
    began = time.monotonic()
    ref = tag or f"{IMAGE_REPO}:{project_version()}"
    base, base_s = ensure_base(refresh_base, log)
    wheels, wheels_s = ensure_wheels(refresh_wheels, log)
    count = stage_wheels(wheels)
    log(f"building {ref} from {base} with {count} wheels, no network")
    t = time.monotonic()
    args = ["build", "--network", "none", "--pull=never", "-f", str(DOCKERFILE),
            "--build-arg", f"PYTHON_IMAGE={base}", "--build-arg", "OFFLINE=1",
            "-t", ref, "-t", f"{IMAGE_REPO}:latest"]
    if no_cache:
        args.append("--no-cache")
    podman(*args, str(REPO_ROOT))
    build_s = time.monotonic() - t
    seconds = {"base": base_s, "wheels": wheels_s, "build": build_s, "total": time.monotonic() - began}
    return BuildResult(ref, base, image_size(ref), seconds)


# --------------------------------------------------------------------------------------------
# CLI (`onewindow image ...`)

image_app = typer.Typer(help="The suite's container image, built here with podman (air-gapped).",
                        no_args_is_help=True)


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)


@image_app.command("build")
def build_cmd(
    tag: str = typer.Option(None, help=f"Image reference [default: {IMAGE_REPO}:<project version>]."),
    refresh_base: bool = typer.Option(False, help="Make the Debian base again (security updates)."),
    refresh_wheels: bool = typer.Option(False, help="Prepare the wheelhouse again."),
    no_cache: bool = typer.Option(False, help="Do not reuse podman's layer cache."),
) -> None:
    """Build the image: local Debian base (mmdebstrap), wheelhouse, `podman build --network none`."""
    try:
        result = build(tag, refresh_base=refresh_base, refresh_wheels=refresh_wheels, no_cache=no_cache,
                       log=lambda m: typer.echo(m, err=True))
    except ImageError as exc:
        _fail(exc)
    typer.echo(result.summary())


@image_app.command("wheels")
def wheels_cmd(dest: Path = typer.Option(WHEELHOUSE, help="Where to put the wheels.")) -> None:
    """Prepare the wheelhouse (on a connected machine, for an air-gapped build)."""
    try:
        source, _ = ensure_wheels(log=lambda m: typer.echo(m, err=True))
    except ImageError as exc:
        _fail(exc)
    typer.echo(f"{stage_wheels(source, dest)} wheels in {dest}")


@image_app.command("base")
def base_cmd(refresh: bool = typer.Option(False, help="Make it again.")) -> None:
    """Make (or refresh) the Debian base image from the machine's apt sources."""
    try:
        ref, seconds = ensure_base(refresh, log=lambda m: typer.echo(m, err=True))
    except ImageError as exc:
        _fail(exc)
    typer.echo(f"{ref} ({base_tarball()}, {seconds:.0f}s)")


@image_app.command("save")
def save_cmd(path: Path = typer.Argument(..., help="The archive to write (docker-archive, `docker load` reads it)."),
             tag: str = typer.Option(None, help="Image reference [default: the project version's].")) -> None:
    """Save the built image to a file, to carry into an air-gapped data center."""
    ref = tag or f"{IMAGE_REPO}:{project_version()}"
    try:
        podman("save", "--format", "docker-archive", "-o", str(path), ref)
    except ImageError as exc:
        _fail(exc)
    typer.echo(f"{ref} saved to {path} ({path.stat().st_size / 1e6:.0f} MB)")


def run_args(ref: str, name: str, service: str, env: dict[str, str], *, volumes: Sequence[str] = (),
             extra: Sequence[str] = ()) -> list[str]:
    """``podman run`` arguments of one service container on the host network (used by the tests)."""
    args = ["run", "-d", "--name", name, "--network", "host", "--read-only", "--tmpfs", "/tmp",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    for k, v in sorted(env.items()):
        args += ["-e", f"{k}={v}"]
    for v in volumes:
        args += ["-v", v]
    return [*args, *extra, ref, "serve", service]
