"""observation extra: provenance and Camtrap DP fields without a column (imports)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 20:46:17.016106
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # server_default fills rows that already exist; the model supplies {} for new ones.
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extra', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.drop_column('extra')
