"""User.preferences (review image tools follow the user) and Detection.frame_index (video frame boxes)

A detection on a video is one box of one frame: ``start_s`` is the frame's time from the
start of the video (seconds), ``frame_index`` its frame number (0-based) as the detector
sampled it, and ``end_s`` (optional) until when the box holds (the next sampled frame).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 09:00:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # server_default fills the users that already exist; the model supplies {} for new ones.
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preferences', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    with op.batch_alter_table('detection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('frame_index', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('detection', schema=None) as batch_op:
        batch_op.drop_column('frame_index')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('preferences')
