"""The Alembic environment every service's ``migrations/env.py`` delegates to::

    from services.runtime.alembic_env import run
    from services.<name>.store import metadata
    run(metadata)
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, pool
from sqlmodel import create_engine


def run(metadata: MetaData) -> None:
    config = context.config
    target = config.attributes.get("target_metadata", metadata)
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = create_engine(url, poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection, target)
        engine.dispose()
    else:
        _run(connectable, target)


def _run(connection, target: MetaData) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        user_module_prefix="sqlmodel.sql.sqltypes.",
    )
    with context.begin_transaction():
        context.run_migrations()
