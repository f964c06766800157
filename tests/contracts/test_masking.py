"""The masking rule (contracts/common.py) holds on every public event.

Every field of an event on a public topic, nested models and lists included, whose name says it
holds a personal identifier (a resident ID number, a mobile or phone number, a person's name) must
refuse the full value and accept the masked one. Fields are found by name, so a new field is
covered the day it is declared; a field that cannot hold text at all (a flag, an enum, a date)
cannot leak and is left out.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from typing import Annotated, Any, Union

import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from contracts.base import Event
from contracts.common import (
    OFFICIAL_IN_OFFICE,
    MaskedMobile,
    MaskedName,
    MaskedResidentId,
    StaffName,
    mask_mobile,
    mask_name,
    mask_resident_id,
)
from contracts.schema_export import suite_event_types
from contracts.topics import get_topic

FULL = {
    # A resident ID number with a valid GB 11643 check character.
    "resident_id": "11010519491231002X",
    "mobile": "13812345678",
    "name": "欧阳娜娜",
}
MASKED = {
    "resident_id": mask_resident_id(FULL["resident_id"]),
    "mobile": mask_mobile(FULL["mobile"]),
    "name": mask_name(FULL["name"]),
}
TYPE_FOR = {"resident_id": "MaskedResidentId", "mobile": "MaskedMobile", "name": "MaskedName"}

_ID_FIELD = re.compile(r"resident_id|id_card|idcard|id_number|(^|_)id_no($|_)|identity|passport|sfz")
_PHONE_FIELD = re.compile(r"mobile|phone|(^|_)tel($|_)|telephone")
#: The word before ``_name`` that says the name is not a person's.
NOT_A_PERSON = {
    "unit", "item", "company", "org", "organization", "organisation", "enterprise", "department",
    "dept", "bureau", "authority", "agency", "office", "center", "centre", "county", "town",
    "district", "region", "place", "location", "site", "hall", "room", "window", "seal", "document",
    "doc", "file", "template", "topic", "holiday", "award", "device", "bulletin", "material",
    "project", "post", "service", "event", "type", "kind", "category", "report", "period",
    "schedule", "shift", "rule", "procedure", "fee", "license", "licence", "permit", "case",
    "notice", "message", "batch", "job", "queue", "host", "key", "algorithm", "field", "column",
    "channel", "app", "product", "display", "short", "legal_entity", "entity", "provider", "bank",
}
#: Words in a nested model's class name that make its bare ``name`` field a person's name.
PERSON_MODELS = (
    "person", "people", "applicant", "staff", "contact", "clerk", "agent", "official", "member",
    "employee", "officer", "representative", "recipient", "citizen", "inspector", "supervisor",
    "user", "signer", "holder",
)


def personal_kind(model: type[BaseModel], field_name: str) -> str | None:
    """Which personal identifier a field's name says it holds (None: not personal)."""
    n = field_name.lower()
    if _ID_FIELD.search(n):
        return "resident_id"
    if _PHONE_FIELD.search(n):
        return "mobile"
    if n == "name" or n.endswith("_name") or n.endswith("fullname"):
        words = [w for w in re.sub(r"_?(full)?name$", "", n).split("_") if w]
        if "masked" in words:
            return "name"
        if not words:
            cls = model.__name__.lower()
            return "name" if any(h in cls for h in PERSON_MODELS) else None
        if words[-1] in NOT_A_PERSON or "_".join(words[-2:]) in NOT_A_PERSON:
            return None
        return "name"
    return None


def _strip_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _strip_optional(args[0])
    return tp


def element_type(info: FieldInfo) -> Any:
    """The annotation of one value of the field: Optional removed, list/set/tuple/dict items taken,
    the field's own constraints kept when it is not a container."""
    tp = _strip_optional(info.annotation)
    origin = typing.get_origin(tp)
    if origin in (list, set, frozenset, tuple) or (origin is not None and origin.__name__ in ("Sequence",)):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return _strip_optional(args[0]) if args else Any
    if origin is dict:
        return _strip_optional(typing.get_args(tp)[1])
    return Annotated[(tp, *info.metadata)] if info.metadata else tp


def holds_text(adapter: TypeAdapter) -> bool:
    """Whether a value of this type may be free text (a plain JSON string: no enum, const or
    format such as date-time)."""

    def walk(node: dict[str, Any]) -> bool:
        if any(k in node for k in ("anyOf", "oneOf")):
            return any(walk(b) for b in node.get("anyOf", node.get("oneOf", [])))
        t = node.get("type")
        is_string = t == "string" or (isinstance(t, list) and "string" in t)
        return is_string and not any(k in node for k in ("enum", "const", "format"))

    return walk(adapter.json_schema())


def nested_models(tp: Any) -> Iterator[type[BaseModel]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        yield tp
        return
    for arg in typing.get_args(tp):
        yield from nested_models(arg)


def personal_fields(model: type[BaseModel], prefix: str = "", seen: frozenset = frozenset()):
    """(owning model, field name, path, kind) of every personal field, recursively."""
    for name, info in model.model_fields.items():
        tp = _strip_optional(info.annotation)
        is_list = typing.get_origin(tp) in (list, set, frozenset, tuple)
        path = f"{prefix}{name}{'[]' if is_list else ''}"
        kind = personal_kind(model, name)
        if kind is not None:
            yield model, name, path, kind
        for sub in nested_models(info.annotation):
            if sub not in seen:
                yield from personal_fields(sub, f"{path}.", seen | {model})


def leak(model: type[BaseModel], field_name: str, kind: str) -> str | None:
    """Why the field breaks the masking rule, or None when it holds."""
    info = model.model_fields[field_name]
    if kind == "name" and _is_official(info):
        return None  # StaffName: a public official's name in office, published on purpose
    adapter = TypeAdapter(element_type(info))
    if not holds_text(adapter):
        return None
    try:
        adapter.validate_python(FULL[kind])
    except ValidationError:
        pass
    else:
        return f"accepts a full {kind.replace('_', ' ')} {FULL[kind]!r}: type it {TYPE_FOR[kind]}"
    try:
        adapter.validate_python(MASKED[kind])
    except ValidationError as exc:
        return f"refuses the masked value {MASKED[kind]!r}: {exc.errors(include_url=False)[0]['msg']}"
    return None


def _is_official(info: FieldInfo) -> bool:
    """Typed ``StaffName`` (itself, in a list, or optional)."""
    if OFFICIAL_IN_OFFICE in info.metadata:
        return True
    stack = [info.annotation]
    while stack:
        tp = stack.pop()
        if typing.get_origin(tp) is typing.Annotated and OFFICIAL_IN_OFFICE in typing.get_args(tp)[1:]:
            return True
        stack.extend(a for a in typing.get_args(tp) if a is not type(None))
    return False


def public_events() -> list[type[Event]]:
    return [m for m in suite_event_types().values() if get_topic(m.topic).public]


def _cases():
    for event in public_events():
        for model, name, path, kind in personal_fields(event):
            yield pytest.param(event, model, name, kind, id=f"{event.ce_type()}:{path}")


CASES = list(_cases())


@pytest.mark.parametrize(("event", "model", "field_name", "kind"), CASES)
def test_public_events_carry_personal_identifiers_masked(event, model, field_name, kind):
    problem = leak(model, field_name, kind)
    assert problem is None, (
        f"{event.ce_type()} on public topic {event.topic}: {model.__name__}.{field_name} {problem}"
    )


def test_there_are_public_events_to_check():
    assert public_events(), "no event on a public topic: the masking test would check nothing"


# ------------------------------------------------------------------------------- the walker itself


class _Person(BaseModel):
    name: str = Field(description="Full name (leaks).")
    mobile: MaskedMobile | None = Field(default=None, description="Masked.")


class _Leaky(BaseModel):
    applicant_name: str = Field(description="Leaks a name.")
    contact_phone: str = Field(description="Leaks a phone number.")
    id_number: str | None = Field(default=None, description="Leaks an ID number.")
    people: list[_Person] = Field(description="Nested persons.")
    unit_name: str = Field(description="Not a person.")
    mobile_verified: bool = Field(description="Cannot hold a number.")


class _Masked(BaseModel):
    applicant_name: MaskedName = Field(description="Masked name.")
    contact_phone: MaskedMobile = Field(description="Masked phone.")
    id_number: MaskedResidentId | None = Field(default=None, description="Masked ID.")
    witnesses: list[MaskedName] = Field(description="Masked names in a list.")
    mobile: str = Field(pattern=r"^1\d{2}\*{4}\d{4}$", description="Masked by a pattern of its own.")


def test_walker_finds_personal_fields_by_name_nested_and_in_lists():
    found = {(path, kind) for _, _, path, kind in personal_fields(_Leaky)}
    assert found == {
        ("applicant_name", "name"), ("contact_phone", "mobile"), ("id_number", "resident_id"),
        ("people[].name", "name"), ("people[].mobile", "mobile"), ("mobile_verified", "mobile"),
    }


def test_walker_reports_every_leak_and_only_leaks():
    leaks = {path for model, name, path, kind in personal_fields(_Leaky) if leak(model, name, kind)}
    assert leaks == {"applicant_name", "contact_phone", "id_number", "people[].name"}
    assert [path for model, name, path, kind in personal_fields(_Masked) if leak(model, name, kind)] == []


def test_walker_checks_list_elements():
    class _LeakyList(BaseModel):
        witness_names: list[str] = Field(description="Full names.")

    assert leak(_LeakyList, "witness_names", "name")
    assert leak(_Masked, "witnesses", "name") is None


@pytest.mark.parametrize(
    ("field_name", "model_name", "expected"),
    [
        ("unit_name", "X", None), ("item_name", "X", None), ("company_name", "X", None),
        ("participant_unit_name", "X", None), ("seal_name", "X", None),
        ("applicant_name", "X", "name"), ("staff_name", "X", "name"), ("masked_name", "X", "name"),
        ("name", "MaterialSpec", None), ("name", "RankedPerson", "name"), ("name", "ApplicantPublic", "name"),
        ("masked_resident_id", "X", "resident_id"), ("id_card_no", "X", "resident_id"),
        ("contact_tel", "X", "mobile"), ("telephone", "X", "mobile"), ("staff_id", "X", None),
        ("receipt_no", "X", None), ("title", "X", None),
    ],
)
def test_personal_field_names(field_name, model_name, expected):
    assert personal_kind(type(model_name, (BaseModel,), {}), field_name) == expected


# ------------------------------------------------------------------------------- masking helpers


def test_mask_resident_id_keeps_first_three_and_last_four():
    assert mask_resident_id("11010519491231002X") == "110***********002X"
    assert mask_resident_id(" 11010519491231002x ") == "110***********002X"
    with pytest.raises(ValueError):
        mask_resident_id("1101051949123")


def test_mask_mobile_keeps_first_three_and_last_four():
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_mobile("+86 138-1234-5678") == "138****5678"
    with pytest.raises(ValueError):
        mask_mobile("1381234567")


def test_mask_name_keeps_the_surname():
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("李") == "李*"
    with pytest.raises(ValueError):
        mask_name("  ")


@pytest.mark.parametrize(
    ("masked_type", "full", "masked"),
    [
        (MaskedResidentId, "11010519491231002X", "110***********002X"),
        (MaskedMobile, "13812345678", "138****5678"),
        (MaskedName, "张三", "张*"),
    ],
)
def test_masked_types_refuse_full_values_and_accept_masked(masked_type, full, masked):
    adapter = TypeAdapter(masked_type)
    assert adapter.validate_python(masked) == masked
    with pytest.raises(ValidationError, match="must be masked on a public event"):
        adapter.validate_python(full)


def test_masked_types_accept_what_the_mask_functions_produce():
    assert TypeAdapter(MaskedResidentId).validate_python(mask_resident_id("44030119900101123X"))
    assert TypeAdapter(MaskedMobile).validate_python(mask_mobile("19912345678"))
    assert TypeAdapter(MaskedName).validate_python(mask_name("王小明"))


class _Ranked(BaseModel):
    name: StaffName = Field(description="An official's name, published.")


class _Applicant(BaseModel):
    name: str = Field(description="A citizen's name (leaks).")


def test_only_names_typed_staffname_are_exempt():
    assert leak(_Ranked, "name", "name") is None
    assert "accepts a full name" in leak(_Applicant, "name", "name")
