"""The committed JSON Schemas and AsyncAPI document match the models exactly, and both are
well-formed. A difference of any kind fails: an incompatible one needs a new version, a compatible
one needs `.venv/bin/python -m contracts.cli export` (and the files committed)."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

import contracts
from contracts import asyncapi
from contracts.compat import REGENERATE, check
from contracts.envelope import REQUIRED_HEADERS
from contracts.schema_export import (
    ID_PREFIX,
    SCHEMA_DIALECT,
    SCHEMAS_DIR,
    committed_schemas,
    current_schemas,
    dumps,
    event_schema,
    suite_event_types,
    suite_topics,
)
from contracts.topics import get_topic

CURRENT = current_schemas()
COMMITTED = committed_schemas()
MODELS = suite_event_types()


def test_committed_files_match_the_models():
    report = check()
    assert report.ok, "contracts are out of step with the models:\n" + "\n".join(report.lines()) + (
        "" if report.incompatible else
        f"\nrun `onewindow contracts export` (or `{REGENERATE}`) and commit contracts/schemas and contracts/asyncapi.yaml"
    )


@pytest.mark.parametrize("ce_type", sorted(MODELS))
def test_each_event_has_its_committed_schema(ce_type):
    path = SCHEMAS_DIR / f"{ce_type}.json"
    assert path.exists(), f"no {path.name}: run `onewindow contracts export` (or `{REGENERATE}`)"
    assert path.read_text(encoding="utf-8") == dumps(CURRENT[ce_type]), (
        f"{path.name} differs from the model: run `onewindow contracts export` (or `{REGENERATE}`)"
    )


def test_no_committed_schema_without_a_model():
    assert sorted(set(COMMITTED) - set(MODELS)) == []


def test_export_is_deterministic():
    again = current_schemas()
    assert [dumps(s) for s in again.values()] == [dumps(s) for s in CURRENT.values()]
    assert asyncapi.render(asyncapi.build_document(again)) == asyncapi.render(asyncapi.build_document(CURRENT))
    # keys are sorted at every level, so the text does not depend on declaration order
    for schema in CURRENT.values():
        assert json.loads(dumps(schema)) == schema
        assert list(schema) == sorted(schema)


@pytest.mark.parametrize("ce_type", sorted(MODELS))
def test_schema_metadata_and_validity(ce_type):
    model = MODELS[ce_type]
    schema = CURRENT[ce_type]
    assert schema["$id"] == f"{ID_PREFIX}{ce_type}"
    assert schema["$schema"] == SCHEMA_DIALECT
    assert schema["title"] == model.__name__
    assert schema["x-ce-type"] == ce_type
    assert schema["x-topic"] == model.topic
    assert schema["x-key"] == model.key_field
    assert schema["x-kind"] == model.kind in ("event", "command")
    assert schema["x-audience"] == get_topic(model.topic).audience.value
    assert schema["x-version"] == model.version
    Draft202012Validator.check_schema(schema)


def test_masked_fields_show_the_mask_in_the_schema():
    # contracts.common's masked types carry no JSON Schema of their own; the exporter adds it
    from pydantic import Field

    from contracts.common import MaskedMobile, MaskedName, MaskedResidentId

    class Probe(contracts.Event, abstract=True):
        m: MaskedMobile = Field(description="m")
        r: MaskedResidentId | None = Field(default=None, description="r")
        n: list[MaskedName] = Field(description="n")
        plain: str = Field(description="p")

    from contracts.schema_export import MODE, OneWindowJsonSchema

    props = Probe.model_json_schema(mode=MODE, schema_generator=OneWindowJsonSchema)["properties"]
    assert props["m"]["x-masked"] == "mobile" and props["m"]["pattern"] == r"^1[0-9]{2}\*{4}[0-9]{4}$"
    assert props["r"]["anyOf"][0]["x-masked"] == "resident_id"
    assert props["n"]["items"]["x-masked"] == "name"
    assert "x-masked" not in props["plain"]
    validator = Draft202012Validator(props["m"])
    assert validator.is_valid("138****5678") and not validator.is_valid("13812345678")


def test_an_event_whose_topic_is_not_in_the_catalog_is_refused():
    from contracts import base
    from contracts.schema_export import ContractError

    class StrayRecorded(contracts.Event, source="probe", topic="nowhere.events"):
        """Not exported: its topic is not declared."""

    try:
        with pytest.raises(ContractError, match="nowhere.events"):
            event_schema(StrayRecorded)
    finally:
        base._REGISTRY.pop(StrayRecorded.ce_type(), None)


# ------------------------------------------------------------------------------- AsyncAPI


DOC = asyncapi.load()


def test_asyncapi_document_is_valid():
    assert DOC["asyncapi"] == "3.0.0"
    assert asyncapi.validate(DOC) == []


def test_asyncapi_has_a_channel_per_topic_with_its_catalog_settings():
    assert set(DOC["channels"]) == {t.name for t in suite_topics()}
    for t in suite_topics():
        channel = DOC["channels"][t.name]
        assert channel["address"] == t.name
        kafka = channel["bindings"]["kafka"]
        assert kafka["topic"] == t.name and kafka["partitions"] == t.partitions
        assert kafka["topicConfiguration"]["retention.ms"] == t.retention_ms
        assert kafka["topicConfiguration"]["cleanup.policy"] == (["compact"] if t.compacted else ["delete"])
        assert (channel["x-owner"], channel["x-key"], channel["x-audience"]) == (t.owner, t.key, t.audience.value)


def test_asyncapi_has_a_message_per_event_with_cloudevents_headers_and_payload():
    messages = DOC["components"]["messages"]
    assert set(messages) == set(MODELS)
    headers = DOC["components"]["schemas"][asyncapi.HEADERS_SCHEMA]
    assert {"ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time", "ce_subject"} <= set(headers["properties"])
    assert headers["required"] == list(REQUIRED_HEADERS)
    for ce_type, model in MODELS.items():
        msg = messages[ce_type]
        fixed = msg["headers"]["allOf"][1]["properties"]
        assert fixed["ce_type"]["const"] == ce_type
        assert fixed["ce_source"]["const"] == f"urn:onewindow:{model.source}"
        assert msg["payload"] == {"$ref": f"#/components/schemas/{ce_type}"}
        payload = DOC["components"]["schemas"][ce_type]
        assert set(payload["properties"]) == set(model.model_fields)
        assert ce_type in DOC["channels"][model.topic]["messages"]


def test_asyncapi_operations_send_by_owner_and_receive_commands():
    ops = DOC["operations"]
    for ce_type, model in MODELS.items():
        ref = {"$ref": f"#/channels/{model.topic}/messages/{ce_type}"}
        if model.kind == "event":
            assert ref in ops[f"{model.source}.send.{model.topic}"]["messages"]
            assert ops[f"{model.source}.send.{model.topic}"]["action"] == "send"
        else:
            owner = get_topic(model.topic).owner
            assert ref in ops[f"{owner}.receive.{model.topic}"]["messages"]
            assert ops[f"{owner}.receive.{model.topic}"]["action"] == "receive"


def test_asyncapi_payloads_validate_like_the_models():
    """The document's payload schemas (nested models moved to components) still accept what a
    model accepts and refuse what it refuses: checked on the masked applicant of a public event
    when one exists, else on any nested model."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resource = Resource.from_contents(DOC, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:onewindow:asyncapi", resource)
    checked = 0
    for name, schema in DOC["components"]["schemas"].items():
        for prop, sub in schema.get("properties", {}).items():
            if sub.get("x-masked") == "mobile":
                v = Draft202012Validator({"$ref": f"urn:onewindow:asyncapi#/components/schemas/{name}/properties/{prop}"},
                                         registry=registry)
                assert v.is_valid("138****5678") and not v.is_valid("13812345678")
                checked += 1
    assert checked, "no masked mobile field found in the document's schemas"


def test_validate_reports_broken_documents():
    import copy

    broken = copy.deepcopy(DOC)
    broken["asyncapi"] = "2.6.0"
    assert any("asyncapi" in p for p in asyncapi.validate(broken))

    broken = copy.deepcopy(DOC)
    name = next(iter(broken["operations"]))
    broken["operations"][name]["action"] = "publish"
    broken["operations"][name]["messages"] = [{"$ref": "#/channels/nowhere/messages/x"}]
    problems = asyncapi.validate(broken)
    assert any("action must be send or receive" in p for p in problems)
    assert any("does not resolve" in p for p in problems)

    broken = copy.deepcopy(DOC)
    broken["components"]["schemas"]["bad id!"] = {"type": 5}
    problems = asyncapi.validate(broken)
    assert any("'bad id!' is not allowed" in p for p in problems)
    assert any("not a valid JSON Schema" in p for p in problems)


def test_nested_models_of_one_name_are_shared_only_when_identical():
    from contracts.asyncapi import _component_schemas

    def event(defs):
        return {"type": "object", "properties": {"m": {"$ref": "#/$defs/Material"}}, "$defs": defs}

    material = {"type": "object", "properties": {"code": {"type": "string"}}}
    other = {"type": "object", "properties": {"code": {"type": "integer"}}}
    components, mapping = _component_schemas({"a.A.v1": event({"Material": material}),
                                              "b.B.v1": event({"Material": material})})
    assert mapping == {"a.A.v1": {"Material": "Material"}, "b.B.v1": {"Material": "Material"}}
    assert components["a.A.v1"]["properties"]["m"] == {"$ref": "#/components/schemas/Material"}

    components, mapping = _component_schemas({"a.A.v1": event({"Material": material}),
                                              "b.B.v1": event({"Material": other})})
    assert mapping["a.A.v1"]["Material"] == "a.A.v1.Material"
    assert components["b.B.v1"]["properties"]["m"] == {"$ref": "#/components/schemas/b.B.v1.Material"}
    assert components["b.B.v1.Material"] == other

    # identical text but different nested content through a $ref: not shared either
    wrapper = {"type": "object", "properties": {"inner": {"$ref": "#/$defs/Material"}}}
    components, mapping = _component_schemas({
        "a.A.v1": {"type": "object", "properties": {"w": {"$ref": "#/$defs/Wrapper"}},
                   "$defs": {"Wrapper": wrapper, "Material": material}},
        "b.B.v1": {"type": "object", "properties": {"w": {"$ref": "#/$defs/Wrapper"}},
                   "$defs": {"Wrapper": wrapper, "Material": other}},
    })
    assert mapping["a.A.v1"]["Wrapper"] != mapping["b.B.v1"]["Wrapper"]


def test_events_and_topics_declared_outside_the_contracts_package_are_not_exported():
    """Tests register events and topics of their own in the global registries; the committed
    contracts, the check and the AsyncAPI document ignore them."""
    from contracts import base, topics
    from contracts.compat import check

    t = topics.topic("probe.outside", owner="probe", key=None, audience=topics.Audience.PUBLIC)

    class OutsideRecorded(contracts.Event, source="probe", topic=t.name):
        """Declared by a test."""

    try:
        assert OutsideRecorded.ce_type() in contracts.event_types()
        assert OutsideRecorded.ce_type() not in suite_event_types()
        assert t.name not in {x.name for x in suite_topics()}
        assert set(current_schemas()) == set(CURRENT)
        assert check().ok
    finally:
        base._REGISTRY.pop(OutsideRecorded.ce_type(), None)
        topics._TOPICS.pop(t.name, None)


def test_digit_patterns_take_ascii_digits_only():
    # \d would take any script's digits (e.g. Arabic-Indic ١٢٣) into a county's events.
    from typing import Annotated

    import pydantic

    from contracts.intake import UnitVolumeReported

    field = UnitVolumeReported.model_fields["period"]
    adapter = pydantic.TypeAdapter(Annotated[str, *field.metadata])
    assert adapter.validate_python("2026-03") == "2026-03"
    with pytest.raises(pydantic.ValidationError):
        adapter.validate_python("٢٠٢٦-٠٣")
