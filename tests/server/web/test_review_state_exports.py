"""Review state flows everywhere (issue 12, item 8): one mapping (server/review/state.py) gives each
detection of a reviewed sequence verified / rejected and the accepted label, and every path uses it:
``saola export detections`` (CSV), the detections API, the MegaDetector JSON export and Camtrap DP.
The mapping's rules are tested on plain values; the paths on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

from server.review.state import DetectionReview, HumanLabel, review_of

T = datetime(2026, 3, 2, tzinfo=timezone.utc)


def _label(level="event", otype="animal", taxon="saola", media=None, det=None, by="bio", oid="o1"):
    return HumanLabel(oid, "seq", media, det, level, otype, taxon, by, T)


def _det(category="animal", taxon="saola", **kw):
    return {"id": kw.pop("id", "d1"), "media_id": kw.pop("media_id", "m1"), "model": kw.pop("model", "md@5a"),
            "category": category, "dismissed": False, "review_status": "unreviewed", "taxon_id": taxon,
            "start_s": None, "extra": {}, **kw}


def test_mapping_rules():
    # Nobody labelled the sequence: unreviewed, no accepted label.
    assert review_of(_det(), []) == DetectionReview("unreviewed")
    # An event label of the box's kind verifies it with that label, by that person.
    assert review_of(_det(taxon="muntjac"), [_label(taxon="saola")]) == \
        DetectionReview("verified", "saola", "animal", "bio", T, "o1")
    # Several species in the event: the one the machine named is accepted for its box.
    two = [_label(taxon="muntjac", oid="o1"), _label(taxon="saola", oid="o2")]
    assert review_of(_det(taxon="saola"), two).observation_id == "o2"
    assert review_of(_det(taxon=None), two).observation_id == "o1"
    # A label linked to the box wins.
    linked = [_label(taxon="muntjac", oid="o1"), _label(taxon="saola", det="d1", oid="o2")]
    assert review_of(_det(taxon="muntjac"), linked).taxon_id == "saola"
    # Blank: every box rejected.
    assert review_of(_det(), [_label(otype="blank", taxon=None)]).status == "rejected"
    # A person box in a sequence labelled with an animal only: rejected; with a human label: verified.
    assert review_of(_det("person", None), [_label()]).status == "rejected"
    assert review_of(_det("person", None), [_label(otype="human", taxon=None)]) == \
        DetectionReview("verified", None, "human", "bio", T, "o1")
    # "unknown" confirms an animal box without naming it.
    rv = review_of(_det(), [_label(otype="unknown", taxon=None)])
    assert (rv.status, rv.taxon_id, rv.label({})) == ("verified", None, "unknown")
    # A media-level label decides for its image; the event label for the others.
    labels = [_label(taxon="saola", oid="ev"), _label("media", "blank", None, media="m2", oid="img")]
    assert review_of(_det(media_id="m2"), labels).status == "rejected"
    assert review_of(_det(media_id="m1"), labels).observation_id == "ev"
    # Dismissed or rejected boxes stay rejected whatever the label.
    assert review_of(_det(dismissed=True), [_label()]).status == "rejected"
    assert review_of(_det(review_status="rejected"), [_label()]).status == "rejected"
    # People's own boxes and boxes they moved are verified, even before a label.
    assert review_of(_det(model="human", extra={"drawn_by": "bio"}), []).status == "verified"
    assert review_of(_det(review_status="verified", extra={"edited_by": "ann"}), []).reviewed_by == "ann"
    # A recording's time window is reviewed box by box: an event label does not verify it.
    assert review_of(_det("bird", "pheasant", start_s=1.0), [_label()]).status == "unreviewed"
    assert review_of(_det("bird", "pheasant", start_s=1.0, review_status="verified"), []).status == "verified"
    assert DetectionReview("verified", "saola").label({"saola": "Pseudoryx nghetinhensis"}) == \
        "Pseudoryx nghetinhensis"
    assert DetectionReview("rejected").label({}) == ""


def _review(b, rd):
    """s0 labelled saola (its box verified), s1 marked blank (rejected), s2 and s3 left unreviewed."""
    s0, s1 = rd.sequences[0].id, rd.sequences[1].id
    assert b.post(f"/api/v1/review/sequences/{s0}/label", json={"taxon_id": rd.taxa["saola"].id}).status_code == 200
    assert b.post(f"/api/v1/review/sequences/{s1}/blank").status_code == 200
    return {m.id: "verified" for m in rd.media[s0]} | {m.id: "rejected" for m in rd.media[s1]}


def test_detections_csv_export_carries_the_review(rd, signed_in, runner, tmp_path):
    expected = _review(signed_in("bio"), rd)
    out = tmp_path / "detections.csv"
    res = runner.invoke(["export", "detections", "--deployment", rd.deployment.id, "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 8  # two images per sequence with a box
    for r in rows:
        want = expected.get(r["media_id"], "unreviewed")
        assert r["review_status"] == want, r
        if want == "verified":
            assert (r["accepted_label"], r["accepted_taxon_id"], r["reviewed_by"]) == \
                ("Pseudoryx nghetinhensis", rd.taxa["saola"].id, "bio")
        else:
            assert r["accepted_label"] == r["accepted_taxon_id"] == ""
        assert r["reviewed_by"] == ("bio" if want != "unreviewed" else "")


def test_detections_api_carries_the_review(rd, signed_in):
    b = signed_in("viewer")
    expected = _review(signed_in("bio"), rd)
    m0 = rd.media[rd.sequences[0].id][0]
    d = b.get(f"/api/v1/media/{m0.id}/detections").get_json()[0]
    assert (d["review_status"], d["accepted_label"], d["accepted_taxon_id"], d["reviewed_by"]) == \
        ("verified", "Pseudoryx nghetinhensis", rd.taxa["saola"].id, "bio")
    assert d["reviewed_at"] is not None
    page = b.get(f"/api/v1/deployments/{rd.deployment.id}/detections?limit=100").get_json()
    assert page["total"] == 8
    for d in page["items"]:
        assert d["review_status"] == expected.get(d["media_id"], "unreviewed")
        assert (d["accepted_label"] is not None) == (d["review_status"] == "verified")


def test_megadetector_json_export_carries_the_review(rd, signed_in, runner, tmp_path):
    from classifiers import md_json

    expected = _review(signed_in("bio"), rd)
    out = tmp_path / "md.json"
    res = runner.invoke(["export", "megadetector", "--deployment", rd.deployment.id, "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    md_json.validate(data)  # still a valid batch file for Timelapse and AddaxAI
    assert "rejected" in data["info"]["human_review"]
    cls = data["classification_categories"]
    by_sha = {im["sha256"]: im for im in data["images"]}
    for media in rd.media.values():
        for m in media:
            im = by_sha[m.sha256]
            want = expected.get(m.id, "unreviewed")
            if want == "rejected":  # the blank sequence: processed, nothing of interest
                assert im["detections"] == []
                continue
            (det,) = im["detections"]
            assert det["review_status"] == want
            if want == "verified":
                assert cls[det["classifications"][0][0]] == "Pseudoryx nghetinhensis"
                assert det["classifications"][0][1] == 1.0
                assert (det["reviewed_by"], det["accepted_label"]) == ("bio", "Pseudoryx nghetinhensis")
                assert det["conf"] == 0.95  # the detector's own confidence is kept
            else:
                assert "reviewed_by" not in det


def test_camtrap_dp_export_carries_the_review(rd, signed_in, app, world, tmp_path):
    from server.exports.camtrap_dp import export_camtrap_dp
    from server.exports.validate import validate_camtrap_dp
    from server.storage import get_store

    from server.models import Program

    expected = _review(signed_in("bio"), rd)
    with world.session() as s:  # the manager states the sampling design (Camtrap DP metadata)
        p = s.get(Program, rd.program.id)
        p.settings = {**p.settings, "sampling_design": "targeted"}
    with world.session() as s:
        export_camtrap_dp(s, tmp_path, program_id=rd.program.id, store=get_store(app))
    assert validate_camtrap_dp(tmp_path) == []
    rows = list(csv.DictReader(io.StringIO((tmp_path / "observations.csv").read_text(encoding="utf-8"))))
    media_rows = {r["mediaID"]: r for r in rows if r["observationLevel"] == "media"}
    for media_id, want in [(m.id, expected.get(m.id, "unreviewed")) for ms in rd.media.values() for m in ms]:
        if want == "rejected":
            assert media_id not in media_rows  # people marked the sequence blank: no animal there
            continue
        r = media_rows[media_id]
        if want == "verified":
            assert (r["classificationMethod"], r["classifiedBy"], r["scientificName"], r["observationType"],
                    r["classificationProbability"]) == ("human", "bio", "Pseudoryx nghetinhensis", "animal", "")
            assert r["classificationTimestamp"]
        else:
            assert (r["classificationMethod"], r["classifiedBy"]) == ("machine", "megadetector@5a")
    events = [r for r in rows if r["observationLevel"] == "event"]
    assert {(r["observationType"], r["classificationMethod"], r["classifiedBy"]) for r in events} == \
        {("animal", "human", "bio"), ("blank", "human", "bio")}
