"""Issue 14, D2, D8 and bad input, through the real sync endpoints (in-process, both databases):
offline-mode records wait for a program and are then accepted; records the server refused are
corrected and sent again (walks too); every sync's outcome is stored for the home screen with the
kind of failure; a full disk on the tablet loses nothing."""
import sqlite3
import uuid

from sqlmodel import func, select

from synchelp import Faulty, FlaskSession
from mobile import syncstatus
from server.models import FieldObservation, SurveyWalk


def _count(world, model, *where):
    with world.session() as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def _offline_day(site, st):
    """A walk with an observation and a threat, made in offline mode (no program chosen)."""
    wid = st.start_walk("line_transect@1.0", {"transect_id": "T1", "observers": ["Lan"], "weather": "clear"})
    for i in range(3):
        st.add_track_point(wid, 17.5 + i * 1e-4, 106.2, 1_770_000_000 + 10 * i, 5.0)
    oid = st.save_record("observation", "line_transect@1.0", "observation",
                         {"observed_at": "2026-03-01T07:30:00+07:00", "taxon": "Pygathrix nemaeus",
                          "sign_type": "sighting", "count": 2, "distance_m": 12.0, "bearing_deg": 30.0,
                          "transect_bearing_deg": 0.0}, walk_id=wid)
    st.stop_walk(wid)
    tid = st.save_record("threat", "threat_incident@1.0", "incident",
                         {"observed_at": "2026-03-01T08:00:00+07:00", "threat_type": "snare", "count": 3,
                          "action_taken": "removed", "location": {"lat": 17.5, "lon": 106.2}})
    return wid, oid, tid


def test_offline_records_wait_for_a_program_then_are_accepted(site, world):
    st = site.store("tab")
    wid, oid, tid = _offline_day(site, st)
    client = site.client(st)
    report = client.sync()
    assert report.ok and report.pushed == {} and report.held == 4  # walk create and stop, observation, threat
    assert st.outbox_count() == 4 and _count(world, SurveyWalk) == 0
    assert st.get_setting("sync.last")["held"] == 4
    assert syncstatus.pending_text(st.pending_counts(), "en").splitlines() == [
        "3 record(s) waiting to be sent",
        "3 record(s) made offline wait for a program: choose the area and program"]
    assert st.assign_program(site.program.id) == 3
    report = client.sync()
    assert report.ok and report.pushed == {"applied": 4} and report.held == 0
    with world.session() as s:
        w = s.get(SurveyWalk, wid)
        assert w.program_id == site.program.id and len(w.track) == 3 and w.status == "done"
        assert s.get(FieldObservation, oid).walk_id == wid and s.get(FieldObservation, tid) is not None
    assert st.pending_counts() == {"waiting": 0, "rejected": 0, "conflict": 0, "unassigned": 0}


def test_records_an_older_app_sent_without_a_program_are_sent_again(site, world):
    """The reported bug: "unknown program None" after sign-in, 0 pending, the walk never re-sent."""
    st = site.store("tab")
    wid, oid, tid = _offline_day(site, st)
    client = site.client(st)
    rows = st.outbox()
    # What an app of store version 1 did: push them as they were; the server refuses each one.
    _, _, body = client._call("POST", "/sync/push", json_body={
        "protocol_version": "1.0", "device_id": st.device_id, "mutations": [client._mutation(r) for r in rows]})
    assert {r["status"] for r in body["results"]} == {"rejected"}
    assert "unknown program None" in body["results"][0]["message"]
    for row, res in zip(rows, body["results"]):
        st.complete_mutation(row["mutation_id"], res["status"], res.get("revision"), res.get("message"))
    assert st.outbox_count() == 0
    assert st.pending_counts() == {"waiting": 0, "rejected": 3, "conflict": 0, "unassigned": 3}  # not "0 pending"
    st.assign_program(site.program.id)  # the ranger chooses the program: everything goes again
    report = client.sync()
    assert report.ok and report.pushed == {"applied": 3}
    with world.session() as s:
        assert len(s.get(SurveyWalk, wid).track) == 3 and s.get(SurveyWalk, wid).status == "done"
        assert s.get(FieldObservation, oid).program_id == site.program.id
    assert {st.get_record(e, i)["sync_state"] for e, i in (("walk", wid), ("observation", oid), ("threat", tid))} \
        == {"synced"}


def test_a_walk_the_server_refuses_is_corrected_and_sent_again(site, world):
    st = site.store("tab")
    # A value this app did not check (a protocol changed on the server, a hand-edited store...).
    wid = st.start_walk("line_transect@1.0", {"transect_id": "T1", "observers": ["Lan"], "weather": "monsoon"},
                        program_id=site.program.id)
    st.add_track_point(wid, 17.5, 106.2, 1_770_000_000, 5.0)
    st.stop_walk(wid)
    client = site.client(st)
    report = client.sync()
    assert report.pushed == {"rejected": 2}
    walk = st.get_walk(wid)
    assert walk["sync_state"] == "rejected"
    assert syncstatus.record_error(walk["sync_error"], "vi").startswith("Thời tiết: 'monsoon' không thuộc")
    assert syncstatus.record_error(walk["sync_error"], "en").startswith("Weather: 'monsoon' is not one of")
    assert syncstatus.outcome_text(st.get_setting("sync.last"), "vi").splitlines()[1] == \
        "2 bản ghi bị máy chủ từ chối: mở Bản ghi để sửa."
    st.update_walk(wid, {"weather": "fog"})
    report = client.sync()
    assert report.ok and report.pushed == {"applied": 1}
    with world.session() as s:
        w = s.get(SurveyWalk, wid)
        assert w.weather == "fog" and len(w.track) == 1 and w.status == "done"
    assert st.get_walk(wid)["sync_state"] == "synced"


class Html502:
    """A proxy in front of a stopped server: 502 with an HTML page."""

    def request(self, method, url, **kw):
        class R:
            status_code = 502
            headers = {"Content-Type": "text/html"}
            reason = "Bad Gateway"

            def json(self):
                raise ValueError("html")

        return R()


def test_every_outcome_is_stored_with_the_kind_of_failure(site, world):
    st = site.store("tab")
    site.observation(st)
    flask = FlaskSession(site.app)
    good = site.client(st, session=flask, retries=0)
    token = good.token

    def client(session):
        from mobile.sync import SyncClient

        return SyncClient(st, "http://saola.test", token, session=session, retries=0, sleep=lambda s: None)

    cases = [(Faulty(flask, plan={1: "portal"}), "portal", 200), (Faulty(flask, plan={1: "drop"}), "offline", None),
             (Html502(), "server", 502)]
    for session, kind, status in cases:
        report = client(session).sync()
        last = st.get_setting("sync.last")
        assert (report.error_kind, last["error_kind"], last["error_status"], last["ok"]) == (kind, kind, status, False)
        assert "ok_at" not in last and st.outbox_count() == 1
        text = syncstatus.outcome_text(last, "en")
        assert "Nothing was lost" in text and "HTTP" not in text and "Faulty" not in text
    assert good.sync().ok
    ok_at = st.get_setting("sync.last")["ok_at"]
    assert client(Faulty(flask, plan={1: "drop"})).sync().error_kind == "offline"
    last = st.get_setting("sync.last")
    assert last["ok_at"] == ok_at and last["at"] >= ok_at  # "last sync" stays the last one that worked
    assert syncstatus.last_sync_text(last, "en").startswith("Last sync: ")


def test_a_full_tablet_during_sync_loses_nothing(site, world, monkeypatch):
    st = site.store("tab")
    oid = site.observation(st)
    client = site.client(st)
    real = st.complete_mutation

    def full(*a, **kw):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(st, "complete_mutation", full)
    report = client.sync()
    assert report.error_kind == "disk_full" and st.outbox_count() == 1
    assert _count(world, FieldObservation) == 1  # the server has it; the tablet could not note the answer
    assert "storage is full" in syncstatus.outcome_text(st.get_setting("sync.last"), "en")
    monkeypatch.setattr(st, "complete_mutation", real)
    report = client.sync()  # space freed: the retry is answered "duplicate", nothing doubles
    assert report.ok and report.pushed == {"duplicate": 1}
    assert st.get_record("observation", oid)["sync_state"] == "synced" and _count(world, FieldObservation) == 1

    # Pulling into a full database: the cursor stays, the next sync after freeing space gets it all.
    other = site.store("other")
    for _ in range(30):
        site.observation(other, note="x" * 2000)
    assert site.client(other, user=site.ranger2).sync().ok
    since = st.get_setting("sync.since")
    st.maintenance()
    pages = st._db.execute("PRAGMA page_count").fetchone()[0]
    st._db.execute(f"PRAGMA max_page_count={pages}")
    report = client.sync()
    assert report.error_kind == "disk_full" and st.get_setting("sync.since") == since
    st._db.execute("PRAGMA max_page_count=1073741823")
    assert client.sync().ok and st.count_records("observation") == 31
    assert str(uuid.UUID(st.device_id))  # the store is whole


def test_the_store_gives_its_space_back_after_a_sync(site, world):
    """Item 7: the answered outbox is freed at once (incremental vacuum after the sync), not at some VACUUM
    that never runs; the WAL is folded back too."""
    st = site.store("tab")
    for i in range(150):
        site.observation(st, note=f"{i} " + "ghi chú dài " * 150)
    pages = st._db.execute("PRAGMA page_count").fetchone()[0]
    assert site.client(st).sync().ok
    assert st._db.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert st._db.execute("PRAGMA page_count").fetchone()[0] < 0.75 * pages
    assert (st.root / "saola.db-wal").stat().st_size < 16 * 1024  # folded back (only the stored outcome since)
    assert st.count_records("observation") == 150 and st.outbox_count() == 0
