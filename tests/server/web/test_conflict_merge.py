"""Sync push, the web conflicts page and the API all merge and resolve through
server/sync/merge.py (one module, one request schema, one API endpoint)."""
from __future__ import annotations

from webdata import Tablets

from server.models import FieldObservation
from server.sync import merge


def spy(monkeypatch, name):
    """Wrap ``merge.<name>`` and record each call's positional arguments."""
    calls, real = [], getattr(merge, name)

    def wrapper(*args, **kw):
        calls.append(args)
        return real(*args, **kw)

    monkeypatch.setattr(merge, name, wrapper)
    return calls


def test_push_merges_through_the_merge_module(client, rd, world, monkeypatch):
    tabs = Tablets(client, world, rd)
    merged = spy(monkeypatch, "merge")
    oid = "obs-" + tabs.uuid.uuid4().hex
    tabs.push(tabs.h1, oid, tabs.doc())
    tabs.push(tabs.h1, oid, tabs.doc(count=4), "update", 1)
    res = tabs.push(tabs.h2, oid, tabs.doc(bearing_deg=40.0), "update", 1)  # a stale edit of another field
    assert res["status"] == "applied" and res["merged_fields"] == ["bearing_deg"]
    assert len(merged) == 1 and merged[0][2]["data"]["bearing_deg"] == 40.0
    with world.session() as s:
        row = s.get(FieldObservation, oid)
        assert (row.count, row.bearing_deg) == (4, 40.0)


def test_web_page_and_api_resolve_through_the_merge_module(client, rd, world, signed_in, monkeypatch):
    tabs = Tablets(client, world, rd)
    resolved, merged = spy(monkeypatch, "resolve"), spy(monkeypatch, "merge")
    b = signed_in("bio")
    oid, cid = tabs.conflict()
    assert b.form(f"/conflicts/{cid}/resolve", {"resolution": "merge", "choice-count": "client"}).status_code == 302
    assert [c[2].id for c in resolved] == [cid] and len(merged) == 1
    oid2, cid2 = tabs.conflict()
    r = b.post(f"/api/v1/sync/conflicts/{cid2}/resolve", json={"resolution": "merge", "choices": {"count": "server"}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "resolved" and r.get_json()["resolution"] == "merge"
    assert [c[2].id for c in resolved] == [cid, cid2] and len(merged) == 2
    with world.session() as s:
        # the page chose the device's count, the API the server's; distance (server) and bearing (device) survive
        assert (s.get(FieldObservation, oid).count, s.get(FieldObservation, oid).bearing_deg) == (7, 40.0)
        assert (s.get(FieldObservation, oid2).count, s.get(FieldObservation, oid2).distance_m) == (4, 25.0)


def test_one_resolve_endpoint_one_schema(client, rd, world, signed_in):
    tabs = Tablets(client, world, rd)
    b = signed_in("bio")
    _oid, cid = tabs.conflict()
    # the old second endpoint is gone (no client used it)
    assert b.post(f"/api/v1/review/conflicts/{cid}/resolve", json={"resolution": "mine"}).status_code == 404
    doc = client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/sync/conflicts/{conflict_id}/resolve"]["post"]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    schema = doc["components"]["schemas"][ref]
    assert set(schema["properties"]) == {"resolution", "choices", "merged"}
    assert schema["additionalProperties"] is False
    # what the document offers, the server takes; what it does not, the server refuses with a clear 422
    r = b.post(f"/api/v1/sync/conflicts/{cid}/resolve", json={"resolution": "merge", "choices": {"count": "both"}})
    assert r.status_code == 422 and "choices.count" in r.get_data(as_text=True)
    r = b.post(f"/api/v1/sync/conflicts/{cid}/resolve", json={"resolution": "merge", "choices": {}})
    assert r.status_code == 422
    assert "choose the server or the device value for: count" in r.get_json()["error"]["message"]
    r = b.post(f"/api/v1/sync/conflicts/{cid}/resolve", json={"resolution": "theirs", "choices": {"count": "server"}})
    assert r.status_code == 422 and r.get_json()["error"]["message"] == "choices only go with resolution merge"
    r = b.post(f"/api/v1/sync/conflicts/{cid}/resolve", json={"resolution": "merge", "merged": {"protocol": "x"}})
    assert r.status_code == 422 and "not a valid document" in r.get_json()["error"]["message"]
    assert b.post(f"/api/v1/sync/conflicts/{cid}/resolve", json={"resolution": "theirs"}).status_code == 200
    assert b.post(f"/api/v1/sync/conflicts/{cid}/resolve", json={"resolution": "mine"}).status_code == 409


def test_merged_document_cannot_move_the_record_to_another_area(client, rd, world, signed_in):
    tabs = Tablets(client, world, rd)
    other = world.area("OTHER1", "Elsewhere")
    foreign = world.program(other.id, "Elsewhere", protocol="line-transect")
    b = signed_in("bio")
    oid, cid = tabs.conflict()
    moved = {**tabs.doc(count=5), "program_id": foreign.id}
    r = b.post(f"/api/v1/sync/conflicts/{cid}/resolve", json={"resolution": "merge", "merged": moved})
    assert r.status_code == 422 and "outside the conflict's protected area" in r.get_json()["error"]["message"]
    with world.session() as s:
        assert s.get(FieldObservation, oid).program_id == tabs.program.id
