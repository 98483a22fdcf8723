"""Shared fixtures: ``app``, ``client``, ``runner`` with a fresh database per test.

The ``app`` fixture is parametrised over SQLite and PostgreSQL, so every test
of the database layer and the API runs on both. PostgreSQL isolation: each
pytest process creates its own database (``saola_test_<pid>_<random>``),
migrates it once, and empties every table before each test; it is dropped at
the end. SQLite: a migrated template file is copied for each test.
"""
from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# The project's shared reference material (real photos, a real soundscape, the official Camtrap DP
# example, the species seed list): not in the repository; every developer and CI has it beside the
# checkout. CI must not run without it (SAOLA_REQUIRE_SHARED=1 or CI=true: the tests fail instead
# of skipping).
SHARED = Path(os.environ.get("SAOLA_SHARED") or REPO.parent / "shared").resolve()
REQUIRE_SHARED = (os.environ.get("SAOLA_REQUIRE_SHARED", "") not in ("", "0")
                  or os.environ.get("CI", "").lower() in ("1", "true", "yes"))
SHARED_MISSING = (f"needs the project's shared reference material (real Reconyx photos, a real soundscape, the "
                  f"official Camtrap DP example, the species seed list), not found at {SHARED}: put the project's "
                  "shared/ folder (the one developers and CI have) beside the checkout, or set SAOLA_SHARED to it")
PG_ADMIN_URL = os.environ.get("SAOLA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Argon2 with small parameters in tests: the production cost (tens of ms, 64 MiB per hash)
    multiplied by thousands of test users would dominate the suite. Hashes stay Argon2id."""
    from argon2 import PasswordHasher

    from server.auth import passwords

    saved = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = saved


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only reference material (``SAOLA_SHARED``, default ``../shared``).

    Missing: the test is skipped, all for one reason on one summary line; in CI it fails.
    """
    _require_shared()
    return SHARED


def _require_shared() -> None:
    if not SHARED.is_dir():
        if REQUIRE_SHARED:
            pytest.fail(f"{SHARED_MISSING} (required here: SAOLA_REQUIRE_SHARED or CI is set)")
        pytest.skip(SHARED_MISSING)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Skips for missing shared material all point at the ``shared_dir`` fixture, so ``-rs`` folds
    them into one summary line (pytest would give each test its own line)."""
    report = yield
    longrepr = report.longrepr
    if report.skipped and isinstance(longrepr, tuple) and longrepr[2].endswith(SHARED_MISSING):
        report.longrepr = (__file__, _require_shared.__code__.co_firstlineno, longrepr[2])
    return report


@pytest.fixture(scope="session")
def real_soundscape(shared_dir) -> Path:
    """A real 120 s, 48 kHz field soundscape (FLAC) from the shared material."""
    return shared_dir / "real-data" / "audio" / "soundscape_120s.flac"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    from server.migrate import upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "saola.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database():
    """A PostgreSQL database of this test process, migrated once; its URL."""
    from sqlalchemy import create_engine, text

    from server.migrate import upgrade

    name = f"saola_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
            # Commits need not wait for the WAL to reach the disk: no test crashes PostgreSQL itself,
            # and on a busy machine that wait is most of a small test's time.
            c.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except Exception as e:  # the suite requires PostgreSQL: fail loudly, never skip
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is not usable: {e}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    yield url
    from server.db import dispose_engine

    dispose_engine(url)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_pg(url: str) -> None:
    """Empty every table and restart the sequences, as in a freshly migrated database.

    DELETE, children first, rather than TRUNCATE: on tables of a few rows it is about a hundred
    times faster (TRUNCATE makes new files for every table), and it runs before every test.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError
    from sqlmodel import SQLModel

    import server.models  # noqa: F401
    from server.db import get_engine

    tables = [t.name for t in SQLModel.metadata.sorted_tables]
    engine = get_engine(url)
    try:
        with engine.begin() as c:
            c.execute(text("; ".join(f'DELETE FROM "{t}"' for t in reversed(tables))))
            c.execute(text("SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false) "
                           "FROM pg_sequences WHERE schemaname = current_schema()"))
    except IntegrityError:  # a foreign-key cycle the table order cannot untangle
        with engine.begin() as c:
            quoted = ", ".join(f'"{t}"' for t in tables)
            c.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, sqlite_template) -> str:
    """A fresh, migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "saola.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
        yield url
        from server.db import dispose_engine

        dispose_engine(url)
    else:
        url = request.getfixturevalue("pg_database")
        _empty_pg(url)
        yield url


@pytest.fixture
def app_config(db_url, tmp_path) -> dict:
    return {"TESTING": True, "DATABASE_URL": db_url, "DATA_DIR": str(tmp_path / "data"),
            "SECRET_KEY": "test-secret", "WORKER": "inprocess", "LANGUAGE": "en"}


@pytest.fixture
def app(app_config):
    from server import create_app

    return create_app(app_config)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app, monkeypatch):
    """A CLI runner whose ``saola`` commands use the test's database and data folder."""
    from click.testing import CliRunner

    monkeypatch.setenv("SAOLA_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("SAOLA_DATA_DIR", app.config["DATA_DIR"])
    monkeypatch.setenv("SAOLA_SECRET_KEY", "test-secret")
    monkeypatch.setenv("SAOLA_WORKER", "external")
    from server.cli import main

    class Runner(CliRunner):
        def invoke(self, *args, **kw):  # noqa: D401 - thin wrapper
            kw.setdefault("catch_exceptions", False)
            return super().invoke(main, *args, **kw)

    return Runner()


class World:
    """Builds users, areas and tokens for a test through the database."""

    def __init__(self, app):
        self.app = app

    def session(self):
        from server.db import session_scope

        return session_scope(self.app.config["DATABASE_URL"])

    def user(self, username: str, *, admin: bool = False, password: str = "password123",
             roles: dict | None = None, language: str = "en"):
        from server.auth.passwords import hash_password
        from server.models import Membership, User

        with self.session() as s:
            u = User(username=username, password_hash=hash_password(password), is_admin=admin, language=language)
            s.add(u)
            s.flush()
            for area_id, role in (roles or {}).items():
                s.add(Membership(user_id=u.id, area_id=area_id, role=role))
            return u

    def area(self, code: str = "PNKB", name: str = "Phong Nha-Ke Bang"):
        from server.models import ProtectedArea

        with self.session() as s:
            a = ProtectedArea(code=code, name=name)
            s.add(a)
            return a

    def program(self, area_id: str, name: str = "Camera traps", **kw):
        from server.models import Program

        with self.session() as s:
            p = Program(area_id=area_id, name=name, **kw)
            s.add(p)
            return p

    def deployment(self, program, location_name: str = "S01", **fields):
        from datetime import datetime, timezone

        from server.models import Program
        from server.services.deployments import build_deployment

        fields.setdefault("deployment_start", datetime(2026, 1, 1, tzinfo=timezone.utc))
        with self.session() as s:
            p = s.get(Program, program if isinstance(program, str) else program.id)
            return build_deployment(s, p, fields, location={"name": location_name, "latitude": 17.5,
                                                              "longitude": 106.3})

    def token(self, user, days: int = 30, kind: str = "api") -> str:
        from server.auth.tokens import issue_token
        from server.models import User

        with self.session() as s:
            raw, _ = issue_token(s, s.get(User, user.id), kind=kind, days=days)
            return raw

    def headers(self, user) -> dict:
        return {"Authorization": f"Bearer {self.token(user)}"}


@pytest.fixture
def world(app) -> World:
    return World(app)


@pytest.fixture(scope="session")
def s3_server():
    """An S3-compatible server over real HTTP (moto's server mode, its own process): tests/s3_server.py."""
    from tests import s3_server as s3

    server = s3.start()
    yield server
    s3.stop(server)
