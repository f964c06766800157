"""``python -m services.notify``: run the notify service."""

from .app import create_service

create_service().run()
