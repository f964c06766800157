"""Builders for intake's unit tests: actors, items of each kind, applicants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts.common import CaseKind, Role
from contracts.intake import Fee, MaterialSpec
from services.intake.domain.access import Actor
from services.intake.domain.catalog import CatalogRules, Item, ItemContent, ItemVersion
from services.intake.domain.cases import Applicant, Application

RULES = CatalogRules()
ADMIN = Actor("A0001", Role.CENTER_ADMIN)
SUPERVISOR = Actor("S0001", Role.SUPERVISOR)
CLERK = Actor("C0001", Role.CLERK, "LYJ")
HEAD = Actor("H0001", Role.UNIT_HEAD, "LYJ")
OTHER_CLERK = Actor("C0002", Role.CLERK, "SCJ")
ZRJ_CLERK = Actor("C0003", Role.CLERK, "ZRJ")
RFB_CLERK = Actor("C0004", Role.CLERK, "RFB")

# Monday 3 June 2024, 09:30 in Shanghai.
MONDAY = datetime(2024, 6, 3, 1, 30, tzinfo=UTC)
SATURDAY = datetime(2024, 6, 8, 2, 0, tzinfo=UTC)

VALID_ID = "11010519491231002X"
VALID_ID_2 = "110105198001010016"
VALID_USCC = "91110000600037341L"
MOBILE = "13812345678"

UNIT_NAMES = {"LYJ": "青山县林业局", "ZRJ": "青山县自然资源局", "RFB": "青山县人民防空办公室", "SCJ": "青山县市场监督管理局"}


def materials() -> tuple[MaterialSpec, ...]:
    return (
        MaterialSpec(code="M01", name="申请书", form="original", copies=1, mandatory=True),
        MaterialSpec(code="M02", name="申请人身份证明", form="original_and_copy", copies=1, mandatory=True),
        MaterialSpec(code="M03", name="林木权属证明", form="original_and_copy", copies=1, mandatory=True),
        MaterialSpec(code="M04", name="授权委托书", form="original", copies=1, mandatory=False,
                     condition="委托他人代为办理的"),
    )


def content(kind: CaseKind = CaseKind.PROMISED, **over) -> ItemContent:
    base = dict(
        name="林木采伐许可证核发", case_kind=kind, legal_basis=("《中华人民共和国森林法》第五十六条",),
        procedure=("受理", "审查", "决定"), materials=materials(), statutory_days=20,
        promised_days={CaseKind.IMMEDIATE: 0}.get(kind, 5), fee=Fee(free=True, standard="不收费"),
        flow="窗口受理→审查→决定",
    )
    if kind is CaseKind.JOINT:
        base["joint_units"] = ("ZRJ", "RFB")
    if kind is CaseKind.REPORTED_UP:
        base["higher_authority"] = "省林业和草原局"
    base.update(over)
    return ItemContent(**base)


def published(kind: CaseKind = CaseKind.PROMISED, code: str = "LYJ-001", **over) -> Item:
    item = Item.create(ADMIN, code=code, unit_code="LYJ", content=content(kind, **over), rules=RULES)
    item.publish(ADMIN, MONDAY - timedelta(days=30), UNIT_NAMES["LYJ"], RULES)
    item.pull_events()
    return item


def version(kind: CaseKind = CaseKind.PROMISED, **over) -> ItemVersion:
    return published(kind, **over).current_version()


def person() -> Applicant:
    return Applicant.person(name="张三丰", resident_id=VALID_ID, mobile=MOBILE)


def company() -> Applicant:
    return Applicant.company(company_name="青山县绿源林业专业合作社", credit_code=VALID_USCC, contact_name="李四",
                             mobile="13900001111")


def receive(kind: CaseKind = CaseKind.PROMISED, materials=("M01", "M02", "M03"), at=MONDAY, seq: int = 1,
            applicant: Applicant | None = None, **kw) -> Application:
    return Application.receive(
        receipt_no=f"2024-LYJ-{seq:05d}", item=version(kind), unit_name=UNIT_NAMES["LYJ"],
        applicant=applicant or person(), materials=materials, at=at, actor=kw.pop("actor", CLERK),
        unit_names=UNIT_NAMES, **kw,
    )


def names(events) -> list[str]:
    return [type(e).__name__ for e in events]
