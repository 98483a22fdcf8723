"""The review queue JSON API: queue order and filters, labels, blank, apply to
sequence, boxes, undo, audit and permissions (SQLite and PostgreSQL)."""
from __future__ import annotations

from sqlmodel import select

from server.models import AuditLog, Detection, Observation, Sequence


def _next(b, after=None, **filters):
    q = "&".join(f"{k}={v}" for k, v in {**filters, **({"after": after} if after else {})}.items())
    r = b.get("/api/v1/review/next?" + q)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["item"]


def _db(world):
    return world.session()


def _walk(b, **filters):
    ids, item = [], _next(b, **filters)
    while item and item["sequence"]["id"] not in ids:
        ids.append(item["sequence"]["id"])
        item = _next(b, after=ids[-1], **filters)
    return ids


def test_queue_holds_every_sequence_in_time_order_but_not_other_areas(rd, signed_in):
    b = signed_in("bio")
    s0, s1, s2, s3 = (s.id for s in rd.sequences)
    # The sequence without detections is reviewable too, in its place in time.
    assert _walk(b) == [s0, rd.empty_sequence.id, s1, s2, s3]
    assert rd.other_sequence.id not in _walk(b)
    first = _next(b)
    assert len(first["media"]) == 2 and first["media"][0]["url"].endswith("/review.jpg")
    assert first["suggestion"]["taxon"]["scientific_name"] == "Pseudoryx nghetinhensis"
    assert first["can_edit"] is True
    prev = b.get(f"/api/v1/review/next?after={rd.sequences[1].id}&direction=previous").get_json()["item"]
    assert prev["sequence"]["id"] == rd.empty_sequence.id


def test_queue_filters(rd, signed_in):
    b = signed_in("bio")
    s0, s1, s2, s3 = (s.id for s in rd.sequences)
    assert _next(b, min_confidence=0.5, after=s0)["sequence"]["id"] == s2
    assert _next(b, max_confidence=0.2)["sequence"]["id"] == s3
    assert _next(b, contains_person="true")["sequence"]["id"] == s2
    assert _next(b, contains_person="false", after=s1)["sequence"]["id"] == s3
    assert _next(b, taxon_id=rd.taxa["muntjac"].id)["sequence"]["id"] == s3
    assert _next(b, date_from="2026-03-01T08:30:00%2B00:00")["sequence"]["id"] == s3
    assert _next(b, deployment_id=rd.deployment.id)["sequence"]["id"] == s0
    assert _next(b, review_status="reviewed") is None
    assert _next(b, after=s0)["sequence"]["id"] == rd.empty_sequence.id
    r = b.get("/api/v1/review/next?min_confidence=2")
    assert r.status_code == 422 and "min_confidence" in r.get_json()["error"]["message"]
    # Filtering by another area's deployment must not reveal it.
    assert b.get(f"/api/v1/review/next?deployment_id={rd.other_deployment.id}").status_code == 404
    prog = b.get("/api/v1/review/progress").get_json()
    assert prog == {"unreviewed": 5, "reviewed": 0, "blank": 0, "total": 5, "done": 0, "detector_ran": True}
    r = b.get("/api/v1/review/next?order=random")
    assert r.status_code == 422 and "order" in r.get_json()["error"]["message"]


def test_detections_first_order_puts_sequences_without_boxes_last_and_hides_none(rd, signed_in):
    b = signed_in("bio")
    s0, s1, s2, s3 = (s.id for s in rd.sequences)
    empty = rd.empty_sequence.id
    assert _walk(b, order="detections_first") == [s0, s1, s2, s3, empty]
    # Stepping on from the last boxed sequence reaches the one without boxes, then wraps.
    assert _next(b, after=s3, order="detections_first")["sequence"]["id"] == empty
    assert _next(b, after=empty, order="detections_first")["sequence"]["id"] == s0
    prev = b.get(f"/api/v1/review/next?after={empty}&direction=previous&order=detections_first").get_json()
    assert prev["item"]["sequence"]["id"] == s3
    prev = b.get(f"/api/v1/review/next?after={s1}&direction=previous&order=detections_first").get_json()
    assert prev["item"]["sequence"]["id"] == s0


def test_sequence_without_detector_is_served_with_its_state(rd, signed_in, world):
    b = signed_in("bio")
    item = _next(b, after=rd.sequences[0].id)
    assert item["sequence"]["id"] == rd.empty_sequence.id
    assert item["detector_ran"] is False and item["suggestion"] is None
    assert item["media"][0]["detections"] == [] and item["media"][0]["url"].endswith("/review.jpg")
    assert _next(b)["detector_ran"] is True
    # The manual path: species, then blank, work without boxes; progress follows.
    r = b.post(f"/api/v1/review/sequences/{rd.empty_sequence.id}/label", json={"taxon_id": rd.taxa["saola"].id})
    assert r.status_code == 200 and r.get_json()["review_status"] == "reviewed"
    prog = b.get(f"/api/v1/review/progress?deployment_id={rd.deployment.id}").get_json()
    assert (prog["reviewed"], prog["total"], prog["detector_ran"]) == (1, 5, True)
    assert b.post(f"/api/v1/review/sequences/{rd.empty_sequence.id}/blank").status_code == 200
    prog = b.get(f"/api/v1/review/progress?deployment_id={rd.deployment.id}").get_json()
    assert (prog["blank"], prog["reviewed"], prog["done"]) == (1, 0, 1)
    # A deployment no detector has processed says so (the page then offers the manual path only).
    from server.models import Media, Sequence as Seq

    dep = world.deployment(rd.program, "S09")
    with world.session() as s:
        seq = Seq(deployment_id=dep.id, event_start=rd.sequences[0].event_start, event_end=rd.sequences[0].event_end)
        s.add(seq)
        s.flush()
        s.add(Media(sha256="f" * 64, deployment_id=dep.id, sequence_id=seq.id, file_name="X.JPG",
                    media_type="image/jpeg", size_bytes=1, storage_key="x", captured_at=seq.event_start))
    prog = b.get(f"/api/v1/review/progress?deployment_id={dep.id}").get_json()
    assert (prog["total"], prog["detector_ran"]) == (1, False)
    assert _next(b, deployment_id=dep.id)["sequence"]["id"] == seq.id


def test_label_sequence_writes_human_observation_audit_and_leaves_queue(rd, signed_in, world):
    b = signed_in("bio")
    seq = rd.sequences[0]
    r = b.post(f"/api/v1/review/sequences/{seq.id}/label",
               json={"taxon_id": rd.taxa["saola"].id, "count": 2, "life_stage": "adult", "sex": "female",
                     "behavior": "browsing"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["review_status"] == "reviewed"
    with _db(world) as s:
        obs = s.exec(select(Observation).where(Observation.sequence_id == seq.id)).all()
        assert len(obs) == 1
        o = obs[0]
        assert (o.observation_level, o.classification_method, o.classified_by) == ("event", "human", "bio")
        assert (o.taxon_id, o.count, o.life_stage, o.sex, o.behavior) == (rd.taxa["saola"].id, 2, "adult", "female", "browsing")
        assert o.classification_timestamp is not None and o.media_id is None
        sq = s.get(Sequence, seq.id)
        assert sq.review_status == "reviewed" and sq.reviewed_by == "bio"
        entries = s.exec(select(AuditLog).where(AuditLog.actor == "bio")).all()
        assert {(e.entity, e.action) for e in entries} >= {("observation", "create"), ("sequence", "update"),
                                                          ("review_action", "review")}
        assert all(e.at is not None and e.area_id == rd.area.id for e in entries)
    assert _next(b)["sequence"]["id"] == rd.empty_sequence.id
    assert b.get("/api/v1/review/progress").get_json()["reviewed"] == 1
    # Relabelling replaces the person's event label instead of piling up labels.
    b.post(f"/api/v1/review/sequences/{seq.id}/label", json={"taxon_id": rd.taxa["muntjac"].id})
    with _db(world) as s:
        obs = s.exec(select(Observation).where(Observation.sequence_id == seq.id)).all()
        assert [o.taxon_id for o in obs] == [rd.taxa["muntjac"].id]
    # "add" keeps the first species: two species in one event.
    b.post(f"/api/v1/review/sequences/{seq.id}/label", json={"taxon_id": rd.taxa["saola"].id, "mode": "add"})
    with _db(world) as s:
        assert len(s.exec(select(Observation).where(Observation.sequence_id == seq.id)).all()) == 2


def test_blank_apply_and_undo_chain(rd, signed_in, world):
    b = signed_in("bio")
    seq = rd.sequences[1]
    m0 = rd.media[seq.id][0]
    assert b.post(f"/api/v1/review/sequences/{seq.id}/label",
                  json={"taxon_id": rd.taxa["muntjac"].id, "media_id": m0.id}).status_code == 200
    with _db(world) as s:
        o = s.exec(select(Observation).where(Observation.sequence_id == seq.id)).one()
        assert (o.observation_level, o.media_id) == ("media", m0.id)
        assert s.get(Sequence, seq.id).review_status == "unreviewed"
    assert b.post(f"/api/v1/review/sequences/{seq.id}/apply", json={"media_id": m0.id}).status_code == 200
    with _db(world) as s:
        obs = s.exec(select(Observation).where(Observation.sequence_id == seq.id)).all()
        assert [(o.observation_level, o.taxon_id) for o in obs] == [("event", rd.taxa["muntjac"].id)]
    assert b.post(f"/api/v1/review/sequences/{seq.id}/blank").status_code == 200
    with _db(world) as s:
        obs = s.exec(select(Observation).where(Observation.sequence_id == seq.id)).all()
        assert [o.observation_type for o in obs] == ["blank"]
        assert s.get(Sequence, seq.id).review_status == "blank"
    # Undo the blank: the applied event label is back.
    r = b.post("/api/v1/review/undo")
    assert r.status_code == 200 and r.get_json()["kind"] == "blank" and r.get_json()["sequence_id"] == seq.id
    with _db(world) as s:
        obs = s.exec(select(Observation).where(Observation.sequence_id == seq.id)).all()
        assert [(o.observation_level, o.taxon_id) for o in obs] == [("event", rd.taxa["muntjac"].id)]
        assert s.get(Sequence, seq.id).review_status == "reviewed"
    assert b.post("/api/v1/review/undo").get_json()["kind"] == "apply_sequence"
    assert b.post("/api/v1/review/undo").get_json()["kind"] == "label_media"
    with _db(world) as s:
        assert s.exec(select(Observation).where(Observation.sequence_id == seq.id)).all() == []
        assert s.get(Sequence, seq.id).review_status == "unreviewed"
        assert len(s.exec(select(AuditLog).where(AuditLog.action == "undo")).all()) == 3
    r = b.post("/api/v1/review/undo")
    assert r.status_code == 404 and r.get_json()["error"]["message"] == "nothing to undo"


def test_undo_refuses_to_overwrite_someone_elses_later_change(rd, signed_in):
    bio, admin = signed_in("bio"), signed_in("admin")
    seq = rd.sequences[0]
    bio.post(f"/api/v1/review/sequences/{seq.id}/blank")
    admin.post(f"/api/v1/review/sequences/{seq.id}/label", json={"taxon_id": rd.taxa["saola"].id})
    r = bio.post("/api/v1/review/undo")
    assert r.status_code == 409 and "changed since" in r.get_json()["error"]["message"]


def test_boxes_edit_draw_delete_and_undo(rd, signed_in, world):
    b = signed_in("bio")
    m = rd.media[rd.sequences[0].id][0]
    det = rd.detections[m.id][0]
    r = b.patch(f"/api/v1/review/detections/{det.id}", json={"bbox": [0.2, 0.25, 0.3, 0.35]})
    assert r.status_code == 200, r.get_json()
    with _db(world) as s:
        d = s.get(Detection, det.id)
        assert (d.bbox_x, d.bbox_y, d.bbox_width, d.bbox_height) == (0.2, 0.25, 0.3, 0.35)
        assert d.extra["original_bbox"] == [0.1, 0.2, 0.3, 0.4] and d.review_status == "verified"
    r = b.post(f"/api/v1/review/media/{m.id}/detections", json={"bbox": [0.5, 0.5, 0.2, 0.2],
                                                                 "taxon_id": rd.taxa["saola"].id})
    assert r.status_code == 201
    drawn = r.get_json()["detection"]["id"]
    assert b.delete(f"/api/v1/review/detections/{det.id}").status_code == 200
    assert b.delete(f"/api/v1/review/detections/{drawn}").status_code == 200
    with _db(world) as s:
        assert s.get(Detection, drawn) is None
        assert s.get(Detection, det.id).dismissed is True
    assert b.post("/api/v1/review/undo").status_code == 200  # the drawn box comes back
    assert b.post("/api/v1/review/undo").status_code == 200  # the machine box is live again
    with _db(world) as s:
        assert s.get(Detection, drawn).model == "human"
        assert s.get(Detection, det.id).dismissed is False
    bad = b.patch(f"/api/v1/review/detections/{det.id}", json={"bbox": [0.9, 0.9, 0.3, 0.3]})
    assert bad.status_code == 422 and "inside the image" in bad.get_json()["error"]["message"]
    bad = b.patch(f"/api/v1/review/detections/{det.id}", json={"bbox": [0.1, 0.1]})
    assert bad.status_code == 422 and "bbox" in bad.get_json()["error"]["message"]


def test_label_validation(rd, signed_in):
    b = signed_in("bio")
    url = f"/api/v1/review/sequences/{rd.sequences[0].id}/label"
    r = b.post(url, json={"taxon_id": "nope"})
    assert r.status_code == 422 and "no taxon" in r.get_json()["error"]["message"]
    r = b.post(url, json={"life_stage": "elderly"})
    assert r.status_code == 422 and "life_stage" in r.get_json()["error"]["message"]
    r = b.post(url, json={"observation_type": "human", "taxon_id": rd.taxa["saola"].id})
    assert r.status_code == 422 and "animal" in r.get_json()["error"]["message"]
    r = b.post(url, json={"taxon_id": rd.taxa["saola"].id, "detection_id": "nope"})
    assert r.status_code == 422 and "not in this sequence" in r.get_json()["error"]["message"]
    r = b.post(url, json={"count": 0})
    assert r.status_code == 422 and "count" in r.get_json()["error"]["message"]
    r = b.post(url, json={"media_id": rd.media[rd.sequences[1].id][0].id})
    assert r.status_code == 404


def test_permissions_and_csrf(rd, signed_in, client, world):
    seq = rd.sequences[0]
    url = f"/api/v1/review/sequences/{seq.id}/label"
    viewer = signed_in("viewer")
    assert viewer.get(f"/api/v1/review/sequences/{seq.id}").get_json()["item"]["can_edit"] is False
    for who in ("viewer", "ranger"):
        r = signed_in(who).post(url, json={"taxon_id": rd.taxa["saola"].id})
        assert r.status_code == 403 and "biologist" in r.get_json()["error"]["message"]
    outsider = signed_in("outsider")
    assert outsider.get(f"/api/v1/review/sequences/{seq.id}").status_code == 404
    assert outsider.post(f"/api/v1/review/sequences/{seq.id}/blank").status_code == 404
    assert _next(outsider)["sequence"]["id"] == rd.other_sequence.id  # only its own area's queue
    det = rd.detections[rd.media[seq.id][0].id][0]
    assert outsider.delete(f"/api/v1/review/detections/{det.id}").status_code == 404
    assert viewer.delete(f"/api/v1/review/detections/{det.id}").status_code == 403
    # Outsiders cannot undo into an area they do not review.
    signed_in("bio").post(f"/api/v1/review/sequences/{seq.id}/blank")
    assert outsider.post("/api/v1/review/undo").status_code == 404
    # A browser session without the CSRF token is refused.
    b = signed_in("bio")
    r = b.client.post(f"/api/v1/review/sequences/{seq.id}/blank")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "csrf"
    assert client.get("/api/v1/review/next").status_code == 401
    # Bearer tokens (scripts) work without CSRF.
    r = client.post(f"/api/v1/review/sequences/{seq.id}/blank", headers=world.headers(rd.users["biologist"]))
    assert r.status_code == 200


def test_shortcuts_are_the_programs_common_species(rd, signed_in):
    b = signed_in("viewer")
    sp = b.get(f"/api/v1/review/programs/{rd.program.id}/shortcuts").get_json()["species"]
    assert [t["scientific_name"] for t in sp] == ["Pseudoryx nghetinhensis", "Muntiacus vuquangensis"]
    assert signed_in("outsider").get(f"/api/v1/review/programs/{rd.program.id}/shortcuts").status_code == 404


def test_taxa_search_is_diacritic_insensitive_for_the_picker(rd, signed_in):
    b = signed_in("bio")
    names = [t["scientific_name"] for t in b.get("/api/v1/taxa?q=mang%20lon").get_json()["items"]]
    assert names == ["Muntiacus vuquangensis"]
    names = [t["scientific_name"] for t in b.get("/api/v1/taxa?q=G%C3%A0%20l%C3%B4i").get_json()["items"]]
    assert names == ["Lophura edwardsi"]
