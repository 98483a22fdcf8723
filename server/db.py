"""Database engine and sessions.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy
timeout. Its write transactions start with ``BEGIN IMMEDIATE`` so that two
writers queue on the busy timeout instead of failing with "database is locked"
when a read transaction tries to upgrade; read-only web requests (GET/HEAD)
start a plain deferred ``BEGIN`` so they never block writers. PostgreSQL is
used as it is.

One session per request lives on ``flask.g`` and is closed at teardown.
Workers and the CLI open their own with :func:`session_scope`.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Iterator

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlmodel import Session

# True while the current request is read-only (see module docstring).
_read_only: contextvars.ContextVar[bool] = contextvars.ContextVar("saola_read_only", default=False)

_engines: dict[str, Engine] = {}


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with Saola's SQLite discipline applied."""
    if url.startswith("sqlite"):
        # A pool of connections (the PRAGMAs run once per connection, not per session).
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=10, max_overflow=20)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # pragma: no cover - trivial
            # Let SQLAlchemy, not the driver, issue BEGIN (see _on_begin).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            conn.exec_driver_sql("BEGIN" if _read_only.get() else "BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if url.startswith("postgresql"):
        @event.listens_for(engine, "connect")
        def _no_jit(dbapi_conn, _record):  # pragma: no cover - trivial
            # PostgreSQL's JIT compiles a query whose estimated cost is high: the grid's and the queue's
            # correlated sub-queries are estimated at millions but read a page of rows in a millisecond,
            # and compiling took 0.25 to 2.6 s per query (benchmarks/review.py). Web requests read pages.
            cur = dbapi_conn.cursor()
            cur.execute("SET jit = off")
            cur.close()
            dbapi_conn.commit()
    return engine


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default: the current app's)."""
    if url is None:
        url = current_app.config["DATABASE_URL"]
    eng = _engines.get(url)
    if eng is None:
        eng = _engines[url] = make_engine(url)
    return eng


def dispose_engine(url: str) -> None:
    """Close every pooled connection of ``url`` (tests, forked workers)."""
    eng = _engines.pop(url, None)
    if eng is not None:
        eng.dispose()


def get_session() -> Session:
    """The request's session, created on first use."""
    if "db" not in g:
        g.db = Session(get_engine(), expire_on_commit=False)
    return g.db


@contextmanager
def session_scope(url: str | None = None, read_only: bool = False) -> Iterator[Session]:
    """A session for work outside a request: commits on success, rolls back on error."""
    token = _read_only.set(read_only)
    session = Session(get_engine(url), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        _read_only.reset(token)


def init_app(app: Flask) -> None:
    """Open a session lazily per request and close it at teardown."""

    @app.before_request
    def _mark_read_only():
        from flask import request

        g._ro_token = _read_only.set(request.method in ("GET", "HEAD", "OPTIONS"))

    @app.teardown_request
    def _close_session(exc):
        db = g.pop("db", None)
        if db is not None:
            if exc is not None:
                db.rollback()
            db.close()
        tok = g.pop("_ro_token", None)
        if tok is not None:
            try:
                _read_only.reset(tok)
            except ValueError:  # reset from another context; harmless
                _read_only.set(False)
