"""Cellular camera traps: their FTP logins (per protected area, Argon2 hashes) and the files they sent

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 05:00:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('camera_login',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('area_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('camera_serial', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('last_upload_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['area_id'], ['protected_area.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('camera_login', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_camera_login_area_id'), ['area_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_camera_login_username'), ['username'], unique=True)

    op.create_table('camera_upload',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('login_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('media_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['login_id'], ['camera_login.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['media_id'], ['media.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('camera_upload', schema=None) as batch_op:
        batch_op.create_index('ix_camera_upload_login_time', ['login_id', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_camera_upload_media_id'), ['media_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('camera_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_camera_upload_media_id'))
        batch_op.drop_index('ix_camera_upload_login_time')
    op.drop_table('camera_upload')
    with op.batch_alter_table('camera_login', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_camera_login_username'))
        batch_op.drop_index(batch_op.f('ix_camera_login_area_id'))
    op.drop_table('camera_login')
