"""Alembic environment of the deadline service (see services/runtime/alembic_env.py)."""

from services.runtime.alembic_env import run
from services.deadline.store import metadata

run(metadata)
