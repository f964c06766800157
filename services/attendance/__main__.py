"""``python -m services.attendance``: run the attendance service."""

from .app import create_service

create_service().run()
