"""Shared fixtures of the deployment checks: the built Kustomize overlays, the Compose file as
Compose would read it (variables interpolated from env.example)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE_DIR = DEPLOY / "compose"


def tool(name: str) -> str:
    """Path of a command-line tool the checks need; a clear failure (not a skip) without it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: scripts/bootstrap.sh installs it (deploy/apt-packages.txt)")
    return path


def kustomize(path: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize` (Kustomize built into kubectl) of a kustomization, as documents; where
    kubectl is absent, `kustomize build` (scripts/bootstrap.sh builds it into .venv/bin then)."""
    standalone = REPO / ".venv" / "bin" / "kustomize"
    if shutil.which("kubectl") is None and standalone.exists():
        cmd = [str(standalone), "build", str(path)]
    else:
        cmd = [tool("kubectl"), "kustomize", str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.fixture(scope="session")
def county() -> list[dict[str, Any]]:
    return kustomize(K8S / "overlays" / "county")


@pytest.fixture(scope="session")
def base() -> list[dict[str, Any]]:
    return kustomize(K8S / "base")


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable syntax: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}."""

    def sub(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        value = env.get(name)
        if op in (":-", "-"):
            return value if (value if op == ":-" else value is not None) else arg
        if op in (":?", "?"):
            if not value:
                raise ValueError(f"{name} must be set: {arg}")
            return value
        return value or ""

    return _VAR.sub(sub, text)


def example_env() -> dict[str, str]:
    env = {}
    for line in (COMPOSE_DIR / "env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip()
    return env


@pytest.fixture(scope="session")
def compose_text() -> str:
    return interpolate((COMPOSE_DIR / "compose.yaml").read_text(), example_env())


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "containers: the suite's image built with podman and run (tests/deploy/test_image_run.py)")
