"""Device inventory (cameras, recorders) and browser card uploads (card, its files, the stream upload; upload sizes 64-bit)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 03:08:16.770069
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('device',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('area_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('serial', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('make', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['protected_area.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('area_id', 'serial')
    )
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_area_id'), ['area_id'], unique=False)

    op.create_table('card_upload',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('deployment_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('manifest_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('files_total', sa.Integer(), nullable=False),
    sa.Column('files_accepted', sa.Integer(), nullable=False),
    sa.Column('bytes_total', sa.BigInteger(), nullable=False),
    sa.Column('files_done', sa.Integer(), nullable=False),
    sa.Column('job_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('card_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_card_upload_deployment_id'), ['deployment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_card_upload_manifest_sha256'), ['manifest_sha256'], unique=False)

    op.create_table('card_file',
    sa.Column('card_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('modified_ms', sa.BigInteger(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('start', sa.BigInteger(), nullable=False),
    sa.Column('end', sa.BigInteger(), nullable=False),
    sa.Column('skip_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['card_id'], ['card_upload.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('card_id', 'idx')
    )
    with op.batch_alter_table('card_file', schema=None) as batch_op:
        batch_op.create_index('ix_card_file_card_end', ['card_id', 'end'], unique=False)

    with op.batch_alter_table('upload', schema=None) as batch_op:
        batch_op.add_column(sa.Column('card_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))
        batch_op.alter_column('size_bytes',
               existing_type=sa.INTEGER(),
               type_=sa.BigInteger(),
               existing_nullable=False)
        batch_op.alter_column('offset',
               existing_type=sa.INTEGER(),
               type_=sa.BigInteger(),
               existing_nullable=False)
        batch_op.create_index(batch_op.f('ix_upload_card_id'), ['card_id'], unique=False)
        batch_op.create_foreign_key('fk_upload_card_id', 'card_upload', ['card_id'], ['id'], ondelete='CASCADE')



def downgrade() -> None:
    with op.batch_alter_table('upload', schema=None) as batch_op:
        batch_op.drop_constraint('fk_upload_card_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_upload_card_id'))
        batch_op.alter_column('offset',
               existing_type=sa.BigInteger(),
               type_=sa.INTEGER(),
               existing_nullable=False)
        batch_op.alter_column('size_bytes',
               existing_type=sa.BigInteger(),
               type_=sa.INTEGER(),
               existing_nullable=False)
        batch_op.drop_column('card_id')

    with op.batch_alter_table('card_file', schema=None) as batch_op:
        batch_op.drop_index('ix_card_file_card_end')

    op.drop_table('card_file')
    with op.batch_alter_table('card_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_card_upload_manifest_sha256'))
        batch_op.drop_index(batch_op.f('ix_card_upload_deployment_id'))

    op.drop_table('card_upload')
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_area_id'))

    op.drop_table('device')
