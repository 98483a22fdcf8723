"""Cellular cameras that e-mail their photos: the sender address of each camera login

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 08:00:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('camera_login', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mail_from', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True))
        batch_op.create_index(batch_op.f('ix_camera_login_mail_from'), ['mail_from'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('camera_login', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_camera_login_mail_from'))
        batch_op.drop_column('mail_from')
