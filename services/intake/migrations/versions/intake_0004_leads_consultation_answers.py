"""leads and consultation answers

领办代办: each staff member's charge of a case (the case document holds it too; this table is for
the counts per staff member). Consultations followed to closure: the answer that closed one left
open (referred, or to be answered later), who and when.

Revision ID: intake_0004
Revises: intake_0003
Create Date: 2026-12-07 14:52:54.648030
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = 'intake_0004'
down_revision: Union[str, None] = 'intake_0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('intake_case_leads',
    sa.Column('lead_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('receipt_no', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('unit_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('staff_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('staff_unit', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('taken_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('released_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('lead_id')
    )
    with op.batch_alter_table('intake_case_leads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_case_leads_period'), ['period'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_case_leads_receipt_no'), ['receipt_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_case_leads_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_case_leads_staff_unit'), ['staff_unit'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_case_leads_taken_at'), ['taken_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_case_leads_unit_code'), ['unit_code'], unique=False)

    op.create_table('intake_consultation_answers',
    sa.Column('consultation_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('answered_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('answered_by_unit', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('consultation_id')
    )
    with op.batch_alter_table('intake_consultation_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_consultation_answers_answered_by'), ['answered_by'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('intake_consultation_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_consultation_answers_answered_by'))

    op.drop_table('intake_consultation_answers')
    with op.batch_alter_table('intake_case_leads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_case_leads_unit_code'))
        batch_op.drop_index(batch_op.f('ix_intake_case_leads_taken_at'))
        batch_op.drop_index(batch_op.f('ix_intake_case_leads_staff_unit'))
        batch_op.drop_index(batch_op.f('ix_intake_case_leads_staff_id'))
        batch_op.drop_index(batch_op.f('ix_intake_case_leads_receipt_no'))
        batch_op.drop_index(batch_op.f('ix_intake_case_leads_period'))

    op.drop_table('intake_case_leads')
