"""Issue 14, item 5: the patrol and walk summary travels with the walk (line_transect 1.1).

The server validates it with the same protocol code as the app; a bad summary is
refused by field, in both languages, and older tablets' 1.0 walks still apply.
"""
import uuid

from server.models import SurveyWalk

SUMMARY = {"patrol_type": "foot", "team_leader": "Lan", "team": ["Hồ Văn Tư"],
           "distance_m": 1830.5, "walking_time_min": 152.0,
           "record_counts": [{"record": "observation", "type": "sighting", "count": 3},
                             {"record": "threat", "type": "snare", "count": 1}]}
TRACK = [[106.2 + i * 1e-4, 17.5, f"2026-03-01T00:{i:02d}:00.000+00:00", 5.0] for i in range(5)]


def _walk(field, **data):
    doc = field.walk_doc(**data)
    doc["protocol"] = "line_transect@1.1"
    return doc


def test_a_stopped_walk_with_its_summary_is_accepted_and_pulled(field, world):
    a = field.device(field.ranger, "tab-A")
    wid = str(uuid.uuid4())
    start = _walk(field, patrol_type="foot", team_leader="Lan", team=["Hồ Văn Tư"])
    created = field.push(a, field.mutation("walk", wid, {**start, "status": "active"}))[0]
    assert created["status"] == "applied", created
    done = {**start, "status": "done", "distance_m": 1830.5,
            "data": {**start["data"], **SUMMARY, "end_time": "2026-03-01T09:40:00+07:00", "track": TRACK}}
    res = field.push(a, field.mutation("walk", wid, done, op="update", base=created["revision"]))[0]
    assert res["status"] == "applied", res
    with world.session() as s:
        w = s.get(SurveyWalk, wid)
        assert (w.status, w.distance_m, len(w.track)) == ("done", 1830.5, 5)
        assert w.data["protocol"] == "line_transect@1.1"
        assert w.data["data"]["record_counts"] == SUMMARY["record_counts"]
    pulled = [c for c in field.pull(a).json["changes"] if c["record_id"] == wid][-1]
    assert {k: pulled["data"]["data"][k] for k in SUMMARY} == SUMMARY


def test_a_bad_summary_is_refused_by_field_in_both_languages(field, world):
    a = field.device(field.ranger, "tab-A")
    wid = str(uuid.uuid4())
    bad = _walk(field, **{**SUMMARY, "record_counts": [{"record": "observation", "type": "sighting", "count": 0}]})
    res = field.push(a, field.mutation("walk", wid, {**bad, "status": "done"}))[0]
    assert res["status"] == "rejected"
    err, = res["errors"]
    assert err["field"] == "record_counts[0].count"
    assert err["en"] == "Number of records must be at least 1 (got 0)"
    assert err["vi"] == "Số bản ghi phải lớn hơn hoặc bằng 1 (nhận được 0)"
    with world.session() as s:
        assert s.get(SurveyWalk, wid) is None
    # the same summary sent as a 1.0 walk is refused too: 1.0 has no such fields
    old = {**bad, "protocol": "line_transect@1.0", "data": {**bad["data"], "record_counts": SUMMARY["record_counts"]}}
    res = field.push(a, field.mutation("walk", str(uuid.uuid4()), {**old, "status": "done"}))[0]
    assert res["status"] == "rejected" and {e["field"] for e in res["errors"]} == set(SUMMARY)


def test_an_older_tablets_1_0_walk_still_applies(field):
    a = field.device(field.ranger, "tab-A")
    res = field.push(a, field.mutation("walk", str(uuid.uuid4()), {**field.walk_doc(), "status": "active"}))[0]
    assert res["status"] == "applied"
