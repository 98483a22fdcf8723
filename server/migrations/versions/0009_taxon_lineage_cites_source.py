"""Taxon.cites_appendix, Taxon.lineage and Taxon.source: the species reference's CITES appendix, ancestors
(for counting a higher-taxon record as a species only when no species of it was recorded) and sources

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 09:00:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # server_default fills the taxa that already exist (no ancestors known yet); the model supplies "".
    with op.batch_alter_table('taxon', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cites_appendix', sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column('lineage', sa.String(length=1000), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('source', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('taxon', schema=None) as batch_op:
        batch_op.drop_column('source')
        batch_op.drop_column('lineage')
        batch_op.drop_column('cites_appendix')
