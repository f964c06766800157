"""Fresh PostgreSQL databases for tests, on the server ``ONEWINDOW_TEST_POSTGRES_URL`` names
(``.ci/run`` starts one): created empty, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def fresh_database(admin_url: str, prefix: str = "t", keep: bool = False) -> Iterator[str]:
    """A new, empty database on the server of ``admin_url`` (a SQLAlchemy URL); yields its URL and
    drops it afterwards (unless ``keep``, to look into a failure)."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        if keep:
            print(f"kept database: {name}")
        else:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
