"""Thumbnail grid and favourites: media and sequences in time order (time, id) for keyset pages;
who marked a media favourite and when

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 09:00:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.add_column(sa.Column('favorite_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column('favorite_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_index('ix_media_grid', ['captured_at', 'id'], unique=False)
    with op.batch_alter_table('sequence', schema=None) as batch_op:
        batch_op.create_index('ix_sequence_grid', ['event_start', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sequence', schema=None) as batch_op:
        batch_op.drop_index('ix_sequence_grid')
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.drop_index('ix_media_grid')
        batch_op.drop_column('favorite_at')
        batch_op.drop_column('favorite_by')
