"""``python -m services.console``: run the console."""

from .app import create_service

create_service().run()
