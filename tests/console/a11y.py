"""axe-core (bundled by axe-playwright-python) on a page: no serious or critical violation."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe

_axe = Axe()


def serious_violations(page: Any) -> list[str]:
    results = _axe.run(page)
    out = []
    for v in results.response.get("violations", []):
        if v.get("impact") in ("serious", "critical"):
            targets = [", ".join(n.get("target", [])) for n in v.get("nodes", [])][:3]
            out.append(f"{v['id']} ({v['impact']}): {v.get('help')} at {targets}")
    return out


def assert_accessible(page: Any, name: str = "") -> None:
    found = serious_violations(page)
    assert not found, f"axe-core on {name or page.url}: " + "; ".join(found)
