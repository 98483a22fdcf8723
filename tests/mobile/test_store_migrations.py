"""Store migrations (issue 14, item 7): ``PRAGMA user_version`` steps from every earlier version.

Each earlier schema is frozen in tests/mobile/store_history/v<N>.sql (taken from the git history of
mobile/store.py). A database of that version is filled the way that version's app filled it, with
unsynced work in it (a walk being recorded, queued mutations, a rejected record, a photo not yet
uploaded, walks pulled from another tablet), then opened by today's Store.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from mobile.store import MIGRATIONS, SCHEMA_VERSION, NewerStore, Store

HISTORY = Path(__file__).with_name("store_history")
DEVICE = "11111111-2222-3333-4444-555555555555"
T0 = 1_770_000_000.0


def _versions() -> list[int]:
    return sorted(int(p.stem[1:]) for p in HISTORY.glob("v*.sql"))


def test_every_earlier_version_has_a_frozen_schema_and_a_step():
    assert _versions() == list(range(1, SCHEMA_VERSION))
    assert sorted(MIGRATIONS) == list(range(1, SCHEMA_VERSION))


def _iso(t: float) -> str:
    from mobile.store import utc_iso

    return utc_iso(t)


def _fill_v1(db: sqlite3.Connection, root: Path) -> dict:
    """What the version-1 app wrote during a day offline, then a partial sync (ids of interest)."""
    def setting(k, v):
        db.execute("INSERT INTO settings VALUES (?, ?)", (k, json.dumps(v)))

    setting("schema_version", 1)
    setting("device_id", DEVICE)
    setting("user", {"username": "lan"})
    setting("program", {"id": "p1", "name": "Thú 2026"})
    setting("sync.since", 42)

    def walk(wid, status, *, paused_at=None, points=0, track=None, state="pending"):
        data = {"transect_id": wid.upper(), "start_time": _iso(T0), "observers": ["Lan"], "weather": "clear"}
        if track is not None:
            data.update(track=track, end_time=_iso(T0 + 3600))
        db.execute("INSERT INTO walks(id, program_id, protocol, record_type, data, summary, recorded_at, created_at,"
                   " updated_at, sync_state, status, started_at, paused_at, point_count, distance_m, revision)"
                   " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   (wid, "p1", "line_transect@1.0", "walk", json.dumps(data), wid.upper(), _iso(T0), _iso(T0),
                    _iso(T0), state, status, _iso(T0), paused_at, points, 10.0 * max(points - 1, 0),
                    0 if state == "pending" else 1))
        for i in range(points):
            db.execute("INSERT INTO track_points VALUES (?,?,?,?,?,?,?,?)",
                       (wid, i, 0, 16.2 + i * 1e-4, 107.8, T0 + 5 * i, 5.0, 400.0))

    walk("walk-recording", "active", points=6)                          # being recorded when updated
    walk("walk-mine-done", "done", points=3, track=[[107.8, 16.2, _iso(T0), 5.0]] * 3)
    walk("walk-a-pulled", "paused", state="synced")                    # v1 bug: another tablet's walk
    walk("walk-a-ended", "done", state="synced", track=[[107.8, 16.2, _iso(T0), 5.0]] * 11)
    for i, mid in enumerate(("m-walk-create", "m-obs-1")):
        entity, rid = (("walk", "walk-recording"), ("observation", "obs-1"))[i]
        db.execute("INSERT INTO outbox(mutation_id, entity, record_id, op, base_revision, data, device_time)"
                   " VALUES (?,?,?,?,?,?,?)",
                   (mid, entity, rid, "create", 0, json.dumps({"program_id": "p1", "data": {"n": i}}), _iso(T0)))
    for oid, state, err in (("obs-1", "pending", None), ("obs-2", "rejected", "count: Count is required")):
        db.execute("INSERT INTO observations(id, program_id, protocol, record_type, data, summary, recorded_at,"
                   " created_at, updated_at, sync_state, sync_error, walk_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                   (oid, "p1", "line_transect@1.0", "observation", json.dumps({"taxon": "Pygathrix nemaeus"}),
                    "Pygathrix nemaeus", _iso(T0), _iso(T0), _iso(T0), state, err, "walk-recording"))
    photo = root / "photos" / "ab" / "abcd.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\xff\xd8" + b"x" * 5000 + b"\xff\xd9")
    db.execute("INSERT INTO photos(sha256, path, size_bytes, media_type, original_name, created_at, upload_offset)"
               " VALUES ('abcd', 'photos/ab/abcd.jpg', 5004, 'image/jpeg', 'IMG_1.JPG', ?, 2048)", (_iso(T0),))
    db.execute("INSERT INTO photo_links VALUES ('abcd', 'observation', 'obs-1')")
    # Enough rows to leave free pages behind when they go: the store should give them back.
    db.executemany("INSERT INTO settings VALUES (?, ?)", [(f"cache:{i}", json.dumps("x" * 4000)) for i in range(200)])
    db.execute("DELETE FROM settings WHERE key LIKE 'cache:%'")
    return {}


def _make(version: int, root: Path) -> Path:
    root.mkdir(parents=True)
    path = root / "saola.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript((HISTORY / f"v{version}.sql").read_text(encoding="utf-8"))
    db.execute("BEGIN")
    {1: _fill_v1}[version](db, root)
    db.execute("COMMIT")
    db.close()
    return path


def _raw(path: Path, sql: str, args=()):
    db = sqlite3.connect(path)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


@pytest.mark.parametrize("version", _versions())
def test_unsynced_work_survives_the_migration(tmp_path, version):
    root = tmp_path / f"v{version}"
    path = _make(version, root)
    outbox_before = _raw(path, "SELECT mutation_id, entity, record_id, op, base_revision, data FROM outbox ORDER BY seq")
    store = Store(root, clock=lambda: T0 + 4000)
    try:
        assert store.schema_version == SCHEMA_VERSION and store.get_setting("schema_version") == SCHEMA_VERSION
        assert store.device_id == DEVICE
        # Every queued mutation is still there, unchanged and in order; the pushes carry on.
        assert [(m["mutation_id"], m["entity"], m["record_id"], m["op"], m["base_revision"], m["data"])
                for m in store.outbox()] == [(a, b, c, d, e, json.loads(f)) for a, b, c, d, e, f in outbox_before]
        assert not any(m["held"] for m in store.outbox())
        # The walk being recorded is still this tablet's walk in progress and keeps recording.
        walk = store.active_walk()
        assert walk["id"] == "walk-recording" and walk["point_count"] == 6 and walk["origin"] == "local"
        store.add_track_point("walk-recording", 16.21, 107.8, T0 + 4000, 5.0)
        assert len(store.track("walk-recording")) == 7
        # Walks version 1 pulled from another tablet become read-only references.
        assert store.get_walk("walk-a-pulled")["status"] == "reference"
        assert store.get_walk("walk-a-ended")["status"] == "reference"
        assert store.get_walk("walk-a-ended")["read_only"]
        mine = store.get_walk("walk-mine-done")
        assert (mine["status"], mine["origin"], mine["read_only"]) == ("done", "local", False)
        # The rejected record can be corrected and sent again; pending counts include it.
        assert store.get_record("observation", "obs-2")["sync_error"] == "count: Count is required"
        assert store.pending_counts() == {"waiting": 2, "rejected": 1, "conflict": 0, "unassigned": 0}
        store.resend("observation", "obs-2")
        assert store.outbox()[-1]["record_id"] == "obs-2"
        # The photo upload resumes from where it stopped.
        (photo,) = store.pending_photos()
        assert (photo["sha256"], photo["upload_offset"], photo["removed"]) == ("abcd", 2048, 0)
        assert Path(store.photo("abcd")["abs_path"]).is_file()
        # Who made each record only the server knows: everything is pulled once more.
        assert store.get_setting("sync.since") is None
        # The one full VACUUM that switches the file to incremental auto-vacuum waits for no walk...
        assert store.maintenance()["vacuum"] == "skipped"
        store.stop_walk("walk-recording")
        size_before = path.stat().st_size
        assert store.maintenance()["vacuum"] == "full"
        assert store._db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental from now on
        assert path.stat().st_size < size_before
        assert store.maintenance()["vacuum"] == "incremental"
    finally:
        store.close()
    # Opening again changes nothing more.
    store = Store(root)
    assert store.schema_version == SCHEMA_VERSION and store.get_walk("walk-a-pulled")["status"] == "reference"
    store.close()


def test_a_failed_step_leaves_the_old_database_as_it_was(tmp_path, monkeypatch):
    root = tmp_path / "v1"
    path = _make(1, root)
    schema_before = _raw(path, "SELECT sql FROM sqlite_master ORDER BY name")

    def broken(db):
        db.execute("ALTER TABLE walks ADD COLUMN origin TEXT")
        raise RuntimeError("power cut")

    monkeypatch.setitem(MIGRATIONS, 1, broken)
    with pytest.raises(RuntimeError, match="power cut"):
        Store(root)
    assert _raw(path, "PRAGMA user_version") == [(0,)]
    assert _raw(path, "SELECT sql FROM sqlite_master ORDER BY name") == schema_before
    assert _raw(path, "SELECT COUNT(*) FROM outbox") == [(2,)]
    monkeypatch.undo()
    store = Store(root)
    assert store.schema_version == SCHEMA_VERSION and store.outbox_count() == 2
    store.close()


def test_a_store_from_a_newer_app_is_refused_untouched(tmp_path):
    store = Store(tmp_path / "new")
    store.close()
    path = tmp_path / "new" / "saola.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(NewerStore, match="newer version of the app"):
        Store(tmp_path / "new")
    assert path.read_bytes() == before


def test_a_new_store_is_incremental_from_the_start(tmp_path):
    store = Store(tmp_path / "fresh")
    try:
        assert store._db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        assert store.schema_version == SCHEMA_VERSION and not store.get_setting("store.vacuum_pending")
        assert store.maintenance()["vacuum"] == "incremental"
    finally:
        store.close()
