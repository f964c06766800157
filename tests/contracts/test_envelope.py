"""CloudEvents binary mode: Envelope.wrap -> Kafka headers and body -> parse gives the same event
and attributes back, and parse refuses what is not a valid CloudEvent of a known type with a
reason fit for the dead-letter record.

The event used here is declared by the test (a probe with a nested model, an enum, an optional
field, a list and masked fields) and removed from the registry afterwards, so the suite's real
contracts stay untouched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum

import pytest
from pydantic import AwareDatetime, BaseModel, Field

from contracts import base
from contracts.base import Command, Event
from contracts.common import MaskedMobile, MaskedName, ReceiptNo
from contracts.envelope import (
    CONTENT_TYPE,
    SOURCE_PREFIX,
    SPECVERSION,
    Envelope,
    EnvelopeError,
    decode_headers,
    parse,
)


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


class Part(BaseModel):
    code: str = Field(description="Part code.")
    colour: Colour = Field(description="Colour.")


@pytest.fixture
def probe() -> Iterator[type[Event]]:
    class ProbeRecorded(Event, source="probe", topic="probe.events", version=3, key_field="receipt_no"):
        """A probe event for the envelope tests."""

        receipt_no: ReceiptNo = Field(description="Key.")
        colour: Colour = Field(description="An enum.")
        parts: list[Part] = Field(description="Nested models.")
        note: str | None = Field(default=None, description="Optional text (Chinese kept).")
        mobile: MaskedMobile = Field(description="Masked mobile.")
        name: MaskedName = Field(description="Masked name.")
        at: AwareDatetime = Field(description="When.")

    try:
        yield ProbeRecorded
    finally:
        base._REGISTRY.pop(ProbeRecorded.ce_type(), None)


def make(probe: type[Event]) -> Event:
    return probe(
        receipt_no="2025-LYJ-00042",
        colour=Colour.GREEN,
        parts=[Part(code="M01", colour=Colour.RED)],
        note="补正材料已收到",
        mobile="138****5678",
        name="张*",
        at=datetime(2025, 6, 7, 9, 30, tzinfo=timezone(timedelta(hours=8))),
    )


def test_round_trip_gives_an_equal_event_and_the_same_attributes(probe):
    event = make(probe)
    env = Envelope.wrap(event, extensions={"traceparent": "00-abc-def-01"})
    back = parse(env.kafka_headers(), env.body())
    assert back.data == event
    assert type(back.data) is probe
    assert (back.id, back.source, back.type, back.time, back.subject) == (
        env.id, env.source, env.type, env.time, env.subject
    )
    assert back.extensions == {"traceparent": "00-abc-def-01"}
    assert back == env


def test_wrap_fills_the_cloudevents_attributes(probe):
    event = make(probe)
    env = Envelope.wrap(event)
    headers = dict(env.headers())
    assert headers["ce_type"] == "onewindow.probe.ProbeRecorded.v3"
    assert headers["ce_source"] == f"{SOURCE_PREFIX}probe"
    assert headers["ce_specversion"] == SPECVERSION == "1.0"
    assert headers["ce_subject"] == "2025-LYJ-00042"
    assert headers["content-type"] == CONTENT_TYPE
    assert datetime.fromisoformat(headers["ce_time"]).tzinfo is not None
    assert env.key == b"2025-LYJ-00042"
    assert env.topic == "probe.events"
    assert json.loads(env.body())["note"] == "补正材料已收到"
    # ce_id is unique per wrap: it is the idempotency key
    assert Envelope.wrap(event).id != env.id


def test_kafka_headers_are_bytes_and_decode_back(probe):
    env = Envelope.wrap(make(probe))
    raw = env.kafka_headers()
    assert all(isinstance(k, str) and isinstance(v, bytes) for k, v in raw)
    assert decode_headers(raw) == env.headers()
    # parse also takes a mapping of str (as FastStream hands headers over)
    assert parse(env.headers(), env.body()).data == env.data


def test_explicit_id_and_time_are_kept(probe):
    at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    env = Envelope.wrap(make(probe), id="fixed-id", time=at)
    back = parse(env.kafka_headers(), env.body())
    assert (back.id, back.time) == ("fixed-id", at)


def test_commands_travel_the_same_way():
    class ProbeAct(Command, source="probe", topic="probe.commands", version=1, key_field="receipt_no"):
        receipt_no: ReceiptNo = Field(description="Key.")

    try:
        env = Envelope.wrap(ProbeAct(receipt_no="2025-LYJ-00001"))
        assert ProbeAct.kind == "command"
        assert parse(env.kafka_headers(), env.body()).data == ProbeAct(receipt_no="2025-LYJ-00001")
    finally:
        base._REGISTRY.pop(ProbeAct.ce_type(), None)


# ------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("missing", ["ce_id", "ce_source", "ce_type", "ce_specversion"])
def test_parse_refuses_a_missing_required_header(probe, missing):
    env = Envelope.wrap(make(probe))
    headers = [(k, v) for k, v in env.kafka_headers() if k != missing]
    with pytest.raises(EnvelopeError) as err:
        parse(headers, env.body())
    assert err.value.reason == f"missing CloudEvents headers: {missing}"


def test_parse_refuses_an_unknown_type(probe):
    env = Envelope.wrap(make(probe))
    headers = {**env.headers(), "ce_type": "onewindow.probe.NeverDeclared.v1"}
    with pytest.raises(EnvelopeError) as err:
        parse(headers, env.body())
    assert err.value.reason == "unknown ce_type 'onewindow.probe.NeverDeclared.v1'"


def test_parse_refuses_a_wrong_specversion(probe):
    env = Envelope.wrap(make(probe))
    with pytest.raises(EnvelopeError) as err:
        parse({**env.headers(), "ce_specversion": "0.3"}, env.body())
    assert err.value.reason == "unsupported ce_specversion '0.3'"


def test_parse_refuses_bad_json(probe):
    env = Envelope.wrap(make(probe))
    with pytest.raises(EnvelopeError) as err:
        parse(env.headers(), b'{"receipt_no": "2025-LYJ-00042", ')
    assert err.value.reason.startswith("invalid ProbeRecorded:")
    assert "json_invalid" in err.value.reason


def test_parse_refuses_a_body_that_breaks_the_contract(probe):
    env = Envelope.wrap(make(probe))
    body = json.loads(env.body())
    body["mobile"] = "13812345678"  # a full number where the contract wants it masked
    with pytest.raises(EnvelopeError) as err:
        parse(env.headers(), json.dumps(body).encode())
    assert "mobile" in err.value.reason and "masked" in err.value.reason


def test_parse_refuses_a_bad_time(probe):
    env = Envelope.wrap(make(probe))
    with pytest.raises(EnvelopeError) as err:
        parse({**env.headers(), "ce_time": "yesterday"}, env.body())
    assert err.value.reason == "invalid ce_time 'yesterday'"


def test_unknown_body_fields_are_ignored(probe):
    """What makes adding an optional field compatible: old consumers ignore it."""
    env = Envelope.wrap(make(probe))
    body = json.loads(env.body())
    body["added_in_a_later_release"] = {"anything": 1}
    assert parse(env.headers(), json.dumps(body).encode()).data == env.data
