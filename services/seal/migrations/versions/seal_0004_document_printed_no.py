"""seal: documents.printed_no, the number the requester printed on a document (its files' names)

Revision ID: seal_0004
Revises: seal_0003
Create Date: 2026-12-07 15:05:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = 'seal_0004'
down_revision: Union[str, None] = 'seal_0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('documents') as batch:
        batch.add_column(sa.Column('printed_no', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('documents') as batch:
        batch.drop_column('printed_no')
