"""``python -m services.seal``: run the seal service."""

from .app import create_service

create_service().run()
