"""The local store: records, walks, outbox, photos, paging, settings."""
from __future__ import annotations

import hashlib
import sqlite3

import pytest

from mobile.store import Store, StoreError, haversine_m


class Clock:
    def __init__(self, t=1_770_000_000.0):
        self.t = t

    def __call__(self):
        return self.t


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(tmp_path, clock):
    s = Store(tmp_path / "app", clock=clock)
    yield s
    s.close()


OBS = {"observed_at": "2026-03-01T07:30:00+07:00", "taxon": "Pygathrix nemaeus", "sign_type": "sighting", "count": 3}


def test_database_is_wal_with_full_sync(store):
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    db.close()


def test_save_record_writes_row_and_mutation_together(store):
    rid = store.save_record("observation", "line_transect@1.0", "observation", OBS, program_id="p1",
                            gps_time="2026-03-01T00:30:00+00:00")
    rec = store.get_record("observation", rid)
    assert rec["data"] == OBS and rec["sync_state"] == "pending" and rec["summary"] == "Pygathrix nemaeus"
    (m,) = store.outbox()
    assert (m["entity"], m["record_id"], m["op"], m["base_revision"]) == ("observation", rid, "create", 0)
    assert m["data"]["data"] == OBS and m["data"]["program_id"] == "p1"
    assert m["gps_time"] == "2026-03-01T00:30:00+00:00" and m["device_time"].endswith("+00:00")
    assert len(m["mutation_id"]) == 36


def test_update_queues_a_second_mutation_from_the_known_revision(store):
    rid = store.save_record("observation", "line_transect@1.0", "observation", OBS)
    first = store.outbox()[0]["mutation_id"]
    store.complete_mutation(first, "applied", revision=1)
    assert store.get_record("observation", rid)["sync_state"] == "synced"
    store.save_record("observation", "line_transect@1.0", "observation", {**OBS, "count": 4}, record_id=rid)
    (m,) = store.outbox()
    assert (m["op"], m["base_revision"]) == ("update", 1)
    assert store.get_record("observation", rid)["sync_state"] == "pending"


def test_complete_mutation_states(store):
    a = store.save_record("threat", "threat_incident@1.0", "incident", {"threat_type": "snare"})
    b = store.save_record("threat", "threat_incident@1.0", "incident", {"threat_type": "camp"})
    ma, mb = (m["mutation_id"] for m in store.outbox())
    store.complete_mutation(ma, "network_error", error="timeout")
    assert store.outbox()[0]["attempts"] == 1 and store.outbox()[0]["last_error"] == "timeout"
    store.complete_mutation(mb, "rejected", error="count: Count is required")
    assert store.get_record("threat", b)["sync_state"] == "rejected"
    assert store.get_record("threat", b)["sync_error"] == "count: Count is required"
    store.complete_mutation(ma, "duplicate", revision=3)
    store.complete_mutation(ma, "duplicate", revision=3)  # answering twice is harmless
    assert store.get_record("threat", a)["sync_state"] == "synced" and store.get_record("threat", a)["revision"] == 3
    assert store.outbox() == []
    assert store.sync_counts() == {"pending": 0, "synced": 1, "conflict": 0, "rejected": 1}


def test_synced_only_when_no_later_mutation_waits(store):
    rid = store.save_record("observation", "line_transect@1.0", "observation", OBS)
    store.save_record("observation", "line_transect@1.0", "observation", {**OBS, "count": 5}, record_id=rid)
    first, second = store.outbox()
    store.complete_mutation(first["mutation_id"], "applied", revision=1)
    assert store.get_record("observation", rid)["sync_state"] == "pending"
    store.complete_mutation(second["mutation_id"], "applied", revision=2)
    assert store.get_record("observation", rid)["sync_state"] == "synced"


def test_delete_is_a_tombstone_mutation(store):
    rid = store.save_record("deployment", "camera_trap@1.0", "deployment", {"station_id": "CT-1"})
    store.delete_record("deployment", rid)
    assert store.records("deployment") == []
    assert store.outbox()[-1]["op"] == "delete" and store.outbox()[-1]["data"] is None
    with pytest.raises(StoreError, match="no deployment with id nope"):
        store.delete_record("deployment", "nope")


def test_bad_arguments_are_named(store):
    with pytest.raises(StoreError, match="entity 'walk' is not one of"):
        store.save_record("walk", "x", "walk", {})
    with pytest.raises(StoreError, match="data for observation must be a dict"):
        store.save_record("observation", "x", "observation", [1])


def test_walk_lifecycle_distance_segments_and_walking_time(store, clock):
    w = store.start_walk("line_transect@1.0", {"transect_id": "T1"}, program_id="p1")
    with pytest.raises(StoreError, match="already in progress"):
        store.start_walk("line_transect@1.0", {"transect_id": "T2"})
    for i in range(3):
        store.add_track_point(w, 16.0 + i * 0.001, 107.0, clock.t + i, 5.0)
    clock.t += 100
    store.pause_walk(w)
    with pytest.raises(StoreError, match="only recorded while active"):
        store.add_track_point(w, 17.0, 107.0, clock.t)
    clock.t += 50  # paused: not walking time
    store.resume_walk(w)
    store.add_track_point(w, 16.01, 107.0, clock.t, 5.0)  # first point of segment 1: no jump distance
    store.add_track_point(w, 16.011, 107.0, clock.t + 1, 5.0)
    clock.t += 10
    walk = store.get_walk(w)
    leg = haversine_m(16.0, 107.0, 16.001, 107.0)
    assert walk["distance_m"] == pytest.approx(3 * leg, rel=1e-3)
    assert walk["walking_s"] == pytest.approx(110)
    assert walk["point_count"] == 5 and walk["segment"] == 1
    done = store.stop_walk(w, {"end_time": "2026-03-01T09:00:00+07:00"})
    assert done["status"] == "done" and store.active_walk() is None
    assert len(done["data"]["track"]) == 5 and done["data"]["track"][0][:2] == [107.0, 16.0]
    assert done["data"]["end_time"] == "2026-03-01T09:00:00+07:00"
    ops = [(m["op"], m["data"]["status"]) for m in store.outbox()]
    assert ops == [("create", "active"), ("update", "done")]
    with pytest.raises(StoreError, match="cannot make it done"):
        store.stop_walk(w)


def test_photos_are_copied_by_hash_once(store, tmp_path):
    src = tmp_path / "IMG_0001.JPG"
    src.write_bytes(b"\xff\xd8fake jpeg bytes\xff\xd9")
    sha = store.add_photo(src)
    assert sha == hashlib.sha256(src.read_bytes()).hexdigest()
    assert store.add_photo(src) == sha
    row = store.photo(sha)
    assert row["media_type"] == "image/jpeg" and row["size_bytes"] == src.stat().st_size
    src.unlink()  # the store's copy does not depend on the original
    with open(row["abs_path"], "rb") as fh:
        assert fh.read().startswith(b"\xff\xd8")
    rid = store.save_record("observation", "line_transect@1.0", "observation", {**OBS, "photos": [sha]}, photos=[sha])
    assert store.photos_of("observation", rid) == [sha]
    assert [p["sha256"] for p in store.pending_photos()] == [sha]
    store.set_photo_upload(sha, row["size_bytes"], done=True)
    assert store.pending_photos() == []
    with pytest.raises(StoreError, match="does not exist"):
        store.add_photo(tmp_path / "missing.jpg")


def test_records_page_walks_every_record_once_newest_first(store, clock):
    ids = []
    for i in range(23):
        clock.t += 1
        ids.append(store.save_record("observation", "line_transect@1.0", "observation", {**OBS, "count": i + 1}))
    clock.t += 1
    ids.append(store.save_record("threat", "threat_incident@1.0", "incident", {"threat_type": "snare"}))
    seen, cursor, pages = [], None, 0
    while True:
        rows, cursor = store.records_page(limit=10, cursor=cursor)
        seen += [r["id"] for r in rows]
        pages += 1
        if cursor is None:
            break
    assert pages == 3 and seen == list(reversed(ids))
    assert store.count_records("observation") == 23 and store.count_records("threat") == 1
    assert store.records_page(limit=10)[0][0]["entity"] == "threat"


def test_settings_and_device_id_persist(tmp_path):
    s = Store(tmp_path)
    s.set_setting("area", {"id": "a1", "name": "Bạch Mã"})
    dev = s.device_id
    s.close()
    s = Store(tmp_path)
    assert s.get_setting("area") == {"id": "a1", "name": "Bạch Mã"} and s.device_id == dev
    s.set_setting("area", None)
    assert s.get_setting("area", "none") == "none"
    s.close()


def test_haversine_known_distance():
    # One degree of latitude is about 111.2 km.
    assert haversine_m(16.0, 107.0, 17.0, 107.0) == pytest.approx(111_195, rel=1e-3)
