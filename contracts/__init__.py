"""OneWindow's event contracts: every event and command the services exchange.

Importing this package registers every event type (see :func:`contracts.base.event_types`) and
every topic (see :func:`contracts.topics.all_topics`).
"""

from .base import Command, Event, event_types, model_for
from .envelope import Envelope, EnvelopeError, parse
from .topics import Audience, Topic, all_topics, get_topic

# Each service's contracts; importing registers their events and topics.
from . import intake, seal, deadline, notify, attendance  # noqa: E402,F401

__all__ = [
    "Audience", "Command", "Envelope", "EnvelopeError", "Event", "Topic",
    "all_topics", "event_types", "get_topic", "model_for", "parse",
]
