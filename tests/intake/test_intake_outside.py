"""两头受理 (issue 22, item 5): units report the decisions they make outside the center (API and
CSV import); a decision on an item the center's catalog takes, with no case received at the
center, is flagged, counted per unit and published as OutsideHandlingDetected (codes only).
Bad input is refused naming the field; a bad file is refused whole."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from contracts.common import Role
from contracts.intake import OutsideHandlingDetected
from services.intake.domain import outside as rules
from services.intake.domain.outside import CaseFacts, ItemFacts, OutsideOutcome, OutsideReport
from services.intake.store import OutsideDecisionRow
from services.runtime.errors import InvalidInput

from .service_helpers import KIND_ITEMS, client, clerk, file, intake_service, item_body, outbox, seed_catalog

pytestmark = pytest.mark.timeout(120)

TODAY = date(2024, 6, 3)
ITEM = KIND_ITEMS["promised"]


# --------------------------------------------------------------------------- the rules


def _r(**over) -> OutsideReport:  # type: ignore[no-untyped-def]
    kw = dict(external_no="LY-2024-0001", item_code=ITEM, decided_on=date(2024, 5, 30), outcome=OutsideOutcome.APPROVED)
    kw.update(over)
    return OutsideReport(**kw)  # type: ignore[arg-type]


class TestRules:
    def test_a_catalog_item_decided_with_no_case_at_the_center_is_flagged(self) -> None:
        assert rules.check(_r(), unit_code="LYJ", today=TODAY, item=ItemFacts("LYJ", True), case=None) is True

    def test_an_item_the_center_does_not_take_is_not_flagged(self) -> None:
        assert rules.check(_r(item_code="LYJ-900"), unit_code="LYJ", today=TODAY, item=None, case=None) is False
        assert rules.check(_r(), unit_code="LYJ", today=TODAY, item=ItemFacts("LYJ", False), case=None) is False

    def test_a_decision_on_a_case_received_at_the_center_is_not_flagged(self) -> None:
        assert rules.check(_r(receipt_no="2024-LYJ-ABCDEFGH"), unit_code="LYJ", today=TODAY,
                           item=ItemFacts("LYJ", True), case=CaseFacts("LYJ", ITEM)) is False

    @pytest.mark.parametrize("report, item, case, field", [
        (_r(decided_on=date(2024, 6, 4)), ItemFacts("LYJ", True), None, "decided_on"),
        (_r(decided_on=date(1999, 12, 31)), ItemFacts("LYJ", True), None, "decided_on"),
        (_r(), ItemFacts("ZRJ", True), None, "item_code"),
        (_r(receipt_no="2024-LYJ-ABCDEFGH"), ItemFacts("LYJ", True), None, "receipt_no"),
        (_r(receipt_no="2024-ZRJ-ABCDEFGH"), ItemFacts("LYJ", True), CaseFacts("ZRJ", ITEM), "receipt_no"),
        (_r(receipt_no="2024-LYJ-ABCDEFGH"), ItemFacts("LYJ", True), CaseFacts("LYJ", "LYJ-001"), "item_code"),
    ])
    def test_what_cannot_be_right_is_refused_naming_the_field(self, report, item, case, field) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidInput) as exc:
            rules.check(report, unit_code="LYJ", today=TODAY, item=item, case=case)
        assert exc.value.field == field

    @pytest.mark.parametrize("args, field", [
        (("", ITEM, None), "external_no"), (("A\nB", ITEM, None), "external_no"), (("x" * 61, ITEM, None), "external_no"),
        (("LY-1", "林业", None), "item_code"), (("LY-1", ITEM, "2024 LYJ"), "receipt_no"),
    ])
    def test_fields_are_checked(self, args, field) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidInput) as exc:
            rules.normalise(*args)
        assert exc.value.field == field
        assert rules.normalise(" LY-1 ", "lyj-002", " 2024-lyj-abcdefgh ") == ("LY-1", "LYJ-002", "2024-LYJ-ABCDEFGH")

    def test_the_csv_is_read_with_its_lines_and_every_problem_is_listed(self) -> None:
        good = ("\ufeffexternal_no,item_code,decided_on,outcome,receipt_no\n"
                "LY-1,LYJ-002,2024-05-30,准予,\n\n"
                "LY-2,lyj-002,2024-05-31,refused,2024-LYJ-ABCDEFGH\n")
        reports, errors = rules.parse_csv(good)
        assert errors == []
        assert [(r.external_no, r.item_code, r.outcome, r.receipt_no, r.line) for r in reports] == [
            ("LY-1", "LYJ-002", OutsideOutcome.APPROVED, None, 2),
            ("LY-2", "LYJ-002", OutsideOutcome.REFUSED, "2024-LYJ-ABCDEFGH", 4)]
        bad = ("external_no,item_code,decided_on,outcome\n"
               "LY-1,LYJ-002,2024-05-30,准予\n"
               "LY-2,LYJ-002,2024/05/31,准予\n"
               "LY-3,LYJ-002,2024-05-31,同意\n"
               "LY-1,LYJ-002,2024-05-30,准予\n")
        reports, errors = rules.parse_csv(bad)
        assert [e["field"] for e in errors] == ["rows[3].decided_on", "rows[4].outcome", "rows[5].external_no"]
        assert all(e["reason"] for e in errors)
        assert rules.parse_csv("")[1][0]["field"] == "file"
        assert "decided_on" in rules.parse_csv("external_no,item_code\nA,B\n")[1][0]["reason"]
        assert rules.parse_csv("external_no,item_code,decided_on,outcome\n")[1][0]["reason"] == "文件中没有数据行"


# --------------------------------------------------------------------------- the service


async def _count(svc) -> int:  # type: ignore[no-untyped-def]
    async with svc.uow() as uow:
        return int((await uow.session.execute(select(func.count()).select_from(OutsideDecisionRow))).scalar_one())


def _body(**over) -> dict:  # type: ignore[no-untyped-def]
    body = {"external_no": "LY〔2024〕0001号", "item_code": ITEM, "decided_on": "2024-05-30", "outcome": "approved"}
    body.update(over)
    return body


async def test_units_report_outside_decisions_and_supervision_sees_the_flagged_ones(
        tmp_path: Path, database_url: str) -> None:
    async with intake_service(tmp_path, database_url=database_url) as svc:
        await seed_catalog(svc)
        async with client(svc) as admin:  # an item of another unit
            assert (await admin.post("/intake/catalog/items", json=item_body("ZRJ-001", unit_code="ZRJ"))).status_code == 201
            assert (await admin.post("/intake/catalog/items/ZRJ-001/publish")).status_code == 200
        async with clerk(svc) as c:
            no = (await file(c)).json()["receipt_no"]
            r = await c.post("/intake/units/LYJ/outside-decisions", json=_body())
            assert r.status_code == 201, r.text
            assert r.json()["flagged"] == 1 and r.json()["recorded"][0]["flagged"] is True
            # Received at the center: not flagged. Not in the catalog: not flagged.
            r = await c.post("/intake/units/LYJ/outside-decisions", json=_body(external_no="LY-2", receipt_no=no.lower()))
            assert r.status_code == 201 and r.json()["flagged"] == 0
            r = await c.post("/intake/units/LYJ/outside-decisions", json=_body(external_no="LY-3", item_code="LYJ-900"))
            assert r.status_code == 201 and r.json()["flagged"] == 0
            # Sent again alike: skipped; the same number with other facts: refused.
            r = await c.post("/intake/units/LYJ/outside-decisions", json=_body())
            assert r.status_code == 201 and r.json()["skipped"] == ["LY〔2024〕0001号"] and r.json()["recorded"] == []
            r = await c.post("/intake/units/LYJ/outside-decisions", json=_body(outcome="refused"))
            assert r.status_code == 409 and r.json()["errors"][0]["field"] == "external_no"
            for body, field in ((_body(external_no="LY-9", decided_on="2024-06-04"), "decided_on"),
                                (_body(external_no="LY-9", item_code="ZRJ-001"), "item_code"),
                                (_body(external_no="LY-9", receipt_no="2024-LYJ-ZZZZZZZZ"), "receipt_no"),
                                (_body(external_no="LY-9", outcome="同意"), "outcome"),
                                (_body(external_no=""), "external_no")):
                r = await c.post("/intake/units/LYJ/outside-decisions", json=body)
                assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, (body, r.text)
            assert (await c.post("/intake/units/ZRJ/outside-decisions", json=_body())).status_code == 403
            assert (await c.get("/intake/outside-decisions/summary")).status_code == 403

            # A CSV export: a bad file is refused whole, every problem named by line and column.
            before = await _count(svc)
            bad = ("external_no,item_code,decided_on,outcome,receipt_no\n"
                   "LY-10,LYJ-002,2024-05-20,准予,\n"
                   "LY-11,LYJ-002,2024-05-21,准予,2024-LYJ-ZZZZZZZZ\n"
                   "LY-12,LYJ-002,2024-13-01,准予,\n")
            r = await c.post("/intake/units/LYJ/outside-decisions/import", content=bad.encode(),
                             headers={"Content-Type": "text/csv"})
            assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["rows[4].decided_on"]
            r = await c.post("/intake/units/LYJ/outside-decisions/import", content=bad.replace("2024-13-01", "2024-05-22").encode())
            assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["rows[3].receipt_no"]
            assert await _count(svc) == before  # nothing half-written
            r = await c.post("/intake/units/LYJ/outside-decisions/import", content="x".encode("utf-16"))
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
            good = bad.replace("2024-13-01", "2024-05-22").replace("2024-LYJ-ZZZZZZZZ", no) + "LY-1〔x〕,LYJ-001,2024-04-30,不予,\n"
            r = await c.post("/intake/units/LYJ/outside-decisions/import", content=good.encode("utf-8-sig"))
            assert r.status_code == 201, r.text
            assert r.json()["flagged"] == 3 and len(r.json()["recorded"]) == 4
            assert {d["source"] for d in r.json()["recorded"]} == {"csv"}
            # The same export again: nothing new, nothing counted twice; a changed row: refused whole.
            r = await c.post("/intake/units/lyj/outside-decisions/import", content=good.encode())
            assert r.status_code == 201 and r.json()["recorded"] == [] and len(r.json()["skipped"]) == 4
            r = await c.post("/intake/units/LYJ/outside-decisions/import", content=good.replace("不予", "准予").encode())
            assert r.status_code == 409 and [e["field"] for e in r.json()["errors"]] == ["rows[5].external_no"]
            mine = (await c.get("/intake/outside-decisions", params={"flagged": "true"})).json()
            assert len(mine) == 4 and {d["unit_code"] for d in mine} == {"LYJ"}
            assert (await c.get("/intake/outside-decisions", params={"unit": "ZRJ"})).status_code == 403
            assert (await c.get("/intake/outside-decisions", params={"period": "2024-13"})).status_code == 422

        async with client(svc, Role.SUPERVISOR, None, "S0001") as sup:
            may = (await sup.get("/intake/outside-decisions/summary", params={"period": "2024-05"})).json()
            assert may == [{"unit_code": "LYJ", "unit_name": "青山县林业局", "reported": 6, "flagged": 3}]
            allt = (await sup.get("/intake/outside-decisions/summary")).json()
            assert allt[0]["flagged"] == 4 and allt[0]["reported"] == 7

        events = [e.data for e in await outbox(svc, "intake.units") if isinstance(e.data, OutsideHandlingDetected)]
        assert [(e.unit_code, e.item_code, e.decided_on.isoformat(), e.period_count) for e in events] == [
            ("LYJ", ITEM, "2024-05-30", 1), ("LYJ", ITEM, "2024-05-20", 2), ("LYJ", ITEM, "2024-05-22", 3),
            ("LYJ", "LYJ-001", "2024-04-30", 1)]
        raw = [e.data.model_dump_json() for e in await outbox(svc, "intake.units")]
        assert not any("LY-1" in t or "LY〔" in t for t in raw)  # the unit's own numbers stay in intake
        assert svc.metrics.registry.get_sample_value(
            "onewindow_intake_outside_handling_detected_total", {"unit": "LYJ"}) == 4
