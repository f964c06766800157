"""Every declared service runs as a separate process, each ready, each with its own database,
API document and metrics; the services on the bus are ready on Kafka and their outbox too, the
console (no Kafka) on its database alone."""

from __future__ import annotations

import pytest

from tools.registry import BUS_SERVICES, SERVICES, declarations

pytestmark = pytest.mark.e2e


def test_every_service_is_ready_with_docs_and_metrics(suite) -> None:  # type: ignore[no-untyped-def]
    assert "console" in SERVICES and "console" not in BUS_SERVICES
    for name in SERVICES:
        c = suite.client(name)
        ready = c.get("/readyz")
        assert ready.status_code == 200, (name, ready.text)
        bus = {"kafka": "ok", "outbox": "ok"} if name in BUS_SERVICES else {}
        # A service that counts working days but does not own the calendar follows its events and
        # is ready only once it has replayed them (services/runtime/calendar_follower.py).
        follows = name != "deadline" and "deadline.calendar" in declarations()[name].consumes
        calendar = {"calendar": "ok"} if follows else {}
        assert ready.json() == {"database": "ok", "migrations": "ok", **bus, **calendar, "ready": True}
        assert c.get("/openapi.json").json()["info"]["title"]
        assert c.get("/docs").status_code == 200
        assert f'onewindow_service_info{{service="{name}"}} 1.0' in c.get("/metrics").text
        assert (suite.data_dir / f"{name}.db").exists()
