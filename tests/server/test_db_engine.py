"""The engines server/db.py makes: PostgreSQL connections run without JIT compilation."""
from __future__ import annotations

from sqlalchemy import text


def test_postgresql_connections_run_without_jit(pg_database):
    """A grid page's query is estimated at millions (correlated sub-queries) but reads a page in a
    millisecond: PostgreSQL's JIT compiled it for 0.25 to 2.6 s (benchmarks/review.py), so the app's
    connections turn it off (SQLite has no JIT)."""
    from server.db import get_engine

    with get_engine(pg_database).connect() as c:
        assert c.execute(text("SHOW jit")).scalar() == "off"
        # Still off on a connection the pool hands out again after a rollback.
        c.rollback()
        assert c.execute(text("SHOW jit")).scalar() == "off"
