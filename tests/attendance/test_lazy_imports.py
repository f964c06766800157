"""Issue 19, goal 5 (at most 200 MiB idle per service): attendance does not load openpyxl (with
numpy and lxml: ~20 MiB resident) until the first XLSX report is made. A fresh interpreter does
what ``onewindow serve attendance`` does before it serves (``tools.cli`` and
``create_service()``); the workbook itself is checked by ``test_reports.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.import_probe import run_probe

PROBE = r"""
import json, sys
import tools.cli
tools.cli.load_service("attendance")
at_start = sorted({m.split(".")[0] for m in sys.modules})
from services.attendance.adapters import workbook
wb = workbook._styles().Workbook()
data = workbook.to_bytes(wb)
print(json.dumps({"at_start": at_start, "after_workbook": sorted({m.split(".")[0] for m in sys.modules}),
                  "zip": data[:2].decode()}))
"""


@pytest.mark.timeout(180)
def test_attendance_loads_openpyxl_with_its_first_workbook_only(tmp_path: Path) -> None:
    seen = run_probe(PROBE, tmp_path)
    assert "openpyxl" not in seen["at_start"]
    assert "openpyxl" in seen["after_workbook"]
    assert seen["zip"] == "PK"  # an XLSX is a zip
