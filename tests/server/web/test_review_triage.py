"""Confidence-threshold triage (issue 12, item 3): preview, apply as one audited action, undo in
one step, a selection changed underneath reported, crafted cross-area selections refused, and
sequences no detector processed never blanked. SQLite and PostgreSQL (the ``app`` fixture)."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from server.models import AuditLog, Detection, Observation, Sequence


def _preview(b, rd, threshold=0.5, **extra):
    q = "&".join(f"{k}={v}" for k, v in {"program_id": rd.program.id, "threshold": threshold, **extra}.items())
    r = b.get("/api/v1/review/triage/preview?" + q)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _apply(b, ids, threshold=0.5):
    return b.post("/api/v1/review/triage", json={"threshold": threshold, "sequence_ids": ids})


def test_triage_preview_apply_and_undo_in_one_step(rd, signed_in, world):
    b = signed_in("bio")
    s0, s1, s2, s3 = (s.id for s in rd.sequences)
    p = _preview(b, rd)
    # s1 (0.40) and s3 (0.15) are below 0.5; s0 (0.95) and the person (0.90) are not; the sequence
    # no detector processed is left alone and counted apart.
    assert p["sequence_ids"] == [s1, s3]
    assert (p["sequences"], p["media"], p["not_screened"]) == (2, 4, 1)
    assert [x["sequence_id"] for x in p["sample"]] == [s1, s3]  # the most confident (riskiest) first
    assert p["sample"][0]["max_confidence"] == 0.4 and p["sample"][0]["event_start_local"].endswith("+07")
    assert all(u.endswith("/thumb.jpg") for u in p["sample"][0]["thumbnails"]) and len(p["sample"][0]["thumbnails"]) == 2
    assert b.get(p["sample"][0]["thumbnails"][0]).status_code == 200
    with world.session() as s:
        before = len(s.exec(select(AuditLog)).all())
    r = _apply(b, p["sequence_ids"])
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert (out["blanked"], out["media"], out["skipped"]) == (2, 4, [])
    with world.session() as s:
        for sid in (s1, s3):
            seq = s.get(Sequence, sid)
            assert (seq.review_status, seq.reviewed_by) == ("blank", "bio")
            obs = s.exec(select(Observation).where(Observation.sequence_id == sid)).all()
            assert [(o.observation_type, o.classification_method, o.classified_by) for o in obs] == \
                [("blank", "human", "bio")]
        assert s.get(Sequence, s0).review_status == "unreviewed"
        new = s.exec(select(AuditLog).order_by(AuditLog.id)).all()[before:]
        # One audited action for the whole triage.
        assert [(e.action, e.entity, e.actor, e.area_id) for e in new] == \
            [("review", "review_action", "bio", rd.area.id)]
        assert new[0].after["summary"] == {"threshold": 0.5, "sequences": 2, "media": 4, "skipped": 0}
    prog = b.get(f"/api/v1/review/progress?program_id={rd.program.id}").get_json()
    assert (prog["blank"], prog["unreviewed"]) == (2, 3)
    r = b.post("/api/v1/review/undo")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["kind"] == "triage_blank" and r.get_json()["restored"] == 2
    assert r.get_json()["not_restored"] == []
    with world.session() as s:
        for sid in (s1, s3):
            seq = s.get(Sequence, sid)
            assert (seq.review_status, seq.reviewed_by, seq.reviewed_at) == ("unreviewed", None, None)
            assert s.exec(select(Observation).where(Observation.sequence_id == sid)).all() == []
        assert s.exec(select(AuditLog).where(AuditLog.action == "undo")).one().after["restored"] == 2
    assert b.get(f"/api/v1/review/progress?program_id={rd.program.id}").get_json()["unreviewed"] == 5
    assert b.post("/api/v1/review/undo").status_code == 404  # nothing left to undo


def test_triage_reports_a_selection_changed_underneath(rd, signed_in, world):
    bio, admin = signed_in("bio"), signed_in("admin")
    s1, s3 = rd.sequences[1].id, rd.sequences[3].id
    p = _preview(bio, rd)
    # Someone labels s3 between the preview and the apply: it is reported, never overwritten.
    assert admin.post(f"/api/v1/review/sequences/{s3}/label", json={"taxon_id": rd.taxa["muntjac"].id}).status_code == 200
    out = _apply(bio, p["sequence_ids"]).get_json()
    assert out["blanked"] == 1 and out["skipped_count"] == 1
    assert out["skipped"] == [{"sequence_id": s3, "reason": "reviewed since the preview by admin"}]
    with world.session() as s:
        assert s.get(Sequence, s1).review_status == "blank"
        assert (s.get(Sequence, s3).review_status, s.get(Sequence, s3).reviewed_by) == ("reviewed", "admin")
        obs = s.exec(select(Observation).where(Observation.sequence_id == s3)).all()
        assert [(o.taxon_id, o.classified_by) for o in obs] == [(rd.taxa["muntjac"].id, "admin")]
    # A box found above the threshold since the preview keeps a sequence out too.
    with world.session() as s:
        s.add(Detection(media_id=rd.media[rd.sequences[0].id][0].id, model="megadetector@5a", category="animal",
                        confidence=0.1, bbox_x=0.1, bbox_y=0.1, bbox_width=0.1, bbox_height=0.1))
    out = _apply(bio, [rd.sequences[0].id]).get_json()
    assert out["blanked"] == 0 and out["skipped"][0]["reason"] == "it has a box at or above 0.5"


def test_triage_undo_restores_what_nobody_touched_and_names_the_rest(rd, signed_in, world):
    bio, admin = signed_in("bio"), signed_in("admin")
    s1, s3 = rd.sequences[1].id, rd.sequences[3].id
    assert _apply(bio, _preview(bio, rd)["sequence_ids"]).get_json()["blanked"] == 2
    # The administrator reviews s1 again after the triage.
    admin.post(f"/api/v1/review/sequences/{s1}/label", json={"taxon_id": rd.taxa["saola"].id})
    r = bio.post("/api/v1/review/undo")
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert out["restored"] == 1 and out["not_restored_count"] == 1
    assert out["not_restored"] == [{"sequence_id": s1, "reason": "reviewed since by admin",
                                    "review_status": "reviewed"}]
    with world.session() as s:
        assert s.get(Sequence, s3).review_status == "unreviewed"
        assert (s.get(Sequence, s1).review_status, s.get(Sequence, s1).reviewed_by) == ("reviewed", "admin")
        obs = s.exec(select(Observation).where(Observation.sequence_id == s1)).all()
        assert [(o.taxon_id, o.classified_by) for o in obs] == [(rd.taxa["saola"].id, "admin")]


def test_triage_refuses_a_crafted_cross_area_selection(rd, signed_in, world):
    bio = signed_in("bio")
    s1 = rd.sequences[1].id
    # Another area's sequence slipped into the selection: 404 (its existence does not leak), nothing written.
    r = _apply(bio, [s1, rd.other_sequence.id])
    assert r.status_code == 404 and rd.other_sequence.id in r.get_json()["error"]["message"]
    r = _apply(bio, [s1, "no-such-sequence"])
    assert r.status_code == 404
    with world.session() as s:
        assert s.get(Sequence, s1).review_status == "unreviewed"
        assert s.exec(select(Observation)).all() == []
    # Below biologist in the area: 403 naming the role; outsiders do not even see the preview.
    for who in ("viewer", "ranger"):
        r = _apply(signed_in(who), [s1])
        assert r.status_code == 403 and "biologist" in r.get_json()["error"]["message"]
        assert signed_in(who).get(f"/api/v1/review/triage/preview?program_id={rd.program.id}&threshold=0.5"
                                  ).status_code == 403
    assert signed_in("outsider").get(f"/api/v1/review/triage/preview?program_id={rd.program.id}&threshold=0.5"
                                     ).status_code == 404
    # An administrator may reach both areas, but one action stays in one area.
    r = _apply(signed_in("admin"), [s1, rd.other_sequence.id])
    assert r.status_code == 422 and "one protected area" in r.get_json()["error"]["message"]
    with world.session() as s:
        assert s.get(Sequence, s1).review_status == "unreviewed"


def test_triage_never_blanks_a_sequence_no_detector_processed(rd, signed_in, world):
    bio = signed_in("bio")
    empty = rd.empty_sequence.id
    p = _preview(bio, rd, threshold=1)
    assert empty not in p["sequence_ids"] and p["not_screened"] == 1
    out = _apply(bio, [empty], threshold=1).get_json()
    assert out["blanked"] == 0 and out["skipped"][0]["reason"] == "no detector has processed it"
    # Once a detector processed it and found nothing (its "blank" row), it counts as confidence 0.
    with world.session() as s:
        s.add(Detection(media_id=_media_of(s, empty), model="megadetector@5a", category="blank", confidence=0.0))
    p = _preview(bio, rd, threshold=0.05)
    assert p["sequence_ids"] == [empty] and p["not_screened"] == 0 and p["sample"][0]["max_confidence"] is None


def _media_of(s, sequence_id):
    from server.models import Media

    return s.exec(select(Media.id).where(Media.sequence_id == sequence_id)).first()


def test_triage_bad_input(rd, signed_in):
    b = signed_in("bio")
    for q in ("program_id={p}&threshold=0", "program_id={p}&threshold=1.5", "program_id={p}", "threshold=0.5"):
        r = b.get("/api/v1/review/triage/preview?" + q.format(p=rd.program.id))
        assert r.status_code == 422, (q, r.get_json())
    assert "program" in b.get("/api/v1/review/triage/preview?threshold=0.5").get_json()["error"]["message"]
    for body in ({"threshold": 0.5, "sequence_ids": []}, {"threshold": 0, "sequence_ids": ["x"]},
                 {"sequence_ids": ["x"]}, {"threshold": 0.5, "sequence_ids": "x"}):
        r = b.post("/api/v1/review/triage", json=body)
        assert r.status_code == 422, (body, r.get_json())


def test_triage_of_thousands_of_sequences_is_one_transaction_and_one_undo(rd, signed_in, world):
    """2,000 sequences blanked by one request and restored by one undo."""
    from sqlalchemy import insert

    from server.models import Media, new_id, utcnow

    n = 2000
    now = utcnow()
    seqs, media, dets = [], [], []
    for i in range(n):
        sid, mid = new_id(), new_id()
        start = rd.sequences[0].event_start + timedelta(days=1, minutes=i)
        seqs.append({"id": sid, "deployment_id": rd.deployment.id, "event_start": start, "event_end": start,
                     "media_count": 1, "review_status": "unreviewed"})
        media.append({"id": mid, "sha256": f"{i:064x}", "kind": "image", "deployment_id": rd.deployment.id,
                      "sequence_id": sid, "file_name": f"B{i:05d}.JPG", "media_type": "image/jpeg",
                      "size_bytes": 1, "storage_key": "x", "captured_at": start, "timestamp_source": "exif",
                      "flags": [], "meta": {}, "has_derivatives": False, "contains_person": False,
                      "favorite": False, "created_at": now})
        dets.append({"id": new_id(), "media_id": mid, "model": "megadetector@5a", "category": "animal",
                     "confidence": 0.05, "bbox_x": 0.1, "bbox_y": 0.1, "bbox_width": 0.1, "bbox_height": 0.1,
                     "dismissed": False, "review_status": "unreviewed", "extra": {}, "created_at": now})
    with world.session() as s:
        c = s.connection()
        c.execute(insert(Sequence.__table__), seqs)
        c.execute(insert(Media.__table__), media)
        c.execute(insert(Detection.__table__), dets)
    b = signed_in("bio")
    p = _preview(b, rd, threshold=0.1, deployment_id=rd.deployment.id)
    assert p["sequences"] == n and len(p["sample"]) == 12
    out = _apply(b, p["sequence_ids"], threshold=0.1).get_json()
    assert out["blanked"] == n and out["media"] == n
    assert b.get(f"/api/v1/review/progress?deployment_id={rd.deployment.id}").get_json()["blank"] == n
    r = b.post("/api/v1/review/undo").get_json()
    assert r["restored"] == n
    with world.session() as s:
        from sqlalchemy import func

        assert s.exec(select(func.count()).select_from(Sequence).where(Sequence.review_status == "blank")).one() == 0
        assert s.exec(select(func.count()).select_from(Observation)).one() == 0
