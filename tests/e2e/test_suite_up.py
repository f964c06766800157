"""The five services run as separate processes, each ready, each with its own database, API
document and metrics."""

from __future__ import annotations

import pytest

from tools.registry import SERVICES

pytestmark = pytest.mark.e2e


def test_every_service_is_ready_with_docs_and_metrics(suite) -> None:  # type: ignore[no-untyped-def]
    for name in SERVICES:
        c = suite.client(name)
        ready = c.get("/readyz")
        assert ready.status_code == 200, (name, ready.text)
        assert ready.json() == {"database": "ok", "migrations": "ok", "kafka": "ok", "outbox": "ok",
                               "ready": True}
        assert c.get("/openapi.json").json()["info"]["title"]
        assert f'onewindow_service_info{{service="{name}"}} 1.0' in c.get("/metrics").text
        assert (suite.data_dir / f"{name}.db").exists()
