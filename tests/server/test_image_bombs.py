"""Decompression bombs (issue 17, finding 9).

A 17 KiB PNG declaring 12,000 x 12,000 pixels took the server from 154 to
980 MiB per field-photo thumbnail; 20,000 x 20,000 gave a bare 500. Every
decode path now opens images through classifiers/safe_image.py, which refuses
an image declaring more than SAOLA_MAX_IMAGE_MPIXELS before decoding it.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from classifiers.safe_image import DEFAULT_MAX_PIXELS, ImageTooLarge, open_image
from image_bombs import bomb_jpeg, bomb_png
from signin import sign_in

REPO = Path(__file__).resolve().parents[2]


def test_the_bomb_is_what_the_probe_used():
    data = bomb_png(12000, 12000)
    assert len(data) < 20 * 1024
    with pytest.raises(ImageTooLarge, match="image too large"):
        open_image(data)


@pytest.mark.parametrize("side", [9000, 12000, 20000])
def test_open_image_refuses_before_decoding(side):
    with pytest.raises(ImageTooLarge) as info:
        open_image(bomb_png(side, side))
    assert f"limit {DEFAULT_MAX_PIXELS / 1e6:g} megapixels" in str(info.value)


def test_the_limit_names_width_and_height_when_below_pillows_own_check():
    with pytest.raises(ImageTooLarge, match=r"image too large: 7000x6000 pixels \(limit 30 megapixels\)"):
        open_image(bomb_png(7000, 6000), limit=30_000_000)
    assert open_image(bomb_png(4000, 3000)).size == (4000, 3000)  # ordinary photos open


def test_pillows_own_limit_is_set_deliberately(app):
    from PIL import Image

    assert Image.MAX_IMAGE_PIXELS == app.config["MAX_IMAGE_MPIXELS"] * 1_000_000


def test_no_image_is_opened_outside_the_safe_opener():
    """Every server decode path goes through classifiers/safe_image.open_image (grep, so new paths cannot
    slip by). The field app cannot import it on Android: its one decode path is tested below."""
    offenders = []
    for root in ("server", "classifiers"):
        for path in (REPO / root).rglob("*.py"):
            if path.name == "safe_image.py":
                continue
            text = path.read_text(encoding="utf-8")
            if re.search(r"Image\.open\(", text):
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_the_field_app_refuses_a_bomb_before_decoding(tmp_path):
    from mobile.photos import MAX_PIXELS, PhotoError, resize_photo

    assert MAX_PIXELS == DEFAULT_MAX_PIXELS  # the app and the server agree
    for side in (9000, 20000):
        src = tmp_path / f"bomb{side}.png"
        src.write_bytes(bomb_png(side, side))
        with pytest.raises(PhotoError) as info:
            resize_photo(src, tmp_path / "out")
        assert "too large" in info.value.message("en") and "quá lớn" in info.value.message("vi")
    assert list((tmp_path / "out").iterdir()) == []


# ---- every decode path --------------------------------------------------------------------
def test_detector_input_refuses_the_bomb():
    from classifiers.image import ImageDecodeError, load_image

    with pytest.raises(ImageDecodeError, match="image too large"):
        load_image(bomb_png(20000, 20000))


def test_ingest_derivatives_refuse_the_bomb():
    from server.ingest.derivatives import DerivativeError, make_derivatives

    with pytest.raises(DerivativeError, match="image too large"):
        make_derivatives(bomb_jpeg(60000, 60000))


def test_export_without_metadata_skips_the_bomb(tmp_path):
    from server.exports.camtrap_dp import _write_without_metadata

    src = tmp_path / "bomb.png"
    src.write_bytes(bomb_png(20000, 20000))
    assert _write_without_metadata(src, tmp_path / "out.png") is False
    assert not (tmp_path / "out.png").exists()


def _stored_media(app, world, data: bytes, ext: str, **fields):
    from server.models import Media
    from server.storage import get_store

    sha = hashlib.sha256(data).hexdigest()
    key = get_store(app).key_for(sha, ext)
    get_store(app).put_stream(io.BytesIO(data), key)
    with world.session() as s:
        m = Media(sha256=sha, kind="image", file_name=f"bomb.{ext}", media_type=f"image/{ext}",
                  size_bytes=len(data), storage_key=key, **fields)
        s.add(m)
        s.flush()
        return m


def test_review_image_refuses_the_bomb(app, world):
    from server.review.media import review_image

    m = _stored_media(app, world, bomb_png(20000, 20000), "png")
    with app.app_context(), pytest.raises(ImageTooLarge):
        from server.storage import get_store

        review_image(get_store(app), app.extensions["saola.derivatives"], m)


def test_media_view_answers_a_clear_422(app, client, world):
    area = world.area()
    program = world.program(area.id)
    dep = world.deployment(program)
    m = _stored_media(app, world, bomb_png(12000, 12000), "png", deployment_id=dep.id)
    h = world.headers(world.user("bio", roles={area.id: "biologist"}))
    r = client.get(f"/api/v1/media/{m.id}/view?size=thumb", headers=h)
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    assert "image too large" in r.json["error"]["message"]


def test_uploaded_bomb_is_refused_and_not_stored(app, client, world):
    from sqlmodel import select

    from server.models import Media

    area = world.area()
    h = world.headers(world.user("lan", roles={area.id: "ranger"}))
    data = bomb_png(20000, 20000)
    sha = hashlib.sha256(data).hexdigest()
    r = client.post("/api/v1/uploads", json={"sha256": sha, "size": len(data), "media_type": "image/png",
                                            "file_name": "bomb.png"}, headers=h)
    assert r.status_code == 201, r.json
    r = client.patch(f"/api/v1/uploads/{r.json['id']}", data=data,
                     headers={**h, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 422 and r.json["error"]["code"] == "image_too_large"
    assert "image too large" in r.json["error"]["message"]
    with world.session() as s:
        assert s.exec(select(Media).where(Media.sha256 == sha)).first() is None


def _field_photo_setup(app, world):
    from datetime import datetime, timezone

    from server.models import FieldObservation

    a = world.area()
    p = world.program(a.id, "Transects", protocol="line-transect")
    ranger = world.user("ranger", roles={a.id: "ranger"})  # uploaded it: area A's photo (server/auth/policy.py)
    m = _stored_media(app, world, bomb_png(12000, 12000), "png", meta={"uploaded_by": ranger.id})
    with world.session() as s:
        s.add(FieldObservation(id="o1", program_id=p.id, protocol="line_transect@1.0",
                               observed_at=datetime(2026, 3, 1, tzinfo=timezone.utc), photos=[m.sha256],
                               data={"data": {}}))
    world.user("viewer", roles={a.id: "viewer"})
    world.user("bio", roles={a.id: "biologist"})
    return a, m.sha256


@pytest.mark.parametrize("who", ["viewer", "bio"])
def test_field_photo_thumbnail_of_a_bomb_is_a_clear_4xx(app, client, world, who):
    a, sha = _field_photo_setup(app, world)
    assert sign_in(client, who).status_code == 302
    r = client.get(f"/areas/{a.id}/field/photo/{sha}")
    assert 400 <= r.status_code < 500 and r.status_code != 404, r.status_code
    assert "image too large" in r.get_data(as_text=True)


_RSS_SCRIPT = textwrap.dedent('''
    import json, resource, sys, tempfile
    from pathlib import Path

    sys.path.insert(0, sys.argv[1])
    sys.path.insert(0, sys.argv[1] + "/tests")
    from conftest import World
    from server import create_app
    from server.migrate import upgrade
    from test_image_bombs import _field_photo_setup

    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'saola.db'}"
    upgrade(url)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "DATA_DIR": str(tmp / "data"),
                      "SECRET_KEY": "x", "WORKER": "inprocess", "LANGUAGE": "en"})
    world = World(app)
    a, sha = _field_photo_setup(app, world)
    client = app.test_client()
    from signin import sign_in

    sign_in(client, "bio")
    client.get("/areas/%s/field" % a.id)  # warm up templates, imports and the session
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    statuses = [client.get(f"/areas/{a.id}/field/photo/{sha}").status_code for _ in range(3)]
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"before_kib": before, "after_kib": after, "statuses": statuses}))
''')


@pytest.mark.slow  # a fresh server process and three large decodes
def test_field_photo_thumbnail_memory_stays_bounded(tmp_path):
    """Peak RSS of a fresh server process grows by less than 64 MiB over three bomb thumbnail fetches
    (it grew by about 830 MiB per fetch before the fix)."""
    script = tmp_path / "rss.py"
    script.write_text(_RSS_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + str(REPO / "tests" / "server")}
    out = subprocess.run([sys.executable, str(script), str(REPO)], capture_output=True, text=True, env=env,
                         cwd=str(REPO), timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert all(400 <= s < 500 for s in res["statuses"]), res
    assert res["after_kib"] - res["before_kib"] < 64 * 1024, res
