"""The field app's sync client under every interruption: nothing lost, nothing doubled."""
import pytest
from sqlmodel import func, select

from mobile.store import ReadOnlyRecord

from synchelp import Faulty, FlaskSession
from server.models import FieldObservation, Media, SurveyWalk


def _count(world, model, *where):
    with world.session() as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def test_walk_with_observations_reaches_the_server(site, world):
    st = site.store("tab1")
    walk = site.walk(st)
    ids = [site.observation(st, walk, count=i + 1) for i in range(3)]
    st.stop_walk(walk)
    client = site.client(st)
    report = client.sync()
    assert report.ok, report.errors
    assert report.pushed == {"applied": 5}  # walk create, 3 observations, walk stop
    assert st.outbox_count() == 0
    assert all(st.get_record("observation", i)["sync_state"] == "synced" for i in ids)
    assert _count(world, FieldObservation) == 3
    with world.session() as s:
        w = s.get(SurveyWalk, walk)
        assert w.status == "done" and w.revision == 2


def test_connection_dropped_mid_push_keeps_the_outbox(site, world):
    st = site.store("tab1")
    ids = [site.observation(st) for _ in range(6)]
    flaky = Faulty(FlaskSession(site.app), plan={2: "drop", 3: "drop", 4: "drop", 5: "drop", 6: "drop", 7: "drop"},
                   match=lambda m, u: u.endswith("/sync/push"))
    client = site.client(st, session=flaky, batch_size=2, retries=2)
    report = client.sync()
    assert not report.ok and "no answer" in report.errors[0]
    assert st.outbox_count() == 4  # the first batch was answered; the rest waits
    assert _count(world, FieldObservation) == 2
    flaky.plan = {}
    assert client.sync().ok
    assert st.outbox_count() == 0 and _count(world, FieldObservation) == 6
    assert {st.get_record("observation", i)["sync_state"] for i in ids} == {"synced"}


def test_response_lost_after_server_applied_retry_is_duplicate(site, world):
    st = site.store("tab1")
    oid = site.observation(st)
    lossy = Faulty(FlaskSession(site.app), plan={1: "lose"}, match=lambda m, u: u.endswith("/sync/push"))
    sleeps = []
    client = site.client(st, session=lossy, sleep=sleeps.append, rng=lambda: 1.0)
    report = client.sync()
    assert report.ok and report.pushed == {"duplicate": 1}
    assert sleeps == [0.5]  # one backoff before the retry
    assert _count(world, FieldObservation) == 1
    assert st.get_record("observation", oid)["revision"] == 1


def test_backoff_is_exponential_with_jitter_and_bounded(site):
    st = site.store("tab1")
    site.observation(st)
    down = Faulty(FlaskSession(site.app), plan={i: "drop" for i in range(1, 20)})
    sleeps = []
    client = site.client(st, session=down, retries=5, backoff_s=1.0, backoff_max_s=8.0, sleep=sleeps.append,
                         rng=lambda: 0.5)
    report = client.sync()
    assert not report.ok and st.outbox_count() == 1
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_captive_portal_html_is_a_failure_not_data(site, world):
    st = site.store("tab1")
    site.observation(st)
    portal = Faulty(FlaskSession(site.app), plan={i: "portal" for i in range(1, 50)})
    client = site.client(st, session=portal, retries=1)
    report = client.sync()
    assert not report.ok and "captive portal" in report.errors[0]
    assert st.outbox_count() == 1 and _count(world, FieldObservation) == 0
    assert st.get_setting("sync.since") is None


def test_photo_upload_interrupted_at_half_resumes_from_offset(site, world, tmp_path):
    st = site.store("tab1")
    photo = tmp_path / "douc.jpg"
    from PIL import Image

    Image.new("RGB", (300, 200), (40, 90, 30)).save(photo, quality=95)
    payload = photo.read_bytes()
    sha = st.add_photo(photo)
    site.observation(st, photos=[sha])
    flask = FlaskSession(site.app)
    half = len(payload) // 2 + 1
    cut = Faulty(flask, plan={2: "drop", 3: "drop"}, match=lambda m, u: m == "PATCH")
    client = site.client(st, session=cut, chunk_size=half, retries=1)
    report = client.sync()
    assert not report.ok
    with world.session() as s:
        obs = s.exec(select(FieldObservation)).one()
        assert obs.media_pending is True  # accepted before its photo arrived
    assert st.pending_photos()[0]["upload_offset"] == half
    cut.plan = {}
    flask.calls.clear()
    assert client.sync().ok
    patches = [c for c in flask.calls if c[0] == "PATCH"]
    assert sum(c[2] for c in patches) == len(payload) - half  # only the missing half was sent
    with world.session() as s:
        m = s.exec(select(Media).where(Media.sha256 == sha)).one()
        assert m.size_bytes == len(payload) and m.width == 300
        assert s.exec(select(FieldObservation)).one().media_pending is False
    assert st.pending_photos() == []


def test_corrupted_upload_is_refused_by_hash(site, world, tmp_path):
    st = site.store("tab1")
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"\xff\xd8" + b"x" * 5000)
    sha = st.add_photo(photo)
    (st.root / st.photo(sha)["path"]).write_bytes(b"\xff\xd8" + b"y" * 5000)  # bit rot on the SD card
    client = site.client(st, retries=0)
    report = client.sync()
    assert not report.ok and "hash" in report.errors[0]
    assert _count(world, Media) == 0 and st.pending_photos()[0]["upload_offset"] == 0


def test_two_devices_edit_one_record_conflict_is_kept(site, world):
    st1, st2 = site.store("tab1"), site.store("tab2")
    c1, c2 = site.client(st1), site.client(st2, user=site.ranger2)
    oid = site.observation(st1)
    assert c1.sync().ok and c2.sync().ok
    assert st2.get_record("observation", oid)["revision"] == 1  # pulled
    rec1, rec2 = st1.get_record("observation", oid), st2.get_record("observation", oid)
    st1.save_record("observation", "line_transect@1.0", "observation", {**rec1["data"], "count": 5},
                    record_id=oid, program_id=site.program.id)
    # Another tablet holds it as a read-only reference (issue 14, D1)...
    assert rec2["read_only"] and rec2["owner"] == site.ranger.username
    with pytest.raises(ReadOnlyRecord, match="recorded on another device by lan"):
        st2.save_record("observation", "line_transect@1.0", "observation", {**rec2["data"], "count": 9},
                        record_id=oid, program_id=site.program.id)
    # ...but an app of store version 1 did not know whose it was: its edit becomes a conflict, kept.
    st2._db.execute("UPDATE observations SET origin='local' WHERE id=?", (oid,))
    st2.save_record("observation", "line_transect@1.0", "observation", {**rec2["data"], "count": 9},
                    record_id=oid, program_id=site.program.id)
    assert c1.sync().pushed == {"applied": 1}
    assert c2.sync().pushed == {"conflict": 1}
    local2 = st2.get_record("observation", oid)
    assert local2["sync_state"] == "conflict" and local2["data"]["count"] == 5  # shows the server's version
    from server.models import SyncConflict

    with world.session() as s:
        c = s.exec(select(SyncConflict)).one()
        assert c.client_version["data"]["count"] == 9 and c.server_version["data"]["count"] == 5


def test_pull_after_tombstone_horizon_resyncs(site, world):
    from server.sync.service import compact

    st1, st2 = site.store("tab1"), site.store("tab2")
    c1, c2 = site.client(st1), site.client(st2, user=site.ranger2)
    a = site.observation(st1)
    assert c1.sync().ok and c2.sync().ok
    b = site.observation(st1)
    st1.delete_record("observation", a)
    assert c1.sync().ok
    with world.session() as s:
        compact(s, 10_000)
    report = c2.sync()
    assert report.ok and report.resynced
    assert st2.get_record("observation", b) is not None
