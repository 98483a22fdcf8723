"""Detections API, queuing detection, and the role-aware image route (blur for viewers)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from detect_helpers import (ANIMAL_AND_PERSON, ANIMAL_ONLY, add_media, constant_detector, jpeg_bytes, quick_user,
                            register_model, run_jobs, setup_deployment)


@pytest.fixture
def scene(app, world, tmp_path):
    area, program, dep = setup_deployment(world)
    other_area, _p, other_dep = setup_deployment(world, code="CTN")
    register_model(app, constant_detector(tmp_path / "md.onnx", ANIMAL_AND_PERSON), "md_test", "1.0")
    register_model(app, constant_detector(tmp_path / "animals.onnx", ANIMAL_ONLY), "md_animals", "1.0")
    people = add_media(app, dep, "IMG_0001.JPG", jpeg_bytes((400, 300), seed=1))
    animals = add_media(app, dep, "IMG_0002.JPG", jpeg_bytes((400, 300), seed=2))
    unscreened = add_media(app, dep, "IMG_0003.JPG", jpeg_bytes((400, 300), seed=3))
    elsewhere = add_media(app, other_dep, "IMG_9.JPG", jpeg_bytes(seed=4))
    from server.db import session_scope
    from server.jobs import enqueue

    with session_scope(app.config["DATABASE_URL"]) as s:
        enqueue(s, "detect", {"media_ids": [people], "model": "md_test"})
        enqueue(s, "detect", {"media_ids": [animals], "model": "md_animals"})
    run_jobs(app)
    users = {role: quick_user(world, role, {area.id: role}) for role in ("viewer", "ranger", "biologist")}
    return {"area": area, "dep": dep, "people": people, "animals": animals, "unscreened": unscreened,
            "elsewhere": elsewhere, "other_dep": other_dep, "users": users,
            "h": {r: world.headers(u) for r, u in users.items()}}


def test_media_detections_with_filters(client, scene):
    h = scene["h"]["viewer"]
    r = client.get(f"/api/v1/media/{scene['people']}/detections", headers=h)
    assert r.status_code == 200
    assert [(d["category"], d["model"]) for d in r.json] == [("animal", "md_test@1.0"), ("person", "md_test@1.0")]
    r = client.get(f"/api/v1/media/{scene['people']}/detections?category=person&min_confidence=0.5", headers=h)
    assert [d["category"] for d in r.json] == ["person"]
    r = client.get(f"/api/v1/media/{scene['people']}/detections?min_confidence=0.7", headers=h)
    assert [d["category"] for d in r.json] == ["animal"]
    r = client.get(f"/api/v1/media/{scene['people']}/detections?model=md_animals", headers=h)
    assert r.json == []
    r = client.get(f"/api/v1/media/{scene['people']}/detections?min_confidence=2", headers=h)
    assert r.status_code == 422 and "min_confidence" in r.json["error"]["message"]
    # Another area's media is invisible, not forbidden.
    r = client.get(f"/api/v1/media/{scene['elsewhere']}/detections", headers=h)
    assert r.status_code == 404


def test_deployment_detections_paginated(client, scene):
    h = scene["h"]["viewer"]
    r = client.get(f"/api/v1/deployments/{scene['dep']}/detections?limit=2", headers=h)
    assert r.status_code == 200 and r.json["total"] == 3 and len(r.json["items"]) == 2
    assert r.json["next_offset"] == 2
    r = client.get(f"/api/v1/deployments/{scene['dep']}/detections?category=animal&model=md_animals@1.0", headers=h)
    assert [(d["media_id"], d["model"]) for d in r.json["items"]] == [(scene["animals"], "md_animals@1.0")]
    r = client.get(f"/api/v1/deployments/{scene['other_dep']}/detections", headers=h)
    assert r.status_code == 404


def test_queue_detection_needs_biologist(app, client, scene):
    url = f"/api/v1/deployments/{scene['dep']}/detect"
    r = client.post(url, json={"model": "md_test"}, headers=scene["h"]["ranger"])
    assert r.status_code == 403
    r = client.post(url, json={"model": "nope"}, headers=scene["h"]["biologist"])
    assert r.status_code == 422 and "no registered model 'nope'" in r.json["error"]["message"]
    r = client.post(url, json={"model": "md_test", "bogus": 1}, headers=scene["h"]["biologist"])
    assert r.status_code == 422
    r = client.post(url, json={"model": "md_test"}, headers=scene["h"]["biologist"])
    assert r.status_code == 202 and r.json["kind"] == "detect" and r.json["status"] == "queued"
    assert r.json["area_id"] == scene["area"].id
    run_jobs(app)
    job = client.get(f"/api/v1/jobs/{r.json['id']}", headers=scene["h"]["viewer"]).json
    assert job["status"] == "done" and job["progress_total"] == 2  # the two it had not processed
    r = client.get("/api/v1/models", headers=scene["h"]["viewer"])
    assert [m["name"] for m in r.json] == ["md_animals", "md_test"]


def _get(client, url, headers):
    """GET and close the response (file responses hold the file open until closed)."""
    r = client.get(url, headers=headers)
    r.get_data()
    r.close()
    return r


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def test_viewers_get_people_blurred_biologists_get_originals(app, client, scene):
    from server.db import session_scope
    from server.models import Media
    from server.storage import get_store

    with session_scope(app.config["DATABASE_URL"]) as s:
        m = s.get(Media, scene["people"])
        original = get_store(app).path(m.storage_key).read_bytes()
    url = f"/api/v1/media/{scene['people']}/view"
    r = _get(client, url + "?size=original", headers=scene["h"]["biologist"])
    assert r.status_code == 200 and r.data == original and r.headers["X-Saola-Blurred"] == "0"
    r = _get(client, url + "?size=original", headers=scene["h"]["viewer"])
    assert r.status_code == 200 and r.headers["X-Saola-Blurred"] == "1" and r.mimetype == "image/jpeg"
    assert "no-store" in r.headers["Cache-Control"]
    blurred, clear = _pixels(r.data), _pixels(original)
    assert blurred.shape == clear.shape == (300, 400, 3)
    # The person box: input 36..52 px; the 400x300 image is letterboxed to 64x48 (scale 0.16, no
    # padding at stride 16) -> x 225..325, y 225..300 (clipped at the bottom edge).
    inside = (slice(235, 292), slice(235, 315))
    outside = (slice(10, 120), slice(10, 150))
    changed_inside = np.abs(blurred[inside] - clear[inside]).mean()
    changed_outside = np.abs(blurred[outside] - clear[outside]).mean()  # JPEG re-encoding only
    assert changed_inside > 20 and changed_outside < changed_inside / 3
    assert blurred[inside].std(axis=(0, 1)).max() < clear[inside].std(axis=(0, 1)).min() / 3  # texture gone
    r = _get(client, url + "?size=thumb", headers=scene["h"]["ranger"])
    assert r.status_code == 200 and r.headers["X-Saola-Blurred"] == "1"
    assert max(Image.open(io.BytesIO(r.data)).size) == 320
    # The image of animals only is clear for everyone.
    r = _get(client, f"/api/v1/media/{scene['animals']}/view?size=thumb", headers=scene["h"]["viewer"])
    assert r.status_code == 200 and r.headers["X-Saola-Blurred"] == "0"


def test_unscreened_images_are_withheld_from_viewers_when_a_detector_is_configured(app, client, scene):
    url = f"/api/v1/media/{scene['unscreened']}/view?size=thumb"
    assert _get(client, url, headers=scene["h"]["viewer"]).status_code == 200  # no detector configured
    app.config["DETECTOR_MODEL"] = "md_test"
    r = _get(client, url, headers=scene["h"]["viewer"])
    assert r.status_code == 409 and r.json["error"]["code"] == "not_screened"
    assert _get(client, url, headers=scene["h"]["biologist"]).status_code == 200
    r = _get(client, f"/api/v1/media/{scene['unscreened']}/view?size=huge", headers=scene["h"]["biologist"])
    assert r.status_code == 422
    assert _get(client, f"/api/v1/media/{scene['elsewhere']}/view", headers=scene["h"]["biologist"]).status_code == 404
