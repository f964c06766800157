"""The runtime's metrics follow Prometheus conventions: `promtool check metrics` (Debian's
prometheus package) finds nothing to complain about in a real /metrics page."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx

from services.runtime.testing import in_memory, publish

from .example import WidgetArrived, make


async def test_promtool_accepts_the_metrics_page(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: scripts/bootstrap.sh installs Debian's prometheus package"
    svc = make(tmp_path)
    async with in_memory(svc):
        svc.metrics.counter("widgets_counted", "Widgets counted.", ("unit",)).labels("U01").inc()
        await publish(svc, WidgetArrived(widget="m"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://t") as c:
            await c.get("/healthz")
            page = (await c.get("/metrics")).text
    assert "onewindow_messages_processed_total" in page and "onewindow_exampletest_widgets_counted_total" in page
    result = subprocess.run([promtool, "check", "metrics"], input=page, capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), result.stdout + result.stderr
