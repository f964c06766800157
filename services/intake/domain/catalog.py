"""The item catalog (事项目录): window units and versioned approval items.

A published item version never changes. Editing makes a draft (the next version number);
publishing the draft makes it current for new applications, while running cases keep the version
they were received under (they hold a copy of it). Retiring stops new applications.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Iterable

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from contracts.base import Event
from contracts.common import CaseKind
from contracts.intake import Fee, ItemPublished, ItemRetired, MaterialSpec, UnitRegistered
from contracts.kinds import ITEM_KINDS, rules_of

from .access import Actor, require_center_admin
from services.runtime.errors import InvalidInput, InvalidState, NotFound
from services.runtime.workdays import local_date

#: Unit codes are upper-case letters and digits because they are part of receipt numbers.
UNIT_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,11}$")
ITEM_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,11}-\d{3,4}$")

#: The kinds an item can have (contracts/kinds.py); supplement (补办) and returned (退回) are what
#: happens to a case.
_ITEM_KIND_LABELS = "、".join(k.label for k in ITEM_KINDS[:-1]) + "或" + ITEM_KINDS[-1].label


class CatalogRules(BaseModel):
    """The center's settings that bound the catalog."""

    model_config = ConfigDict(frozen=True)

    #: The center's cap on promised limits, in working days (10 in the source).
    promise_cap_days: int = 10
    #: A statutory limit longer than this is surely a typo.
    max_statutory_days: int = 120


# --------------------------------------------------------------------------- units


class Unit(BaseModel):
    """A window unit (窗口单位)."""

    code: str
    name: str
    window_numbers: list[str] = Field(default_factory=list)
    entered: bool = True
    entered_since: date | None = None
    #: The day the unit was first recorded in this system: no business can be known before it.
    registered_on: date | None = None

    def registered(self, at: datetime, staff_id: str | None) -> UnitRegistered:
        return UnitRegistered(
            unit_code=self.code, unit_name=self.name, window_numbers=list(self.window_numbers),
            entered=self.entered, entered_since=self.entered_since, registered_at=at, staff_id=staff_id,
        )


def register_unit(actor: Actor, at: datetime, *, code: str, name: str, window_numbers: Iterable[str] = (),
                  entered: bool = True, entered_since: date | None = None,
                  registered_on: date | None = None) -> tuple[Unit, list[Event]]:
    """Record a unit (or a change to it: pass the `registered_on` it already has)."""
    require_center_admin(actor)
    code = (code or "").strip().upper()
    if not UNIT_CODE.fullmatch(code):
        raise InvalidInput("code", "单位代码应为2至12位大写字母或数字，以字母开头（如 LYJ）")
    name = (name or "").strip()
    if not name:
        raise InvalidInput("name", "请填写单位名称")
    windows = [w.strip() for w in window_numbers if w and w.strip()]
    if len(set(windows)) != len(windows):
        raise InvalidInput("window_numbers", "窗口号重复")
    if entered and entered_since is None:
        raise InvalidInput("entered_since", "已进驻的单位请填写进驻日期")
    unit = Unit(code=code, name=name, window_numbers=windows, entered=entered,
                entered_since=entered_since if entered else None,
                registered_on=registered_on or local_date(at))
    return unit, [unit.registered(at, actor.staff_id)]


# --------------------------------------------------------------------------- item content


class ItemContent(BaseModel):
    """The editable part of an item (what a version fixes)."""

    model_config = ConfigDict(frozen=True)

    name: str
    case_kind: CaseKind
    joint_units: tuple[str, ...] = ()
    higher_authority: str | None = None
    legal_basis: tuple[str, ...]
    procedure: tuple[str, ...]
    materials: tuple[MaterialSpec, ...]
    statutory_days: int
    promised_days: int
    fee: Fee
    flow: str

    def material(self, code: str) -> MaterialSpec | None:
        for m in self.materials:
            if m.code == code:
                return m
        return None


def check_content(content: ItemContent, unit_code: str, rules: CatalogRules,
                  known_units: Iterable[str] | None = None) -> ItemContent:
    """Refuse an item the center may not publish; each reason names the field."""
    if not content.name.strip():
        raise InvalidInput("name", "请填写事项名称")
    if content.case_kind not in ITEM_KINDS:
        raise InvalidInput("case_kind", f"事项类型应为{_ITEM_KIND_LABELS}")
    if not content.legal_basis or not all(b.strip() for b in content.legal_basis):
        raise InvalidInput("legal_basis", "请填写审批依据（法律法规名称及条款）")
    if not content.procedure or not all(p.strip() for p in content.procedure):
        raise InvalidInput("procedure", "请填写办理程序")
    if not content.flow.strip():
        raise InvalidInput("flow", "请填写办理流程")
    if not content.materials:
        raise InvalidInput("materials", "请至少列出一项申报材料")
    codes = [m.code for m in content.materials]
    if len(set(codes)) != len(codes):
        raise InvalidInput("materials", "申报材料编号重复")
    for i, m in enumerate(content.materials):
        if not m.mandatory and not (m.condition or "").strip():
            raise InvalidInput(f"materials[{i}].condition", f"“{m.name}”为视情况提交的材料，请写明在什么情况下需要")
    if not any(m.mandatory for m in content.materials):
        raise InvalidInput("materials", "至少应有一项必须提交的材料")
    if content.statutory_days < 0 or content.statutory_days > rules.max_statutory_days:
        raise InvalidInput("statutory_days", f"法定时限应在0至{rules.max_statutory_days}个工作日之间")
    if content.promised_days < 0:
        raise InvalidInput("promised_days", "承诺时限不能为负数")
    if content.promised_days > content.statutory_days:
        raise InvalidInput("promised_days",
                           f"承诺时限（{content.promised_days}个工作日）不能超过法定时限（{content.statutory_days}个工作日）")
    if content.promised_days > rules.promise_cap_days:
        raise InvalidInput("promised_days", f"承诺时限不能超过中心规定的{rules.promise_cap_days}个工作日")
    kind = rules_of(content.case_kind)
    if kind.on_the_spot and content.promised_days != 0:
        raise InvalidInput("promised_days", "即办件当场办结，承诺时限应为0")
    if not kind.on_the_spot and content.promised_days == 0:
        raise InvalidInput("promised_days", "非即办件的承诺时限至少为1个工作日；当场办结的事项请设为即办件")
    if kind.joint_tasks:
        if not content.joint_units:
            raise InvalidInput("joint_units", "联办件请填写参与联办的单位")
        if unit_code in content.joint_units:
            raise InvalidInput("joint_units", "联办单位不应包括牵头单位本身")
        if len(set(content.joint_units)) != len(content.joint_units):
            raise InvalidInput("joint_units", "联办单位重复")
        if known_units is not None:
            unknown = sorted(set(content.joint_units) - set(known_units))
            if unknown:
                raise InvalidInput("joint_units", f"联办单位代码不存在：{'、'.join(unknown)}")
    elif content.joint_units:
        raise InvalidInput("joint_units", "只有联办件才填写联办单位")
    if kind.forwarded:
        if not (content.higher_authority or "").strip():
            raise InvalidInput("higher_authority", "上报件请填写上级审批机关")
    elif content.higher_authority:
        raise InvalidInput("higher_authority", "只有上报件才填写上级审批机关")
    fee = content.fee
    if fee.free:
        if fee.amount_yuan not in (None, 0):
            raise InvalidInput("fee.amount_yuan", "不收费的事项不应填写收费金额")
    else:
        if not (fee.standard or "").strip():
            raise InvalidInput("fee.standard", "收费事项请填写收费标准")
        if not (fee.basis or "").strip():
            raise InvalidInput("fee.basis", "收费事项请填写收费依据")
    return content


# --------------------------------------------------------------------------- items


class ItemVersion(BaseModel):
    """A published version of an item: immutable. Running cases hold a copy."""

    model_config = ConfigDict(frozen=True)

    item_code: str
    unit_code: str
    version: int
    content: ItemContent
    published_at: datetime
    published_by: str | None = None

    @property
    def name(self) -> str:
        return self.content.name

    @property
    def case_kind(self) -> CaseKind:
        return self.content.case_kind

    def published_event(self, unit_name: str) -> ItemPublished:
        c = self.content
        return ItemPublished(
            item_code=self.item_code, item_version=self.version, name=c.name, unit_code=self.unit_code,
            unit_name=unit_name, case_kind=c.case_kind, joint_units=list(c.joint_units),
            higher_authority=c.higher_authority, legal_basis=list(c.legal_basis), procedure=list(c.procedure),
            materials=list(c.materials), statutory_days=c.statutory_days, promised_days=c.promised_days,
            fee=c.fee, flow=c.flow, published_at=self.published_at, staff_id=self.published_by,
        )


class Item(BaseModel):
    """An approval item (审批事项) with its versions. The aggregate collects the events it causes."""

    code: str
    unit_code: str
    versions: list[ItemVersion] = Field(default_factory=list)
    draft: ItemContent | None = None
    current: int | None = None
    retired: bool = False

    _events: list[Event] = PrivateAttr(default_factory=list)

    @property
    def events(self) -> list[Event]:
        return self._events

    def pull_events(self) -> list[Event]:
        out, self._events = self._events, []
        return out

    @classmethod
    def create(cls, actor: Actor, *, code: str, unit_code: str, content: ItemContent, rules: CatalogRules,
               known_units: Iterable[str] | None = None) -> "Item":
        require_center_admin(actor)
        code = (code or "").strip().upper()
        if not ITEM_CODE.fullmatch(code):
            raise InvalidInput("code", "事项编码格式应为“单位代码-序号”，如 LYJ-001")
        if known_units is not None and unit_code not in set(known_units):
            raise InvalidInput("unit_code", f"单位代码 {unit_code} 不存在")
        check_content(content, unit_code, rules, known_units)
        return cls(code=code, unit_code=unit_code, draft=content)

    @property
    def next_version(self) -> int:
        return max((v.version for v in self.versions), default=0) + 1

    @property
    def draft_version(self) -> int | None:
        return self.next_version if self.draft is not None else None

    def edit(self, actor: Actor, content: ItemContent, rules: CatalogRules,
             known_units: Iterable[str] | None = None) -> None:
        """Replace the draft (published versions are never touched)."""
        require_center_admin(actor)
        check_content(content, self.unit_code, rules, known_units)
        self.draft = content

    def publish(self, actor: Actor, at: datetime, unit_name: str, rules: CatalogRules) -> list[Event]:
        require_center_admin(actor)
        if self.draft is None:
            raise InvalidState("draft", "没有待发布的草稿，请先编辑事项")
        check_content(self.draft, self.unit_code, rules)
        version = ItemVersion(item_code=self.code, unit_code=self.unit_code, version=self.next_version,
                              content=self.draft, published_at=at, published_by=actor.staff_id)
        self.versions.append(version)
        self.current = version.version
        self.draft = None
        self.retired = False
        new = [version.published_event(unit_name)]
        self._events.extend(new)
        return new

    def retire(self, actor: Actor, at: datetime, reason: str | None = None) -> list[Event]:
        require_center_admin(actor)
        if self.retired:
            raise InvalidState(None, "该事项已停用")
        if self.current is None:
            raise InvalidState(None, "该事项尚未发布，无需停用")
        self.retired = True
        new = [ItemRetired(item_code=self.code, item_version=self.current, unit_code=self.unit_code,
                           reason=reason, retired_at=at, staff_id=actor.staff_id)]
        self._events.extend(new)
        return new

    def version(self, number: int) -> ItemVersion:
        for v in self.versions:
            if v.version == number:
                return v
        raise NotFound("version", f"事项 {self.code} 没有第{number}版")

    def current_version(self) -> ItemVersion:
        """The version new applications follow; refused when retired or never published."""
        if self.retired:
            raise InvalidState("item_code", "该事项已停用，不再受理新的申请")
        if self.current is None:
            raise InvalidState("item_code", "该事项尚未发布，暂不能受理")
        return self.version(self.current)

    @property
    def accepting(self) -> bool:
        return self.current is not None and not self.retired


# --------------------------------------------------------------------------- the public guide


def matches(version: ItemVersion, query: str | None) -> bool:
    """Name search for the guide (办事指南): every word of the query must appear in the name."""
    if not query:
        return True
    words = [w for w in re.split(r"\s+", query.strip()) if w]
    return all(w in version.name for w in words)
