"""The floor plan: the runtime only runs services (it names none of them), every service
declares itself, and the tools find them from those declarations."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tools import deploy_gen
from tools.registry import BUS_SERVICES, DEFAULT_PORTS, SERVICES, declarations

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]


def test_every_service_folder_declares_itself_with_a_port_of_its_own() -> None:
    folders = sorted(p.name for p in (REPO / "services").iterdir() if (p / "app.py").is_file() and p.name != "runtime")
    assert sorted(SERVICES) == folders
    assert len(set(DEFAULT_PORTS.values())) == len(DEFAULT_PORTS)
    assert set(BUS_SERVICES) <= set(SERVICES)


def test_the_runtime_names_no_service() -> None:
    """No import of a service and no service's name as a string in the runtime's code."""
    names = set(SERVICES)
    found = []
    for path in sorted((REPO / "services" / "runtime").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("services."):
                if not node.module.startswith("services.runtime"):
                    found.append(f"{path.name}: from {node.module} import ...")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                found.append(f"{path.name}:{node.lineno}: {node.value!r}")
    assert not found, found


def test_services_import_only_contracts_and_the_runtime() -> None:
    found = []
    for path in sorted((REPO / "services").rglob("*.py")):
        own = path.relative_to(REPO / "services").parts[0]
        for node in ast.walk(ast.parse(path.read_text())):
            mods = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                mods = [node.module]
            elif isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            for m in mods:
                top = m.split(".")
                if top[0] == "tools" or (top[0] == "services" and len(top) > 1 and top[1] not in ("runtime", own)):
                    found.append(f"{path.relative_to(REPO)}: {m}")
    assert not found, found


def test_kafka_grants_follow_the_declarations() -> None:
    for name in BUS_SERVICES:
        consumed = set(declarations()[name].consumes)
        # and the dead-letter twins of those (the service's dead-letter API reads them)
        assert deploy_gen.reads(name) == sorted(consumed | {f"{t}.dlq" for t in consumed})
    assert deploy_gen.WRITERS == {"seal.commands": ("intake", "notify")}
