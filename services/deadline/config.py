"""The deadline service's declaration and settings."""

from __future__ import annotations

from services.runtime.declaration import ServiceDeclaration


#: What the tools need to know of deadline (``tools/registry.py``): its default port, the topics its
#: handlers read (its KafkaUser's read ACLs) and other services' command topics it writes.
DECLARATION = ServiceDeclaration(
    name="deadline",
    port=8103,
    title="OneWindow deadline",
    consumes=('intake.applications', 'intake.catalog', 'intake.units', 'deadline.calendar'),
    writes=(),
)
