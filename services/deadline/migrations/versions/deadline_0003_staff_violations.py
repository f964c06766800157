"""staff violations counted in the bulletin: deadline_staff_violation

Revision ID: deadline_0003
Revises: deadline_0002
Create Date: 2026-12-07 16:00:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = 'deadline_0003'
down_revision: Union[str, None] = 'deadline_0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('deadline_staff_violation',
    sa.Column('violation_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('unit_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('violation_kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('violation_id')
    )
    op.create_index(op.f('ix_deadline_staff_violation_period'), 'deadline_staff_violation', ['period'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_deadline_staff_violation_period'), table_name='deadline_staff_violation')
    op.drop_table('deadline_staff_violation')
