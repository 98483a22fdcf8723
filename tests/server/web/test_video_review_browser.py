"""Review of a video the detector ran on (issue 16, item 3), in headless Chromium on SQLite and PostgreSQL:
the player opens at the best frame with that frame's box on the picture, the best-frame button (DOM
text, both languages' catalogue) goes back there, the poster is the best frame, and a damaged video
says so with ffmpeg's message."""
from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest

from test_review_tools_browser import _assert_box_on_picture, _backend, _clean, _context, _sign_in
from test_web_e2e import _shot, browser, e2e_db, server  # noqa: F401 - fixtures

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "detect"))

from detect_helpers import brightness_detector, make_video, register_model, run_jobs  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_browser_video_opens_at_its_best_frame_with_its_box(server, browser, e2e_db, tmp_path):  # noqa: F811
    from server.db import session_scope
    from server.ingest.pipeline import ingest_path
    from server.jobs import enqueue
    from server.models import Media, Program
    from server.services.deployments import build_deployment
    from sqlmodel import select
    from webdata import T0

    base, app, rd = server
    with session_scope(app.config["DATABASE_URL"]) as s:
        dep = build_deployment(s, s.get(Program, rd.program.id),
                               {"kind": "camera", "deployment_start": T0 - timedelta(days=1),
                                "deployment_end": T0 + timedelta(days=5), "timezone": "Asia/Ho_Chi_Minh"},
                               location={"name": "V02", "latitude": 17.5, "longitude": 106.3})
        dep_id = dep.id
    make_video(tmp_path / "card" / "VID_0100.MP4")  # 3 s fading in from black: the last frames are best
    rep = ingest_path(app, tmp_path / "card", deployment_id=dep_id, workers=0)
    assert rep.ingested == 1, rep.summary_lines()
    register_model(app, brightness_detector(tmp_path / "md.onnx"), "md_bright", "1.0")
    with session_scope(app.config["DATABASE_URL"]) as s:
        enqueue(s, "detect", {"deployment_id": dep_id, "model": "md_bright", "video_every_s": 0.5},
                area_id=rd.area.id)
    run_jobs(app)
    with session_scope(app.config["DATABASE_URL"]) as s:
        media = s.exec(select(Media).where(Media.deployment_id == dep_id)).one()
        assert media.meta["video_detection"]["best_time_s"] == 2.5
        media_id = media.id

    ctx = _context(browser)
    page, errors = _sign_in(ctx, base, f"/review?deployment_id={dep_id}")
    page.wait_for_function("() => document.getElementById('stage').dataset.kind === 'video'")
    page.wait_for_function("() => document.getElementById('video').readyState >= 2")
    # Opened at the best frame (2.5 s), its box drawn where the detector put it.
    page.wait_for_function("() => Math.abs(document.getElementById('video').currentTime - 2.5) < 0.01")
    page.wait_for_selector("#boxes .box")
    assert page.locator("#boxes .box").count() == 1
    _assert_box_on_picture(page, (0.25, 1 / 3, 0.5, 2 / 3), "#video")
    best = page.locator("#video-best")
    assert best.is_visible() and best.text_content().startswith("Best frame 2.5 s: animal ")
    assert page.locator("#video-note").is_hidden()
    assert page.get_attribute("#video", "poster").endswith(f"/review/media/{media_id}/image/review") or \
        f"/review/media/{media_id}/" in page.get_attribute("#video", "poster")
    poster = ctx.request.get(base + page.get_attribute("#video", "poster"))
    assert poster.status == 200 and poster.headers["content-type"] == "image/jpeg"
    _shot(page, "video_best_frame", _backend(e2e_db))
    # Elsewhere in the clip the button brings the best frame back.
    page.evaluate("document.getElementById('video').currentTime = 0.2")
    page.wait_for_function("() => document.querySelectorAll('#boxes .box').length === 0")
    best.click()
    page.wait_for_function("() => Math.abs(document.getElementById('video').currentTime - 2.5) < 0.01")
    page.wait_for_selector("#boxes .box")
    _clean(page, errors)

    # A damaged video says so, with ffmpeg's words, as text.
    with session_scope(app.config["DATABASE_URL"]) as s:
        m = s.get(Media, media_id)
        m.meta = {**m.meta, "decode_error": "truncated or damaged: [mov,mp4] stream 0: partial file <b>x</b>"}
        s.add(m)
    page.reload()
    page.wait_for_function("() => !document.getElementById('video-note').hidden")
    assert page.locator("#video-note").text_content() == \
        "Damaged video: truncated or damaged: [mov,mp4] stream 0: partial file <b>x</b>"
    assert page.locator("#video-note b").count() == 0
    _clean(page, errors)
    ctx.close()
