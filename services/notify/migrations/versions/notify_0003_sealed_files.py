"""notices' sealed files: notify_notices.sealed_files, each format the seal made (PDF, OFD)

Revision ID: notify_0003
Revises: notify_0002
Create Date: 2026-12-07 15:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'notify_0003'
down_revision: Union[str, None] = 'notify_0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('notify_notices') as batch:
        batch.add_column(sa.Column('sealed_files', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notify_notices') as batch:
        batch.drop_column('sealed_files')
