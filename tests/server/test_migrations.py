"""Migrations create the schema on empty SQLite and PostgreSQL databases, idempotently."""
import os
import secrets

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

import server.models  # noqa: F401
from server.migrate import current_revision, head_revisions, upgrade

PG = os.environ.get("SAOLA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def test_single_head():
    assert len(head_revisions()) == 1, "migration graph has several heads: merge them"


def _check_schema(url):
    upgrade(url)
    rev = current_revision(url)
    assert rev == head_revisions()[0]
    eng = create_engine(url)
    try:
        tables = set(inspect(eng).get_table_names())
        assert set(SQLModel.metadata.tables) <= tables
        with eng.connect() as c:
            before = c.execute(text("SELECT count(*) FROM alembic_version")).scalar()
    finally:
        eng.dispose()
    upgrade(url)  # second run changes nothing
    assert current_revision(url) == rev and before == 1


def test_empty_sqlite_file(tmp_path):
    _check_schema(f"sqlite:///{tmp_path / 'fresh.db'}")


def test_empty_postgresql_database():
    name = f"saola_mig_{secrets.token_hex(4)}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _check_schema(PG.rsplit("/", 1)[0] + "/" + name)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_models_match_migrations(db_url):
    """Autogenerate finds nothing to add: every model change has a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    eng = create_engine(db_url)
    try:
        with eng.connect() as c:
            diff = compare_metadata(MigrationContext.configure(c), SQLModel.metadata)
    finally:
        eng.dispose()
    assert diff == [], f"models differ from migrations: {diff}"


@pytest.mark.parametrize("cmd", [["db", "upgrade"], ["db", "upgrade"]])
def test_cli_db_upgrade_is_idempotent(runner, cmd):
    res = runner.invoke(cmd)
    assert res.exit_code == 0 and "already up to date" in res.output
