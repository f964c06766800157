"""The services of this checkout, as they declare themselves (``services/<name>/config.py``'s
``DECLARATION``): what ``onewindow up``, the deployment generator and the test harness start,
deploy and grant. A new service is found by adding its folder; nothing here names one."""

from __future__ import annotations

import importlib
from functools import lru_cache
from pathlib import Path

from services.runtime.declaration import ServiceDeclaration

REPO_ROOT = Path(__file__).resolve().parents[1]
_SERVICES_DIR = REPO_ROOT / "services"


@lru_cache(maxsize=1)
def declarations() -> dict[str, ServiceDeclaration]:
    """Every declared service, in the order of their default ports."""
    found: list[ServiceDeclaration] = []
    for folder in sorted(_SERVICES_DIR.iterdir()):
        if not (folder / "config.py").is_file() or not (folder / "app.py").is_file():
            continue
        module = importlib.import_module(f"services.{folder.name}.config")
        decl = getattr(module, "DECLARATION", None)
        if isinstance(decl, ServiceDeclaration):
            found.append(decl)
    return {d.name: d for d in sorted(found, key=lambda d: (d.port, d.name))}


#: Every service `onewindow up` starts, by name, and their default HTTP ports.
SERVICES: tuple[str, ...] = tuple(declarations())
DEFAULT_PORTS: dict[str, int] = {name: d.port for name, d in declarations().items()}
#: The services on the event bus (consumers, publishers): what the broker's ACLs, the topic
#: plan and the bus's fault tests concern.
BUS_SERVICES: tuple[str, ...] = tuple(name for name, d in declarations().items() if d.kafka)


def create_service(name: str):  # type: ignore[no-untyped-def]
    """The service's ``create_service()`` from its ``app.py``."""
    return importlib.import_module(f"services.{name}.app").create_service()
