"""Annual report submissions of each unit (protected area), for the 15 March reporting status

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 07:50:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('report_submission',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('area_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('pdf_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('html_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('submitted_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['area_id'], ['protected_area.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('report_submission', schema=None) as batch_op:
        batch_op.create_index('ix_report_submission_area_year', ['area_id', 'year'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('report_submission', schema=None) as batch_op:
        batch_op.drop_index('ix_report_submission_area_year')
    op.drop_table('report_submission')
