from services.runtime.alembic_env import run
from services.seal.store import metadata

run(metadata)
