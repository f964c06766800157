"""access log: notify_access_log, who read an applicant's unmasked data (append-only)

Revision ID: notify_0004
Revises: notify_0003
Create Date: 2026-12-07 15:05:00.000000
"""
from typing import Sequence, Union

from alembic import op

from services.runtime import access_log

revision: str = 'notify_0004'
down_revision: Union[str, None] = 'notify_0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    access_log.create_table(op, "notify_access_log")


def downgrade() -> None:
    access_log.drop_table(op, "notify_access_log")
