from services.runtime.alembic_env import run
from services.console.store import metadata

run(metadata)
