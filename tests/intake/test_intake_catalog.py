from datetime import date

import pytest

from contracts.common import CaseKind
from contracts.intake import Fee, ItemPublished, ItemRetired, MaterialSpec, UnitRegistered
from services.intake.domain.catalog import CatalogRules, Item, check_content, matches, register_unit
from services.runtime.errors import InvalidInput, InvalidState, NotAllowed

from .helpers import ADMIN, CLERK, MONDAY, RULES, SUPERVISOR, content, published


class TestUnits:
    def test_register_emits_unit_registered(self):
        unit, events = register_unit(ADMIN, MONDAY, code="lyj", name="青山县林业局", window_numbers=["12", "13"],
                                     entered=True, entered_since=date(2012, 3, 1))
        assert unit.code == "LYJ" and unit.registered_on == date(2024, 6, 3)
        again, _ = register_unit(ADMIN, MONDAY, code="LYJ", name="青山县林业局", entered_since=date(2012, 3, 1),
                                 registered_on=date(2020, 1, 1))
        assert again.registered_on == date(2020, 1, 1)  # a change keeps the first recording day
        assert isinstance(events[0], UnitRegistered)
        assert events[0].window_numbers == ["12", "13"] and events[0].staff_id == ADMIN.staff_id

    @pytest.mark.parametrize("kw, field", [
        (dict(code="林业", name="x"), "code"),
        (dict(code="LYJ", name=" "), "name"),
        (dict(code="LYJ", name="x", window_numbers=["1", "1"]), "window_numbers"),
        (dict(code="LYJ", name="x", entered=True, entered_since=None), "entered_since"),
    ])
    def test_bad_units_are_refused(self, kw, field):
        kw.setdefault("entered_since", date(2020, 1, 1))
        with pytest.raises(InvalidInput) as exc:
            register_unit(ADMIN, MONDAY, **kw)
        assert exc.value.field == field

    def test_only_the_center_admin_registers_units(self):
        with pytest.raises(NotAllowed):
            register_unit(SUPERVISOR, MONDAY, code="LYJ", name="x", entered_since=date(2020, 1, 1))


class TestItemRules:
    def test_promised_may_not_exceed_statutory(self):
        with pytest.raises(InvalidInput) as exc:
            check_content(content(statutory_days=3, promised_days=5), "LYJ", RULES)
        assert exc.value.field == "promised_days" and "法定时限" in exc.value.reason

    def test_promised_may_not_exceed_the_centers_cap(self):
        with pytest.raises(InvalidInput) as exc:
            check_content(content(statutory_days=20, promised_days=11), "LYJ", RULES)
        assert "10个工作日" in exc.value.reason
        # The cap is a setting.
        check_content(content(statutory_days=20, promised_days=11), "LYJ", CatalogRules(promise_cap_days=15))

    def test_immediate_items_are_decided_the_same_day(self):
        with pytest.raises(InvalidInput):
            check_content(content(CaseKind.IMMEDIATE, promised_days=2), "LYJ", RULES)
        with pytest.raises(InvalidInput):
            check_content(content(CaseKind.PROMISED, promised_days=0), "LYJ", RULES)

    def test_joint_items_need_other_existing_units(self):
        with pytest.raises(InvalidInput) as exc:
            check_content(content(CaseKind.JOINT, joint_units=()), "LYJ", RULES)
        assert exc.value.field == "joint_units"
        with pytest.raises(InvalidInput):
            check_content(content(CaseKind.JOINT, joint_units=("LYJ",)), "LYJ", RULES)
        with pytest.raises(InvalidInput) as exc:
            check_content(content(CaseKind.JOINT), "LYJ", RULES, known_units=["LYJ", "ZRJ"])
        assert "RFB" in exc.value.reason
        with pytest.raises(InvalidInput):
            check_content(content(CaseKind.PROMISED, joint_units=("ZRJ",)), "LYJ", RULES)

    def test_reported_up_items_name_the_higher_authority(self):
        with pytest.raises(InvalidInput) as exc:
            check_content(content(CaseKind.REPORTED_UP, higher_authority=None), "LYJ", RULES)
        assert exc.value.field == "higher_authority"

    def test_conditional_materials_say_when(self):
        bad = content(materials=(MaterialSpec(code="M01", name="申请书", form="original", copies=1, mandatory=True),
                                 MaterialSpec(code="M02", name="委托书", form="original", copies=1, mandatory=False)))
        with pytest.raises(InvalidInput) as exc:
            check_content(bad, "LYJ", RULES)
        assert exc.value.field == "materials[1].condition"

    def test_a_fee_needs_its_standard_and_basis(self):
        with pytest.raises(InvalidInput) as exc:
            check_content(content(fee=Fee(free=False, standard="每证10元")), "LYJ", RULES)
        assert exc.value.field == "fee.basis"
        check_content(content(fee=Fee(free=False, standard="每证10元", basis="发改价格〔2003〕2322号")), "LYJ", RULES)

    def test_legal_basis_is_required(self):
        with pytest.raises(InvalidInput) as exc:
            check_content(content(legal_basis=()), "LYJ", RULES)
        assert exc.value.field == "legal_basis"

    def test_item_codes_follow_the_unit(self):
        with pytest.raises(InvalidInput) as exc:
            Item.create(ADMIN, code="forest 1", unit_code="LYJ", content=content(), rules=RULES)
        assert exc.value.field == "code"


class TestVersions:
    def test_publishing_makes_a_version_current_and_emits_it_in_full(self):
        item = Item.create(ADMIN, code="LYJ-001", unit_code="LYJ", content=content(), rules=RULES)
        with pytest.raises(InvalidState):
            item.current_version()  # a draft only
        events = item.publish(ADMIN, MONDAY, "青山县林业局", RULES)
        assert isinstance(events[0], ItemPublished)
        e = events[0]
        assert (e.item_version, e.promised_days, e.statutory_days, e.unit_name) == (1, 5, 20, "青山县林业局")
        assert [m.code for m in e.materials] == ["M01", "M02", "M03", "M04"]
        assert item.current_version().version == 1 and item.draft is None

    def test_published_versions_are_immutable(self):
        item = published()
        v1 = item.current_version()
        with pytest.raises(Exception):
            v1.content.promised_days = 3  # frozen
        item.edit(ADMIN, content(promised_days=3), RULES)
        assert item.draft_version == 2
        assert item.current_version().content.promised_days == 5  # the draft changes nothing yet
        item.publish(ADMIN, MONDAY, "青山县林业局", RULES)
        assert item.current_version().content.promised_days == 3
        assert item.version(1).content.promised_days == 5

    def test_running_cases_keep_their_version(self):
        item = published()
        from services.intake.domain.cases import Application
        from .helpers import person
        app = Application.receive(receipt_no="2024-LYJ-00001", item=item.current_version(), unit_name="林业局",
                                  applicant=person(), materials=["M01", "M02", "M03"], at=MONDAY, actor=CLERK)
        item.edit(ADMIN, content(promised_days=2, name="林木采伐许可证核发（新）"), RULES)
        item.publish(ADMIN, MONDAY, "青山县林业局", RULES)
        assert app.item.version == 1 and app.item.content.promised_days == 5
        events = app.decide(CLERK, MONDAY, "approved", "准予采伐")
        assert events[0].item_version == 1 and events[0].item_name == "林木采伐许可证核发"

    def test_publish_without_a_draft_is_refused(self):
        item = published()
        with pytest.raises(InvalidState):
            item.publish(ADMIN, MONDAY, "x", RULES)

    def test_retiring_stops_new_applications_and_emits(self):
        item = published()
        events = item.retire(ADMIN, MONDAY, "职能划转")
        assert isinstance(events[0], ItemRetired) and events[0].item_version == 1
        with pytest.raises(InvalidState) as exc:
            item.current_version()
        assert "停用" in exc.value.reason
        with pytest.raises(InvalidState):
            item.retire(ADMIN, MONDAY)
        # publishing a new version takes it back into service
        item.edit(ADMIN, content(), RULES)
        item.publish(ADMIN, MONDAY, "x", RULES)
        assert item.current_version().version == 2

    def test_only_the_center_admin_edits_the_catalog(self):
        item = published()
        for actor in (CLERK, SUPERVISOR):
            with pytest.raises(NotAllowed):
                item.edit(actor, content(), RULES)
            with pytest.raises(NotAllowed):
                item.retire(actor, MONDAY)

    def test_aggregate_round_trips_through_json(self):
        item = published()
        again = Item.model_validate_json(item.model_dump_json())
        assert again == item


def test_guide_search_matches_every_word():
    v = published().current_version()
    assert matches(v, None) and matches(v, "采伐") and matches(v, "林木 许可")
    assert not matches(v, "采矿")
