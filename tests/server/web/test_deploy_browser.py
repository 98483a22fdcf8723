"""Issue 13, items 2 and 3, in the browser (headless Debian chromium through Playwright, a real
``saola serve`` with its in-process worker, SQLite and PostgreSQL): a manager adds a deployment
with the station clicked on the map, uploads the Reconyx burst of the official Camtrap DP example
(from SAOLA_SHARED) as a dropped folder, cut off mid-way (the network fails, the page is closed)
and resumed by choosing the same folder again, sees the ingest report (duplicates, skipped files
with their reasons), then corrects the camera clock and sees the retimed sequences. Screenshots
at 1366x768 go to test-artifacts/. Select them with ``-k "browser and manager"``."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlmodel import select

from test_web_e2e import ARTIFACTS, REPO, _free_port, browser, e2e_db  # noqa: F401 - fixtures
from test_web_review_browser import _backend

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHUNK_KB = 64
BOUNDARY = {"type": "Polygon", "coordinates": [[[106.2, 17.4], [106.4, 17.4], [106.4, 17.6], [106.2, 17.6],
                                                [106.2, 17.4]]]}


@pytest.fixture
def manager_server(e2e_db, tmp_path):  # noqa: F811 - the fixture
    """`saola serve` with its in-process worker (card ingest and retime jobs run in it), an area
    with a boundary, a program and its manager; (base url, app, area id, program id)."""
    from server import create_app
    from server.auth.passwords import hash_password
    from server.db import session_scope
    from server.models import Membership, Program, ProtectedArea, User

    data = tmp_path / "data"
    app = create_app({"DATABASE_URL": e2e_db, "DATA_DIR": str(data), "SECRET_KEY": "e2e-secret",
                      "WORKER": "external", "TESTING": True})
    with session_scope(e2e_db) as s:
        area = ProtectedArea(code="PNKB", name="Phong Nha-Ke Bang", boundary=BOUNDARY)
        s.add(area)
        s.flush()
        program = Program(area_id=area.id, name="Camera traps 2021", sequence_gap_s=60)
        user = User(username="manager", password_hash=hash_password("password123"), language="en")
        s.add_all([program, user])
        s.flush()
        s.add(Membership(user_id=user.id, area_id=area.id, role="manager"))
        ids = (area.id, program.id)
    env = {**os.environ, "SAOLA_DATABASE_URL": e2e_db, "SAOLA_DATA_DIR": str(data), "SAOLA_SECRET_KEY": "e2e-secret",
           "SAOLA_WORKER": "inprocess", "SAOLA_WORKER_THREADS": "2", "SAOLA_LANGUAGE": "en",
           "SAOLA_LOG_LEVEL": "WARNING", "SAOLA_CARD_CHUNK_KB": str(CHUNK_KB)}
    port = _free_port()
    saola = Path(sys.executable).with_name("saola")
    cmd = [str(saola)] if saola.exists() else [sys.executable, "-c", "from server.cli import main; main()"]
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen(cmd + ["serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120  # a loaded machine starts the server slowly
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError as e:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("saola serve did not start: " + (tmp_path / "serve.log").read_text()[-2000:]) from e
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", app, ids[0], ids[1]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        from server.db import dispose_engine

        dispose_engine(e2e_db)


@pytest.fixture
def card(shared_dir, tmp_path) -> Path:
    """The card as it comes out of the camera: the Reconyx burst under DCIM/, one photo copied
    twice (a duplicate), and files ingest skips (a text file, a macOS sidecar)."""
    media = shared_dir / "standards" / "camtrap-dp" / "example" / "media"
    root = tmp_path / "RECONYX_SD"
    folder = root / "DCIM" / "100RECNX"
    folder.mkdir(parents=True)
    photos = sorted(media.glob("*.JPG"))
    assert len(photos) == 10, photos
    for p in photos:
        shutil.copy(p, folder / p.name)
    shutil.copy(photos[0], folder / "COPY_OF_RCNX0031.JPG")
    (root / "notes.txt").write_text("card swapped 2021-06-01 by the patrol team\n")
    (folder / "._RCNX0031.JPG").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    return root


def _shot(page, name: str, backend: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"manager_{backend}_{name}_1366x768.png"), full_page=False)


def _page(browser, base, path):  # noqa: F811 - the fixture's value
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "ERR_FAILED" not in m.text
            and "Failed to load resource" not in m.text else None)
    page.goto(base + "/login")
    page.fill("#username", "manager")
    page.fill("#password", "password123")
    page.press("#password", "Enter")
    page.wait_for_url(base + "/")
    page.goto(base + path)
    return ctx, page, errors


def test_browser_manager_deployment_on_the_map_card_upload_resumed_and_clock_corrected(
        manager_server, browser, e2e_db, card):  # noqa: F811
    from server.db import session_scope
    from server.models import CardUpload, Deployment, Location, Media, Sequence

    base, _app, area_id, program_id = manager_server
    backend = _backend(e2e_db)

    # ---- 1. a deployment, the station clicked on the map ----
    ctx, page, errors = _page(browser, base, f"/admin/areas/{area_id}/deployments")
    page.click("#new-deployment")
    page.wait_for_selector("#station-map[data-ready]")
    assert page.get_attribute("#station-map", "data-ready") == "leaflet"
    page.fill("#f-location_name", "PN-R01")
    page.select_option("#f-program_id", program_id)
    box = page.locator("#station-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    lat, lon = float(page.input_value("#f-latitude")), float(page.input_value("#f-longitude"))
    assert 17.4 < lat < 17.6 and 106.2 < lon < 106.4, (lat, lon)
    assert page.get_attribute("#station-map", "data-marker")
    # A typed coordinate out of range: the server's message next to the field, nothing stored.
    page.fill("#f-deployment_start", "2021-05-30T08:00")
    page.fill("#f-deployment_end", "2021-06-30T08:00")
    page.fill("#f-camera_model", "RECONYX HYPERFIRE 2 COVERT")
    page.fill("#f-latitude", "117.5")
    page.click("#save-deployment")
    page.wait_for_selector("#err-latitude")
    assert "at most 90" in page.inner_text("#err-latitude")
    _shot(page, "1_deployment_error", backend)
    page.fill("#f-latitude", f"{lat:.6f}")
    page.click("#save-deployment")
    page.wait_for_url("**/admin/deployments/*")
    assert "Deployment at PN-R01 created." in page.inner_text(".flash.ok")
    assert page.locator("#operating-strip rect.operating").count() == 1
    # The saved station on the map, inside the area's boundary.
    page.wait_for_selector("#station-map[data-ready=leaflet][data-marker]")
    assert page.locator("#station-map .leaflet-overlay-pane path").count() == 2  # the boundary and the station
    _shot(page, "2_deployment_saved", backend)
    with session_scope(e2e_db) as s:
        dep, loc = s.exec(select(Deployment, Location).join(Location, Location.id == Deployment.location_id)).one()
        assert (loc.name, round(loc.latitude, 6), round(loc.longitude, 6)) == ("PN-R01", round(lat, 6), round(lon, 6))
        dep_id = dep.id

    # ---- 2. the card, cut off mid-way ----
    page.click("#open-upload")
    page.wait_for_selector("#card-upload")
    assert page.input_value("#card-deployment") == dep_id
    patches = {"n": 0}

    def cut_after_five(route):
        if route.request.method == "PATCH":
            patches["n"] += 1
            if patches["n"] > 5:  # the station's link goes down
                route.abort("internetdisconnected")
                return
        route.continue_()

    page.route("**/api/v1/uploads/*", cut_after_five)
    page.set_input_files("#pick-folder", str(card))
    page.wait_for_function("() => Number(document.getElementById('card-upload').dataset.offset || 0) > 0")
    page.wait_for_function("() => document.querySelector('#card-files tr[data-state=received]') !== null")
    _shot(page, "3_upload_cut_off", backend)
    page.wait_for_timeout(300)
    assert errors == [], errors
    ctx.close()  # the page is closed mid-upload
    with session_scope(e2e_db) as s:
        c = s.exec(select(CardUpload)).one()
        from server.models import Upload

        up = s.exec(select(Upload).where(Upload.card_id == c.id)).one()
        assert 0 < up.offset < up.size_bytes and up.offset == 5 * CHUNK_KB * 1024, (up.offset, up.size_bytes)
        total = up.size_bytes

    # ---- 3. the same folder again: resumed, then ingested, the report on the page ----
    ctx, page, errors = _page(browser, base, f"/admin/areas/{area_id}/uploads?deployment_id={dep_id}")
    page.set_input_files("#pick-folder", str(card))
    page.wait_for_function("() => document.getElementById('card-upload').dataset.resumed === 'true'")
    assert "Resuming where the upload stopped" in page.inner_text("#card-message")
    page.wait_for_function("() => ['done', 'failed'].includes(document.getElementById('card-upload').dataset.status)",
                           timeout=120000)
    assert page.get_attribute("#card-upload", "data-status") == "done", page.inner_text("#card-message")
    assert page.get_attribute("#card-upload", "data-offset") == str(total)
    assert page.inner_text("#rep-ingested") == "10"
    assert page.inner_text("#rep-duplicates") == "1"
    skipped = page.inner_text("#rep-skipped-list")
    assert "notes.txt: not a media file" in skipped and "._RCNX0031.JPG" in skipped, skipped
    assert "COPY_OF_RCNX0031.JPG" in page.inner_text("#rep-duplicates-list") or \
        "20210531082538-RCNX0031.JPG" in page.inner_text("#rep-duplicates-list")
    assert page.locator("#card-files tr[data-state=received]").count() == 11
    page.locator("#card-report").scroll_into_view_if_needed()
    _shot(page, "4_upload_report", backend)
    with session_scope(e2e_db) as s:
        media = s.exec(select(Media).where(Media.deployment_id == dep_id)).all()
        assert len(media) == 10
        first = min(m.captured_at_raw for m in media)
        assert all("outside_window" in m.flags for m in media)
        before = {m.id: m.captured_at for m in media}
        assert s.exec(select(Sequence).where(Sequence.deployment_id == dep_id)).all()

    # ---- 4. the camera clock was wrong: its photos say 2021-04-11 20:43:09, taken (as the example's
    # file names record) on 2021-05-31 08:25:38, so every photo lies outside the deployment period ----
    assert "outside the deployment period: 10" in page.inner_text("#rep-flags")
    page.click("#rep-clock")
    page.wait_for_selector("#clock-form")
    first_radio = page.locator("#photo-pick input[name=media_id]").first
    assert first_radio.get_attribute("data-camera-time") == str(first) == "2021-04-11 20:43:09"
    page.locator("#photo-pick label").first.click()
    page.wait_for_selector("#picked:not([hidden])")
    assert page.inner_text("#picked-camera") == "2021-04-11 20:43:09"
    page.fill("#f-true_time", "31/05/2021 08:25")
    page.click("#preview-clock")
    page.wait_for_selector("#err-true_time")  # a message next to the field
    assert "YYYY-MM-DD HH:MM:SS" in page.inner_text("#err-true_time")
    true_time = "2021-05-31 08:25:38"
    offset_s = 49 * 86400 + 11 * 3600 + 42 * 60 + 29
    page.fill("#f-true_time", true_time)
    page.click("#preview-clock")
    page.wait_for_selector("#preview:not([hidden])")
    assert page.inner_text("#pv-seconds") == f"{offset_s:,}"
    assert page.inner_text("#pv-offset") == "+49 d 11:42:29"
    assert page.inner_text("#pv-after") == "2021-05-31 08:25:38 +07"
    assert "Every media stays inside the deployment period." in page.inner_text("#pv-outside")
    assert page.locator("#err-true_time").count() == 0
    new_start = page.locator("#preview-table tbody tr").first.locator("td").nth(2).inner_text()
    assert new_start.startswith(true_time), new_start
    _shot(page, "5_clock_preview", backend)
    page.click("#apply-clock")
    page.wait_for_url("**/clock?job=*")
    # The page follows the job, then shows the new times (reloaded when the job is done).
    page.wait_for_function("""t => { const j = document.getElementById('retime-job'),
        c = document.querySelector('#sequences .seq-start');
        return j && j.dataset.status === 'done' && c && c.textContent.startsWith(t); }""", arg=true_time, timeout=60000)
    assert f"0 s → {offset_s} s" in page.inner_text("#clock-history")
    _shot(page, "6_clock_applied", backend)
    with session_scope(e2e_db) as s:
        assert s.get(Deployment, dep_id).clock_offset_s == offset_s
        for m in s.exec(select(Media).where(Media.deployment_id == dep_id)):
            assert (m.captured_at - before[m.id]).total_seconds() == offset_s
            assert "outside_window" not in (m.flags or [])
    # ---- the list, the inventory and the calendar (operating in green) ----
    page.goto(f"{base}/admin/areas/{area_id}/deployments")
    assert "PN-R01" in page.inner_text("#deployments") and f"{offset_s} s" in page.inner_text("#deployments")
    _shot(page, "6b_deployments", backend)
    page.goto(f"{base}/areas/{area_id}/calendar")
    assert page.locator("#timeline rect.operating").count() == 1
    page.goto(f"{base}/admin/areas/{area_id}/devices")
    _shot(page, "6c_devices", backend)
    page.goto(f"{base}/admin/deployments/{dep_id}/clock")

    # ---- 5. the same pages in Vietnamese ----
    page.click("#lang-vi")
    page.wait_for_selector("html[lang=vi]")
    assert page.inner_text("h1").startswith("Chỉnh đồng hồ máy ảnh")
    _shot(page, "7_clock_vi", backend)
    page.goto(f"{base}/admin/areas/{area_id}/uploads")
    assert page.inner_text("h1") == "Tải thẻ nhớ lên"
    assert page.locator("#recent-cards .badge").first.inner_text() == "đã xong"
    _shot(page, "8_uploads_vi", backend)
    assert errors == [], errors
    ctx.close()


def test_browser_manager_drops_a_zip_of_the_card_with_an_unsafe_member(manager_server, browser, e2e_db,  # noqa: F811
                                                                      card, tmp_path):
    """A zip of the card dropped on the page (a drop event carrying the file, as a file manager
    sends it): ingested once complete, its unsafe member refused with the CLI's reason."""
    import base64
    import zipfile

    from server.db import session_scope
    from server.models import Media, Program
    from server.services.deployments import build_deployment

    base, _app, area_id, program_id = manager_server
    backend = _backend(e2e_db)
    with session_scope(e2e_db) as s:
        dep = build_deployment(s, s.get(Program, program_id), {"deployment_start": datetime(
            2021, 1, 1, tzinfo=timezone.utc), "timezone": "Asia/Ho_Chi_Minh"},
            location={"name": "PN-Z01", "latitude": 17.45, "longitude": 106.25})
        dep_id = dep.id
    zpath = tmp_path / "RECONYX_SD.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for p in sorted(card.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(card).as_posix())
        z.writestr("../../etc/cron.d/evil.JPG", b"\xff\xd8 not a photo")
    payload = base64.b64encode(zpath.read_bytes()).decode()
    ctx, page, errors = _page(browser, base, f"/admin/areas/{area_id}/uploads?deployment_id={dep_id}")
    drop = """([name, b64]) => {
        const bin = atob(b64), u8 = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
        const dt = new DataTransfer();
        dt.items.add(new File([u8], name, { type: 'application/zip' }));
        document.getElementById('dropzone').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true,
                                                                                cancelable: true }));
    }"""
    page.evaluate(drop, ["RECONYX_SD.zip", payload])
    page.wait_for_function("() => ['done', 'failed', 'refused', 'error'].includes("
                           "document.getElementById('card-upload').dataset.status)", timeout=120000)
    assert page.get_attribute("#card-upload", "data-status") == "done", page.inner_text("#card-message")
    assert page.inner_text("#card-label") == "RECONYX_SD.zip"
    assert page.inner_text("#rep-ingested") == "10" and page.inner_text("#rep-duplicates") == "1"
    skipped = page.inner_text("#rep-skipped-list")
    assert "../../etc/cron.d/evil.JPG: unsafe path in zip (escapes the target folder): refused" in skipped, skipped
    assert "notes.txt: not a media file" in skipped
    page.locator("#card-report").scroll_into_view_if_needed()
    _shot(page, "9_zip_report", backend)
    with session_scope(e2e_db) as s:
        assert len(s.exec(select(Media).where(Media.deployment_id == dep_id)).all()) == 10
    assert errors == [], errors
    ctx.close()
