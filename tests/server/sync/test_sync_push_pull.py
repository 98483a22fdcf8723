"""Push and pull: applied, duplicate, conflict, rejected; merges; tombstones; cursors."""
import uuid

from sqlmodel import select

from server.models import AuditLog, FieldObservation, SurveyWalk, SyncConflict


def test_walk_and_observation_are_applied_and_pulled(field, world):
    h = field.device(field.ranger, "tab-1")
    walk_id, obs_id = str(uuid.uuid4()), str(uuid.uuid4())
    res = field.push(h, field.mutation("walk", walk_id, field.walk_doc()),
                     field.mutation("observation", obs_id, field.obs_doc(walk_id)))
    assert [r["status"] for r in res] == ["applied", "applied"]
    assert res[1]["revision"] == 1 and res[1]["seq"] > res[0]["seq"]
    with world.session() as s:
        o = s.get(FieldObservation, obs_id)
        assert o.walk_id == walk_id and o.count == 3 and o.taxon_id is not None
        assert o.device_id == "tab-1" and o.latitude == 17.5
        w = s.get(SurveyWalk, walk_id)
        assert w.observers == ["Lan"] and w.weather == "clear"
        assert s.exec(select(AuditLog).where(AuditLog.entity_id == obs_id)).first().actor == "lan (device tab-1)"
    r = field.pull(h)
    assert r.status_code == 200
    body = r.json
    assert body["protocol_version"] == "1.0" and not body["has_more"]
    assert [c["record_id"] for c in body["changes"]] == [walk_id, obs_id]
    assert body["next_since"] == res[1]["seq"]
    assert field.pull(h, since=body["next_since"]).json["changes"] == []


def test_retry_after_lost_response_is_duplicate_with_same_answer(field, world):
    h = field.device(field.ranger, "tab-1")
    m = field.mutation("observation", str(uuid.uuid4()), field.obs_doc())
    first = field.push(h, m)[0]
    again = field.push(h, m)[0]
    assert first["status"] == "applied" and again["status"] == "duplicate"
    assert again["revision"] == first["revision"] and again["seq"] == first["seq"]
    with world.session() as s:
        assert len(s.exec(select(FieldObservation)).all()) == 1


def test_rejected_with_protocol_errors_in_both_languages(field):
    h = field.device(field.ranger, "tab-1")
    bad = field.obs_doc(count=-2)
    del bad["data"]["sign_type"]
    res = field.push(h, field.mutation("observation", str(uuid.uuid4()), bad))[0]
    assert res["status"] == "rejected"
    fields = {e["field"] for e in res["errors"]}
    assert {"count", "sign_type"} <= fields
    assert all(e["vi"] and e["en"] for e in res["errors"])


def test_unknown_species_and_malformed_mutations_are_rejected(field):
    h = field.device(field.ranger, "tab-1")
    res = field.push(h, field.mutation("observation", str(uuid.uuid4()), field.obs_doc(taxon="Felis imaginaria")),
                     {"mutation_id": "short"}, "not an object",
                     field.mutation("spaceship", str(uuid.uuid4()), field.obs_doc()))
    assert [r["status"] for r in res] == ["rejected"] * 4
    assert "unknown species 'Felis imaginaria'" in res[0]["message"]
    assert res[0]["errors"] == [{"field": "taxon", "en": "unknown species 'Felis imaginaria'",
                                 "vi": "loài không có trong danh lục: 'Felis imaginaria'"}]
    assert "mutation_id" in res[1]["message"] and "entity" in res[3]["message"]


def test_a_device_only_syncs_its_rangers_areas(field, world):
    other = world.area("CT", "Cat Tien")
    prog = world.program(other.id, "T")
    h = field.device(field.ranger, "tab-1")
    doc = field.obs_doc()
    doc["program_id"] = prog.id
    res = field.push(h, field.mutation("observation", str(uuid.uuid4()), doc))[0]
    assert res["status"] == "rejected" and "not a member" in res["errors"][0]["en"]
    viewer = world.user("v", roles={field.area.id: "viewer"})
    hv = field.device(viewer, "tab-v")
    assert field.push(hv, field.mutation("observation", str(uuid.uuid4()), field.obs_doc()))[0]["status"] == "rejected"
    # and pull shows nothing of other areas
    mgr = world.user("boss", roles={other.id: "manager"})
    field.push(h, field.mutation("observation", str(uuid.uuid4()), field.obs_doc()))
    assert field.pull(field.device(mgr, "tab-m")).json["changes"] == []


def test_two_devices_edit_one_record_conflict_keeps_both(field, world):
    h1, h2 = field.device(field.ranger, "tab-1"), field.device(field.ranger2, "tab-2")
    oid = str(uuid.uuid4())
    assert field.push(h1, field.mutation("observation", oid, field.obs_doc()))[0]["revision"] == 1
    a = field.push(h1, field.mutation("observation", oid, field.obs_doc(count=4), op="update", base=1))[0]
    assert a["status"] == "applied" and a["revision"] == 2
    b = field.push(h2, field.mutation("observation", oid, field.obs_doc(count=7), op="update", base=1))[0]
    assert b["status"] == "conflict" and b["conflict_id"]
    with world.session() as s:
        assert s.get(FieldObservation, oid).count == 4  # the stale edit did not overwrite
        c = s.get(SyncConflict, b["conflict_id"])
        assert c.server_version["data"]["count"] == 4 and c.client_version["data"]["count"] == 7
        assert c.fields == ["count"] and c.client_user == "minh" and c.server_user == "lan"
        assert c.client_device == "tab-2"


def test_non_overlapping_changes_merge(field, world):
    h1, h2 = field.device(field.ranger, "tab-1"), field.device(field.ranger2, "tab-2")
    oid = str(uuid.uuid4())
    field.push(h1, field.mutation("observation", oid, field.obs_doc()))
    field.push(h1, field.mutation("observation", oid, field.obs_doc(count=4), op="update", base=1))
    b = field.push(h2, field.mutation("observation", oid, field.obs_doc(note="douc family near stream"),
                                      op="update", base=1))[0]
    assert b["status"] == "applied" and b["merged_fields"] == ["note"] and b["revision"] == 3
    with world.session() as s:
        o = s.get(FieldObservation, oid)
        assert o.count == 4 and o.note == "douc family near stream"


def test_own_successive_edits_are_not_conflicts(field, world):
    """An edit made before the device learnt the create's revision carries base 0: not a conflict."""
    h = field.device(field.ranger, "tab-1")
    oid = str(uuid.uuid4())
    res = field.push(h, field.mutation("observation", oid, field.obs_doc()),
                     field.mutation("observation", oid, field.obs_doc(count=9), op="update", base=0))
    assert [r["status"] for r in res] == ["applied", "applied"] and res[1]["revision"] == 2
    with world.session() as s:
        assert s.get(FieldObservation, oid).count == 9


def test_delete_leaves_a_tombstone(field, world):
    h = field.device(field.ranger, "tab-1")
    oid = str(uuid.uuid4())
    field.push(h, field.mutation("observation", oid, field.obs_doc()))
    res = field.push(h, {**field.mutation("observation", oid, None, op="delete", base=1)})[0]
    assert res["status"] == "applied" and res["revision"] == 2
    changes = field.pull(h).json["changes"]
    assert changes[-1]["op"] == "delete" and changes[-1]["data"] is None
    with world.session() as s:
        assert s.get(FieldObservation, oid).deleted is True


def test_pull_pages_and_horizon(field, world):
    from server.sync.service import compact

    h = field.device(field.ranger, "tab-1")
    ids = [str(uuid.uuid4()) for _ in range(5)]
    field.push(h, *[field.mutation("observation", i, field.obs_doc()) for i in ids])
    field.push(h, field.mutation("observation", ids[0], None, op="delete", base=1))
    p1 = field.pull(h, limit=2).json
    assert len(p1["changes"]) == 2 and p1["has_more"]
    p2 = field.pull(h, since=p1["next_since"], limit=10).json
    assert not p2["has_more"] and len(p2["changes"]) == 4
    with world.session() as s:
        compact(s, p2["next_since"])
    r = field.pull(h, since=p1["next_since"])
    assert r.status_code == 410 and r.json["error"]["code"] == "resync_required"
    full = field.pull(h, since=0).json["changes"]
    # a full resync returns every live record once; the deleted one's tombstone is gone
    assert sorted(c["record_id"] for c in full) == sorted(ids[1:])


def test_push_limits_and_version(field, client):
    h = field.device(field.ranger, "tab-1")
    r = client.post("/api/v1/sync/push", headers=h, json={"protocol_version": "2.0", "mutations": []})
    assert r.status_code == 400 and r.json["error"]["code"] == "protocol_version"
    r = client.post("/api/v1/sync/push", headers=h, json={"mutations": [{}] * 501})
    assert r.status_code == 413
    r = client.post("/api/v1/sync/push", headers=h, data="<html>", content_type="application/json")
    assert r.status_code == 400
    assert client.post("/api/v1/sync/push", json={"mutations": []}).status_code == 401


def test_conflict_resolution_mine_theirs_merge(field, world, client):
    h1, h2 = field.device(field.ranger, "tab-1"), field.device(field.ranger2, "tab-2")
    bio = world.user("bio", roles={field.area.id: "biologist"})
    hb = world.headers(bio)
    oid = str(uuid.uuid4())
    field.push(h1, field.mutation("observation", oid, field.obs_doc()))
    field.push(h1, field.mutation("observation", oid, field.obs_doc(count=4), op="update", base=1))
    c1 = field.push(h2, field.mutation("observation", oid, field.obs_doc(count=7), op="update", base=1))[0]
    lst = client.get(f"/api/v1/sync/conflicts?area_id={field.area.id}", headers=hb).json
    assert [c["id"] for c in lst] == [c1["conflict_id"]]
    # rangers cannot resolve
    assert client.post(f"/api/v1/sync/conflicts/{c1['conflict_id']}/resolve", headers=h1,
                       json={"resolution": "mine"}).status_code == 403
    r = client.post(f"/api/v1/sync/conflicts/{c1['conflict_id']}/resolve", headers=hb, json={"resolution": "mine"})
    assert r.status_code == 200 and r.json["status"] == "resolved" and r.json["resolved_by"] == "bio"
    with world.session() as s:
        assert s.get(FieldObservation, oid).count == 7
    changes = field.pull(h1).json["changes"]
    assert changes[-1]["record_id"] == oid and changes[-1]["data"]["data"]["count"] == 7
    again = client.post(f"/api/v1/sync/conflicts/{c1['conflict_id']}/resolve", headers=hb, json={"resolution": "theirs"})
    assert again.status_code == 409
    # merge with a chosen document
    c2 = field.push(h2, field.mutation("observation", oid, field.obs_doc(count=1), op="update", base=2))[0]
    assert c2["status"] == "conflict"
    merged = field.obs_doc(count=5, note="agreed")
    r = client.post(f"/api/v1/sync/conflicts/{c2['conflict_id']}/resolve", headers=hb,
                    json={"resolution": "merge", "merged": merged})
    assert r.status_code == 200
    with world.session() as s:
        o = s.get(FieldObservation, oid)
        assert o.count == 5 and o.note == "agreed"


def test_sync_cli_status_and_compact(field, runner, world):
    import uuid as _uuid
    from datetime import timedelta

    from server.models import SyncChange, utcnow

    h = field.device(field.ranger, "tab-1")
    oid = str(_uuid.uuid4())
    field.push(h, field.mutation("observation", oid, field.obs_doc()))
    field.push(h, field.mutation("observation", oid, field.obs_doc(count=5), op="update", base=1))
    with world.session() as s:
        for ch in s.exec(select(SyncChange)):
            ch.at = utcnow() - timedelta(days=200)
            s.add(ch)
    out = runner.invoke(["sync", "status"]).output
    assert "changes 2" in out and "open conflicts 0" in out
    out = runner.invoke(["sync", "compact", "--days", "90"]).output
    assert "removed 1 changes" in out
    assert field.pull(h, since=1).status_code == 410
    assert [c["revision"] for c in field.pull(h, since=0).json["changes"]] == [2]


def test_camera_forms_from_the_tablet_become_a_deployment_with_effort(field, world):
    from server.models import Deployment, Location, OperatingInterval

    cam = world.program(field.area.id, "Camera traps", protocol="camera-trap")
    h = field.device(field.ranger, "tab-1")
    dep_id, svc_id, ret_id = (str(uuid.uuid4()) for _ in range(3))

    def doc(record_type, rec):
        return {"protocol": "camera_trap@1.0", "record_type": record_type, "program_id": cam.id,
                "recorded_at": "2026-03-01T00:00:00Z", "deployment_id": dep_id, "data": rec}

    setup = doc("deployment", {"station_id": "S07", "camera_serial": "H2-555", "sd_card": "SD-1",
                               "start_time": "2026-03-01T08:00:00+07:00", "location": {"lat": 17.6, "lon": 106.3},
                               "height_m": 0.5, "heading_deg": 45, "bait": False})
    service = doc("service", {"deployment_id": dep_id, "visit_time": "2026-03-20T09:00:00+07:00",
                              "camera_working": False, "malfunction": "battery_empty",
                              "last_image_time": "2026-03-12T18:00:00+07:00"})
    retrieval = doc("retrieval", {"deployment_id": dep_id, "end_time": "2026-04-01T10:00:00+07:00",
                                  "camera_working": True})
    res = field.push(h, field.mutation("deployment", dep_id, setup), field.mutation("deployment", svc_id, service),
                     field.mutation("deployment", ret_id, retrieval))
    assert [r["status"] for r in res] == ["applied"] * 3, res
    with world.session() as s:
        dep = s.get(Deployment, dep_id)
        assert dep.camera_id == "H2-555" and dep.camera_height == 0.5 and dep.camera_heading == 45
        assert s.get(Location, dep.location_id).name == "S07"
        assert dep.deployment_start.isoformat() == "2026-03-01T01:00:00+00:00"
        assert dep.deployment_end.isoformat() == "2026-04-01T03:00:00+00:00"
        gaps = s.exec(select(OperatingInterval).where(OperatingInterval.deployment_id == dep_id)).all()
        # broken from the last image (12 March 18:00) until the visit found it (20 March 09:00)
        assert [(g.start.isoformat(), g.end.isoformat(), g.status) for g in gaps] == [
            ("2026-03-12T11:00:00+00:00", "2026-03-20T02:00:00+00:00", "malfunction")]
        assert gaps[0].reason.startswith("[field] battery_empty")
    # correcting the visit (the camera was in fact working) removes the malfunction
    fixed = dict(service, data={**service["data"], "camera_working": True})
    del fixed["data"]["malfunction"], fixed["data"]["last_image_time"]
    assert field.push(h, field.mutation("deployment", svc_id, fixed, op="update", base=1))[0]["status"] == "applied"
    with world.session() as s:
        assert s.exec(select(OperatingInterval).where(OperatingInterval.deployment_id == dep_id)).all() == []


def test_mutation_ids_are_answered_per_user(field, world):
    """Another user (here of another area) replaying a mutation id gets their own answer, never the first
    user's stored one; the first user's retry is still a duplicate."""
    other = world.area("CT", "Cat Tien")
    prog = world.program(other.id, "Transects CT", protocol="line-transect")
    stranger = world.user("trang", roles={other.id: "ranger"})
    mid = str(uuid.uuid4())
    h = field.device(field.ranger, "tab-1")
    mine = field.push(h, field.mutation("observation", str(uuid.uuid4()), field.obs_doc(), mid=mid))[0]
    assert mine["status"] == "applied"
    doc = field.obs_doc()
    doc["program_id"] = prog.id
    theirs_id = str(uuid.uuid4())
    theirs = field.push(field.device(stranger, "tab-9"), field.mutation("observation", theirs_id, doc, mid=mid))[0]
    assert theirs["status"] == "applied" and theirs["record_id"] == theirs_id
    assert theirs["seq"] != mine["seq"]
    again = field.push(h, field.mutation("observation", str(uuid.uuid4()), field.obs_doc(), mid=mid))[0]
    assert again["status"] == "duplicate" and again["record_id"] == mine["record_id"]
    with world.session() as s:
        assert s.get(FieldObservation, theirs_id).program_id == prog.id
