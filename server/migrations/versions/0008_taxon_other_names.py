"""Taxon.other_names: alternative names (local, former scientific, trade) searched and sent to the field app

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:00:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # server_default fills the taxa that already exist; the model supplies [] for new ones.
    with op.batch_alter_table('taxon', schema=None) as batch_op:
        batch_op.add_column(sa.Column('other_names', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table('taxon', schema=None) as batch_op:
        batch_op.drop_column('other_names')
