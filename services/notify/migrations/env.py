"""Alembic environment of the notify service (see services/runtime/alembic_env.py)."""

from services.runtime.alembic_env import run
from services.notify.store import metadata

run(metadata)
