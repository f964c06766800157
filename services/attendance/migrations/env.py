"""Alembic environment of the attendance service (see services/runtime/alembic_env.py)."""

from services.runtime.alembic_env import run
from services.attendance.store import metadata

run(metadata)
