"""Every page of the console, at 1280 px, at a phone's width and in the elderly-friendly mode
(the hall at 1920×1080): axe-core finds no serious or critical violation, and the screenshots of
docs/console.md are made (into ONEWINDOW_CONSOLE_SCREENSHOTS when set, e.g. docs/console)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.console.a11y import serious_violations
from tests.e2e.harness import Suite
from tools.console_screenshots import take_screenshots


@pytest.mark.timeout(900)
def test_every_page_is_accessible_at_every_width(browser: Any, suite: Suite, console_url: str, tmp_path: Path) -> None:
    out = Path(os.environ.get("ONEWINDOW_CONSOLE_SCREENSHOTS") or tmp_path)
    problems: list[str] = []
    seen: list[str] = []

    def check(page: Any, name: str) -> None:
        seen.append(name)
        assert "Traceback" not in page.content()
        problems.extend(f"{name} ({page.viewport_size['width']}px): {v}" for v in serious_violations(page))

    shots = take_screenshots(console_url, out, check=check, browser=browser)
    assert not problems, "\n".join(problems)
    for name in ("landing", "signin", "portal", "portal-item", "portal-status", "portal-rate", "portal-verify",
                 "desk", "desk-new", "desk-notice", "desk-case-decided", "desk-consultations", "no-access", "hall",
                 "portal-item-elderly", "desk-new-errors"):
        assert name in seen
    assert all(p.stat().st_size > 5000 for p in shots)
