"""SQLite under concurrent writers: no "database is locked"."""
import threading

import pytest


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_concurrent_requests_do_not_lock(app, world):
    a = world.area()
    h = world.headers(world.user("root", admin=True))
    errors = []

    def work(i):
        c = app.test_client()
        for j in range(15):
            r = c.post("/api/v1/locations", headers=h, json={"area_id": a.id, "name": f"L{i}-{j}"})
            if r.status_code != 201:
                errors.append(r.get_data(as_text=True))
            r = c.get(f"/api/v1/locations?area_id={a.id}&limit=5", headers=h)
            if r.status_code != 200:
                errors.append(r.get_data(as_text=True))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    r = app.test_client().get(f"/api/v1/locations?area_id={a.id}", headers=h)
    assert r.json["total"] == 120


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_pragmas(app):
    from sqlalchemy import text

    from server.db import get_engine

    with get_engine(app.config["DATABASE_URL"]).connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1
