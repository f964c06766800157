"""The reads the console's management pages need: every item (drafts and retired ones too), each
unit's 应进不进 standing computed without publishing, and the ratings per unit."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.common import Role

from .service_helpers import client, clerk, file, intake_service, item_body, outbox, seed_catalog

pytestmark = pytest.mark.timeout(60)


async def test_all_items_lists_drafts_and_retired_items(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        async with client(svc) as admin:
            assert (await admin.post("/intake/catalog/items", json=item_body("LYJ-009", name="林木种子生产经营许可"))
                    ).status_code == 201
            assert (await admin.post("/intake/catalog/items/LYJ-004/retire", json={"reason": "下放乡镇"})
                    ).status_code == 200
            items = {i["code"]: i for i in (await admin.get("/intake/catalog/items")).json()}
            assert items["LYJ-009"]["current"] is None and items["LYJ-009"]["draft"]["name"] == "林木种子生产经营许可"
            assert items["LYJ-004"]["retired"] is True
            assert items["LYJ-001"]["current"] == 1 and items["LYJ-001"]["versions"][0]["version"] == 1
            # The public guide still lists current items only.
            guide = {i["code"] for i in (await admin.get("/intake/guide/items")).json()}
            assert "LYJ-009" not in guide and "LYJ-004" not in guide
            assert [i["code"] for i in (await admin.get("/intake/catalog/items", params={"unit": "ZRJ"})).json()] == []


async def test_inactivity_is_computed_for_oversight_without_publishing(tmp_path: Path) -> None:
    async with intake_service(tmp_path, intake_inactivity_months=1) as svc:
        await seed_catalog(svc)
        async with clerk(svc) as c:
            assert (await file(c, "immediate")).status_code == 201
            r = await c.get("/intake/reports/inactivity", params={"period": "2024-06"})
            assert r.status_code == 403  # a clerk sees no other unit's standing
        async with client(svc, Role.SUPERVISOR, sub="S0001") as sup:
            rows = {r["unit_code"]: r for r in (await sup.get("/intake/reports/inactivity",
                                                                params={"period": "2024-06"})).json()}
            bad = await sup.get("/intake/reports/inactivity", params={"period": "2024-13"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "period"
        assert rows["LYJ"]["flagged"] is False and rows["LYJ"]["months_without_business"] == 0
        assert rows["LYJ"]["last_business_on"] == "2024-06-03"
        assert rows["ZRJ"]["flagged"] is True and rows["ZRJ"]["months_without_business"] >= 1
        assert rows["ZRJ"]["threshold"] == 1 and rows["ZRJ"]["last_business_on"] is None
        # Computed only: nothing went to the outbox (the monthly report publishes, once).
        assert not [e for e in await outbox(svc) if type(e.data).__name__ == "UnitInactivityFlagged"]


async def test_ratings_per_unit(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        async with clerk(svc) as c:
            case = (await file(c, "immediate")).json()
            r = await c.post(f"/intake/applications/{case['receipt_no']}/decision",
                             json={"outcome": "approved", "decision_text": "准予"})
            assert r.status_code == 200, r.text
        async with client(svc, role=None) as pub:
            r = await pub.post("/intake/public/ratings", json={"receipt_no": case["receipt_no"], "mobile_last4": "5678",
                                                              "level": "dissatisfied"})
            assert r.status_code == 201, r.text
        async with client(svc, Role.SUPERVISOR, sub="S0001") as sup:
            rows = {r["unit_code"]: r for r in (await sup.get("/intake/reports/ratings",
                                                                params={"period": "2024-06"})).json()}
        assert rows["LYJ"]["rated"] == 1 and rows["LYJ"]["low"] == 1 and rows["LYJ"]["average_score"] == 2.0
        assert rows["LYJ"]["counts"]["dissatisfied"] == 1 and rows["LYJ"]["counts"]["very_satisfied"] == 0
        assert rows["ZRJ"]["rated"] == 0 and rows["ZRJ"]["average_score"] is None
        async with clerk(svc) as c:
            assert (await c.get("/intake/reports/ratings", params={"period": "2024-06"})).status_code == 403
