"""the clock table's alert and decision indexes only hold the rows where the column is set

Revision ID: deadline_0004
Revises: deadline_0003
Create Date: 2026-12-07 18:30:00.000000

A watcher's update clears ``due_at`` (red card) and often ``next_warning_at``; open cases have no
``decided_on``. Partial indexes leave those rows out: fewer index entries written per update (on
PostgreSQL, where a non-HOT update adds an entry to every index whose predicate the new row
meets, two or three indexes instead of six). Queries comparing the column still use them.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'deadline_0004'
down_revision: Union[str, None] = 'deadline_0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_INDEXES = (
    ("ix_deadline_clock_due_at", ["due_at"], "due_at IS NOT NULL"),
    ("ix_deadline_clock_next_warning_at", ["next_warning_at"], "next_warning_at IS NOT NULL"),
    ("ix_deadline_clock_decided_on", ["decided_on"], "decided_on IS NOT NULL"),
    ("ix_deadline_clock_unit_decided", ["unit_code", "decided_on"], "decided_on IS NOT NULL"),
)


def upgrade() -> None:
    for name, columns, where in _INDEXES:
        op.drop_index(name, table_name='deadline_clock')
        op.create_index(name, 'deadline_clock', columns, unique=False,
                        sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def downgrade() -> None:
    for name, columns, _where in _INDEXES:
        op.drop_index(name, table_name='deadline_clock')
        op.create_index(name, 'deadline_clock', columns, unique=False)
