"""End to end as a manager and a camera do it, on SQLite and PostgreSQL: a real ``saola serve`` and a
real ``saola ftp`` (two processes), headless Chromium (Debian's, through Playwright) on the Cellular
cameras page: the manager adds a camera and reads its password off the page; a camera (ftplib) signs
in with it and uploads a photo and a wrong file; the page then lists both with their result.
Screenshots at 1366x768 in test-artifacts/."""
from __future__ import annotations

import ftplib
import io
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlmodel import select

from ftp_helpers import photo
from server.models import CameraUpload, Media

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{proc.args} did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)


@pytest.fixture
def services(app, tmp_path):
    """``saola serve`` and ``saola ftp`` on free ports, on the test's database and data folder."""
    env = {**os.environ, "SAOLA_DATABASE_URL": app.config["DATABASE_URL"], "SAOLA_DATA_DIR": app.config["DATA_DIR"],
           "SAOLA_SECRET_KEY": "e2e-secret", "SAOLA_WORKER": "external", "SAOLA_LANGUAGE": "en",
           "PYTHONWARNINGS": "ignore"}
    saola = Path(sys.executable).with_name("saola")
    cmd = [str(saola)] if saola.exists() else [sys.executable, "-c", "from server.cli import main; main()"]
    web, ftp = _free_port(), _free_port()
    procs, logs = [], []
    try:
        for args, port, name in ((["serve", "--host", "127.0.0.1", "--port", str(web)], web, "serve"),
                                 (["ftp", "--host", "127.0.0.1", "--port", str(ftp)], ftp, "ftp")):
            log = tmp_path / f"{name}.log"
            logs.append(open(log, "wb"))
            p = subprocess.Popen(cmd + args, env=env, cwd=REPO, stdout=logs[-1], stderr=subprocess.STDOUT)
            procs.append(p)
            _wait_port(port, p, log)
        yield f"http://127.0.0.1:{web}", ftp
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in logs:
            f.close()


def test_ftp_manager_adds_a_camera_in_chromium_and_the_camera_uploads(app, world, services, request):
    from playwright.sync_api import sync_playwright

    base, ftp_port = services
    area = world.area("PNKB", "Phong Nha-Ke Bang")
    program = world.program(area.id, name="Cellular cameras")
    dep = world.deployment(program, location_name="Ridge-04", camera_id="CAM-4G-1",
                           deployment_start=datetime(2026, 3, 1, tzinfo=timezone.utc))
    world.user("manager", roles={area.id: "manager"}, language="vi")
    backend = "postgresql" if "postgresql" in request.node.name else "sqlite"
    ARTIFACTS.mkdir(exist_ok=True)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (scripts/setup.sh)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(f"{base}/login?next=/admin/areas/{area.id}/cameras")
            page.fill("#username", "manager")
            page.fill("#password", "password123")
            page.press("#password", "Enter")
            page.wait_for_selector("#new-camera")
            assert page.locator("h1").inner_text() == "Bẫy ảnh 4G"
            page.click("#new-camera-submit")  # empty: the message sits next to the field
            assert page.locator("#err-username").is_visible()
            page.fill("#f-username", "cam01")
            page.fill("#f-camera_serial", "CAM-4G-1")
            page.fill("#f-label", "Ridge trail, SIM 0912 000 111")
            page.click("#new-camera-submit")
            password = page.locator("#shown-password").inner_text().strip()
            assert len(password) == 16
            page.screenshot(path=str(ARTIFACTS / f"ftp_cameras_{backend}_created.png"), full_page=True)

            ftp = ftplib.FTP()
            ftp.connect("127.0.0.1", ftp_port, timeout=30)
            ftp.login("cam01", password)
            shot = photo("2026:03:02 06:15:01")
            ftp.storbinary("STOR IMG_0001.JPG", io.BytesIO(shot))
            with pytest.raises(ftplib.error_perm, match="^553"):
                ftp.storbinary("STOR status.txt", io.BytesIO(b"battery 80%"))
            ftp.quit()
            deadline = time.monotonic() + 60
            while True:
                with world.session() as s:
                    ups = {u.file_name: u.status for u in s.exec(select(CameraUpload))}
                    media = list(s.exec(select(Media)))
                if ups.get("IMG_0001.JPG") == "ingested" or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert ups == {"IMG_0001.JPG": "ingested", "status.txt": "refused"}
            assert len(media) == 1 and media[0].deployment_id == dep.id

            page.goto(f"{base}/admin/areas/{area.id}/cameras")
            rows = page.locator("#camera-uploads tbody tr")
            assert rows.count() == 2
            assert page.locator("#camera-uploads tr[data-status=refused]").inner_text().count("status.txt") == 1
            assert "đã nhập" in page.locator("#camera-uploads tr[data-status=ingested]").inner_text()
            assert password not in page.content()  # shown once only
            page.screenshot(path=str(ARTIFACTS / f"ftp_cameras_{backend}_uploads.png"), full_page=True)
        finally:
            browser.close()
