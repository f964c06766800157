"""What a service says about itself, in one place: its name, its default HTTP port, whether it
uses Kafka and which topics its handlers read.

Each service's ``config.py`` exports ``DECLARATION``; the operator and developer tools
(``tools/registry.py``: ``onewindow up``, the deployment generator, the test harness) discover
the services from these, so the runtime itself names none of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceDeclaration:
    name: str
    port: int
    title: str = ""
    #: False for a service that neither consumes nor publishes events (the console): no broker
    #: connection, no outbox relay, and /readyz checks the database only.
    kafka: bool = True
    #: The topics its handlers subscribe to. The deployment generator grants the service's
    #: KafkaUser read on exactly these; tests/deploy checks them against the real handlers.
    consumes: tuple[str, ...] = ()
    #: Topics owned by another service that it writes (commands it sends).
    writes: tuple[str, ...] = ()
    #: What `onewindow up` prints for people once the service is ready (``{url}``: its address),
    #: e.g. where to point a browser and the demo sign-ins.
    welcome: str = ""

    @property
    def module(self) -> str:
        """The package of the service (``services.<name>``)."""
        return f"services.{self.name}"
