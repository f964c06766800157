"""Overdue follow-ups in intake (issue 22, item 7): a rectification task still open after its due
day emits RectificationOverdueDetected once — not before, not twice, not after it was closed in time —
and the gauge the alert reads counts the open ones."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from contracts.intake import RectificationOverdueDetected
from services.intake.usecases import followups

from .service_helpers import client, clerk, file, intake_service, outbox, seed_catalog

pytestmark = pytest.mark.timeout(120)


async def _rated(svc, level: str = "dissatisfied") -> str:  # type: ignore[no-untyped-def]
    async with clerk(svc) as c:
        no = (await file(c)).json()["receipt_no"]
        assert (await c.post(f"/intake/applications/{no}/decision", json={"outcome": "approved", "decision_text": "准予行政许可"})).status_code == 200
    async with client(svc, role=None) as pub:
        r = await pub.post("/intake/public/ratings", json={"receipt_no": no, "mobile_last4": "5678", "level": level})
        assert r.status_code == 201, r.text
    return no


def _gauge(svc) -> float:  # type: ignore[no-untyped-def]
    return svc.metrics.registry.get_sample_value("onewindow_intake_rectifications_overdue")


async def test_an_open_rectification_past_its_due_day_is_followed_up_once(tmp_path: Path, database_url: str) -> None:
    async with intake_service(tmp_path, database_url=database_url) as svc:
        await seed_catalog(svc)
        late = await _rated(svc)
        closed = await _rated(svc, "very_dissatisfied")
        async with clerk(svc) as c:
            rects = {r["receipt_no"]: r for r in (await c.get("/intake/rectifications")).json()}
            due = rects[late]["due_on"]
            r = await c.post(f"/intake/rectifications/{rects[closed]['rectification_id']}/close",
                             json={"response": "已约谈窗口人员并整改"})
            assert r.status_code == 200, r.text
        assert await followups.follow_up_once(svc) == []  # not due yet
        assert _gauge(svc) == 0
        # Still due on its due day; overdue from the next day (in the center's time zone).
        while svc.clock.value.date().isoformat() < due:
            svc.clock.value += timedelta(days=1)
        assert await followups.follow_up_once(svc) == []
        svc.clock.value += timedelta(days=1)
        assert await followups.follow_up_once(svc) == [rects[late]["rectification_id"]]
        assert _gauge(svc) == 1
        svc.clock.value += timedelta(days=3)
        assert await followups.follow_up_once(svc) == []  # once
        assert _gauge(svc) == 1  # still open: still counted for the alert
        [env] = [e for e in await outbox(svc, "intake.ratings") if isinstance(e.data, RectificationOverdueDetected)]
        ev = env.data
        assert (ev.receipt_no, ev.unit_code, ev.due_on.isoformat()) == (late, "LYJ", due)
        assert env.id == followups.event_id(ev.rectification_id)
        # Closing it late takes it off the gauge.
        async with clerk(svc) as c:
            r = await c.post(f"/intake/rectifications/{ev.rectification_id}/close", json={"response": "已整改"})
            assert r.status_code == 200
        assert await followups.follow_up_once(svc) == [] and _gauge(svc) == 0
