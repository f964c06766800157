"""overdue follow-ups and 两头受理: intake_followups, intake_outside_decisions

intake_followups: one row per overdue follow-up emitted (RectificationOverdueDetected), its primary key
the guard against emitting twice. intake_outside_decisions: decisions units report they made
outside the center, flagged when the item must be handled at the center.

Revision ID: intake_0003
Revises: intake_0002
Create Date: 2026-12-07 15:10:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = 'intake_0003'
down_revision: Union[str, None] = 'intake_0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('intake_followups',
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('subject_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('receipt_no', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('unit_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('detected_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'subject_id')
    )
    op.create_table('intake_outside_decisions',
    sa.Column('decision_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('unit_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('item_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('external_no', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('receipt_no', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('reported_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('reported_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('decision_id'),
    sa.UniqueConstraint('unit_code', 'external_no', name='uq_intake_outside_decisions_external')
    )
    with op.batch_alter_table('intake_outside_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_outside_decisions_decided_on'), ['decided_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_outside_decisions_flagged'), ['flagged'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_outside_decisions_unit_code'), ['unit_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('intake_outside_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_outside_decisions_unit_code'))
        batch_op.drop_index(batch_op.f('ix_intake_outside_decisions_flagged'))
        batch_op.drop_index(batch_op.f('ix_intake_outside_decisions_decided_on'))
    op.drop_table('intake_outside_decisions')
    op.drop_table('intake_followups')
