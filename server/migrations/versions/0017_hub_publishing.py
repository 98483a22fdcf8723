"""National hub: registered area servers (peers), the ownership map of published records, what an area server has published

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 07:44:50.313095
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('publish_state',
    sa.Column('hub', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('record_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('published_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('hub', 'kind', 'record_id')
    )
    op.create_table('hub_peer',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('area_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('last_rev', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['area_id'], ['protected_area.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('hub_peer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hub_peer_area_id'), ['area_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hub_peer_name'), ['name'], unique=True)
        batch_op.create_index(batch_op.f('ix_hub_peer_token_hash'), ['token_hash'], unique=True)

    op.create_table('hub_record',
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('record_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('peer_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('rev', sa.BigInteger(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['peer_id'], ['hub_peer.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('kind', 'record_id')
    )
    with op.batch_alter_table('hub_record', schema=None) as batch_op:
        batch_op.create_index('ix_hub_record_peer_kind', ['peer_id', 'kind'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('hub_record', schema=None) as batch_op:
        batch_op.drop_index('ix_hub_record_peer_kind')

    op.drop_table('hub_record')
    with op.batch_alter_table('hub_peer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hub_peer_token_hash'))
        batch_op.drop_index(batch_op.f('ix_hub_peer_name'))
        batch_op.drop_index(batch_op.f('ix_hub_peer_area_id'))

    op.drop_table('hub_peer')
    op.drop_table('publish_state')
