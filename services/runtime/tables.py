"""The runtime's own tables, added to every service's metadata so that its migrations create them
in the service's own database: the outbox (events waiting to be published) and the inbox (event
ids a consumer has processed)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
)

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


@dataclass(frozen=True)
class RuntimeTables:
    outbox: Table
    inbox: Table


def add_runtime_tables(metadata: MetaData) -> RuntimeTables:
    if "outbox" in metadata.tables:
        return RuntimeTables(metadata.tables["outbox"], metadata.tables["inbox"])
    outbox = Table(
        "outbox",
        metadata,
        Column("id", _BigId, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=True),
        Column("headers", JSON, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True), nullable=True),
        Index("ix_outbox_unsent", "sent_at", "id"),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(200), nullable=False),
        Column("event_id", String(64), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
    )
    return RuntimeTables(outbox, inbox)


def create_runtime_tables() -> None:
    """Create the outbox and inbox in a service's migration (``upgrade()``). New services' first
    migrations call this instead of repeating the tables; migrations already applied stay as
    they are (they spelled the same tables out)."""
    from alembic import op

    metadata = MetaData()
    tables = add_runtime_tables(metadata)
    bind = op.get_bind()
    for table in (tables.outbox, tables.inbox):
        table.create(bind)


def drop_runtime_tables() -> None:
    """The reverse of :func:`create_runtime_tables` (``downgrade()``)."""
    from alembic import op

    op.drop_table("inbox")
    op.drop_table("outbox")
