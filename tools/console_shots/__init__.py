"""Screenshots of the management pages (issue 18), one module per area. Each module defines
``take(browser, base, out, check) -> list[Path]`` and is found here by name, so
``tools.console_screenshots.take_screenshots`` shoots every area without naming them."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any


def snap(page: Any, out: Path, name: str, suffix: str, check: Callable[[Any, str], None] | None,
         shots: list[Path], *, full_page: bool = True) -> None:
    """Check the page as it stands (axe-core in the tests), then picture it as ``<name><suffix>.png``."""
    if check:
        check(page, name)
    target = out / f"{name}{suffix}.png"
    page.screenshot(path=str(target), full_page=full_page)
    shots.append(target)


def take_all(browser: Any, base: str, out: Path, check: Callable[[Any, str], None] | None) -> list[Path]:
    shots: list[Path] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        take = getattr(module, "take", None)
        if take is not None:
            shots.extend(take(browser, base, out, check))
    return shots
