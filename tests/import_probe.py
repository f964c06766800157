"""A fresh interpreter that does what ``onewindow serve <service>`` does before it serves and then
runs a probe: which libraries a service loads at start and which only when a feature is used
(issue 19, goal 5: idle memory per service)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def run_probe(code: str, data_dir: Path) -> dict[str, Any]:
    """Run ``code`` (it prints one JSON line last) in a new interpreter at the repository's root."""
    env = {**os.environ, "ONEWINDOW_DATA_DIR": str(data_dir), "ONEWINDOW_LOG_LEVEL": "WARNING"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=150)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
