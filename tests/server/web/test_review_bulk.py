"""Bulk actions on a grid selection (issue 12, item 2 and its bad input) and favourites (item 6):
every action is one audited review action undone in one step; a selection changed underneath is
reported, never overwritten; a crafted selection reaching another area is refused whole with
nothing written; thousands of items in one transaction; favourites filtered and downloaded as a
zip through the image policy; viewers' thumbnails blurred. SQLite and PostgreSQL."""
from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlmodel import select

from server.models import AuditLog, Detection, Media, Observation, Sequence, new_id, utcnow
from webdata import T0

LABEL_ACTIONS = {"species": "animal", "blank": "blank", "human": "human", "vehicle": "vehicle",
                 "unidentifiable": "unknown"}


def _tiles(b, **params) -> dict[str, dict]:
    q = "&".join(f"{k}={v}" for k, v in {"limit": 200, **params}.items())
    r = b.get("/api/v1/review/grid?" + q)
    assert r.status_code == 200, r.get_json()
    return {t["id"]: t for t in r.get_json()["items"]}


def _bulk(b, action, tiles, mode="media", **extra):
    items = [{"id": t["id"], "version": t["version"]} for t in tiles]
    return b.post("/api/v1/review/bulk", json={"mode": mode, "action": action, "items": items, **extra})


def _state(world) -> dict:
    """Everything a review action may change, comparable across an undo."""
    with world.session() as s:
        return {
            "obs": sorted((o.id, o.observation_type, o.observation_level, o.taxon_id, o.count, o.media_id,
                           o.sequence_id, o.classified_by) for o in s.exec(select(Observation))),
            "seq": sorted((q.id, q.review_status, q.reviewed_by, str(q.reviewed_at)) for q in s.exec(select(Sequence))),
            "det": sorted((d.id, d.dismissed, d.review_status, d.bbox_x, d.model) for d in s.exec(select(Detection))),
            "fav": sorted((m.id, m.favorite, m.favorite_by, str(m.favorite_at)) for m in s.exec(select(Media))),
        }


def _audit(world) -> list:
    with world.session() as s:
        return list(s.exec(select(AuditLog).order_by(AuditLog.id)))


@pytest.mark.parametrize("action", [*LABEL_ACTIONS, "delete_boxes", "favorite"])
def test_each_bulk_action_is_one_audited_action_and_one_undo(action, rd, signed_in, world):
    b = signed_in("bio")
    s0, s1 = rd.sequences[0], rd.sequences[1]
    # A box a person drew: deleting boxes removes it (machine boxes are dismissed).
    drawn = b.post(f"/api/v1/review/media/{rd.media[s0.id][0].id}/detections",
                   json={"bbox": [0.5, 0.5, 0.2, 0.2], "category": "animal"}).get_json()["detection"]["id"]
    before, n_audit = _state(world), len(_audit(world))
    tiles = _tiles(b, deployment_id=rd.deployment.id)
    chosen = [tiles[m.id] for sid in (s0.id, s1.id) for m in rd.media[sid]]
    extra = {"taxon_id": rd.taxa["muntjac"].id, "count": 3} if action == "species" else {}
    r = _bulk(b, action, chosen, **extra)
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert (out["applied"], out["media"], out["skipped"], out["skipped_count"]) == (4, 4, [], 0)
    ids = [t["id"] for t in chosen]
    with world.session() as s:
        if action in LABEL_ACTIONS:
            obs = s.exec(select(Observation).where(Observation.media_id.in_(ids))).all()
            assert sorted((o.media_id, o.observation_type, o.observation_level, o.classified_by) for o in obs) == \
                sorted((i, LABEL_ACTIONS[action], "media", "bio") for i in ids)
            if action == "species":
                assert {(o.taxon_id, o.count) for o in obs} == {(rd.taxa["muntjac"].id, 3)}
            # Every photo of both sequences labelled: the sequences are done.
            status = "blank" if action == "blank" else "reviewed"
            assert [(s.get(Sequence, q.id).review_status, s.get(Sequence, q.id).reviewed_by) for q in (s0, s1)] == \
                [(status, "bio")] * 2
        elif action == "delete_boxes":
            dets = s.exec(select(Detection).where(Detection.media_id.in_(ids))).all()
            assert dets and all(d.dismissed and d.review_status == "rejected" for d in dets)
            assert s.get(Detection, drawn) is None
        else:
            for i in ids:
                m = s.get(Media, i)
                assert (m.favorite, m.favorite_by) == (True, "bio") and m.favorite_at is not None
    new = _audit(world)[n_audit:]
    assert [(e.action, e.entity, e.entity_id, e.actor, e.area_id) for e in new] == \
        [("review", "review_action", out["action_id"], "bio", rd.area.id)]
    assert new[0].after["summary"]["action"] == action and new[0].after["summary"]["items"] == 4
    # The tiles show it, and one undo puts everything back.
    after = _tiles(b, deployment_id=rd.deployment.id)
    assert all(after[i]["version"] != tiles[i]["version"] for i in ids)
    r = b.post("/api/v1/review/undo")
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["kind"], r.get_json()["restored"], r.get_json()["not_restored"]) == ("bulk", 4, [])
    assert _state(world) == before
    assert {i: t["version"] for i, t in _tiles(b, deployment_id=rd.deployment.id).items()} == \
        {i: t["version"] for i, t in tiles.items()}
    assert _audit(world)[-1].action == "undo"


@pytest.mark.parametrize("action", ["species", "blank", "delete_boxes", "favorite"])
def test_sequence_mode_bulk_and_undo(action, rd, signed_in, world):
    b = signed_in("bio")
    s0, s3 = rd.sequences[0], rd.sequences[3]
    # s3 already has a person's label on one photo: a sequence blank replaces every label of a person.
    assert b.post(f"/api/v1/review/sequences/{s3.id}/label", json={"taxon_id": rd.taxa["saola"].id,
                                                                   "media_id": rd.media[s3.id][0].id}).status_code == 200
    before = _state(world)
    tiles = _tiles(b, mode="sequence", deployment_id=rd.deployment.id)
    extra = {"taxon_id": rd.taxa["saola"].id} if action == "species" else {}
    out = _bulk(b, action, [tiles[s0.id], tiles[s3.id]], mode="sequence", **extra).get_json()
    assert (out["applied"], out["media"], out["mode"]) == (2, 4, "sequence")
    with world.session() as s:
        if action in ("species", "blank"):
            for q in (s0, s3):
                assert s.get(Sequence, q.id).review_status == ("blank" if action == "blank" else "reviewed")
                obs = s.exec(select(Observation).where(Observation.sequence_id == q.id)).all()
                event = [(o.observation_type, o.observation_level) for o in obs if o.observation_level == "event"]
                assert event == [(LABEL_ACTIONS[action], "event")]
            media_labels = s.exec(select(Observation).where(Observation.sequence_id == s3.id,
                                                            Observation.observation_level == "media")).all()
            assert len(media_labels) == (0 if action == "blank" else 1)
        elif action == "delete_boxes":
            mids = [m.id for q in (s0, s3) for m in rd.media[q.id]]
            assert all(d.dismissed for d in s.exec(select(Detection).where(Detection.media_id.in_(mids))))
        else:
            assert all(s.get(Media, m.id).favorite for q in (s0, s3) for m in rd.media[q.id])
    assert _tiles(b, mode="sequence", deployment_id=rd.deployment.id)[s0.id]["favorite"] is (action == "favorite")
    assert b.post("/api/v1/review/undo").get_json()["restored"] == 2
    assert _state(world) == before


def test_a_selection_changed_underneath_is_reported_never_overwritten(rd, signed_in, world):
    bio, admin = signed_in("bio"), signed_in("admin")
    s0, s1 = rd.sequences[0], rd.sequences[1]
    tiles = _tiles(bio, deployment_id=rd.deployment.id)  # the page as bio loaded it
    chosen = [tiles[m.id] for sid in (s0.id, s1.id) for m in rd.media[sid]]
    # Meanwhile the administrator labels sequence s1 in the sequence view.
    assert admin.post(f"/api/v1/review/sequences/{s1.id}/label",
                      json={"taxon_id": rd.taxa["saola"].id}).status_code == 200
    out = _bulk(bio, "blank", chosen).get_json()
    assert (out["applied"], out["skipped_count"]) == (2, 2)
    assert sorted(x["id"] for x in out["skipped"]) == sorted(m.id for m in rd.media[s1.id])
    assert all("changed since the page was loaded" in x["reason"] and "admin" in x["reason"] for x in out["skipped"])
    with world.session() as s:
        assert (s.get(Sequence, s1.id).review_status, s.get(Sequence, s1.id).reviewed_by) == ("reviewed", "admin")
        assert s.exec(select(Observation).where(Observation.sequence_id == s1.id)).all()[0].classified_by == "admin"
        assert s.get(Sequence, s0.id).review_status == "blank"
    # Undo restores what nobody touched since and names the rest: the administrator favours one photo of s0.
    m0 = rd.media[s0.id][0].id
    fresh = _tiles(admin, deployment_id=rd.deployment.id)[m0]
    assert _bulk(admin, "favorite", [fresh]).status_code == 200
    r = bio.post("/api/v1/review/undo").get_json()
    assert (r["restored"], r["not_restored_count"]) == (1, 1)
    assert r["not_restored"][0]["id"] == m0 and "changed since" in r["not_restored"][0]["reason"]
    with world.session() as s:
        kept = s.exec(select(Observation).where(Observation.media_id == m0)).all()
        assert [(o.observation_type, o.classified_by) for o in kept] == [("blank", "bio")]  # not overwritten
        assert s.exec(select(Observation).where(Observation.media_id == rd.media[s0.id][1].id)).all() == []
        assert s.get(Media, m0).favorite is True


def test_crafted_selections_reaching_other_areas_are_refused_whole(rd, signed_in, world):
    bio = signed_in("bio")
    own = list(_tiles(bio, deployment_id=rd.deployment.id).values())[:2]
    foreign = _tiles(signed_in("admin"), deployment_id=rd.other_deployment.id)
    assert len(foreign) == 1
    before, n_audit = _state(world), len(_audit(world))
    crafted = own + list(foreign.values())
    for action in ("blank", "favorite", "delete_boxes"):
        r = _bulk(bio, action, crafted)
        assert r.status_code == 404, r.get_json()
        assert "no media with id" in r.get_json()["error"]["message"]
    seq_items = [{"id": rd.sequences[0].id, "version": "x"}, {"id": rd.other_sequence.id, "version": "x"}]
    r = bio.post("/api/v1/review/bulk", json={"mode": "sequence", "action": "blank", "items": seq_items})
    assert r.status_code == 404
    # Someone of the other area reaching in: 404 (ids of other areas never leak); too low a role: 403.
    assert _bulk(signed_in("outsider"), "blank", own).status_code == 404
    for user in ("viewer", "ranger"):
        r = _bulk(signed_in(user), "blank", own)
        assert r.status_code == 403 and "biologist" in r.get_json()["error"]["message"]
    missing = [{"id": new_id(), "version": "abc"}]
    assert bio.post("/api/v1/review/bulk", json={"action": "blank", "items": missing}).status_code == 404
    assert _state(world) == before and len(_audit(world)) == n_audit  # nothing written
    # An administrator's selection across two areas: one area per action (422), nothing written either.
    r = _bulk(signed_in("admin"), "blank", [*_tiles(signed_in("admin"), deployment_id=rd.deployment.id).values(),
                                           *foreign.values()])
    assert r.status_code == 422 and "one protected area" in r.get_json()["error"]["message"]
    assert _state(world) == before


def test_bulk_refuses_bad_input(rd, signed_in):
    b = signed_in("bio")
    tile = list(_tiles(b, deployment_id=rd.deployment.id).values())[0]
    item = [{"id": tile["id"], "version": tile["version"]}]
    for body, field in (({"action": "species", "items": item}, "taxon_id"),
                        ({"action": "species", "items": item, "taxon_id": new_id()}, "taxon_id"),
                        ({"action": "blank", "items": item, "count": 2}, "count"),
                        ({"action": "blank", "items": item, "taxon_id": rd.taxa["saola"].id}, "taxon_id"),
                        ({"action": "blank", "items": []}, "items"),
                        ({"action": "paint", "items": item}, "action"),
                        ({"action": "blank", "items": item, "mode": "frames"}, "mode"),
                        ({"action": "human", "items": item, "count": 0}, "count")):
        r = b.post("/api/v1/review/bulk", json=body)
        assert r.status_code == 422, (body, r.get_json())
        assert any(d["field"].startswith(field) for d in r.get_json()["error"]["details"]), (body, r.get_json())
    many = [{"id": new_id(), "version": "v"} for _ in range(10_001)]
    assert b.post("/api/v1/review/bulk", json={"action": "blank", "items": many}).status_code == 422


def test_thousands_of_media_in_one_transaction_and_one_undo(app, rd, signed_in, world):
    """1,200 photos labelled by one request: one audit entry, one undo."""
    b = signed_in("bio")
    now = utcnow()
    rows, seqs = [], []
    for i in range(300):
        sid = new_id()
        start = T0 + timedelta(days=3, minutes=i)
        seqs.append({"id": sid, "deployment_id": rd.deployment.id, "event_start": start, "event_end": start,
                     "media_count": 4, "review_status": "unreviewed"})
        for j in range(4):
            rows.append({"id": new_id(), "sha256": new_id().replace("-", "") + f"{i:04d}{j}", "kind": "image",
                         "deployment_id": rd.deployment.id, "sequence_id": sid, "file_name": f"B{i:04d}{j}.JPG",
                         "media_type": "image/jpeg", "size_bytes": 1, "storage_key": "x",
                         "captured_at": start + timedelta(seconds=j), "timestamp_source": "exif", "flags": [],
                         "meta": {}, "has_derivatives": False, "contains_person": False, "favorite": False,
                         "created_at": now})
    with world.session() as s:
        s.connection().execute(insert(Sequence.__table__), seqs)
        s.connection().execute(insert(Media.__table__), rows)
    tiles, cursor = [], None
    while True:
        q = f"/api/v1/review/grid?deployment_id={rd.deployment.id}&limit=200&date_from=2026-03-04T00:00:00Z"
        page = b.get(q + (f"&after={cursor}" if cursor else "")).get_json()
        tiles += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(tiles) == 1200
    n_audit = len(_audit(world))
    out = _bulk(b, "species", tiles, taxon_id=rd.taxa["saola"].id).get_json()
    assert (out["applied"], out["skipped_count"]) == (1200, 0)
    assert len(_audit(world)) == n_audit + 1
    with world.session() as s:
        sids = [q["id"] for q in seqs]
        assert {s.get(Sequence, x).review_status for x in sids} == {"reviewed"}
        assert len(s.exec(select(Observation).where(Observation.sequence_id.in_(sids))).all()) == 1200
    assert b.post("/api/v1/review/undo").get_json()["restored"] == 1200
    with world.session() as s:
        assert {s.get(Sequence, x).review_status for x in sids} == {"unreviewed"}
        assert s.exec(select(Observation).where(Observation.sequence_id.in_(sids))).all() == []


def test_favourites_are_audited_filtered_and_downloaded_through_the_policy(app, rd, signed_in, world):
    from server.storage import get_store

    bio = signed_in("bio")
    s0, s2 = rd.sequences[0], rd.sequences[2]  # s2 shows a person (box 0.9)
    tiles = _tiles(bio, deployment_id=rd.deployment.id)
    favs = [tiles[m.id] for sid in (s0.id, s2.id) for m in rd.media[sid]]
    out = _bulk(bio, "favorite", favs).get_json()
    entry = _audit(world)[-1]
    assert (entry.actor, entry.after["summary"]["action"], entry.after["summary"]["items"]) == ("bio", "favorite", 4)
    assert [t["id"] for t in _tiles(bio, program_id=rd.program.id, favorite="true").values()] == [t["id"] for t in favs]
    listed = _tiles(bio, program_id=rd.program.id, favorite="true")
    assert {t["favorite_by"] for t in listed.values()} == {"bio"} and all(t["favorite_at"] for t in listed.values())
    # The zip: biologists get the originals, viewers copies with the person blurred and no metadata.
    store = get_store(app)
    originals = {}
    with world.session() as s:
        for t in favs:
            m = s.get(Media, t["id"])
            originals[m.file_name] = store.path(m.storage_key).read_bytes()
    for user, same in (("bio", True), ("viewer", False)):
        r = signed_in(user).get(f"/api/v1/review/grid/download.zip?program_id={rd.program.id}&favorite=true")
        assert r.status_code == 200 and r.mimetype == "application/zip", r.get_data(as_text=True)[:300]
        z = zipfile.ZipFile(io.BytesIO(r.data))
        names = sorted(n.split("_", 1)[1] for n in z.namelist())
        assert names == sorted(originals), (user, z.namelist())
        for n in z.namelist():
            assert (z.read(n) == originals[n.split("_", 1)[1]]) is same, (user, n)
    # Unfavoured again (audited the same way); the favourites filter is empty.
    fresh = _tiles(bio, program_id=rd.program.id, favorite="true")
    assert _bulk(bio, "unfavorite", list(fresh.values())).get_json()["applied"] == 4
    assert _tiles(bio, program_id=rd.program.id, favorite="true") == {}
    with world.session() as s:
        assert all(s.get(Media, t["id"]).favorite_by is None for t in favs)
    assert out["action"] == "favorite"


def test_zip_of_more_than_500_photos_is_refused(rd, signed_in, world):
    now = utcnow()
    rows = [{"id": new_id(), "sha256": f"{i:064d}", "kind": "image", "deployment_id": rd.deployment.id,
             "sequence_id": None, "file_name": f"F{i}.JPG", "media_type": "image/jpeg", "size_bytes": 1,
             "storage_key": "x", "captured_at": T0 + timedelta(seconds=i), "timestamp_source": "exif", "flags": [],
             "meta": {}, "has_derivatives": False, "contains_person": False, "favorite": True, "created_at": now}
            for i in range(501)]
    with world.session() as s:
        s.connection().execute(insert(Media.__table__), rows)
    r = signed_in("bio").get(f"/api/v1/review/grid/download.zip?deployment_id={rd.deployment.id}&favorite=true")
    assert r.status_code == 422 and "more than 500" in r.get_json()["error"]["message"]


def test_viewers_get_blurred_thumbnails_and_a_read_only_grid(rd, signed_in):
    viewer, bio = signed_in("viewer"), signed_in("bio")
    person = rd.media[rd.sequences[2].id][0].id
    vt = _tiles(viewer, deployment_id=rd.deployment.id)
    page = viewer.get(f"/api/v1/review/grid?deployment_id={rd.deployment.id}").get_json()
    assert page["can_edit"] is False
    clear = bio.get(_tiles(bio, deployment_id=rd.deployment.id)[person]["thumb"])
    blurred = viewer.get(vt[person]["thumb"])
    assert clear.status_code == blurred.status_code == 200
    assert blurred.data != clear.data and blurred.headers["Cache-Control"] == "private, no-store"
    other = rd.media[rd.sequences[0].id][0].id  # nobody in it: the same picture
    assert viewer.get(vt[other]["thumb"]).data == bio.get(vt[other]["thumb"]).data
    assert _bulk(viewer, "favorite", [vt[other]]).status_code == 403
