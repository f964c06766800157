"""The container image's Dockerfile (at the top of the repository), checked without building:
it parses (with BuildKit's own parser, through the `dockerfile` package), has the shape we promise
(multi-stage, a base picked by a build argument, an offline switch, non-root user, the entry
point that checks the settings then runs `onewindow`), copies only what .dockerignore lets into
the build context, and that context builds a wheel carrying every file the services load at run
time (migrations, templates, schemas, demo data). tests/deploy/test_image_run.py builds the image
with podman and runs it; test_image_entrypoint.py unit-tests the settings check."""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import dockerfile
import pytest

from tools.registry import DEFAULT_PORTS

from .conftest import REPO

DOCKERFILE = REPO / "Dockerfile"


@pytest.fixture(scope="module")
def commands() -> list[dockerfile.Command]:
    return list(dockerfile.parse_file(str(DOCKERFILE)))


def test_multi_stage_slim_non_root(commands: list[dockerfile.Command]) -> None:
    froms = [c for c in commands if c.cmd == "FROM"]
    assert [f.value[-1] for f in froms] == ["build", "runtime"]
    args = {c.value[0].split("=", 1)[0]: c.value[0].split("=", 1)[1] for c in commands if c.cmd == "ARG" and "=" in c.value[0]}
    assert args["PYTHON_IMAGE"].endswith("-slim-bookworm")  # the usual base on a Docker host
    build = commands[commands.index(froms[0]):commands.index(froms[-1])]
    assert any(c.cmd == "ARG" and c.value[0].startswith("OFFLINE") for c in build)
    pip = " ".join(c.value[0] for c in build if c.cmd == "RUN" and "pip install" in c.value[0])
    assert pip.count("--find-links /wheelhouse ${OFFLINE:+--no-index}") == 2, pip  # both installs offline-able
    runtime = commands[commands.index(froms[-1]):]
    users = [c.value[0] for c in runtime if c.cmd == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert int(users[-1].split(":")[0]) >= 10000
    (entry,) = [c for c in runtime if c.cmd == "ENTRYPOINT"]
    assert entry.json and entry.value[0] == "tini" and entry.value[-1] == "onewindow"
    assert "tools.image_entrypoint" in entry.value  # the required settings are checked first
    exposed = {int(p) for c in runtime if c.cmd == "EXPOSE" for p in c.value}
    assert set(DEFAULT_PORTS.values()) <= exposed, set(DEFAULT_PORTS.values()) - exposed
    # The runtime stage gets the built environment, not the sources or the compilers.
    copies = [c for c in runtime if c.cmd == "COPY"]
    assert copies and all(any(f.startswith("--from=build") for f in c.flags) for c in copies)
    installs = " ".join(c.value[0] for c in runtime if c.cmd == "RUN")
    assert "fonts-wqy-microhei" in installs and "fonts-arphic-gbsn00lp" in installs  # notices and seals embed them
    assert "rm -rf /var/lib/apt/lists/*" in installs


def _ignored(rel: str, patterns: list[str]) -> bool:
    """.dockerignore semantics for the patterns we use: the last matching pattern wins, `!`
    re-includes, a pattern matching a folder covers what is inside, `**/` matches any depth."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.rstrip("/")
        if pattern.startswith("**/"):
            tail = pattern[3:]
            hit = any(fnmatch.fnmatchcase("/".join(parts[i: j]), tail)
                      for i in range(len(parts)) for j in range(i + 1, len(parts) + 1))
        else:
            hit = any(fnmatch.fnmatchcase(p, pattern) and p.count("/") == pattern.count("/") for p in prefixes)
        if hit:
            ignored = not negate
    return ignored


def _context(dest: Path) -> list[str]:
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    kept = [f for f in files if (REPO / f).is_file() and not _ignored(f, patterns)]
    for f in kept:
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / f, dest / f)
    return kept


def test_the_build_context_holds_only_what_the_image_needs(tmp_path: Path, commands: list[dockerfile.Command]) -> None:
    kept = _context(tmp_path)
    tops = {f.split("/")[0] for f in kept}
    assert tops == {"pyproject.toml", "README.md", "contracts", "services", "tools", "deploy"}
    assert {f for f in kept if f.startswith("deploy/")} <= {"deploy/wheelhouse/README.md"} | {
        f for f in kept if f.startswith("deploy/wheelhouse/") and f.endswith(".whl")}
    assert not any(f.startswith("tools/simulator/") for f in kept), "dev tools stay out of the image"
    assert not any("__pycache__" in f or f.endswith(".pyc") for f in kept)
    for c in commands:
        if c.cmd == "COPY" and not any(f.startswith("--from=") for f in c.flags):
            for source in c.value[:-1]:
                assert (tmp_path / source).exists(), f"COPY {source}: not in the build context"


def test_the_context_builds_a_wheel_with_the_runtime_files(tmp_path: Path) -> None:
    context = tmp_path / "context"
    kept = _context(context)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                          "-w", str(tmp_path / "dist"), str(context)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    (wheel,) = (tmp_path / "dist").glob("onewindow-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    needed = [f for f in kept if f.startswith(("contracts/", "services/"))
              and ("/migrations/" in f or "/templates/" in f or "/schemas/" in f or "/demo/" in f
                   or f.endswith((".json", ".yaml", ".j2", ".mako", ".ini")))]
    assert needed, "the services load files at run time"
    missing = [f for f in needed if f not in names]
    assert not missing, f"not packaged into the image: {missing}"
    assert "tools/cli.py" in names and "tools/deploy_gen.py" in names
