"""The topic catalog: every topic of the suite, its key, partitions, retention and audience.

Each service's contract module declares its topics with :func:`topic`; ``contracts.catalog()``
gathers them. Kafka topic creation (``onewindow kafka start``), the deployment manifests and the
AsyncAPI document are all generated from this one list.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DAY_MS = 24 * 60 * 60 * 1000


class Audience(StrEnum):
    PUBLIC = "public"      # other county bureaus may subscribe; no full personal identifiers
    INTERNAL = "internal"  # only the suite's own services


@dataclass(frozen=True)
class Topic:
    name: str
    owner: str                 # the only service that writes it
    key: str | None            # the event field used as Kafka key (None: round-robin)
    audience: Audience
    partitions: int = 3
    retention_ms: int = 30 * DAY_MS
    description: str = ""
    compacted: bool = False

    @property
    def public(self) -> bool:
        return self.audience is Audience.PUBLIC

    @property
    def dlq(self) -> str:
        return f"{self.name}.dlq"

    def config(self) -> dict[str, str]:
        cfg = {"retention.ms": str(self.retention_ms)}
        if self.compacted:
            cfg["cleanup.policy"] = "compact"
        return cfg


_TOPICS: dict[str, Topic] = {}


def topic(
    name: str,
    *,
    owner: str,
    key: str | None,
    audience: Audience,
    partitions: int = 3,
    retention_days: int = 30,
    description: str = "",
    compacted: bool = False,
) -> Topic:
    """Declare a topic; returns it so the module can use ``T.name`` in its events."""
    t = Topic(name, owner, key, audience, partitions, retention_days * DAY_MS, description, compacted)
    if name in _TOPICS and _TOPICS[name] != t:
        raise ValueError(f"topic {name} declared twice with different settings")
    _TOPICS[name] = t
    return t


def all_topics(*, include_tests: bool = False) -> list[Topic]:
    """The catalog. Topics owned by ``test*`` (test fixtures) are left out unless asked for."""
    return sorted(
        (t for t in _TOPICS.values() if include_tests or not t.owner.startswith("test")), key=lambda t: t.name
    )


def get_topic(name: str) -> Topic:
    return _TOPICS[name]
