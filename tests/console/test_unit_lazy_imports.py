"""Issue 19, goal 5 (at most 200 MiB idle per service): the console does not load matplotlib (with
numpy, its font manager, the SVG backend: ~39 MiB resident) until the first chart is drawn. A
fresh interpreter does what ``onewindow serve console`` does before it serves (``tools.cli`` and
``create_service()``), then draws a chart."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.import_probe import run_probe

PROBE = r"""
import json, sys
import tools.cli
tools.cli.load_service("console")
at_start = sorted({m.split(".")[0] for m in sys.modules})
from services.console.charts import bar_chart, line_chart
svg = bar_chart("办件量", ["10月", "11月"], {"公安局": [3, 5]}) + line_chart("按时办结率", ["10月", "11月"], {"公安局": [0.9, 1.0]}, percent=True)
print(json.dumps({"at_start": at_start, "after_chart": sorted({m.split(".")[0] for m in sys.modules}),
                  "svgs": svg.count("<svg")}))
"""


@pytest.mark.timeout(180)
def test_console_loads_matplotlib_with_its_first_chart_only(tmp_path: Path) -> None:
    seen = run_probe(PROBE, tmp_path)
    assert "matplotlib" not in seen["at_start"] and "numpy" not in seen["at_start"]
    assert "matplotlib" in seen["after_chart"]  # the charts still draw, importing it then
    assert seen["svgs"] == 2
