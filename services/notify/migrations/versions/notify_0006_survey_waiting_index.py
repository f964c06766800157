"""waiting surveys: a partial index of the cases whose survey waits for the applicant's contact

Revision ID: notify_0006
Revises: notify_0005
Create Date: 2026-12-07 22:30:00.000000

The release worker runs ``surveys_with_contact`` on every look, i.e. once per application; without
an index it scanned all of ``notify_cases`` for ``survey_cause IS NOT NULL``. Only the few cases
with a waiting survey are in this index.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'notify_0006'
down_revision: Union[str, None] = 'notify_0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_WHERE = "survey_cause IS NOT NULL"


def upgrade() -> None:
    op.create_index('ix_notify_cases_survey_waiting', 'notify_cases', ['receipt_no'], unique=False,
                    sqlite_where=sa.text(_WHERE), postgresql_where=sa.text(_WHERE))


def downgrade() -> None:
    op.drop_index('ix_notify_cases_survey_waiting', table_name='notify_cases')
