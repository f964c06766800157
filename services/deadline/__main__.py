"""``python -m services.deadline``: run the deadline service."""

from .app import create_service

create_service().run()
