"""CloudEvents 1.0 in Kafka binary mode.

The attributes travel as Kafka headers (``ce_id``, ``ce_source``, ``ce_type``,
``ce_specversion``, ``ce_time``, ``ce_subject``, plus ``content-type``); the body is the event's
JSON. ``ce_id`` is the idempotency key of every consumer in the suite.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Mapping

from pydantic import ValidationError

from .base import Event, model_for, utcnow

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
SOURCE_PREFIX = "urn:onewindow:"

REQUIRED_HEADERS = ("ce_id", "ce_source", "ce_type", "ce_specversion")


@dataclass(frozen=True)
class Envelope:
    """A CloudEvent: the attributes and the typed data."""

    id: str
    source: str
    type: str
    time: datetime
    data: Event
    subject: str | None = None
    extensions: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def wrap(
        cls,
        event: Event,
        *,
        id: str | None = None,
        time: datetime | None = None,
        subject: str | None = None,
        extensions: Mapping[str, str] | None = None,
        source: str | None = None,
    ) -> "Envelope":
        """``source`` is the producing service; it defaults to the event's owner (for a command,
        the service that executes it, so a sender should say who it is)."""
        return cls(
            id=id or str(uuid.uuid4()),
            source=f"{SOURCE_PREFIX}{source or event.source}",
            type=event.ce_type(),
            time=time or utcnow(),
            data=event,
            subject=subject if subject is not None else event.key(),
            extensions=dict(extensions or {}),
        )

    @property
    def topic(self) -> str:
        return self.data.topic

    @property
    def key(self) -> bytes | None:
        k = self.data.key()
        return None if k is None else k.encode()

    def headers(self) -> dict[str, str]:
        h = {
            "ce_id": self.id,
            "ce_source": self.source,
            "ce_type": self.type,
            "ce_specversion": SPECVERSION,
            "ce_time": self.time.isoformat(),
            "content-type": CONTENT_TYPE,
        }
        if self.subject is not None:
            h["ce_subject"] = self.subject
        for name, value in self.extensions.items():
            h[f"ce_{name}"] = value
        return h

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v.encode()) for k, v in self.headers().items()]

    def body(self) -> bytes:
        return self.data.model_dump_json().encode()


class EnvelopeError(ValueError):
    """A message that is not a valid CloudEvent of a known type. ``reason`` says why, for the
    dead-letter record."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_headers(headers: Mapping[str, str | bytes] | Iterable[tuple[str, bytes]]) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for k, v in items:
        out[k] = v.decode() if isinstance(v, (bytes, bytearray)) else str(v)
    return out


def parse(headers: Mapping[str, str | bytes] | Iterable[tuple[str, bytes]], body: bytes) -> Envelope:
    """Build an :class:`Envelope` from a Kafka record. Raises :class:`EnvelopeError`."""
    h = decode_headers(headers)
    missing = [name for name in REQUIRED_HEADERS if not h.get(name)]
    if missing:
        raise EnvelopeError(f"missing CloudEvents headers: {', '.join(missing)}")
    if h["ce_specversion"] != SPECVERSION:
        raise EnvelopeError(f"unsupported ce_specversion {h['ce_specversion']!r}")
    try:
        model = model_for(h["ce_type"])
    except LookupError:
        raise EnvelopeError(f"unknown ce_type {h['ce_type']!r}") from None
    try:
        data = model.model_validate_json(body)
    except ValidationError as exc:
        # Without the input values: a body that leaked a full identifier must not repeat it.
        raise EnvelopeError(
            f"invalid {model.__name__}: {exc.errors(include_url=False, include_input=False)}"
        ) from None
    try:
        time = datetime.fromisoformat(h["ce_time"]) if h.get("ce_time") else utcnow()
    except ValueError:
        raise EnvelopeError(f"invalid ce_time {h['ce_time']!r}") from None
    known = {"ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time", "ce_subject"}
    extensions = {k[3:]: v for k, v in h.items() if k.startswith("ce_") and k not in known}
    return Envelope(
        id=h["ce_id"],
        source=h["ce_source"],
        type=h["ce_type"],
        time=time,
        data=data,
        subject=h.get("ce_subject"),
        extensions=extensions,
    )
