"""The local store: records, walks, outbox, photos, paging, settings."""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

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


# -- issue 14: ownership (D1), offline-mode records (D2), full disk, photo budget, list scope (D11) --------
def _pulled(store, entity, rid, device, owner, doc, revision=1):
    from mobile.sync import apply_changes

    apply_changes(store, [{"seq": revision, "entity": entity, "record_id": rid, "revision": revision, "op": "upsert",
                           "data": doc, "device_id": device, "owner": owner}])


WALK_DOC = {"protocol": "line_transect@1.0", "record_type": "walk", "program_id": "p1", "status": "done",
            "distance_m": 110.0, "data": {"transect_id": "T-08", "start_time": "2026-03-01T07:00:00+07:00",
                                           "end_time": "2026-03-01T09:00:00+07:00", "observers": ["Lan"],
                                           "weather": "clear", "track": [[107.8, 16.2, "2026-03-01T00:00:00Z", 5]] * 11}}


def test_another_tablets_walk_is_a_read_only_reference(store):
    _pulled(store, "walk", "walk-a", "tablet-A", "lan", {**WALK_DOC, "status": "active",
                                                        "data": {**WALK_DOC["data"], "end_time": None, "track": []}})
    walk = store.get_walk("walk-a")
    assert (walk["status"], walk["origin"], walk["owner"], walk["read_only"]) == ("reference", "remote", "lan", True)
    assert store.active_walk() is None  # never "in progress" here, even while A records it
    for action in (store.pause_walk, store.resume_walk, store.stop_walk):
        with pytest.raises(StoreError, match="recorded on another device by lan"):
            action("walk-a")
    with pytest.raises(StoreError, match="only recorded while active"):
        store.add_track_point("walk-a", 16.0, 107.0, 1.0)
    with pytest.raises(StoreError, match="another device"):
        store.resend("walk", "walk-a")
    # A's stop arrives: still a reference, now with A's measures
    _pulled(store, "walk", "walk-a", "tablet-A", "lan", WALK_DOC, revision=2)
    walk = store.get_walk("walk-a")
    assert (walk["status"], walk["point_count"], walk["distance_m"]) == ("reference", 11, 110.0)
    # this tablet starts its own walk freely
    mine = store.start_walk("line_transect@1.0", {"transect_id": "T-09"}, program_id="p1")
    assert store.active_walk()["id"] == mine and store.get_walk(mine)["origin"] == "local"
    assert store.outbox()[-1]["record_id"] == mine


def test_other_records_of_another_device_are_read_only_and_listed_as_the_teams(store):
    store.set_setting("user", {"username": "minh"})
    obs = {"protocol": "line_transect@1.0", "record_type": "observation", "program_id": "p1",
           "recorded_at": "2026-03-01T00:30:00Z", "data": OBS}
    _pulled(store, "observation", "obs-a", "tablet-A", "lan", obs)
    _pulled(store, "observation", "obs-mine-elsewhere", "tablet-C", "minh", obs)  # minh's, from his old tablet
    with pytest.raises(StoreError, match="read-only"):
        store.save_record("observation", "line_transect@1.0", "observation", {**OBS, "count": 9}, record_id="obs-a")
    with pytest.raises(StoreError, match="read-only"):
        store.delete_record("observation", "obs-a")
    assert store.get_record("observation", "obs-a")["data"] == OBS and store.outbox() == []
    mine = store.save_record("observation", "line_transect@1.0", "observation", OBS, program_id="p1")
    assert store.get_record("observation", mine)["owner"] == "minh"
    ids = {r["id"] for r in store.records_page(scope="mine")[0]}
    assert ids == {mine, "obs-mine-elsewhere"} and store.count_page_records("mine") == 2
    assert {r["id"] for r in store.records_page(scope="team")[0]} == {mine, "obs-a", "obs-mine-elsewhere"}
    assert store.count_page_records("team") == 3
    with pytest.raises(StoreError, match="scope must be"):
        store.records_page(scope="all")


def test_offline_records_take_the_program_chosen_later(store):
    """D2: records made before sign-in carry no program; choosing one gives it to them and their queue."""
    w = store.start_walk("line_transect@1.0", {"transect_id": "T1"})
    o = store.save_record("observation", "line_transect@1.0", "observation", OBS, walk_id=w)
    store.stop_walk(w)
    assert [m["held"] for m in store.outbox()] == [True, True, True]
    assert store.pending_counts() == {"waiting": 2, "rejected": 0, "conflict": 0, "unassigned": 2}
    d = store.save_record("deployment", "camera_trap@1.0", "deployment", {"station_id": "CT-1"})
    assert store.assign_program("p-cam", protocol="camera_trap") == 1  # the kind that has its own program
    assert store.assign_program("p1") == 2  # the rest: the chosen program
    assert [m["data"]["program_id"] for m in store.outbox()] == ["p1", "p1", "p1", "p-cam"]
    assert [m["held"] for m in store.outbox()] == [False] * 4
    assert store.get_record("observation", o)["program_id"] == "p1" and store.get_walk(w)["program_id"] == "p1"
    assert store.get_record("deployment", d)["program_id"] == "p-cam"
    assert store.pending_counts()["unassigned"] == 0


def test_records_refused_for_lacking_a_program_are_sent_again_once_it_is_chosen(store):
    w = store.start_walk("line_transect@1.0", {"transect_id": "T1"})
    store.add_track_point(w, 16.0, 107.0, 1.0, 5.0)
    store.stop_walk(w)
    for m in store.outbox():  # an older app sent them anyway: "unknown program None"
        store.complete_mutation(m["mutation_id"], "rejected", error="unknown program None")
    assert store.get_walk(w)["sync_state"] == "rejected"
    assert store.pending_counts() == {"waiting": 0, "rejected": 1, "conflict": 0, "unassigned": 1}
    store.assign_program("p1")
    (m,) = store.outbox()
    assert (m["entity"], m["record_id"], m["op"]) == ("walk", w, "update")
    assert m["data"]["status"] == "done" and m["data"]["program_id"] == "p1"
    assert len(m["data"]["data"]["track"]) == 1  # the whole walk goes again, track included
    assert store.get_walk(w)["sync_state"] == "pending"


def test_a_rejected_walk_is_corrected_and_sent_again(store):
    w = store.start_walk("line_transect@1.0", {"transect_id": "T1", "weather": "clear"}, program_id="p1")
    store.add_track_point(w, 16.0, 107.0, 1.0, 5.0)
    store.stop_walk(w)
    for m in store.outbox():
        store.complete_mutation(m["mutation_id"], "rejected", error="transect_id: unknown transect")
    with pytest.raises(StoreError, match="cannot make it done"):
        store.update_walk(store.start_walk("line_transect@1.0", {"transect_id": "T2"}), {})
    walk = store.update_walk(w, {"transect_id": "T-01", "track": [], "end_time": "2000-01-01T00:00:00Z"})
    assert walk["data"]["transect_id"] == "T-01" and len(walk["data"]["track"]) == 1  # the track stays as recorded
    assert walk["sync_state"] == "pending" and walk["sync_error"] is None
    m = [m for m in store.outbox() if m["record_id"] == w][-1]
    assert m["data"]["data"]["transect_id"] == "T-01" and m["data"]["status"] == "done"


def test_a_full_disk_saves_nothing_and_says_so(store):
    from mobile.store import StorageFull

    store.save_record("observation", "line_transect@1.0", "observation", OBS, program_id="p1")
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count={pages}")  # the file cannot grow: as on a full disk
    big = {**OBS, "note": "x" * 200_000}
    with pytest.raises(StorageFull, match="storage is full"):
        store.save_record("observation", "line_transect@1.0", "observation", big, program_id="p1")
    assert store.count_records("observation") == 1 and store.outbox_count() == 1
    assert not store._db.in_transaction


def test_photo_budget_warns_and_frees_only_uploaded_copies(store, tmp_path):
    store.set_setting("photo_budget_mb", 0.01)  # about 10 kB
    shas = []
    for i in range(3):
        src = tmp_path / f"p{i}.jpg"
        src.write_bytes(bytes([i]) * 4000)
        shas.append(store.add_photo(src))
    info = store.photo_storage()
    assert info["used"] == 12000 and info["waiting"] == 12000 and info["level"] == "full"
    assert store.free_photo_space() == 0  # nothing uploaded: nothing may go
    store.set_photo_upload(shas[0], 4000, done=True)
    store.set_photo_upload(shas[1], 4000, done=True)
    assert store.photo_storage()["level"] == "warn"
    assert store.free_photo_space() == 4000  # the oldest uploaded copy, until under 80 %
    assert not Path(store.photo(shas[0])["abs_path"]).exists() and Path(store.photo(shas[1])["abs_path"]).exists()
    assert Path(store.photo(shas[2])["abs_path"]).exists()
    assert store.photo_storage()["used"] == 8000
