"""The base every event and command derives from, and the registry that maps a CloudEvents
`ce_type` back to its model.

An event class declares, as class keywords, the service that owns it (`source`), its schema
version and the topic it travels on:

    class ApplicationAccepted(Event, source="intake", topic="intake.applications", version=1):
        receipt_no: ReceiptNo
        ...

Its CloudEvents type is then ``onewindow.intake.ApplicationAccepted.v1``. Commands (imperative
names, e.g. ``SealDocument``) derive from :class:`Command`; on the wire they are the same.

Models ignore unknown fields so that a consumer keeps working when a producer adds an optional
field (the compatibility rule in ``contracts/compat.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

#: The CloudEvents ``type`` prefix of every event in the suite.
TYPE_PREFIX = "onewindow"

_REGISTRY: dict[str, type["Event"]] = {}


class Event(BaseModel):
    """A fact that happened (past tense). Immutable once built."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_enum_values=False)

    # Filled by __init_subclass__; not model fields.
    source: ClassVar[str] = ""
    topic: ClassVar[str] = ""
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "event"
    #: Name of the field that is the Kafka key and the CloudEvents subject (e.g. ``receipt_no``).
    key_field: ClassVar[str | None] = None

    def __init_subclass__(
        cls,
        *,
        source: str | None = None,
        topic: str | None = None,
        version: int = 1,
        key_field: str | None = None,
        abstract: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        if abstract:
            return
        if source is None or topic is None:
            raise TypeError(f"{cls.__name__} must declare source= and topic=")
        cls.source = source
        cls.topic = topic
        cls.version = version
        if key_field is not None:
            cls.key_field = key_field
        ce_type = cls.ce_type()
        if ce_type in _REGISTRY and _REGISTRY[ce_type] is not cls:
            raise TypeError(f"duplicate event type {ce_type}")
        _REGISTRY[ce_type] = cls

    @classmethod
    def ce_type(cls) -> str:
        return f"{TYPE_PREFIX}.{cls.source}.{cls.__name__}.v{cls.version}"

    def key(self) -> str | None:
        """The Kafka key: keeps one case's (one unit's, one device's) events in order."""
        if self.key_field is None:
            return None
        value = getattr(self, self.key_field)
        return None if value is None else str(value)


class Command(Event, abstract=True):
    """A request one service makes of another (imperative name)."""

    kind: ClassVar[str] = "command"


def event_types() -> dict[str, type[Event]]:
    """Every registered event and command, by CloudEvents type. Importing ``contracts``
    registers them all."""
    return dict(_REGISTRY)


def model_for(ce_type: str) -> type[Event]:
    try:
        return _REGISTRY[ce_type]
    except KeyError:
        raise UnknownEventType(ce_type) from None


class UnknownEventType(LookupError):
    """A message whose ``ce_type`` no contract knows."""


def utcnow() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)
