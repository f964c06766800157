"""``python -m services.intake``: run the intake service."""

from .app import create_service

create_service().run()
