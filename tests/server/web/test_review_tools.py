"""Issue 12, items 4 and 7 on the server (SQLite and PostgreSQL): the review image tools'
preferences follow the user (API, page), "open the original" obeys the image policy, videos
are served with HTTP Range through the video policy, and a video's review item carries its
player URL, duration and frame boxes."""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess

import pytest
from PIL import Image

from videodata import LOCATION, SERIAL, ingest_video
from webdata import store_bytes

PREFS = "/api/v1/users/me/preferences"
DEFAULTS = {"brightness": 1.0, "contrast": 1.0, "gamma": 1.0, "burst_fps": 4}


# ---- preferences ------------------------------------------------------------------------------------
def test_preferences_api_defaults_partial_changes_and_per_user(rd, signed_in):
    bio, viewer = signed_in("bio"), signed_in("viewer")
    assert bio.get(PREFS).json == {"review_image": DEFAULTS}
    r = bio.patch(PREFS, {"review_image": {"brightness": 1.4, "gamma": 2.2}})
    assert r.status_code == 200, r.json
    assert r.json["review_image"] == {**DEFAULTS, "brightness": 1.4, "gamma": 2.2}
    # Only the fields sent change; an empty body changes nothing.
    assert bio.patch(PREFS, {"review_image": {"contrast": 0.8}}).json["review_image"] == \
        {**DEFAULTS, "brightness": 1.4, "gamma": 2.2, "contrast": 0.8}
    assert bio.patch(PREFS, {}).status_code == 200
    # Stored on the server: a fresh sign-in (another machine) reads the same.
    assert signed_in("bio").get(PREFS).json["review_image"]["gamma"] == 2.2
    # Another user keeps the defaults; any role may keep preferences.
    assert viewer.get(PREFS).json == {"review_image": DEFAULTS}
    assert viewer.patch(PREFS, {"review_image": {"burst_fps": 8}}).json["review_image"]["burst_fps"] == 8


@pytest.mark.parametrize("body, field", [
    ({"review_image": {"brightness": 10}}, "brightness"),
    ({"review_image": {"gamma": 0}}, "gamma"),
    ({"review_image": {"contrast": "bright"}}, "contrast"),
    ({"review_image": {"burst_fps": 100}}, "burst_fps"),
    ({"review_image": {"zoom": 2}}, "zoom"),
    ({"colour_scheme": "dark"}, "colour_scheme"),
])
def test_preferences_bad_input_is_refused_and_nothing_changes(rd, signed_in, body, field):
    bio = signed_in("bio")
    bio.patch(PREFS, {"review_image": {"brightness": 1.2}})
    r = bio.patch(PREFS, body)
    assert r.status_code == 422
    err = r.json["error"]
    assert err["code"] and field in json.dumps(err)
    assert bio.get(PREFS).json["review_image"] == {**DEFAULTS, "brightness": 1.2}


def test_preferences_need_a_signed_in_user(rd, client):
    assert client.get(PREFS).status_code == 401
    assert client.patch(PREFS, json={"review_image": {"gamma": 2}}).status_code in (401, 403)


def test_review_page_carries_the_users_image_settings(rd, signed_in):
    bio = signed_in("bio")
    bio.patch(PREFS, {"review_image": {"gamma": 1.8}})
    page = bio.get("/review").get_data(as_text=True)
    m = re.search(r'<script id="review-prefs" type="application/json" data-user-id="[0-9a-f-]+">(.*?)</script>', page, re.S)
    assert m, "the review page embeds the user's preferences"
    assert json.loads(m.group(1))["review_image"]["gamma"] == 1.8
    assert 'src="/static/imagetools.js' in page
    # Everything a user may read there comes in both languages (the sliders' names, the help).
    assert "Gamma" in page and "Open the original" in page


# ---- open the original --------------------------------------------------------------------------------
def _exif_jpeg(size=(96, 64)) -> bytes:
    img = Image.new("RGB", size, (120, 90, 60))
    exif = Image.Exif()
    exif[0x010F] = "SaolaCam"      # Make
    exif[0xA431] = "CAM-SERIAL-77"  # BodySerialNumber
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes(), quality=95)
    return buf.getvalue()


def _photo_with_exif(app, world, rd):
    from server.models import Media

    data = _exif_jpeg()
    sha, key = store_bytes(app, data, "jpg")
    seq = rd.sequences[0]
    with world.session() as s:
        m = Media(sha256=sha, deployment_id=rd.deployment.id, sequence_id=seq.id, file_name="IMG_EXIF.JPG",
                  media_type="image/jpeg", size_bytes=len(data), storage_key=key, captured_at=seq.event_start,
                  width=96, height=64)
        s.add(m)
        s.flush()
        return m.id, data


def test_open_original_photo_follows_the_policy(app, world, rd, signed_in):
    mid, data = _photo_with_exif(app, world, rd)
    url = f"/review/media/{mid}/original"
    r = signed_in("bio").get(url)
    assert r.status_code == 200 and r.data == data and r.mimetype == "image/jpeg"
    assert r.headers["Content-Disposition"].startswith("inline")
    assert r.headers["Cache-Control"] == "private, max-age=3600"
    # A viewer gets a full-size re-encoded copy without the camera's metadata.
    v = signed_in("viewer").get(url)
    assert v.status_code == 200 and v.data != data and b"CAM-SERIAL-77" not in v.data
    assert Image.open(io.BytesIO(v.data)).size == (96, 64)
    assert v.headers["Cache-Control"] == "private, no-store"
    # A person photo: blurred for the viewer, clear for the biologist.
    person = rd.media[rd.sequences[2].id][0]
    clear = signed_in("bio").get(f"/review/media/{person.id}/original")
    blurred = signed_in("viewer").get(f"/review/media/{person.id}/original")
    assert clear.status_code == blurred.status_code == 200
    a = Image.open(io.BytesIO(clear.data)).convert("L")
    b = Image.open(io.BytesIO(blurred.data)).convert("L")
    box = (int(0.1 * a.width), int(0.2 * a.height), int(0.4 * a.width), int(0.6 * a.height))
    assert _contrast(b.crop(box)) < _contrast(a.crop(box)) / 2, "the person's box is blurred for viewers"
    # Outside the user's areas: as if it did not exist.
    assert signed_in("outsider").get(url).status_code == 404
    assert signed_in("bio").get("/review/media/00000000-0000-0000-0000-000000000000/original").status_code == 404


def _contrast(img) -> float:
    import numpy as np

    return float(np.asarray(img, dtype=np.float64).std())


def test_review_item_links_the_original(rd, signed_in):
    item = signed_in("bio").get(f"/api/v1/review/sequences/{rd.sequences[0].id}").json["item"]
    m = item["media"][0]
    assert m["original_url"] == f"/review/media/{m['id']}/original"
    assert m["url"].endswith("/review.jpg") and m["kind"] == "image"


# ---- videos: Range, policy, review item ---------------------------------------------------------------
def _get(browser, url, headers=None):
    """GET, read the whole answer and close it (a video is streamed from its open file)."""
    r = browser.get(url, headers=headers or {})
    r.get_data()
    r.close()
    return r


@pytest.fixture
def video(app, rd, tmp_path):
    return ingest_video(app, rd.deployment.id, tmp_path)


def test_video_is_served_with_http_range(video, signed_in):
    m, data = video
    bio = signed_in("bio")
    url = f"/review/media/{m.id}/original"
    full = _get(bio, url)
    assert full.status_code == 200 and full.data == data and full.mimetype == "video/mp4"
    assert full.headers["Accept-Ranges"] == "bytes"
    etag = full.headers["ETag"]
    n = len(data)
    r = _get(bio, url, {"Range": "bytes=0-99"})
    assert r.status_code == 206 and r.data == data[:100]
    assert r.headers["Content-Range"] == f"bytes 0-99/{n}" and r.headers["Content-Length"] == "100"
    r = _get(bio, url, {"Range": f"bytes={n - 1000}-"})
    assert r.status_code == 206 and r.data == data[-1000:]
    r = _get(bio, url, {"Range": "bytes=-50"})
    assert r.status_code == 206 and r.data == data[-50:]
    r = _get(bio, url, {"Range": f"bytes={n + 10}-"})
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{n}"
    # If-Range: the same version resumes, another version gets the whole file.
    r = _get(bio, url, {"Range": "bytes=10-19", "If-Range": etag})
    assert r.status_code == 206 and r.data == data[10:20]
    r = _get(bio, url, {"Range": "bytes=10-19", "If-Range": '"another-version"'})
    assert r.status_code == 200 and r.data == data
    # The API's file route answers Range too (through the same policy).
    r = _get(bio, f"/api/v1/media/{m.id}/file", {"Range": "bytes=0-9"})
    assert r.status_code == 206 and r.data == data[:10]


def _tags(data: bytes, tmp_path) -> dict:
    p = tmp_path / "probe.mp4"
    p.write_bytes(data)
    out = subprocess.run([shutil.which("ffprobe"), "-v", "error", "-print_format", "json", "-show_format",
                          "-show_streams", str(p)], capture_output=True, check=True).stdout
    doc = json.loads(out)
    return {"format": doc["format"].get("tags", {}), "streams": [s["codec_type"] for s in doc["streams"]],
            "duration": float(doc["format"]["duration"])}


def test_video_policy_viewer_copy_without_metadata_ranger_original(video, signed_in, tmp_path):
    m, data = video
    url = f"/review/media/{m.id}/original"
    ranger = _get(signed_in("ranger"), url)
    assert ranger.status_code == 200 and ranger.data == data
    assert ranger.headers["Cache-Control"] == "private, no-store"
    viewer = signed_in("viewer")
    v = _get(viewer, url)
    assert v.status_code == 200 and v.mimetype == "video/mp4" and v.data != data
    assert SERIAL.encode() not in v.data and b"17.5900" not in v.data
    orig, copy = _tags(data, tmp_path), _tags(v.data, tmp_path)
    assert orig["format"]["comment"] == SERIAL and orig["format"]["location"] == LOCATION
    assert not {"comment", "location", "creation_time"} & set(copy["format"])
    assert copy["streams"] == ["video"] and copy["duration"] == pytest.approx(orig["duration"], abs=0.2)
    # The copy seeks like the original.
    r = _get(viewer, url, {"Range": "bytes=0-15"})
    assert r.status_code == 206 and r.data == v.data[:16]
    # The API's download obeys the same policy.
    assert _get(viewer, f"/api/v1/media/{m.id}/file").data == v.data
    assert _get(signed_in("outsider"), url).status_code == 404


def test_video_showing_a_person_is_withheld_below_biologist(app, video, world, signed_in):
    from server.models import Detection, Media

    m, data = video
    url = f"/review/media/{m.id}/original"
    with world.session() as s:
        s.add(Detection(media_id=m.id, model="megadetector@5a", category="person", confidence=0.8,
                        bbox_x=0.1, bbox_y=0.1, bbox_width=0.2, bbox_height=0.3, start_s=1.0, frame_index=10))
    for who in ("viewer", "ranger"):
        r = _get(signed_in(who), url)
        assert r.status_code == 403 and "cannot be blurred in videos" in r.get_data(as_text=True)
        r = _get(signed_in(who), f"/api/v1/media/{m.id}/file")
        assert r.status_code == 403 and r.json["error"]["code"] == "withheld"
    assert _get(signed_in("bio"), url).data == data
    # Flagged by a person (no box) is enough.
    with world.session() as s:
        for d in s.exec(__import__("sqlmodel").select(Detection).where(Detection.media_id == m.id)):
            s.delete(d)
        s.get(Media, m.id).contains_person = True
    assert _get(signed_in("viewer"), url).status_code == 403


def test_video_not_yet_screened_is_withheld_from_viewers_when_a_detector_runs(app, video, signed_in):
    m, _data = video
    app.config["DETECTOR_MODEL"] = "megadetector-test"
    try:
        assert _get(signed_in("viewer"), f"/review/media/{m.id}/original").status_code == 409
        r = _get(signed_in("viewer"), f"/api/v1/media/{m.id}/file")
        assert r.status_code == 409 and r.json["error"]["code"] == "not_screened"
    finally:
        app.config.pop("DETECTOR_MODEL")


def test_video_review_item_has_player_url_duration_and_frame_boxes(app, video, world, rd, signed_in):
    from server.models import Detection

    m, _data = video
    with world.session() as s:
        for i, t in enumerate((0.5, 1.0, 1.5)):
            s.add(Detection(media_id=m.id, model="megadetector@5a", category="animal", confidence=0.9,
                            bbox_x=0.1 + 0.1 * i, bbox_y=0.2, bbox_width=0.3, bbox_height=0.4,
                            start_s=t, end_s=t + 0.5, frame_index=int(t * 10)))
    bio = signed_in("bio")
    seq_id = _get(bio, f"/api/v1/media/{m.id}").json["sequence_id"]
    assert seq_id, "the ingested video belongs to a sequence"
    item = _get(bio, f"/api/v1/review/sequences/{seq_id}").json["item"]
    (vm,) = [x for x in item["media"] if x["id"] == m.id]
    assert vm["kind"] == "video" and vm["url"] is None
    assert vm["original_url"] == f"/review/media/{m.id}/original"
    assert vm["duration_s"] == pytest.approx(3.0, abs=0.2)
    frames = sorted((d["start_s"], d["frame_index"], d["end_s"]) for d in vm["detections"])
    assert frames == [(0.5, 5, 1.0), (1.0, 10, 1.5), (1.5, 15, 2.0)]
    # The detections API carries the frame too (issue 16 fills these in).
    dets = _get(bio, f"/api/v1/media/{m.id}/detections").json
    items = dets["items"] if isinstance(dets, dict) else dets
    assert sorted(d["frame_index"] for d in items) == [5, 10, 15]
    # A video is labelled like a sequence (the whole sequence, or this video only).
    r = bio.post(f"/api/v1/review/sequences/{seq_id}/label",
                 {"observation_type": "animal", "taxon_id": rd.taxa["saola"].id, "count": 2, "media_id": m.id})
    assert r.status_code in (200, 201), r.json
    item = _get(bio, f"/api/v1/review/sequences/{seq_id}").json["item"]
    assert [(o["media_id"], o["taxon"]["id"], o["count"]) for o in item["observations"]] == \
        [(m.id, rd.taxa["saola"].id, 2)]
