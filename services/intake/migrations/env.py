"""Alembic environment of the intake service (see services/runtime/alembic_env.py)."""

from services.runtime.alembic_env import run
from services.intake.store import metadata

run(metadata)
