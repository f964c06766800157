"""The catalog the plan draws from: read through intake's public guide API (what a replay
uses), or from the demo catalog's files (what the plan's tests use; the same content)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from .plan import CatalogItem

DEMO_ITEMS = Path(__file__).resolve().parents[1] / "demo" / "items.json"


def demo_catalog(path: Path = DEMO_ITEMS) -> list[CatalogItem]:
    return [
        CatalogItem(code=i["code"], unit_code=i["unit_code"], name=i["name"], kind=i["case_kind"],
                    promised_days=i["promised_days"],
                    mandatory=tuple(m["code"] for m in i["materials"] if m["mandatory"]),
                    joint_units=tuple(i.get("joint_units") or ()), higher_authority=i.get("higher_authority"))
        for i in json.loads(path.read_text())
    ]


def guide_catalog(client: httpx.Client) -> list[CatalogItem]:
    """Every current item from ``GET /intake/guide/items`` and each item's guide page."""
    out = []
    for summary in client.get("/intake/guide/items").raise_for_status().json():
        g = client.get(f"/intake/guide/items/{summary['code']}").raise_for_status().json()
        out.append(CatalogItem(code=g["code"], unit_code=g["unit_code"], name=g["name"], kind=g["case_kind"],
                               promised_days=g["promised_days"],
                               mandatory=tuple(m["code"] for m in g["materials"] if m["mandatory"]),
                               joint_units=tuple(g.get("joint_units") or ()),
                               higher_authority=g.get("higher_authority")))
    return sorted(out, key=lambda i: i.code)
