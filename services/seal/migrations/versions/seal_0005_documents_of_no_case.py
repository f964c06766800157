"""seal: documents of no case (SealDocument v2): receipt_no nullable, a reference instead

Revision ID: seal_0005
Revises: seal_0004
Create Date: 2026-12-07 18:20:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = 'seal_0005'
down_revision: Union[str, None] = 'seal_0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ('seal_requests', 'documents')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column('receipt_no', existing_type=sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
            batch.add_column(sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        # a document of no case has no receipt number to restore: its reference stands in
        op.execute(sa.text(f"UPDATE {table} SET receipt_no = reference WHERE receipt_no IS NULL"))
        with op.batch_alter_table(table) as batch:
            batch.drop_column('reference')
            batch.alter_column('receipt_no', existing_type=sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False)
