"""The demo catalog of the fictional 青山县 center (27 units, 246 items, 139 immediate), shipped
as data (units.json, items.json; regenerate with ``python -m tools.demo.build_catalog``).

A dev tool, outside the service: it is loaded through intake's own HTTP API with a center
admin's token (staff id ``demo-catalog``), so the catalog events (UnitRegistered,
ItemPublished) go out like any admin's. ``onewindow up`` loads it once intake is ready
(``tools/supervisor.py``; ``--no-demo`` or ``ONEWINDOW_INTAKE_DEMO_CATALOG=0`` to skip);
``python -m tools.demo`` loads it into a running intake. See ``loader.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

#: The staff id the demo catalog is registered and published under.
STAFF_ID = "demo-catalog"


def units() -> list[dict[str, Any]]:
    """The units, as ``POST /intake/catalog/units`` bodies (code, name, window numbers, entered since)."""
    return json.loads((HERE / "units.json").read_text(encoding="utf-8"))


def items() -> list[dict[str, Any]]:
    """The items, as ``POST /intake/catalog/items`` bodies (each published once: version 1)."""
    return json.loads((HERE / "items.json").read_text(encoding="utf-8"))
