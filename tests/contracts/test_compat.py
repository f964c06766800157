"""The compatibility checker catches breaking changes: tested on small models built here (v1 and
deliberately broken copies of it) and on edited copies of the real schemas, never by breaking the
real contracts."""

from __future__ import annotations

import copy
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from contracts.common import MaskedMobile
from contracts.compat import Finding, compare, compare_models
from contracts.schema_export import current_schemas


class Kind(StrEnum):
    A = "a"
    B = "b"


class KindWithoutB(StrEnum):
    A = "a"


class KindPlusC(StrEnum):
    A = "a"
    B = "b"
    C = "c"


class Address(BaseModel):
    city: str = Field(description="City.")
    street: str | None = Field(default=None, description="Street.")


class V1(BaseModel):
    receipt_no: str = Field(description="Receipt number.")
    count: int = Field(ge=0, description="How many.")
    kind: Kind = Field(description="Kind.")
    note: str | None = Field(default=None, description="Free text.")
    address: Address = Field(description="Where.")
    tags: list[str] = Field(description="Tags.")
    when: datetime = Field(description="When.")
    mobile: MaskedMobile = Field(description="Masked mobile.")


def changes(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.path, f.change) for f in findings}


# ------------------------------------------------------------------------------- compatible


def test_identical_models_have_no_findings():
    assert compare_models(V1, V1) == []


def test_adding_an_optional_field_passes():
    class V1WithOptional(V1):
        channel: str | None = Field(default=None, description="New optional field.")
        labels: list[str] = Field(default_factory=list, description="New optional list.")

    assert compare_models(V1, V1WithOptional) == []


def test_documentation_changes_pass():
    class V1Redocumented(BaseModel):
        """A new docstring."""

        receipt_no: str = Field(description="受理编号 (reworded).", title="Receipt")
        count: int = Field(ge=0, description="Reworded.", examples=[3])
        kind: Kind = Field(description="Reworded.")
        note: str | None = Field(default=None, description="Reworded.")
        address: Address = Field(description="Reworded.")
        tags: list[str] = Field(description="Reworded.")
        when: datetime = Field(description="Reworded.")
        mobile: MaskedMobile = Field(description="Reworded.")

    assert compare_models(V1, V1Redocumented) == []


def test_renaming_a_nested_model_class_is_not_a_wire_change():
    class PostalAddress(BaseModel):
        city: str = Field(description="City.")
        street: str | None = Field(default=None, description="Street.")

    class V1Renamed(V1):
        address: PostalAddress = Field(description="Where.")

    assert compare_models(V1, V1Renamed) == []


# ------------------------------------------------------------------------------- breaking


def test_removed_field_is_caught():
    class Broken(BaseModel):
        receipt_no: str = Field(description="Receipt number.")
        kind: Kind = Field(description="Kind.")
        note: str | None = Field(default=None, description="Free text.")
        address: Address = Field(description="Where.")
        tags: list[str] = Field(description="Tags.")
        when: datetime = Field(description="When.")
        mobile: MaskedMobile = Field(description="Masked mobile.")

    findings = compare_models(V1, Broken)
    assert changes(findings) == {("count", "removed")}
    assert "field 'count': field removed" in str(findings[0])


def test_retyped_field_is_caught():
    class Broken(V1):
        count: str = Field(description="How many, as text now.")

    findings = compare_models(V1, Broken)
    assert ("count", "retyped") in changes(findings)
    assert "integer" in findings[0].detail and "string" in findings[0].detail


def test_format_change_is_a_retype():
    class Broken(V1):
        when: date = Field(description="A day now.")

    assert changes(compare_models(V1, Broken)) == {("when", "retyped")}


def test_optional_field_made_required_is_caught():
    class Broken(V1):
        note: str = Field(description="Now required.")

    got = changes(compare_models(V1, Broken))
    assert ("note", "made_required") in got
    assert ("note", "not_nullable") in got


def test_required_field_made_optional_is_caught():
    class Broken(V1):
        count: int | None = Field(default=None, ge=0, description="Optional now.")

    got = changes(compare_models(V1, Broken))
    assert ("count", "made_optional") in got
    assert ("count", "made_nullable") in got


def test_new_required_field_is_caught():
    class Broken(V1):
        unit_code: str = Field(description="A new required field.")

    assert changes(compare_models(V1, Broken)) == {("unit_code", "new_required")}


def test_enum_value_removed_is_caught():
    class Broken(V1):
        kind: KindWithoutB = Field(description="Kind.")

    findings = compare_models(V1, Broken)
    assert changes(findings) == {("kind", "enum")}
    assert "removed" in findings[0].detail and "'b'" in findings[0].detail


def test_enum_value_added_is_caught_for_old_consumers():
    class Broken(V1):
        kind: KindPlusC = Field(description="Kind.")

    findings = compare_models(V1, Broken)
    assert changes(findings) == {("kind", "enum")}
    assert "added" in findings[0].detail and "'c'" in findings[0].detail


def test_enum_replaced_by_a_plain_string_is_caught():
    class Broken(V1):
        kind: str = Field(description="Kind as free text.")

    assert ("kind", "enum") in changes(compare_models(V1, Broken))


def test_literal_change_is_caught():
    class A(BaseModel):
        status: Literal["open"] = Field(description="Status.")

    class B(BaseModel):
        status: Literal["closed"] = Field(description="Status.")

    assert ("status", "retyped") in changes(compare_models(A, B))


def test_nested_field_removed_or_retyped_is_caught():
    class Address2(BaseModel):
        street: int | None = Field(default=None, description="Street number now.")

    class Broken(V1):
        address: Address2 = Field(description="Where.")

    got = changes(compare_models(V1, Broken))
    assert ("address.city", "removed") in got
    assert ("address.street", "retyped") in got


def test_list_item_type_change_is_caught():
    class Broken(V1):
        tags: list[int] = Field(description="Tags as numbers.")

    assert changes(compare_models(V1, Broken)) == {("tags[]", "retyped")}


def test_constraint_change_is_caught_both_ways():
    class Tighter(V1):
        count: int = Field(ge=1, description="How many.")

    class Looser(V1):
        count: int = Field(description="How many, any sign.")

    assert changes(compare_models(V1, Tighter)) == {("count", "constraint")}
    assert changes(compare_models(V1, Looser)) == {("count", "constraint")}


def test_unmasking_a_field_is_caught():
    class Broken(V1):
        mobile: str = Field(description="Full mobile now.")

    findings = compare_models(V1, Broken)
    assert ("mobile", "constraint") in changes(findings)
    assert "pattern" in findings[0].detail


def test_list_of_nested_models_is_compared_item_by_item():
    class Item(BaseModel):
        code: str = Field(description="Code.")

    class ItemRetyped(BaseModel):
        code: int = Field(description="Code.")

    class A(BaseModel):
        items: list[Item] = Field(description="Items.")

    class B(BaseModel):
        items: list[ItemRetyped] = Field(description="Items.")

    assert changes(compare_models(A, B)) == {("items[].code", "retyped")}


def test_dict_values_are_compared():
    class A(BaseModel):
        by_kind: dict[Kind, int] = Field(description="Counts.")

    class B(BaseModel):
        by_kind: dict[Kind, str] = Field(description="Counts.")

    assert ("by_kind{}", "retyped") in changes(compare_models(A, B))


def test_union_alternative_removed_is_caught():
    class A(BaseModel):
        value: int | str = Field(description="Value.")

    class B(BaseModel):
        value: int = Field(description="Value.")

    findings = compare_models(A, B)
    assert findings, "narrowing int|str to int must be reported"
    assert all(f.path == "value" for f in findings)


def test_recursive_models_are_compared_without_looping():
    class Node(BaseModel):
        name: str = Field(description="Name.")
        children: list["Node"] = Field(default_factory=list, description="Children.")

    class Node2(BaseModel):
        name: int = Field(description="Name.")
        children: list["Node2"] = Field(default_factory=list, description="Children.")

    assert compare_models(Node, Node) == []
    assert ("name", "retyped") in changes(compare_models(Node, Node2))


# ------------------------------------------------------------------------------- contract metadata


def test_moving_an_event_to_another_topic_or_key_is_caught():
    old = {"type": "object", "properties": {}, "x-topic": "a.events", "x-key": "receipt_no",
           "x-audience": "public", "x-kind": "event"}
    moved = {**old, "x-topic": "b.events"}
    rekeyed = {**old, "x-key": "unit_code"}
    hidden = {**old, "x-audience": "internal"}
    assert changes(compare(old, moved, "t")) == {("", "topic")}
    assert changes(compare(old, rekeyed, "t")) == {("", "key")}
    assert changes(compare(old, hidden, "t")) == {("", "audience")}
    # internal -> public takes nothing away from any consumer
    assert compare({**old, "x-audience": "internal"}, old, "t") == []


# ------------------------------------------------------------------------------- real schemas, edited copies


REAL = current_schemas()


@pytest.mark.parametrize("ce_type", sorted(REAL))
def test_checker_catches_a_removed_field_on_a_copy_of_each_real_schema(ce_type):
    schema = REAL[ce_type]
    assert compare(schema, schema, ce_type) == []
    broken = copy.deepcopy(schema)
    field = sorted(broken["properties"])[0]
    del broken["properties"][field]
    broken["required"] = [r for r in broken.get("required", []) if r != field]
    assert (field, "removed") in changes(compare(schema, broken, ce_type))

    extended = copy.deepcopy(schema)
    extended["properties"]["zz_added_optional"] = {"type": "string", "description": "New."}
    assert compare(schema, extended, ce_type) == []

    extended["required"] = [*extended.get("required", []), "zz_added_optional"]
    assert ("zz_added_optional", "new_required") in changes(compare(schema, extended, ce_type))


def test_real_schemas_exist_to_be_checked():
    assert REAL, "no event is registered: importing contracts should register every service's events"
