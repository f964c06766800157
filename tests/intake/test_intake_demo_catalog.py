"""The shipped demo catalog of 青山县: figures as in the source report, every item valid."""

from collections import Counter
from dataclasses import dataclass
from datetime import date

from contracts.common import CaseKind
from contracts.intake import Fee, MaterialSpec
from services.intake.domain.catalog import CatalogRules, ItemContent, Unit, check_content
from tools import demo
from tools.demo.build_catalog import build


@dataclass(frozen=True)
class DemoItem:
    code: str
    unit_code: str
    content: ItemContent


def load(rules: CatalogRules) -> tuple[list[Unit], list[DemoItem]]:
    """Read the demo catalog (tools/demo) and check it: every item passes the center's catalog rules."""
    units = [
        Unit(code=u["code"], name=u["name"], window_numbers=u["window_numbers"], entered=u["entered"],
             entered_since=date.fromisoformat(u["entered_since"]) if u["entered_since"] else None)
        for u in demo.units()
    ]
    codes = [u.code for u in units]
    items = []
    for raw in demo.items():
        content = ItemContent(
            name=raw["name"], case_kind=raw["case_kind"], joint_units=tuple(raw["joint_units"]),
            higher_authority=raw["higher_authority"], legal_basis=tuple(raw["legal_basis"]),
            procedure=tuple(raw["procedure"]), materials=tuple(MaterialSpec(**m) for m in raw["materials"]),
            statutory_days=raw["statutory_days"], promised_days=raw["promised_days"], fee=Fee(**raw["fee"]),
            flow=raw["flow"],
        )
        check_content(content, raw["unit_code"], rules, codes)
        items.append(DemoItem(code=raw["code"], unit_code=raw["unit_code"], content=content))
    return units, items


UNITS, ITEMS = load(CatalogRules())


def test_27_units_and_246_items_139_immediate():
    assert len(UNITS) == 27 and len({u.code for u in UNITS}) == 27
    assert len(ITEMS) == 246 and len({i.code for i in ITEMS}) == 246
    kinds = Counter(i.content.case_kind for i in ITEMS)
    assert kinds[CaseKind.IMMEDIATE] == 139
    assert kinds[CaseKind.JOINT] > 0 and kinds[CaseKind.REPORTED_UP] > 0 and kinds[CaseKind.PROMISED] > 0


def test_limits_respect_the_rules():
    for i in ITEMS:
        c = i.content
        assert 0 <= c.promised_days <= c.statutory_days or (c.promised_days == 0 and c.statutory_days == 0)
        assert c.promised_days <= 10
        assert (c.promised_days == 0) == (c.case_kind is CaseKind.IMMEDIATE)


def test_every_unit_has_items_and_every_item_a_known_unit():
    codes = {u.code for u in UNITS}
    assert {i.unit_code for i in ITEMS} == codes
    for i in ITEMS:
        assert i.code.startswith(i.unit_code + "-")
        assert set(i.content.joint_units) <= codes


def test_realistic_content():
    by_name = {i.content.name: i for i in ITEMS}
    forestry = by_name["林木采伐许可证核发"]
    assert forestry.unit_code == "LYJ" and "《中华人民共和国森林法》第五十六条" in forestry.content.legal_basis[0]
    assert next(u for u in UNITS if u.code == "LYJ").name == "青山县林业局"
    assert all(i.content.legal_basis and i.content.materials for i in ITEMS)
    free = sum(i.content.fee.free for i in ITEMS)
    assert free > 230 and free < 246  # mostly free, a few real fee bases
    assert all(i.content.fee.basis for i in ITEMS if not i.content.fee.free)


def test_the_committed_files_match_the_generator():
    units, items = build()
    assert [u["code"] for u in units] == [u.code for u in UNITS]
    assert [i["code"] for i in items] == [i.code for i in ITEMS]
    assert [i["case_kind"] for i in items] == [i.content.case_kind.value for i in ITEMS]
