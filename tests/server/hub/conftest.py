"""Fixtures of the hub tests: the hub's own database beside the area's (``db_url``)."""
from __future__ import annotations

import os
import secrets
import shutil

import pytest

from tests.conftest import PG_ADMIN_URL, _empty_pg


@pytest.fixture(scope="session")
def hub_pg_database():
    """A second PostgreSQL database of this test process, for the hub; migrated once."""
    from sqlalchemy import create_engine, text

    from server.migrate import upgrade

    name = f"saola_hub_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
        c.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    yield url
    from server.db import dispose_engine

    dispose_engine(url)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def hub_url(request, db_url, tmp_path, sqlite_template) -> str:
    """The hub's database, on the same backend as the area's ``db_url``."""
    if db_url.startswith("sqlite"):
        path = tmp_path / "hub.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("hub_pg_database")
    _empty_pg(url)
    return url
