"""The one conflict-merge module (server/sync/merge.py): every case of the field-level
three-way merge, and the checks of a resolution request."""
import pytest

from server.errors import ValidationError
from server.models import SyncConflict
from server.sync import merge


def doc(program="P1", **fields):
    return {"protocol": "line_transect@1.0", "record_type": "observation", "program_id": program, "data": fields}


BASE = doc(count=3, distance_m=20.0, bearing_deg=30.0, note="old")


def test_flatten_marks_envelope_keys_and_round_trips():
    flat = merge.flatten(BASE)
    assert flat["@program_id"] == "P1" and flat["count"] == 3 and "data" not in flat and "@data" not in flat
    assert merge.unflatten(flat) == BASE
    assert merge.flatten(None) == {} and merge.flatten({}) == {}


@pytest.mark.parametrize("server, client, expected, client_changed, server_changed, overlap", [
    # nobody changed anything
    (BASE, BASE, BASE, [], [], []),
    # only the device changed a field: the device's value
    (BASE, doc(count=7, distance_m=20.0, bearing_deg=30.0, note="old"),
     doc(count=7, distance_m=20.0, bearing_deg=30.0, note="old"), ["count"], [], []),
    # only the server changed a field: the server's value stays
    (doc(count=4, distance_m=20.0, bearing_deg=30.0, note="old"), BASE,
     doc(count=4, distance_m=20.0, bearing_deg=30.0, note="old"), [], ["count"], []),
    # each side changed a different field: both changes survive
    (doc(count=4, distance_m=25.0, bearing_deg=30.0, note="old"), doc(count=3, distance_m=20.0, bearing_deg=40.0,
                                                                      note="old"),
     doc(count=4, distance_m=25.0, bearing_deg=40.0, note="old"), ["bearing_deg"], ["count", "distance_m"], []),
    # both changed a field to the same value: no overlap
    (doc(count=5, distance_m=20.0, bearing_deg=30.0, note="old"), doc(count=5, distance_m=20.0, bearing_deg=30.0,
                                                                      note="old"),
     doc(count=5, distance_m=20.0, bearing_deg=30.0, note="old"), ["count"], ["count"], []),
    # both changed a field to different values: overlap (the device's value in the automatic merge is
    # never used: push makes a conflict instead)
    (doc(count=4, distance_m=20.0, bearing_deg=30.0, note="old"), doc(count=7, distance_m=20.0, bearing_deg=30.0,
                                                                      note="old"),
     doc(count=7, distance_m=20.0, bearing_deg=30.0, note="old"), ["count"], ["count"], ["count"]),
    # the device added a field and removed another
    (BASE, doc(count=3, distance_m=20.0, bearing_deg=30.0, sex="female"),
     doc(count=3, distance_m=20.0, bearing_deg=30.0, sex="female"), ["note", "sex"], [], []),
    # the server removed a field the device left alone: it stays removed
    (doc(count=3, distance_m=20.0, bearing_deg=30.0), BASE,
     doc(count=3, distance_m=20.0, bearing_deg=30.0), [], ["note"], []),
    # the server removed a field the device changed: overlap
    (doc(count=3, distance_m=20.0, bearing_deg=30.0), doc(count=3, distance_m=20.0, bearing_deg=30.0, note="new"),
     doc(count=3, distance_m=20.0, bearing_deg=30.0, note="new"), ["note"], ["note"], ["note"]),
    # envelope keys merge like record fields
    (doc("P2", count=3, distance_m=20.0, bearing_deg=30.0, note="old"),
     doc("P1", count=9, distance_m=20.0, bearing_deg=30.0, note="old"),
     doc("P2", count=9, distance_m=20.0, bearing_deg=30.0, note="old"), ["count"], ["@program_id"], []),
])
def test_three_way_merge_cases(server, client, expected, client_changed, server_changed, overlap):
    cmp = merge.compare(BASE, server, client)
    assert (cmp.client_changed, cmp.server_changed, cmp.overlap) == (client_changed, server_changed, overlap)
    assert merge.merge(BASE, server, client) == expected


def test_no_base_counts_every_differing_field_as_changed():
    cmp = merge.compare({}, doc(count=4), doc(count=7))
    assert cmp.overlap == ["count"] and "@program_id" in cmp.client_changed
    assert merge.compare(None, doc(count=4), doc(count=4)).overlap == []


def test_choices_decide_overlapping_fields():
    server = doc(count=4, distance_m=25.0, bearing_deg=30.0, note="srv")
    client = doc(count=7, distance_m=20.0, bearing_deg=40.0, note="cli")
    out = merge.merge(BASE, server, client, {"count": "server", "note": "client"})
    assert out["data"] == {"count": 4, "distance_m": 25.0, "bearing_deg": 40.0, "note": "cli"}
    out = merge.merge(BASE, server, client, {"count": "client", "note": "server"})
    assert out["data"] == {"count": 7, "distance_m": 25.0, "bearing_deg": 40.0, "note": "srv"}
    # a chosen side without the field removes it
    out = merge.merge(BASE, doc(count=4, distance_m=20.0, bearing_deg=30.0), client, {"note": "server"})
    assert "note" not in out["data"]
    out = merge.merge(BASE, server, doc(count=7, distance_m=20.0, bearing_deg=30.0), {"note": "client"})
    assert "note" not in out["data"]


def _conflict(**kw):
    values = {"area_id": "A", "entity": "observation", "record_id": "rec-00001", "base_revision": 0,
              "server_revision": 2, "server_version": doc(count=4), "client_version": doc(count=7),
              "fields": ["count"], **kw}
    return SyncConflict(**values)


@pytest.mark.parametrize("resolution, choices, merged, message", [
    ("keep", None, None, "resolution must be one of mine, theirs, merge"),
    ("mine", {"count": "client"}, None, "choices only go with resolution merge"),
    ("theirs", None, doc(count=1), "merged only go with resolution merge"),
    ("merge", {"count": "client"}, doc(count=1), "either choices"),
    ("merge", None, None, "choose the server or the device value for: count"),
    ("merge", {}, None, "choose the server or the device value for: count"),
    ("merge", {"count": "client", "note": "server"}, None, "not in conflict: note"),
    ("merge", {"count": "both"}, None, "must be server or client"),
])
def test_bad_resolution_requests_are_422(resolution, choices, merged, message):
    with pytest.raises(ValidationError) as e:
        merge.resolution_document(None, _conflict(), resolution, choices, merged)
    assert message in e.value.message and e.value.status == 422


def test_resolution_documents():
    c = _conflict()
    assert merge.resolution_document(None, c, "theirs") is None
    assert merge.resolution_document(None, c, "mine") == doc(count=7)
    assert merge.resolution_document(None, c, "merge", {"count": "server"}) == doc(count=4)
    assert merge.resolution_document(None, c, "merge", merged=doc(count=5)) == doc(count=5)
    deleted = _conflict(client_version=merge.DELETED, fields=["count"])
    assert merge.resolution_document(None, deleted, "mine") == merge.DELETED
    with pytest.raises(ValidationError, match="deleted record cannot be merged"):
        merge.resolution_document(None, deleted, "merge", {"count": "server"})
