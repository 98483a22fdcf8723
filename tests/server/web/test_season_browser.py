"""Issue 13: a whole season's administrator and manager work in the browser, never the `saola`
command (headless Debian chromium through Playwright, a real `saola serve` with its in-process job
worker, SQLite and PostgreSQL). The installation starts as `saola init` leaves it (the species
reference and one administrator); then, only through the pages:

1. the administrator creates the protected area with its boundary (a zipped Shapefile in UTM 48N,
   read and reprojected by the GIS library), a camera-trap program, a manager (invited: a one-time
   link, the manager chooses a password) and a biologist (a temporary password), uploads a tiny
   ONNX detector the test builds (with its SHA-256) and enables it on the program;
2. the manager adds a deployment with the station clicked on the map, uploads the Reconyx burst of
   the official Camtrap DP example (from SAOLA_SHARED) as a folder, cut off mid-way and resumed,
   runs the detector on the deployment and watches the job finish, corrects the camera clock from
   a photo, fills in the program's Camtrap DP metadata, exports Camtrap DP (validated against the
   official schemas in SAOLA_SHARED) and downloads the annual report as a PDF;
3. the biologist signs in and finds the season's sequences, with the detector's boxes, to review.

Screenshots at 1366x768 go to test-artifacts/. Select it with ``-k "browser and season"``."""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from saola_server import saola_command, serving
from sqlmodel import select

from test_deploy_browser import CHUNK_KB, card  # noqa: F401 - the card fixture
from test_web_e2e import ARTIFACTS, REPO, browser, e2e_db  # noqa: F401 - fixtures
from test_web_review_browser import _backend

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "detect"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import boundary_files as bf  # noqa: E402
from detect_helpers import ANIMAL_ONLY, constant_detector  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SIZE = {"width": 1366, "height": 768}
ADMIN_PASSWORD = "Quan-tri-mua-2021"
MANAGER_PASSWORD = "Quan-ly-mua-kho-2021"
BIOLOGIST_PASSWORD = "Sinh-hoc-tam-thoi-2021"




@pytest.fixture
def fresh_install(e2e_db, tmp_path):  # noqa: F811 - the fixture
    """An installation as `saola init --admin` leaves it, served by `saola serve` with its in-process
    worker (card ingest, detection, retime and export jobs run in it); (base url, data dir)."""
    data = tmp_path / "data"
    env = {**os.environ, "SAOLA_DATABASE_URL": e2e_db, "SAOLA_DATA_DIR": str(data), "SAOLA_SECRET_KEY": "e2e-secret",
           "SAOLA_WORKER": "inprocess", "SAOLA_WORKER_THREADS": "2", "SAOLA_LANGUAGE": "en",
           "SAOLA_LOG_LEVEL": "WARNING", "SAOLA_CARD_CHUNK_KB": str(CHUNK_KB)}
    init = subprocess.run(saola_command() + ["init", "--admin", "admin", "--password", ADMIN_PASSWORD], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert init.returncode == 0, init.stdout + init.stderr
    try:
        with serving(env, tmp_path / "serve.log", REPO) as base:
            yield base, data
    finally:
        from server.db import dispose_engine

        dispose_engine(e2e_db)


class Person:
    """One person's browser window (a context of its own) with the page errors it saw."""

    def __init__(self, browser, base: str, backend: str, who: str):  # noqa: F811
        self.ctx = browser.new_context(viewport=SIZE, locale="en-US", accept_downloads=True)
        self.page = self.ctx.new_page()
        self.base, self.backend, self.who = base, backend, who
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def sign_in(self, username: str, password: str) -> None:
        self.page.goto(self.base + "/login")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.press("#password", "Enter")
        self.page.wait_for_url(self.base + "/")

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def shot(self, n: int, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"season_{self.backend}_{n:02d}_{self.who}_{name}_1366x768.png"))

    def unexpected_errors(self, *allowed: str) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in allowed)]


def test_browser_season_admin_and_manager_work_without_the_command_line(
        fresh_install, browser, e2e_db, card, shared_dir, tmp_path):  # noqa: F811
    from server.db import session_scope
    from server.exports.validate import validate_camtrap_dp
    from server.models import Deployment, Detection, Job, Media, ProtectedArea, User

    base, _data = fresh_install
    backend = _backend(e2e_db)

    # ---- 1. the administrator ----
    admin = Person(browser, base, backend, "admin")
    page = admin.page
    admin.sign_in("admin", ADMIN_PASSWORD)
    assert page.evaluate("document.documentElement.lang") == "vi"  # `saola init` makes a Vietnamese administrator
    admin.go("/admin/areas/new")
    boundary = tmp_path / "pnkb_boundary_utm48n.zip"
    boundary.write_bytes(bf.shapefile_zip(32648))
    page.fill("#f-code", "PNKB")
    page.fill("#f-name", "Phong Nha-Ke Bang")
    page.fill("#f-name_vi", "Phong Nha-Kẻ Bàng")
    page.set_input_files("#f-boundary_file", str(boundary))
    page.click("#save-area")
    page.wait_for_url("**/admin/areas/*")
    notes = page.locator(".flash").all_inner_texts()
    assert "Đã tạo khu bảo tồn PNKB." in notes, notes
    assert any("Shapefile" in n and "469," in n and "km²" in n and "EPSG:32648" in n for n in notes), notes
    page.wait_for_selector("#boundary-map[data-ready]")
    admin.shot(1, "area_with_boundary")
    with session_scope(e2e_db) as s:
        area = s.exec(select(ProtectedArea)).one()
        area_id = area.id
        w, so, e, n = __import__("shapely").from_geojson(json.dumps(area.boundary)).bounds
        assert abs(w - 106.0) < 1e-4 and abs(n - 17.7) < 1e-4  # reprojected from UTM 48N to WGS84

    admin.go(f"/admin/areas/{area_id}/programs/new")
    page.fill("#f-name", "Camera traps 2021")
    page.fill("#f-season", "2021 dry season")
    page.fill("#f-start_date", "2021-05-01")
    page.fill("#f-end_date", "2021-07-31")
    page.fill("#f-sequence_gap_s", "60")
    # The species list picked from the reference by names typed without diacritics.
    for k, (typed, name) in enumerate((("mang lon", "Muntiacus vuquangensis"), ("sao la", "Pseudoryx nghetinhensis"),
                                       ("lon rung", "Sus scrofa")), start=1):
        page.fill("#f-species_list-search", typed)
        page.locator(".species-field .choices li", has_text=name).first.click()
        page.wait_for_function("n => document.querySelectorAll('#f-species_list-chips li').length === n", arg=k)
    page.click("#save-program")
    page.wait_for_url("**/admin/programs/*")
    assert page.locator(".flash.ok").count() == 1 and page.locator(".field-error").count() == 0
    admin.shot(2, "program")
    with session_scope(e2e_db) as s:
        from server.models import Program

        program = s.exec(select(Program)).one()
        program_id = program.id
        assert program.settings["species_list"] == ["Muntiacus vuquangensis", "Pseudoryx nghetinhensis", "Sus scrofa"]

    # The manager: invited (a one-time link); the biologist: a temporary password.
    admin.go("/admin/users/new")
    page.fill("#f-username", "quanly")
    page.fill("#f-full_name", "Nguyễn Văn Quản")
    page.select_option("#f-language", "en")
    page.check("#f-mode-invite")
    page.select_option("#f-area_id", area_id)
    page.select_option("#f-role", "manager")
    page.click("#create-user")
    page.wait_for_selector("#link-url")
    invitation = page.input_value("#link-url")
    assert "/welcome/" in invitation
    admin.shot(3, "manager_invited")
    admin.go("/admin/users/new")
    page.fill("#f-username", "sinhhoc")
    page.select_option("#f-language", "en")
    page.check("#f-mode-password")
    page.fill("#f-password", BIOLOGIST_PASSWORD)
    page.select_option("#f-area_id", area_id)
    page.select_option("#f-role", "biologist")
    page.click("#create-user")
    page.wait_for_url("**/admin/users/*")
    admin.go(f"/admin/areas/{area_id}/members")
    members = page.inner_text("body")
    assert "quanly" in members and "sinhhoc" in members
    admin.shot(4, "members")

    # The detector: a wrong checksum refused next to the field, then uploaded and enabled on the program.
    model_file = constant_detector(tmp_path / "tiny-md.onnx", ANIMAL_ONLY)
    sha = hashlib.sha256(model_file.read_bytes()).hexdigest()
    admin.go("/admin/models")
    page.fill("#f-name", "tiny-md")
    page.set_input_files("#f-file", str(model_file))
    page.fill("#f-sha256", "0" * 64)
    page.click("#upload-model")
    assert f"SHA-256 của tệp là {sha}" in page.locator("#err-sha256").inner_text()
    page.set_input_files("#f-file", str(model_file))
    page.fill("#f-sha256", sha)
    page.click("#upload-model")
    page.wait_for_url("**/admin/models/*")
    page.check(f"#enable-{program_id}")
    page.click("#save-programs")
    assert "Đã bật cho 1 chương trình." in page.locator(".flash.ok").inner_text()
    admin.shot(5, "model_enabled")
    assert not admin.unexpected_errors("status of 422"), admin.errors  # the refused checksum
    admin.ctx.close()

    # ---- 2. the manager ----
    mgr = Person(browser, base, backend, "manager")
    page = mgr.page
    page.goto(invitation)
    page.fill("#password", MANAGER_PASSWORD)
    page.fill("#password2", MANAGER_PASSWORD)
    page.click("#welcome-submit")
    page.wait_for_url("**/login*")
    mgr.sign_in("quanly", MANAGER_PASSWORD)

    # A deployment, the station clicked on the map inside the boundary.
    mgr.go(f"/admin/areas/{area_id}/deployments")
    page.click("#new-deployment")
    page.wait_for_selector("#station-map[data-ready=leaflet]")
    page.fill("#f-location_name", "PN-R01")
    page.select_option("#f-program_id", program_id)
    box = page.locator("#station-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    lat, lon = float(page.input_value("#f-latitude")), float(page.input_value("#f-longitude"))
    assert 17.5 < lat < 17.7 and 106.0 < lon < 106.2, (lat, lon)
    page.fill("#f-deployment_start", "2021-05-30T08:00")
    page.fill("#f-deployment_end", "2021-06-30T08:00")
    page.fill("#f-camera_model", "RECONYX HYPERFIRE 2 COVERT")
    page.click("#save-deployment")
    page.wait_for_url("**/admin/deployments/*")
    assert "Deployment at PN-R01 created." in page.inner_text(".flash.ok")
    mgr.shot(6, "deployment")
    with session_scope(e2e_db) as s:
        dep_id = s.exec(select(Deployment)).one().id

    # The card, cut off mid-way (the link goes down, the page is closed), then resumed.
    page.click("#open-upload")
    page.wait_for_selector("#card-upload")
    patches = {"n": 0}

    def cut_after_five(route):
        if route.request.method == "PATCH":
            patches["n"] += 1
            if patches["n"] > 5:
                route.abort("internetdisconnected")
                return
        route.continue_()

    page.route("**/api/v1/uploads/*", cut_after_five)
    page.set_input_files("#pick-folder", str(card))
    page.wait_for_function("() => document.querySelector('#card-files tr[data-state=received]') !== null")
    page.wait_for_timeout(300)
    mgr.shot(7, "upload_cut_off")
    page.close()
    page = mgr.page = mgr.ctx.new_page()
    page.on("pageerror", lambda e: mgr.errors.append(str(e)))
    mgr.go(f"/admin/areas/{area_id}/uploads?deployment_id={dep_id}")
    page.set_input_files("#pick-folder", str(card))
    page.wait_for_function("() => document.getElementById('card-upload').dataset.resumed === 'true'")
    page.wait_for_function("() => ['done', 'failed'].includes(document.getElementById('card-upload').dataset.status)",
                           timeout=180000)
    assert page.get_attribute("#card-upload", "data-status") == "done", page.inner_text("#card-message")
    assert page.inner_text("#rep-ingested") == "10" and page.inner_text("#rep-duplicates") == "1"
    page.locator("#card-report").scroll_into_view_if_needed()
    mgr.shot(8, "upload_report")

    # The detector on the deployment, from the jobs page; the page follows the job to its end.
    mgr.go(f"/admin/areas/{area_id}/jobs")
    page.select_option("#f-target", f"deployment:{dep_id}")
    assert page.locator("#f-model").input_value() == "tiny-md"
    page.click("#run-detector")
    assert "Detection queued (tiny-md)." in page.locator(".flash.ok").inner_text()
    with session_scope(e2e_db) as s:
        job_id = s.exec(select(Job).where(Job.kind == "detect")).one().id
    page.wait_for_function("id => document.getElementById('job-' + id).dataset.status === 'done'", arg=job_id,
                           timeout=180000)
    assert page.locator(f"#job-{job_id} [data-live=count]").inner_text() == "10 / 10"
    mgr.shot(9, "detector_done")
    with session_scope(e2e_db) as s:
        detected = s.exec(select(Detection).join(Media, Media.id == Detection.media_id)
                          .where(Media.deployment_id == dep_id, Detection.model.startswith("tiny-md@"))).all()
        assert len({d.media_id for d in detected}) == 10

    # The clock: the photos say 2021-04-11 20:43:09; the first was taken on 2021-05-31 08:25:38.
    mgr.go(f"/admin/deployments/{dep_id}/clock")
    page.locator("#photo-pick label").first.click()
    page.wait_for_selector("#picked:not([hidden])")
    assert page.inner_text("#picked-camera") == "2021-04-11 20:43:09"
    page.fill("#f-true_time", "2021-05-31 08:25:38")
    page.click("#preview-clock")
    page.wait_for_selector("#preview:not([hidden])")
    assert page.inner_text("#pv-offset") == "+49 d 11:42:29"
    page.click("#apply-clock")
    page.wait_for_url("**/clock?job=*")
    page.wait_for_function("""() => { const j = document.getElementById('retime-job'),
        c = document.querySelector('#sequences .seq-start');
        return j && j.dataset.status === 'done' && c && c.textContent.startsWith('2021-05-31 08:25:38'); }""",
                           timeout=120000)
    mgr.shot(10, "clock_corrected")
    with session_scope(e2e_db) as s:
        assert s.get(Deployment, dep_id).clock_offset_s == 49 * 86400 + 11 * 3600 + 42 * 60 + 29

    # Camtrap DP: the program's metadata once, then the export as a job, downloaded and valid
    # against the official schemas of SAOLA_SHARED.
    mgr.go(f"/programs/{program_id}/camtrap-dp")
    page.select_option("#f-sampling_design", "targeted")
    page.fill("#f-contributors", "Nguyễn Văn Quản; quanly@pnkb.vn; principalInvestigator; PNKB")
    page.fill("#f-citation", "PNKB (2021). Camera traps, dry season 2021.")
    page.click("#save-metadata")
    page.wait_for_url(f"**/areas/{area_id}/exports")
    page.select_option("#f-kind", "camtrap-dp")
    page.select_option("#f-program_id", program_id)
    page.click("#start-export")
    row = page.locator("#exports tbody tr").first
    page.wait_for_function("() => document.querySelector('#exports tbody tr').dataset.status === 'done'",
                           timeout=180000)
    mgr.shot(11, "export_done")
    with page.expect_download() as dl:
        row.locator("[data-live=download]").click()
    pkg = tmp_path / "camtrap-dp"
    with zipfile.ZipFile(dl.value.path()) as z:
        z.extractall(pkg)
    official = shared_dir / "standards" / "camtrap-dp"
    assert (official / "camtrap-dp-profile.json").is_file()
    assert validate_camtrap_dp(pkg, official) == []
    desc = json.loads((pkg / "datapackage.json").read_text())
    assert desc["project"]["samplingDesign"] == "targeted"
    deployments = (pkg / "deployments.csv").read_text()
    assert "PN-R01" in deployments and "HYPERFIRE 2 COVERT" in deployments
    assert "2021-05-31T" in (pkg / "media.csv").read_text()  # the corrected times

    # The annual report of 2021 as a PDF.
    mgr.go(f"/areas/{area_id}/reports?year=2021&program_id={program_id}")
    mgr.shot(12, "reports")
    with page.expect_download(timeout=180000) as dl:
        page.click("#report-en-pdf")
    pdf = dl.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    import pypdf

    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "Phong Nha-Ke Bang (PNKB)" in text and "Camera traps 2021" in text and "31 camera trap-nights" in text, text[:500]
    # The one failed load: the chunk the test cut off (the link going down).
    assert not mgr.unexpected_errors("ERR_INTERNET_DISCONNECTED"), mgr.errors
    mgr.ctx.close()

    # ---- 3. the biologist finds the season's photos to review ----
    bio = Person(browser, base, backend, "biologist")
    page = bio.page
    bio.sign_in("sinhhoc", BIOLOGIST_PASSWORD)
    bio.go(f"/review/grid?area_id={area_id}")
    page.wait_for_function("() => document.querySelectorAll('#grid .tile').length === 10", timeout=60000)
    page.wait_for_function("() => [...document.querySelectorAll('#grid .tile img')].every(i => i.complete && "
                           "i.naturalWidth > 0 && !i.src.includes('pending'))", timeout=60000)
    assert page.locator("#grid .tile .boxes *").count() >= 10  # the detector's boxes drawn on the tiles
    bio.shot(13, "review_grid")
    assert not bio.unexpected_errors(), bio.errors
    bio.ctx.close()
    with session_scope(e2e_db) as s:
        roles = {u.username: u.is_admin for u in s.exec(select(User))}
        assert roles == {"admin": True, "quanly": False, "sinhhoc": False}
