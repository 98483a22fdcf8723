"""Issue 12, items 4 and 7 in the browser (headless Debian chromium through Playwright, a real
``saola serve``, SQLite and PostgreSQL): zoom and pan keep the boxes on the picture;
brightness, contrast and gamma change the rendered pixels and follow the user to another
browser; the burst plays as an animation and two photos show side by side; a viewer opens
the original through the image policy; a video plays (fetched with HTTP Range) with its
frame boxes at the current time and is labelled like a sequence. No Content-Security-Policy
violation anywhere. Screenshots at 1366x768 go to test-artifacts/.

Select them with ``-k "browser and (zoom or brightness or video or burst)"``."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlmodel import select

from test_web_e2e import _shot, _wait_sequence, browser, e2e_db, server  # noqa: F401 - fixtures
from videodata import ingest_video

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LAPTOP = (1366, 768)
# Recorded from the first script of every page: any CSP refusal (inline style, script, media source).
CSP_PROBE = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def _backend(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def _context(browser, size=LAPTOP):  # noqa: F811 - the fixture's value
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="en-US")
    ctx.add_init_script(CSP_PROBE)
    return ctx


def _sign_in(ctx, base, path, user="bio"):
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", "password123")
    page.press("#password", "Enter")
    page.wait_for_url(base + "/")
    page.goto(base + path)
    return page, errors


def _clean(page, errors) -> None:
    assert page.evaluate("window.__csp") == [], "Content-Security-Policy violations"
    assert errors == []


def _rect(page, selector: str) -> dict:
    return page.eval_on_selector(selector, "e => { const r = e.getBoundingClientRect(); "
                                           "return {x: r.x, y: r.y, w: r.width, h: r.height}; }")


def _eventually(check, timeout: float = 5.0) -> None:
    """``check()`` passes within ``timeout`` s: the boxes of a video frame are drawn on the frame after
    the player reports its new time (the last failure is raised)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _free_point(stage: dict, box: dict, margin: float = 12) -> tuple[float, float]:
    """A point of the stage, with room for a 60x30 px drag, outside the box's rectangle."""
    for fx in (0.25, 0.75, 0.5, 0.1, 0.85):
        for fy in (0.25, 0.75, 0.5, 0.1, 0.85):
            x, y = stage["x"] + fx * (stage["w"] - 80), stage["y"] + fy * (stage["h"] - 40)
            inside = (box["x"] - margin <= x <= box["x"] + box["w"] + margin + 60
                      and box["y"] - margin <= y <= box["y"] + box["h"] + margin + 30)
            if not inside:
                return x, y
    raise AssertionError(f"the box {box} covers the whole stage {stage}")


def _assert_box_on_picture(page, bbox, picture="#image", box="#boxes .box") -> None:
    """The box's rectangle is where its normalised bbox falls on the picture as drawn now."""
    img, b = _rect(page, picture), _rect(page, box)
    scale = float(page.locator("#stage").get_attribute("data-zoom"))
    x, y, w, h = bbox
    # Centres match to the pixel; sizes up to the (zoomed) 2 px border on each side.
    assert b["x"] + b["w"] / 2 == pytest.approx(img["x"] + (x + w / 2) * img["w"], abs=1.5)
    assert b["y"] + b["h"] / 2 == pytest.approx(img["y"] + (y + h / 2) * img["h"], abs=1.5)
    assert b["w"] == pytest.approx(w * img["w"], abs=4 * scale + 1.5)
    assert b["h"] == pytest.approx(h * img["h"], abs=4 * scale + 1.5)


def _zoom(page) -> float:
    return float(page.locator("#stage").get_attribute("data-zoom"))


def test_browser_zoom_with_wheel_keys_and_drag_keeps_boxes_aligned(server, browser, e2e_db):  # noqa: F811
    base, app, rd = server
    backend = _backend(e2e_db)
    ctx = _context(browser)
    page, errors = _sign_in(ctx, base, f"/review?deployment_id={rd.deployment.id}")
    _wait_sequence(page, rd.sequences[0].id, errors)
    page.wait_for_function("() => document.getElementById('image').naturalWidth > 0")
    page.wait_for_selector("#boxes .box")
    bbox = (0.1, 0.2, 0.3, 0.4)
    _assert_box_on_picture(page, bbox)
    stage = _rect(page, "#stage")
    assert _rect(page, "#image") == stage

    # The mouse wheel zooms around the cursor: the picture's point under it stays under it.
    img = _rect(page, "#image")
    cx, cy = img["x"] + 0.7 * img["w"], img["y"] + 0.4 * img["h"]
    page.mouse.move(cx, cy)
    page.mouse.wheel(0, -400)
    page.wait_for_function("() => parseFloat(document.getElementById('stage').dataset.zoom) > 1.5")
    img2 = _rect(page, "#image")
    assert (cx - img2["x"]) / img2["w"] == pytest.approx(0.7, abs=0.01)
    assert (cy - img2["y"]) / img2["h"] == pytest.approx(0.4, abs=0.01)
    _assert_box_on_picture(page, bbox)
    assert _rect(page, "#stage") == stage, "zooming never changes the page's layout"

    # z zooms in, Z out, around the middle of the view.
    before = _zoom(page)
    page.keyboard.press("z")
    page.keyboard.press("z")
    assert _zoom(page) == pytest.approx(before * 1.25 * 1.25, rel=1e-3)
    _assert_box_on_picture(page, bbox)
    page.keyboard.press("Shift+Z")
    assert _zoom(page) == pytest.approx(before * 1.25, rel=1e-3)
    _shot(page, "tools_1_zoomed", backend)

    # Shift+arrows pan; so does dragging; the boxes move with the picture.
    x0 = _rect(page, "#image")["x"]
    page.keyboard.press("Shift+ArrowRight")
    assert _rect(page, "#image")["x"] < x0
    _assert_box_on_picture(page, bbox)
    img = _rect(page, "#image")
    # Grab the picture where no box is (a press on a box drags the box): how far the wheel zoomed
    # varies with how the browser groups wheel events, and so where the box is drawn.
    sx, sy = _free_point(stage, _rect(page, "#boxes .box"))
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(sx + 60, sy + 30, steps=4)
    page.mouse.up()
    # The page moves the picture on its next animation frame: on a loaded machine that is later.
    page.wait_for_function("(x) => Math.abs(document.getElementById('image').getBoundingClientRect().x - x) > 1",
                           arg=img["x"], timeout=10_000)
    img2 = _rect(page, "#image")
    assert (img2["x"] - img["x"], img2["y"] - img["y"]) == (pytest.approx(60, abs=1), pytest.approx(30, abs=1))
    _assert_box_on_picture(page, bbox)
    # The picture never leaves the view: panning stops at its edge.
    for _ in range(30):
        page.keyboard.press("Shift+ArrowLeft")
    assert _rect(page, "#image")["x"] == pytest.approx(stage["x"], abs=0.5)

    # A box moved while zoomed lands where it was dropped on the picture (edits work at any zoom).
    page.keyboard.press("Tab")
    page.wait_for_selector("#boxes .box.selected")
    b = _rect(page, "#boxes .box")
    img = _rect(page, "#image")
    page.mouse.move(b["x"] + b["w"] / 2, b["y"] + b["h"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["w"] / 2 + 0.05 * img["w"], b["y"] + b["h"] / 2, steps=3)
    page.mouse.up()
    page.wait_for_function("() => /Box saved/.test(document.getElementById('status').textContent)")
    _assert_box_on_picture(page, (0.15, 0.2, 0.3, 0.4))

    # The same image at the next one of the burst keeps the zoom; r fits the picture again.
    page.keyboard.press("ArrowDown")
    assert _zoom(page) > 1
    page.keyboard.press("r")
    assert _zoom(page) == 1 and _rect(page, "#image") == _rect(page, "#stage")
    # The next sequence starts fitted.
    page.keyboard.press("z")
    page.keyboard.press("n")
    _wait_sequence(page, rd.empty_sequence.id, errors)
    assert _zoom(page) == 1
    _clean(page, errors)
    ctx.close()

    from server.db import session_scope
    from server.models import Detection

    with session_scope(e2e_db) as s:
        det = s.get(Detection, rd.detections[rd.media[rd.sequences[0].id][0].id][0].id)
        assert det.bbox_x == pytest.approx(0.15, abs=0.002) and det.bbox_y == pytest.approx(0.2, abs=0.002)


def _pixels(page, selector="#image"):
    """The picture as rendered on screen (RGB array)."""
    import numpy as np
    from PIL import Image

    png = page.locator(selector).screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64)


def _set_slider(page, selector: str, value: float) -> None:
    """Move a slider with the keyboard, as a person would (arrows step by the slider's step)."""
    page.focus(selector)
    current = float(page.input_value(selector))
    step = float(page.get_attribute(selector, "step"))
    key = "ArrowRight" if value > current else "ArrowLeft"
    for _ in range(round(abs(value - current) / step)):
        page.keyboard.press(key)
    page.keyboard.press("Escape")
    assert float(page.input_value(selector)) == pytest.approx(value)


def test_browser_brightness_contrast_gamma_change_pixels_and_persist(server, browser, e2e_db):  # noqa: F811
    base, app, rd = server
    backend = _backend(e2e_db)
    ctx = _context(browser)
    path = f"/review?deployment_id={rd.deployment.id}"
    page, errors = _sign_in(ctx, base, path)
    _wait_sequence(page, rd.sequences[0].id, errors)
    page.wait_for_function("() => document.getElementById('image').naturalWidth > 0")
    plain = _pixels(page)
    # The picture: (200, 30, 30) with a lighter checkerboard.

    _set_slider(page, "#adj-brightness", 1.5)
    bright = _pixels(page)
    assert bright.mean() > plain.mean() * 1.25
    _set_slider(page, "#adj-brightness", 1.0)
    _set_slider(page, "#adj-contrast", 0.5)
    flat = _pixels(page)
    assert flat.std() < plain.std() * 0.6, "lower contrast: tones closer together"
    _set_slider(page, "#adj-contrast", 1.0)
    assert abs(_pixels(page).mean() - plain.mean()) < 2, "back to the image as stored"

    # Gamma lifts the dark tones (night infrared) and leaves black and white alone.
    _set_slider(page, "#adj-gamma", 2.0)
    lifted = _pixels(page)
    import numpy as np

    expected = 255 * (plain / 255) ** (1 / 2.0)  # each rendered pixel through the gamma curve
    assert float(np.median(np.abs(lifted - expected))) < 3
    dark = plain < 60
    assert dark.sum() > 1000 and (lifted[dark] - plain[dark]).mean() > 25, "dark tones lifted"
    assert np.abs(lifted[plain > 250] - plain[plain > 250]).max() <= 3, "white stays white"
    page.wait_for_function("() => document.getElementById('stage').dataset.prefsSaved === 'true'")
    _set_slider(page, "#adj-brightness", 1.2)
    page.wait_for_function("() => document.getElementById('stage').dataset.prefsSaved === 'true'")
    adjusted = _pixels(page)
    _shot(page, "tools_2_gamma", backend)

    # The same after a reload...
    page.reload()
    _wait_sequence(page, rd.sequences[0].id, errors)
    page.wait_for_function("() => document.getElementById('image').naturalWidth > 0")
    assert page.input_value("#adj-gamma") == "2" and page.input_value("#adj-brightness") == "1.2"
    assert abs(_pixels(page).mean() - adjusted.mean()) < 2
    _clean(page, errors)
    ctx.close()
    # ... and in another browser (nothing in its localStorage): the server keeps them.
    ctx2 = _context(browser)
    page, errors = _sign_in(ctx2, base, path)
    _wait_sequence(page, rd.sequences[0].id, errors)
    page.wait_for_function("() => document.getElementById('image').naturalWidth > 0")
    assert page.input_value("#adj-gamma") == "2" and page.input_value("#adj-contrast") == "1"
    assert abs(_pixels(page).mean() - adjusted.mean()) < 2
    # Reset: the image as stored again (and saved so).
    page.click("#adj-reset")
    page.wait_for_function("() => document.getElementById('stage').dataset.prefsSaved === 'true'")
    assert abs(_pixels(page).mean() - plain.mean()) < 2
    _clean(page, errors)
    ctx2.close()
    from server.db import session_scope
    from server.models import User

    with session_scope(e2e_db) as s:
        prefs = s.exec(select(User).where(User.username == "bio")).one().preferences["review_image"]
        assert (prefs["brightness"], prefs["contrast"], prefs["gamma"]) == (1.0, 1.0, 1.0)


def test_browser_burst_animation_and_side_by_side(server, browser, e2e_db):  # noqa: F811
    base, app, rd = server
    backend = _backend(e2e_db)
    ctx = _context(browser)
    page, errors = _sign_in(ctx, base, f"/review?deployment_id={rd.deployment.id}")
    first, second = (m.id for m in rd.media[rd.sequences[0].id])
    _wait_sequence(page, rd.sequences[0].id, errors)
    # Flip by hand with the arrows...
    page.keyboard.press("ArrowDown")
    assert page.locator("#stage").get_attribute("data-media-id") == second
    page.keyboard.press("ArrowUp")
    assert page.locator("#stage").get_attribute("data-media-id") == first
    # ... or play the burst (Space), round and round, at the chosen speed, then pause.
    page.keyboard.press("]")
    assert page.input_value("#burst-fps") == "8"
    page.keyboard.press("Space")
    assert page.locator("#burst-play").get_attribute("aria-pressed") == "true"
    seen = page.evaluate("""() => new Promise((done) => {
        const ids = [];
        const watch = new MutationObserver(() => {
          ids.push(document.getElementById('stage').dataset.mediaId);
          if (ids.length >= 4) { watch.disconnect(); done(ids); }
        });
        watch.observe(document.getElementById('stage'), {attributes: true, attributeFilter: ['data-media-id']});
    })""")
    assert seen == [second, first, second, first]
    page.keyboard.press("Space")
    assert page.locator("#stage").get_attribute("data-playing") == "false"

    # Two photos side by side (v), each with its boxes; the other one chosen from the list.
    page.keyboard.press("v")
    page.wait_for_function("() => document.getElementById('image-b').naturalWidth > 0")
    assert page.locator("#stage-b").is_visible()
    a_id = page.locator("#stage").get_attribute("data-media-id")
    b_id = page.locator("#stage-b").get_attribute("data-media-id")
    assert {a_id, b_id} == {first, second}
    assert page.locator("#boxes .box").count() == 1 and page.locator("#boxes-b .box").count() == 1
    _assert_box_on_picture(page, (0.1, 0.2, 0.3, 0.4), "#image-b", "#boxes-b .box")
    a, b = _rect(page, "#stage"), _rect(page, "#stage-b")
    assert b["x"] >= a["x"] + a["w"] - 1 and abs(a["y"] - b["y"]) < 1, "side by side, one row"
    # Zooming zooms both, the same way.
    page.keyboard.press("z")
    assert page.eval_on_selector("#canvas", "e => e.style.transform") == \
        page.eval_on_selector("#canvas-b", "e => e.style.transform")
    _assert_box_on_picture(page, (0.1, 0.2, 0.3, 0.4), "#image-b", "#boxes-b .box")
    page.select_option("#compare-b", "0")
    page.select_option("#compare-a", "1")
    assert page.locator("#stage").get_attribute("data-media-id") == second
    assert page.locator("#stage-b").get_attribute("data-media-id") == first
    _shot(page, "tools_3_side_by_side", backend)
    page.keyboard.press("v")
    assert not page.locator("#stage-b").is_visible()
    _clean(page, errors)
    ctx.close()


def test_browser_burst_viewer_opens_the_original_through_the_policy(server, browser, e2e_db):  # noqa: F811
    from server.db import session_scope
    from server.models import Media
    from server.storage import get_store

    base, app, rd = server
    person = rd.media[rd.sequences[2].id][0]
    with session_scope(e2e_db) as s:
        stored = get_store(app).path(s.get(Media, person.id).storage_key).read_bytes()
    for user in ("viewer", "bio"):
        ctx = _context(browser)
        page, errors = _sign_in(ctx, base, f"/review?deployment_id={rd.deployment.id}&review_status=any", user)
        _wait_sequence(page, rd.sequences[0].id, errors)
        for seq in (rd.empty_sequence, rd.sequences[1], rd.sequences[2]):  # queue (time) order
            page.keyboard.press("n")
            _wait_sequence(page, seq.id, errors)
        href = page.get_attribute("#btn-original", "href")
        assert href == f"/review/media/{person.id}/original"
        with ctx.expect_page() as popup:
            page.keyboard.press("o")
        tab = popup.value
        tab.wait_for_load_state()
        assert tab.evaluate("document.images[0].naturalWidth") == 64
        body = ctx.request.get(base + href).body()
        if user == "viewer":
            assert body != stored, "a viewer gets a re-encoded copy with the person blurred"
        else:
            assert body == stored
        _clean(page, errors)
        ctx.close()


@pytest.fixture
def video_deployment(server, tmp_path):  # noqa: F811 - the fixture's value
    """A camera deployment of rd's program holding one ingested clip (3 s) with boxes in three frames."""
    from server.db import session_scope
    from server.models import Detection, Program
    from server.services.deployments import build_deployment
    from webdata import T0

    base, app, rd = server
    with session_scope(app.config["DATABASE_URL"]) as s:
        dep = build_deployment(s, s.get(Program, rd.program.id),
                               {"kind": "camera", "deployment_start": T0 - timedelta(days=1),
                                "deployment_end": T0 + timedelta(days=5), "timezone": "Asia/Ho_Chi_Minh"},
                               location={"name": "V01", "latitude": 17.5, "longitude": 106.3})
        dep_id = dep.id
    media, _data = ingest_video(app, dep_id, tmp_path)
    frames = [(0.5, 5, 0.1), (1.0, 10, 0.3), (1.5, 15, 0.5)]
    with session_scope(app.config["DATABASE_URL"]) as s:
        for t, i, x in frames:
            s.add(Detection(media_id=media.id, model="megadetector@5a", category="animal", confidence=0.9,
                            bbox_x=x, bbox_y=0.2, bbox_width=0.3, bbox_height=0.4, start_s=t, frame_index=i,
                            end_s=t + 0.5))
    return dep_id, media, frames


def test_browser_video_plays_with_frame_boxes_and_is_labelled(server, browser, e2e_db, video_deployment):  # noqa: F811
    from server.db import session_scope
    from server.models import Observation, Sequence

    base, app, rd = server
    backend = _backend(e2e_db)
    dep_id, media, frames = video_deployment
    ctx = _context(browser)
    page, errors = _sign_in(ctx, base, f"/review?deployment_id={dep_id}")
    ranges = []
    page.on("response", lambda r: ranges.append((r.status, r.request.headers.get("range")))
            if "/original" in r.url else None)
    page.wait_for_function("() => document.getElementById('stage').dataset.kind === 'video'")
    page.wait_for_function("() => document.getElementById('video').readyState >= 2")
    assert page.locator("#image").is_hidden() and page.locator("#videobar").is_visible()
    assert page.evaluate("document.getElementById('video').duration") == pytest.approx(3.0, abs=0.2)
    assert page.locator("#boxes .box").count() == 0, "no box before the first frame with one"
    # Frame by frame (. and ,): the boxes of the frame on screen, on the picture at any zoom.
    for t, _i, x in frames:
        page.keyboard.press(".")
        page.wait_for_function("t => Math.abs(document.getElementById('video').currentTime - t) < 0.01", arg=t)
        page.wait_for_selector("#boxes .box")
        assert page.locator("#boxes .box").count() == 1
        _eventually(lambda x=x: _assert_box_on_picture(page, (x, 0.2, 0.3, 0.4), "#video"))
    page.keyboard.press("z")
    _assert_box_on_picture(page, (0.5, 0.2, 0.3, 0.4), "#video")
    _shot(page, "tools_4_video_box", backend)
    page.keyboard.press("r")
    page.keyboard.press(",")
    page.wait_for_function("() => Math.abs(document.getElementById('video').currentTime - 1.0) < 0.01")
    _eventually(lambda: _assert_box_on_picture(page, (0.3, 0.2, 0.3, 0.4), "#video"))
    # Play (Space): time advances and the boxes follow (gone after the last frame's box ends).
    page.evaluate("document.getElementById('video').currentTime = 0")
    page.keyboard.press("Space")
    page.wait_for_function("() => document.getElementById('video').currentTime > 2.2", timeout=15000)
    page.keyboard.press("Space")
    assert page.evaluate("document.getElementById('video').paused")
    assert page.locator("#boxes .box").count() == 0
    assert any(status == 206 and rng for status, rng in ranges), ranges
    # Label it like a sequence: species 1 (saola), count 2, Enter.
    page.wait_for_function("() => document.querySelectorAll('#shortcuts li').length === 2")
    page.keyboard.press("1")
    page.keyboard.press("+")
    page.keyboard.press("Enter")
    page.wait_for_function("() => /Saved/.test(document.getElementById('status').textContent)")
    _clean(page, errors)
    ctx.close()
    with session_scope(e2e_db) as s:
        seq = s.get(Sequence, media.sequence_id)
        assert seq.review_status == "reviewed"
        obs = s.exec(select(Observation).where(Observation.sequence_id == seq.id)).all()
        assert [(o.taxon_id, o.count, o.observation_level) for o in obs] == [(rd.taxa["saola"].id, 2, "event")]
