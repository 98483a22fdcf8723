"""Videos through the detector: sampled frames, per-frame boxes, the roll-up and poster, the exports
(CSV with frame times, MegaDetector JSON in its video convention, and back), damaged videos flagged.

The clip is made here by ffmpeg (a 3 s, 10 frames/s fade from black to white) and the detector is a
tiny ONNX graph whose confidence follows a frame's brightness, so which frame is best is known.
"""
from __future__ import annotations

import csv
import io
import json
import subprocess

import pytest
from sqlmodel import select

from detect_helpers import brightness_detector, make_video, register_model, run_jobs, setup_deployment


def _ingest(app, dep, card, names):
    from server.ingest.pipeline import ingest_path

    rep = ingest_path(app, card, deployment_id=dep, workers=0)
    assert rep.ingested == len(names), rep.summary_lines()
    return {n: _media_by_name(app, n).id for n in names}


def _media_by_name(app, name):
    from server.db import session_scope
    from server.models import Media

    with session_scope(app.config["DATABASE_URL"]) as s:
        m = s.exec(select(Media).where(Media.file_name == name)).one()
        s.expunge(m)
        return m


def _media(app, media_id):
    from server.db import session_scope
    from server.models import Media

    with session_scope(app.config["DATABASE_URL"]) as s:
        m = s.get(Media, media_id)
        s.expunge(m)
        return m


def _frames(app, media_id, model="md_test@1.0"):
    from server.db import session_scope
    from server.models import Detection

    with session_scope(app.config["DATABASE_URL"]) as s:
        return [(d.frame_index, d.start_s, d.end_s, d.category, round(d.confidence, 3))
                for d in s.exec(select(Detection).where(Detection.media_id == media_id, Detection.model == model)
                                .order_by(Detection.frame_index, Detection.category))]


def _run(app, params, area_id):
    from server.db import session_scope
    from server.jobs import enqueue
    from server.models import Job

    with session_scope(app.config["DATABASE_URL"]) as s:
        job_id = enqueue(s, "detect", {"model": "md_test", **params}, area_id=area_id).id
    run_jobs(app)
    with session_scope(app.config["DATABASE_URL"]) as s:
        job = s.get(Job, job_id)
        s.expunge(job)
        return job


@pytest.fixture
def scene(app, world, tmp_path):
    area, program, dep = setup_deployment(world)
    register_model(app, brightness_detector(tmp_path / "md.onnx"), "md_test", "1.0")
    card = tmp_path / "card" / "DCIM" / "100MEDIA"
    make_video(card / "VID_0001.MP4")
    ids = _ingest(app, dep, tmp_path / "card", ["VID_0001.MP4"])
    return {"area": area, "program": program, "dep": dep, "video": ids["VID_0001.MP4"], "card": tmp_path / "card"}


def test_video_frames_through_the_detector_with_times_rollup_and_poster(app, scene):
    from server.ingest.derivatives import poster_key
    from server.storage import stores_from_config

    job = _run(app, {"deployment_id": scene["dep"], "video_every_s": 0.5}, scene["area"].id)
    assert job.status == "done", job.error
    assert job.failures == []
    assert job.result["videos"] == 1 and job.result["video_frames"] == 6 and job.result["processed"] == 1
    assert job.result["detections"] == 5 and job.result["animals"] == 1
    # Frame 0 is black: nothing there. Then one animal per sampled frame, more confident as it brightens;
    # each box holds until the next sampled frame.
    rows = _frames(app, scene["video"])
    assert [r[:4] for r in rows] == [(i, i / 10, i / 10 + 0.5, "animal") for i in (5, 10, 15, 20, 25)]
    confs = [r[4] for r in rows]
    assert confs == sorted(confs) and confs[0] < 0.2 < 0.7 < confs[-1]
    m = _media(app, scene["video"])
    roll = m.meta["video_detection"]
    assert roll["model"] == "md_test@1.0" and roll["frame_rate"] == 10 and roll["every_s"] == 0.5
    assert roll["frames_sampled"] == 6 and roll["step"] == 5
    assert roll["best_frame_index"] == 25 and roll["best_time_s"] == 2.5
    assert roll["best_category"] == "animal" and roll["max_confidence"] == {"animal": pytest.approx(confs[-1], abs=1e-3)}
    assert (m.width, m.height) == (320, 240) and "corrupt" not in (m.flags or [])
    # The best frame is the poster: a bright frame, the video's own size.
    from PIL import Image

    _, derivatives = stores_from_config(app.config)
    poster = Image.open(io.BytesIO(derivatives.path(poster_key(m.sha256)).read_bytes()))
    assert poster.size == (320, 240) and min(poster.convert("L").getextrema()) > 180
    # Run again: the same rows (idempotent), not twice as many.
    job = _run(app, {"media_ids": [scene["video"]], "video_every_s": 0.5}, scene["area"].id)
    assert job.status == "done" and len(_frames(app, scene["video"])) == 5


def test_same_preprocessing_as_a_photo_of_the_frame(app, scene, tmp_path):
    """Frame 20 through the video path and, extracted losslessly as a PNG, through the photo path."""
    from classifiers.megadetector import Detector
    from classifiers.video import detect_video

    clip = next(scene["card"].rglob("VID_0001.MP4"))
    png = tmp_path / "f20.png"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip), "-vf", "select='eq(n\\,20)'", "-frames:v", "1",
                    str(png)], check=True)
    det = Detector(tmp_path / "md.onnx")
    still = det.detect(str(png))
    video = detect_video(det, str(clip), every_s=1.0)
    frame = {f.index: f for f in video.frames}[20]
    assert [f.index for f in video.frames] == [0, 10, 20]
    assert frame.time_s == 2.0
    assert [(d.category, round(d.conf, 5), d.bbox) for d in frame.result.detections] == \
        [(d.category, round(d.conf, 5), d.bbox) for d in still.detections]


def test_sampling_from_the_program_settings_and_bad_settings_reported(app, scene):
    from server.db import session_scope
    from server.models import Program

    with session_scope(app.config["DATABASE_URL"]) as s:
        p = s.get(Program, scene["program"].id)
        p.settings = {**(p.settings or {}), "video_frames_per_s": 1}
        s.add(p)
    job = _run(app, {"deployment_id": scene["dep"]}, scene["area"].id)
    assert job.status == "done" and job.result["video_frames"] == 3
    assert [r[0] for r in _frames(app, scene["video"])] == [10, 20]
    with session_scope(app.config["DATABASE_URL"]) as s:
        p = s.get(Program, scene["program"].id)
        p.settings = {**p.settings, "video_frames_per_s": "often"}
        s.add(p)
    job = _run(app, {"media_ids": [scene["video"]]}, scene["area"].id)
    assert job.status == "done" and job.result["failed"] == 1
    assert "video_frames_per_s must be a number" in job.failures[0]["error"]
    assert "VID_0001.MP4" in job.failures[0]["error"]
    job = _run(app, {"media_ids": [scene["video"]], "video_every_s": 2, "video_frames_per_s": 1}, scene["area"].id)
    assert "not both" in job.failures[0]["error"]


def test_truncated_and_undecodable_videos_flagged_with_the_decoders_message(app, scene, tmp_path):
    from detect_helpers import add_media

    data = next(scene["card"].rglob("VID_0001.MP4")).read_bytes()
    cut = add_media(app, scene["dep"], "VID_0002.MP4", data[: len(data) * 2 // 3], kind="video")
    junk = add_media(app, scene["dep"], "VID_0003.MP4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500, kind="video")
    job = _run(app, {"deployment_id": scene["dep"], "video_every_s": 0.5}, scene["area"].id)
    assert job.status == "done", job.error
    assert job.result["videos"] == 3 and job.result["processed"] == 2 and job.result["failed"] == 1
    errors = {f["item"]: f["error"] for f in job.failures}
    assert set(errors) == {cut, junk}
    # The good video went on as usual.
    assert len(_frames(app, scene["video"])) == 5
    # Truncated: the frames that decoded keep their boxes; flagged with ffmpeg's own words.
    m = _media(app, cut)
    assert "corrupt" in m.flags and m.meta["decode_error"].startswith("truncated or damaged: ")
    assert "VID_0002.MP4: truncated or damaged video" in errors[cut]
    kept = _frames(app, cut)
    assert 0 < len(kept) < 5 and [r[0] for r in kept] == [5, 10, 15, 20, 25][:len(kept)]
    assert "partial file" in m.meta["decode_error"] or "Invalid data" in m.meta["decode_error"] \
        or "header promises" in m.meta["decode_error"]
    # Undecodable: nothing stored, flagged, the store path never shown (the file name is).
    m = _media(app, junk)
    assert "corrupt" in m.flags and _frames(app, junk) == []
    assert errors[junk].startswith("VID_0003.MP4: cannot decode video: ")
    assert m.meta["decode_error"] == errors[junk].split(": ", 1)[1]
    assert m.storage_key not in errors[junk] and "0x" not in errors[junk]


def test_exports_carry_frames_and_megadetector_json_round_trips(runner, app, scene, tmp_path):
    from classifiers.md_json import read_results
    from server.db import session_scope
    from server.models import Detection

    assert _run(app, {"deployment_id": scene["dep"], "video_every_s": 0.5}, scene["area"].id).status == "done"
    before = _frames(app, scene["video"])

    res = runner.invoke(["export", "detections", "--deployment", scene["dep"]])
    assert res.exit_code == 0, res.output
    table = list(csv.DictReader(io.StringIO(res.output)))
    assert [(r["media_file"], r["media_kind"], r["frame_index"], r["start_s"], r["end_s"]) for r in table] == \
        [("VID_0001.MP4", "video", str(i), f"{i / 10:g}", f"{i / 10 + 0.5:g}") for i in (5, 10, 15, 20, 25)]

    out = tmp_path / "md.json"
    res = runner.invoke(["export", "megadetector", "--deployment", scene["dep"], "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "1 videos (6 frames), 5 detections" in res.output
    batch = read_results(out)  # valid MegaDetector 1.6
    raw = json.loads(out.read_text())
    # Every sampled frame is an entry under the video's path (MegaDetector's video convention).
    assert [i.file for i in batch.images] == [f"DCIM/100MEDIA/VID_0001.MP4/frame{i:06d}.jpg"
                                                 for i in range(0, 30, 5)]
    assert [len(i.detections) for i in batch.images] == [0, 1, 1, 1, 1, 1]
    assert [(e["frame_number"], e["frame_rate"]) for e in raw["images"]] == [(i, 10.0) for i in range(0, 30, 5)]

    with session_scope(app.config["DATABASE_URL"]) as s:
        for d in s.exec(select(Detection)):
            s.delete(d)
    # Imported without the sha256 (as from another machine), matched by the video's path.
    for e in raw["images"]:
        e.pop("sha256")
        e["file"] = "D:\\survey\\cam07\\" + e["file"].replace("/", "\\")
    other = tmp_path / "gpu.json"
    other.write_text(json.dumps(raw))
    res = runner.invoke(["import", "megadetector", str(other), "--deployment", scene["dep"]])
    assert res.exit_code == 0, res.output
    assert "0 images, 1 videos (6 frames), 5 detections recorded as md_test@1.0; 0 unmatched" in res.output
    assert [(r[0], r[1], r[2], r[3]) for r in _frames(app, scene["video"])] == [r[:4] for r in before]
    assert [r[4] for r in _frames(app, scene["video"])] == pytest.approx([r[4] for r in before], abs=1e-3)
    roll = _media(app, scene["video"]).meta["video_detection"]
    assert roll["best_frame_index"] == 25 and roll["frames_sampled"] == 6
    # And out again: the same file, frame for frame.
    again = tmp_path / "again.json"
    assert runner.invoke(["export", "megadetector", "--deployment", scene["dep"], "--out", str(again)]).exit_code == 0
    assert [i.file for i in read_results(again).images] == [i.file for i in batch.images]


def test_ingest_queues_detection_of_videos_in_a_job_of_their_own(app, world, tmp_path):
    from server.db import session_scope
    from server.models import Job

    area, program, dep = setup_deployment(world, code="CTN")
    register_model(app, brightness_detector(tmp_path / "md.onnx"), "md_test", "1.0")
    app.config["DETECTOR_MODEL"] = "md_test"
    make_video(tmp_path / "card" / "VID_0007.MP4")
    ids = _ingest(app, dep, tmp_path / "card", ["VID_0007.MP4"])
    with session_scope(app.config["DATABASE_URL"]) as s:
        jobs = [j for j in s.exec(select(Job).where(Job.kind == "detect"))]
        assert [j.params for j in jobs] == [{"media_ids": [ids["VID_0007.MP4"]], "model": "md_test"}]
    run_jobs(app)
    assert [r[0] for r in _frames(app, ids["VID_0007.MP4"])] == [10, 20]  # SAOLA_VIDEO_EVERY_S = 1


def test_without_a_detector_ingest_makes_the_first_frame_the_poster(app, world, tmp_path):
    from server.db import session_scope
    from server.ingest.derivatives import poster_key
    from server.models import Job
    from server.storage import stores_from_config

    from detect_helpers import add_media

    area, program, dep = setup_deployment(world, code="BM")
    app.config["DETECTOR_MODEL"] = ""
    make_video(tmp_path / "card" / "VID_0008.MP4")
    ids = _ingest(app, dep, tmp_path / "card", ["VID_0008.MP4"])
    vid = ids["VID_0008.MP4"]
    with session_scope(app.config["DATABASE_URL"]) as s:
        jobs = list(s.exec(select(Job).where(Job.kind.in_(["detect", "video_poster"]))))
        assert [(j.kind, j.params) for j in jobs] == [("video_poster", {"media_ids": [vid]})]
    junk = add_media(app, dep, "VID_0009.MP4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200, kind="video")
    with session_scope(app.config["DATABASE_URL"]) as s:
        from server.jobs import enqueue

        enqueue(s, "video_poster", {"media_ids": [junk]}, area_id=area.id)
    run_jobs(app)
    _, derivatives = stores_from_config(app.config)
    from PIL import Image

    poster = Image.open(io.BytesIO(derivatives.path(poster_key(_media(app, vid).sha256)).read_bytes()))
    assert poster.size == (320, 240) and max(poster.convert("L").getextrema()) < 40  # the fade starts black
    m = _media(app, junk)
    assert "corrupt" in m.flags and m.meta["decode_error"] and not derivatives.exists(poster_key(m.sha256))
    with session_scope(app.config["DATABASE_URL"]) as s:
        job = s.exec(select(Job).where(Job.kind == "video_poster").order_by(Job.created_at.desc())).first()
        assert job.status == "done" and job.failures[0]["error"].startswith("VID_0009.MP4: cannot decode video: ")


def test_megadetector_video_level_results_imported_onto_frames(runner, app, scene, tmp_path):
    data = {"info": {"format_version": "1.4", "detector": "MDV5A"},
            "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
            "images": [
                {"file": "cam07/DCIM/100MEDIA/VID_0001.MP4", "frame_rate": 10.0,
                 "detections": [{"category": "1", "conf": 0.8, "bbox": [0.1, 0.2, 0.3, 0.4], "frame_number": 20},
                                {"category": "2", "conf": 0.6, "bbox": [0.5, 0.5, 0.2, 0.2], "frame_number": 10}]},
            ]}
    path = tmp_path / "video_level.json"
    path.write_text(json.dumps(data))
    res = runner.invoke(["import", "megadetector", str(path), "--deployment", scene["dep"]])
    assert res.exit_code == 0, res.output
    assert "0 images, 1 videos (2 frames), 2 detections recorded as MDV5A; 0 unmatched" in res.output
    assert _frames(app, scene["video"], "MDV5A") == [(10, 1.0, 2.0, "person", 0.6), (20, 2.0, 3.0, "animal", 0.8)]
    # Without frame numbers the video's boxes cannot be placed: said, nothing stored.
    del data["images"][0]["detections"][0]["frame_number"]
    path.write_text(json.dumps(data))
    res = runner.invoke(["import", "megadetector", str(path), "--deployment", scene["dep"], "--model", "other@1"])
    assert res.exit_code == 0, res.output
    assert "1 unmatched" in res.output and "its detections need frame_number" in res.output
    assert _frames(app, scene["video"], "other@1") == []
