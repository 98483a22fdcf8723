"""sync device and server state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 20:48:59.471459
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('server_state',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('sync_change', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('sync_change', schema=None) as batch_op:
        batch_op.drop_column('user_id')
        batch_op.drop_column('device_id')

    op.drop_table('server_state')
