"""assessment notices: notify_assessment_notices, the year-end assessment notices sealed by the center

Revision ID: notify_0005
Revises: notify_0004
Create Date: 2026-12-07 18:30:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

revision: str = 'notify_0005'
down_revision: Union[str, None] = 'notify_0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'notify_assessment_notices',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('cause_event_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('assessment_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('staff_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('unit_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('seal_unit_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('on_appeal', sa.Boolean(), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('facts', sa.JSON(), nullable=False),
        sa.Column('document_no', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('requested_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('sealed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('sealed_document_no', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('sealed_files', sa.JSON(), nullable=True),
        sa.Column('failure_reason', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
        sa.Column('failure_detail', sa.Text(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('cause_event_id'),
    )
    with op.batch_alter_table('notify_assessment_notices') as batch_op:
        batch_op.create_index(batch_op.f('ix_notify_assessment_notices_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notify_assessment_notices_year'), ['year'], unique=False)
        batch_op.create_index(batch_op.f('ix_notify_assessment_notices_unit_code'), ['unit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_notify_assessment_notices_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_notify_assessment_notices_request_id'), ['request_id'], unique=False)


def downgrade() -> None:
    op.drop_table('notify_assessment_notices')
