"""Issue 19, goal 5 (at most 200 MiB idle per service): deadline does not load Jinja until the
first bulletin is written (its only template). A fresh interpreter does what ``onewindow serve
deadline`` does before it serves (``tools.cli`` and ``create_service()``); the bulletin's text
is checked by ``test_deadline_oversight.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.import_probe import run_probe

PROBE = r"""
import json, sys
import tools.cli
tools.cli.load_service("deadline")
at_start = "jinja2" in sys.modules
from services.deadline.domain import oversight
oversight._env().get_template("bulletin.zh-CN.md.j2")
print(json.dumps({"at_start": at_start, "after_bulletin": "jinja2" in sys.modules}))
"""


@pytest.mark.timeout(180)
def test_deadline_loads_jinja_with_its_first_bulletin_only(tmp_path: Path) -> None:
    seen = run_probe(PROBE, tmp_path)
    assert seen == {"at_start": False, "after_bulletin": True}
