"""sync_mutation answers are kept per user: primary key (user_id, mutation_id)

A mutation id is the idempotency key of one device's change; with the id alone
as the key, another user replaying it got the first user's stored answer.
Rows without a user (none are written by the server) cannot be attributed and
are dropped: they only made retries of old pushes answer "duplicate".

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:10:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = "user_id, mutation_id, device_id, response, at"


def _create(name: str, primary_key: list[str], user_nullable: bool) -> None:
    op.create_table(name,
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=user_nullable),
    sa.Column('mutation_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('device_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint(*primary_key)
    )


def upgrade() -> None:
    # A new table, copied and renamed: the same steps on SQLite and PostgreSQL.
    _create('sync_mutation_new', ['user_id', 'mutation_id'], user_nullable=False)
    op.execute(f"INSERT INTO sync_mutation_new ({COLUMNS}) SELECT {COLUMNS} FROM sync_mutation "
               "WHERE user_id IS NOT NULL")
    op.drop_table('sync_mutation')
    op.rename_table('sync_mutation_new', 'sync_mutation')
    _name_primary_key('sync_mutation_new')


def downgrade() -> None:
    _create('sync_mutation_old', ['mutation_id'], user_nullable=True)
    # One answer per id again: keep the earliest.
    op.execute(f"INSERT INTO sync_mutation_old ({COLUMNS}) SELECT {COLUMNS} FROM sync_mutation m "
               "WHERE NOT EXISTS (SELECT 1 FROM sync_mutation e WHERE e.mutation_id = m.mutation_id "
               "AND (e.at < m.at OR (e.at = m.at AND e.user_id < m.user_id)))")
    op.drop_table('sync_mutation')
    op.rename_table('sync_mutation_old', 'sync_mutation')
    _name_primary_key('sync_mutation_old')


def _name_primary_key(old_table: str) -> None:
    # PostgreSQL keeps the constraint name of the table as created; give it the usual one.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE sync_mutation RENAME CONSTRAINT {old_table}_pkey TO sync_mutation_pkey")
