"""Property: any interleaving of edits, walks, pushes, pulls and failures on two devices ends with
both devices and the server agreeing on every record, and no device's track ever shrunk by another.

Each device records its own walks (start, track points, pause, stop, corrections); the other
device receives them as read-only references and may only try, like an app of store version 1
did, to push its own version of them: the server keeps those as conflicts (issue 14, D1).
"""
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st_
from sqlmodel import select

from synchelp import Faulty, FlaskSession
from mobile.store import ReadOnlyRecord, StoreError
from server.models import FieldObservation, SurveyWalk

ACTIONS = st_.lists(st_.tuples(
    st_.sampled_from(["create", "edit", "edit", "delete", "edit_foreign", "walk_start", "walk_points",
                      "walk_points", "walk_pause", "walk_stop", "walk_fix", "old_app_push", "sync", "sync",
                      "sync_fail_drop", "sync_fail_lose", "pull"]),
    st_.integers(0, 1),        # which device
    st_.integers(0, 3),        # which record (index into the device's own or foreign ones)
    st_.integers(1, 4),        # a count value, or a number of track points
    st_.booleans(),            # which field to edit (count or note)
), min_size=4, max_size=22)


def _server_observations(world, program_id):
    with world.session() as s:
        rows = s.exec(select(FieldObservation).where(FieldObservation.program_id == program_id))
        return {o.id: (None if o.deleted else o.data["data"]) for o in rows}


def _server_walks(world, program_id):
    with world.session() as s:
        return {w.id: {"data": w.data["data"], "track": list(w.track), "device": w.device_id,
                       "distance": w.distance_m, "deleted": w.deleted}
                for w in s.exec(select(SurveyWalk).where(SurveyWalk.program_id == program_id))}


def _device_observations(store):
    return {r["id"]: None if r["deleted"] else r["data"]
            for r in store.records("observation", include_deleted=True)}


def _own(store, entity):
    return [r for r in store.records(entity) if not r["read_only"]]


def _foreign(store, entity):
    return [r for r in store.records(entity) if r["read_only"]]


class TrackWatch:
    """Remembers the longest track the server ever held for each walk: it may only grow."""

    def __init__(self, world, program_id):
        self.world, self.program_id, self.longest, self.device = world, program_id, {}, {}

    def check(self):
        for wid, w in _server_walks(self.world, self.program_id).items():
            assert not w["deleted"], wid
            assert len(w["track"]) >= self.longest.get(wid, 0), (wid, len(w["track"]), self.longest[wid])
            self.longest[wid] = len(w["track"])
            assert self.device.setdefault(wid, w["device"]) == w["device"], "a walk changed its device"


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(actions=ACTIONS)
def test_two_devices_converge_and_keep_every_track(site_factory, actions):
    site, world = site_factory()
    stores = [site.store(f"d{uuid.uuid4().hex[:6]}"), site.store(f"d{uuid.uuid4().hex[:6]}")]
    sessions = [Faulty(FlaskSession(site.app)), Faulty(FlaskSession(site.app))]
    clients = [site.client(stores[0], session=sessions[0], retries=0),
               site.client(stores[1], user=site.ranger2, session=sessions[1], retries=0)]
    # Both devices start from shared records, as after a first sync at the station: an
    # observation and a recorded walk each, which the other device holds as references.
    clock = [1_770_000_000.0]
    for n, store in enumerate(stores):
        site.observation(store, count=n + 1)
        wid = site.walk(store)
        for _ in range(3 + n):
            clock[0] += 5
            store.add_track_point(wid, 17.5 + clock[0] % 1000 * 1e-5, 106.2, clock[0], 5.0)
        store.stop_walk(wid)
    for _ in range(2):
        for c in clients:
            c.sync()
    assert all(len(_foreign(st, "walk")) == 1 for st in stores)
    watch = TrackWatch(world, site.program.id)
    for action, dev, idx, value, which in actions:
        store, client, sess = stores[dev], clients[dev], sessions[dev]
        active = store.active_walk()
        if action == "create":
            site.observation(store, walk_id=active["id"] if active else None, count=value)
        elif action in ("edit", "delete"):
            own = _own(store, "observation")
            if not own:
                continue
            rec = own[idx % len(own)]
            if action == "delete":
                store.delete_record("observation", rec["id"])
            else:
                data = dict(rec["data"])
                data["count" if which else "note"] = value if which else f"note {value}"
                store.save_record("observation", "line_transect@1.0", "observation", data, record_id=rec["id"],
                                  program_id=site.program.id)
        elif action == "edit_foreign":
            foreign = _foreign(store, "observation") + _foreign(store, "walk")
            if not foreign:
                continue
            rec = foreign[idx % len(foreign)]
            before = store.outbox_count()
            with pytest.raises(ReadOnlyRecord):
                if rec["entity"] == "walk":
                    store.stop_walk(rec["id"])
                else:
                    store.save_record("observation", "line_transect@1.0", "observation", {**rec["data"], "count": 9},
                                      record_id=rec["id"], program_id=site.program.id)
            assert store.outbox_count() == before and store.get_record(rec["entity"], rec["id"])["data"] == rec["data"]
        elif action == "walk_start" and active is None:
            site.walk(store)
        elif action == "walk_points" and active is not None and active["status"] == "active":
            for _ in range(value):
                clock[0] += 5
                store.add_track_point(active["id"], 17.5 + clock[0] % 1000 * 1e-5, 106.2, clock[0], 5.0)
        elif action == "walk_pause" and active is not None:
            (store.pause_walk if active["status"] == "active" else store.resume_walk)(active["id"])
        elif action == "walk_stop" and active is not None:
            store.stop_walk(active["id"])
        elif action == "walk_fix":
            done = [w for w in _own(store, "walk") if w["status"] == "done"]
            if done:
                store.update_walk(done[idx % len(done)]["id"], {"weather": "fog" if which else "cloudy"})
        elif action == "old_app_push":
            # An app of store version 1 on this device had taken another tablet's walk as its own
            # and "stopped" it with an empty track: the server must keep that as a conflict.
            foreign = _foreign(store, "walk")
            if not foreign:
                continue
            w = foreign[idx % len(foreign)]
            doc = {"protocol": "line_transect@1.0", "record_type": "walk", "program_id": site.program.id,
                   "status": "done", "distance_m": 0.0,
                   "data": {**w["data"], "track": [], "end_time": w["data"]["start_time"]}}
            base = sess.inner if isinstance(sess, Faulty) else sess
            r = base.client.post("/api/v1/sync/push", headers={"Authorization": f"Bearer {client.token}"}, json={
                "protocol_version": "1.0", "mutations": [{
                    "mutation_id": str(uuid.uuid4()), "entity": "walk", "record_id": w["id"], "op": "update",
                    "base_revision": w["revision"], "data": doc, "device_time": "2026-03-01T03:00:00Z"}]})
            assert r.status_code == 200 and r.json["results"][0]["status"] == "conflict", r.json
            watch.check()
        elif action == "sync":
            client.sync()
            watch.check()
        elif action == "pull":
            client.pull()
        elif action.startswith("sync_fail"):
            sess.plan = {sess.n + 1: "drop" if action.endswith("drop") else "lose"}
            client.sync()
            sess.plan = {}
            watch.check()
    # The walks end, the network is back, and both devices sync until nothing is left to say.
    for store in stores:
        if store.active_walk() is not None:
            store.stop_walk(store.active_walk()["id"])
    for _ in range(2):
        for c in clients:
            assert c.sync().ok
    watch.check()
    server_obs = _server_observations(world, site.program.id)
    server_walks = _server_walks(world, site.program.id)
    for store in stores:
        assert store.outbox_count() == 0
        assert store.active_walk() is None
        local = _device_observations(store)
        # every record either side knows is the same on the device and the server
        for rid, data in server_obs.items():
            assert local.get(rid, "missing") == data, (rid, local.get(rid), data)
        for rid, data in local.items():
            assert server_obs.get(rid, "missing") == data or data is None
        walks = {w["id"]: w for w in store.records("walk")}
        assert set(walks) == set(server_walks)
        for wid, sw in server_walks.items():
            w = store.get_walk(wid)
            assert w["data"] == sw["data"], wid
            if sw["device"] == store.device_id:  # this device recorded it: the server holds its whole track
                assert (w["origin"], w["status"]) == ("local", "done")
                assert sw["track"] == store.track(wid) and sw["distance"] == round(w["distance_m"], 1)
            else:  # the other's walk: a read-only reference with the recorder's measures
                assert (w["origin"], w["status"]) == ("remote", "reference"), wid
                assert w["point_count"] == len(sw["track"]) and store.track(wid) == []
                with pytest.raises(StoreError):
                    store.resend("walk", wid)
