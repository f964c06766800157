"""pending duty gaps: notify_duty_gaps, the duty-gap alerts held while no duty manager is known

Revision ID: notify_0002
Revises: notify_0001
Create Date: 2026-11-27 14:09:30.021556
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = 'notify_0002'
down_revision: Union[str, None] = 'notify_0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('notify_duty_gaps',
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('window_no', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('unit_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('unit_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('posts', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('opening_time', sa.Time(), nullable=False),
    sa.Column('detected_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('alerted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    op.create_index('ix_notify_duty_gaps_state', 'notify_duty_gaps', ['state'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_notify_duty_gaps_state', table_name='notify_duty_gaps')
    op.drop_table('notify_duty_gaps')
