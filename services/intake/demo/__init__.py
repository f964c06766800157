"""The demo catalog of the fictional 青山县 center (27 units, 246 items, 139 immediate), shipped
as data (units.json, items.json; regenerate with ``python -m services.intake.demo.build_catalog``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from contracts.intake import Fee, MaterialSpec

from ..catalog import CatalogRules, ItemContent, Unit, check_content

HERE = Path(__file__).parent


@dataclass(frozen=True)
class DemoItem:
    code: str
    unit_code: str
    content: ItemContent


def load(rules: CatalogRules | None = None) -> tuple[list[Unit], list[DemoItem]]:
    """Read and check the demo catalog (every item passes the center's catalog rules)."""
    rules = rules or CatalogRules()
    units = [
        Unit(code=u["code"], name=u["name"], window_numbers=u["window_numbers"], entered=u["entered"],
             entered_since=date.fromisoformat(u["entered_since"]) if u["entered_since"] else None)
        for u in json.loads((HERE / "units.json").read_text(encoding="utf-8"))
    ]
    codes = [u.code for u in units]
    items = []
    for raw in json.loads((HERE / "items.json").read_text(encoding="utf-8")):
        content = ItemContent(
            name=raw["name"], case_kind=raw["case_kind"], joint_units=tuple(raw["joint_units"]),
            higher_authority=raw["higher_authority"], legal_basis=tuple(raw["legal_basis"]),
            procedure=tuple(raw["procedure"]), materials=tuple(MaterialSpec(**m) for m in raw["materials"]),
            statutory_days=raw["statutory_days"], promised_days=raw["promised_days"], fee=Fee(**raw["fee"]),
            flow=raw["flow"],
        )
        check_content(content, raw["unit_code"], rules, codes)
        items.append(DemoItem(code=raw["code"], unit_code=raw["unit_code"], content=content))
    return units, items
