"""Issue 14, D1: a walk belongs to the tablet that recorded it.

Another tablet's push can never shrink or replace the track (nor delete the walk, nor
change its times, status or distance): it is kept as a conflict for a biologist, and
the walk keeps its device and maker. Pull names each record's device and maker so
tablets keep other devices' records read-only.
"""
import uuid

from sqlmodel import select

from server.models import SurveyWalk, SyncConflict

TRACK = [[106.2 + i * 1e-4, 17.5, f"2026-03-01T00:{i:02d}:00.000+00:00", 5.0] for i in range(11)]


def _recorded_walk(field, headers_a):
    """Tablet A's walk T-08: created while walking, then stopped with 11 points and 110 m."""
    wid = str(uuid.uuid4())
    doc = field.walk_doc(transect_id="T-08")
    created = field.push(headers_a, field.mutation("walk", wid, {**doc, "status": "active"}))[0]
    done = {**doc, "status": "done", "distance_m": 110.0,
            "data": {**doc["data"], "end_time": "2026-03-01T09:00:00+07:00", "track": TRACK}}
    stopped = field.push(headers_a, field.mutation("walk", wid, done, op="update", base=created["revision"]))[0]
    assert stopped["status"] == "applied"
    return wid, done, stopped["revision"]


def test_another_tablet_cannot_shrink_replace_or_delete_a_walk(field, world):
    a = field.device(field.ranger, "tab-A")
    b = field.device(field.ranger2, "tab-B")
    wid, done, rev = _recorded_walk(field, a)
    # Tablet B (old app) had received the walk and "stops" it with its own, empty track.
    empty = {**done, "distance_m": 0.0, "data": {**done["data"], "track": [], "end_time": "2026-03-01T10:00:00+07:00"}}
    res = field.push(b, field.mutation("walk", wid, empty, op="update", base=rev))[0]
    assert res["status"] == "conflict" and res["server_data"] == done
    assert "recorded on another device" in res["message"]
    # a longer, different track from B is not A's either; nor is a delete
    longer = {**done, "data": {**done["data"], "track": TRACK + TRACK}}
    assert field.push(b, field.mutation("walk", wid, longer, op="update", base=rev))[0]["status"] == "conflict"
    assert field.push(b, field.mutation("walk", wid, None, op="delete", base=rev))[0]["status"] == "conflict"
    with world.session() as s:
        w = s.get(SurveyWalk, wid)
        assert (len(w.track), w.distance_m, w.device_id, w.revision, w.deleted) == (11, 110.0, "tab-A", rev, False)
        assert w.created_by == field.ranger.id
        conflicts = s.exec(select(SyncConflict).where(SyncConflict.record_id == wid)
                           .order_by(SyncConflict.created_at)).all()
        assert [c.client_device for c in conflicts] == ["tab-B"] * 3
        assert set(conflicts[0].fields) == {"track", "end_time", "@distance_m"}
        assert conflicts[0].client_version["data"]["track"] == [] and len(conflicts[0].server_version["data"]["track"]) == 11
        assert conflicts[2].fields == ["_deleted"]
        assert all(c.status == "open" for c in conflicts)
    # the biologist's conflict list shows them
    bio = field.device(world.user("bio", roles={field.area.id: "biologist"}), "web-browser")
    listed = field.client.get(f"/api/v1/sync/conflicts?area_id={field.area.id}", headers=bio).json
    assert len([c for c in listed if c["record_id"] == wid]) == 3
    # A's own next edit still applies; its pull gets its full track back, untouched by B
    res = field.push(a, field.mutation("walk", wid, {**done, "data": {**done["data"], "weather": "light_rain"}},
                                       op="update", base=rev))[0]
    assert res["status"] == "applied"
    latest = [c for c in field.pull(a).json["changes"] if c["record_id"] == wid][-1]
    assert len(latest["data"]["data"]["track"]) == 11 and latest["data"]["data"]["weather"] == "light_rain"


def test_another_tablet_may_correct_other_fields_without_taking_the_walk(field, world):
    a = field.device(field.ranger, "tab-A")
    b = field.device(field.ranger2, "tab-B")
    wid, done, rev = _recorded_walk(field, a)
    res = field.push(b, field.mutation("walk", wid, {**done, "data": {**done["data"], "observers": ["Lan", "Minh"]}},
                                       op="update", base=rev))[0]
    assert res["status"] == "applied"
    with world.session() as s:
        w = s.get(SurveyWalk, wid)
        assert w.observers == ["Lan", "Minh"] and len(w.track) == 11
        assert w.device_id == "tab-A" and w.created_by == field.ranger.id  # still A's walk, still Lan's


def test_pull_names_each_records_device_and_maker(field):
    a = field.device(field.ranger, "tab-A")
    b = field.device(field.ranger2, "tab-B")
    wid, _, _ = _recorded_walk(field, a)
    oid = str(uuid.uuid4())
    assert field.push(b, field.mutation("observation", oid, field.obs_doc()))[0]["status"] == "applied"
    owners = {(c["record_id"], c["device_id"], c["owner"]) for c in field.pull(b).json["changes"]}
    assert owners == {(wid, "tab-A", "lan"), (oid, "tab-B", "minh")}
