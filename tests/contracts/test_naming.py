"""Every contract follows the house rules: events in the past tense, commands imperative; each on a
catalog topic its service owns (commands on the executing service's command topic); the Kafka key
field matches the catalog; every field typed and described."""

from __future__ import annotations

import re
import typing

import pytest
from pydantic import BaseModel

from contracts.schema_export import suite_event_types, suite_topics
from contracts.topics import get_topic

SERVICES = ("intake", "seal", "deadline", "notify", "attendance")

#: Irregular past participles an event name may end in (regular ones end in -ed).
IRREGULAR = {
    "Begun", "Bought", "Brought", "Built", "Caught", "Chosen", "Done", "Drawn", "Found", "Given",
    "Gone", "Held", "Hidden", "Kept", "Known", "Laid", "Led", "Left", "Lost", "Made", "Meant", "Met",
    "Overridden", "Paid", "Put", "Read", "Rebuilt", "Redone", "Reset", "Resent", "Ridden", "Run",
    "Rung", "Said", "Seen", "Sent", "Set", "Shown", "Sold", "Spent", "Split", "Taken", "Taught",
    "Told", "Thrown", "Undone", "Upheld", "Withdrawn", "Withheld", "Won", "Written",
}

EVENTS = [m for _, m in suite_event_types().items() if m.kind == "event"]
COMMANDS = [m for _, m in suite_event_types().items() if m.kind == "command"]
ALL = EVENTS + COMMANDS


def words(name: str) -> list[str]:
    return re.findall(r"[A-Z][a-z0-9]*|[a-z0-9]+", name)


def is_past_tense(name: str) -> bool:
    last = words(name)[-1]
    return last.endswith("ed") or last in IRREGULAR


def ids(models):
    return [m.ce_type() for m in models]


def test_every_service_declares_events_and_topics():
    sources = {m.source for m in ALL}
    owners = {t.owner for t in suite_topics()}
    assert set(SERVICES) <= sources, f"services without events: {sorted(set(SERVICES) - sources)}"
    assert set(SERVICES) <= owners, f"services without topics: {sorted(set(SERVICES) - owners)}"


@pytest.mark.parametrize("event", EVENTS, ids=ids(EVENTS))
def test_event_names_are_past_tense(event):
    assert is_past_tense(event.__name__), (
        f"{event.__name__} is an event: name it in the past tense (…ed, or an irregular participle "
        f"such as Sent/Made/Held), e.g. what happened rather than a state"
    )


@pytest.mark.parametrize("command", COMMANDS, ids=ids(COMMANDS))
def test_command_names_are_imperative(command):
    assert not is_past_tense(command.__name__), f"{command.__name__} is a command: name it imperatively"
    assert not words(command.__name__)[0].endswith("ed"), f"{command.__name__}: start with the verb"


@pytest.mark.parametrize("name", ["ApplicationAccepted", "SmsSent", "DutyGapDetected", "BulletinMade",
                                  "SupervisionNoticeIssued", "RankingPublished", "ClockEnded"])
def test_past_tense_heuristic_accepts(name):
    assert is_past_tense(name)


@pytest.mark.parametrize("name", ["SealDocument", "SmsOutcomeUnknown", "DeadlineOverdue", "SendSms"])
def test_past_tense_heuristic_refuses(name):
    assert not is_past_tense(name)


@pytest.mark.parametrize("model", ALL, ids=ids(ALL))
def test_type_name_and_source(model):
    assert model.source in SERVICES
    assert re.fullmatch(rf"onewindow\.{model.source}\.[A-Z][A-Za-z0-9]+\.v[1-9]\d*", model.ce_type())


@pytest.mark.parametrize("event", EVENTS, ids=ids(EVENTS))
def test_event_topic_is_in_the_catalog_and_owned_by_its_source(event):
    catalog = {t.name for t in suite_topics()}
    assert event.topic in catalog, f"{event.__name__}: topic {event.topic!r} is not in the catalog"
    topic = get_topic(event.topic)
    assert topic.owner == event.source, (
        f"{event.__name__} (source {event.source}) is on {topic.name}, which {topic.owner} owns: "
        "only a topic's owner writes events to it"
    )
    assert not topic.name.endswith(".commands"), f"{event.__name__}: an event on a command topic"


@pytest.mark.parametrize("command", COMMANDS, ids=ids(COMMANDS))
def test_command_goes_to_the_executing_service_command_topic(command):
    catalog = {t.name for t in suite_topics()}
    assert command.topic in catalog, f"{command.__name__}: topic {command.topic!r} is not in the catalog"
    topic = get_topic(command.topic)
    assert topic.name == f"{topic.owner}.commands", (
        f"{command.__name__}: commands go to the executing service's <service>.commands topic"
    )


@pytest.mark.parametrize("model", ALL, ids=ids(ALL))
def test_key_field_matches_the_catalog(model):
    topic = get_topic(model.topic)
    assert model.key_field == topic.key, (
        f"{model.__name__}: key_field {model.key_field!r} but topic {topic.name} is keyed by {topic.key!r}"
    )
    if model.key_field is not None:
        assert model.key_field in model.model_fields, f"{model.__name__} has no field {model.key_field!r}"
        assert model.model_fields[model.key_field].is_required(), (
            f"{model.__name__}.{model.key_field} is the Kafka key: make it required"
        )


def _models_of(model: type[BaseModel], seen: set[type[BaseModel]]) -> None:
    if model in seen:
        return
    seen.add(model)
    for info in model.model_fields.values():
        stack = [info.annotation]
        while stack:
            tp = stack.pop()
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                _models_of(tp, seen)
            stack.extend(typing.get_args(tp))


@pytest.mark.parametrize("model", ALL, ids=ids(ALL))
def test_every_field_is_typed_and_described(model):
    models: set[type[BaseModel]] = set()
    _models_of(model, models)
    undocumented = [
        f"{m.__name__}.{name}"
        for m in sorted(models, key=lambda m: m.__name__)
        for name, info in m.model_fields.items()
        if not (info.description or "").strip()
    ]
    untyped = [
        f"{m.__name__}.{name}" for m in models for name, info in m.model_fields.items()
        if info.annotation in (None, typing.Any)
    ]
    assert not undocumented, f"fields without Field(description=...): {undocumented}"
    assert not untyped, f"fields without a type: {untyped}"
