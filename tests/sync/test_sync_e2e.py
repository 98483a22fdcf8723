"""End to end: the app's sync client against a real `saola serve` process on loopback
(SQLite file and PostgreSQL), including a server restart mid-sync and 30 days offline."""
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlmodel import func, select

from server.models import FieldObservation, Media, SyncMutation

SAOLA = str(Path(sys.executable).with_name("saola"))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, db_url, data_dir):
        self.port = _free_port()
        self.env = {**os.environ, "SAOLA_DATABASE_URL": db_url, "SAOLA_DATA_DIR": str(data_dir),
                    "SAOLA_SECRET_KEY": "e2e-secret-key-0123456789abcdef", "SAOLA_WORKER": "external",
                    "SAOLA_THREADS": "4"}
        self.proc = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen([SAOLA, "serve", "--port", str(self.port)], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if requests.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError("saola serve did not start")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
def server(db_url, tmp_path):
    srv = Server(db_url, tmp_path / "server-data").start()
    yield srv
    srv.kill()


def _web_sign_in(session: requests.Session, base: str, username: str) -> requests.Response:
    """Sign a requests session in through the web form (which carries a CSRF token)."""
    from signin import FORM_TOKEN

    token = FORM_TOKEN.search(session.get(f"{base}/login", timeout=10).text).group(1)
    return session.post(f"{base}/login", data={"username": username, "password": "password123",
                                               "csrf_token": token}, timeout=10)


def _client(site, srv, store, user, **kw):
    from mobile.sync import SyncClient

    r = requests.post(srv.url + "/api/v1/auth/device", json={"username": user.username, "password": "password123",
                                                             "device_id": store.device_id}, timeout=10)
    assert r.status_code == 201, r.text
    kw.setdefault("backoff_s", 0.2)
    kw.setdefault("backoff_max_s", 2.0)
    return SyncClient(store, srv.url, r.json()["token"], **kw)


def _count(world, model, *where):
    with world.session() as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def test_walk_reaches_a_real_server_and_the_web_ui(site, world, server, tmp_path):
    from PIL import Image

    st = site.store("tab")
    walk = site.walk(st)
    photo = tmp_path / "douc.jpg"
    Image.new("RGB", (640, 480), (60, 110, 40)).save(photo, quality=90)
    sha = st.add_photo(photo)
    for i in range(3):
        site.observation(st, walk, count=i + 1, **({"photos": [sha]} if i == 0 else {}))
    st.stop_walk(walk)
    report = _client(site, server, st, site.ranger).sync()
    assert report.ok, report.errors
    assert report.uploaded_photos == 1
    assert _count(world, FieldObservation) == 3
    # A biologist sees the walk, the observations and the photo in the web UI.
    world.user("bio", roles={site.area.id: "biologist"})
    browser = requests.Session()
    r = _web_sign_in(browser, server.url, "bio")
    assert r.status_code == 200 and "/login" not in r.url
    page = browser.get(f"{server.url}/areas/{site.area.id}/field", timeout=10)
    assert page.status_code == 200
    html = page.text
    assert html.count('data-observation="') == 3 and f'data-walk="{walk}"' in html
    assert "Pygathrix nemaeus" in html and f"/field/photo/{sha}" in html
    img = browser.get(f"{server.url}/areas/{site.area.id}/field/photo/{sha}", timeout=10)
    assert img.status_code == 200 and img.headers["Content-Type"] == "image/jpeg" and img.content[:2] == b"\xff\xd8"
    # someone of another area sees neither the page nor the photo
    other = world.area("XX", "Elsewhere")
    world.user("stranger", roles={other.id: "manager"})
    b2 = requests.Session()
    _web_sign_in(b2, server.url, "stranger")
    assert b2.get(f"{server.url}/areas/{site.area.id}/field", timeout=10).status_code == 404
    assert b2.get(f"{server.url}/areas/{site.area.id}/field/photo/{sha}", timeout=10).status_code == 404


@pytest.mark.slow
def test_server_restarted_mid_sync(site, world, server):
    st = site.store("tab")
    n = 300
    for i in range(n):
        site.observation(st, count=1 + i % 5)
    session = requests.Session()
    calls = {"push": 0}
    orig = session.request

    def request(method, url, **kw):
        if url.endswith("/sync/push"):
            calls["push"] += 1
            if calls["push"] == 2:  # the server dies while the second batch is in flight...
                server.kill()
                threading.Timer(1.0, server.start).start()  # ...and comes back a moment later
        return orig(method, url, **kw)

    session.request = request
    client = _client(site, server, st, site.ranger, session=session, batch_size=100, retries=12)
    report = client.sync()
    assert report.ok, report.errors
    assert st.outbox_count() == 0
    assert _count(world, FieldObservation) == n
    assert _count(world, SyncMutation) == n


@pytest.mark.slow
def test_thirty_days_offline_5000_observations_500_photos(site, world, server, tmp_path):
    from PIL import Image

    st = site.store("tab")
    photos = []
    for i in range(500):
        p = tmp_path / f"p{i}.jpg"
        # noise from a per-photo seed: 500 distinct photos (flat colours can encode to identical JPEGs)
        Image.frombytes("RGB", (64, 48), random.Random(i).randbytes(64 * 48 * 3)).save(p, quality=80)
        photos.append(st.add_photo(p))
    day = 0
    for i in range(5000):
        if i % 167 == 0:
            day += 1
        rec = {"observed_at": f"2026-03-{min(day, 30):02d}T07:30:00+07:00"}
        if i % 10 == 0:
            rec["photos"] = [photos[i // 10]]
        site.observation(st, **rec)
    client = _client(site, server, st, site.ranger, batch_size=250)
    report = client.sync()
    assert report.ok, report.errors
    # a batch whose answer timed out on a loaded machine is answered "duplicate" on retry: both are fine
    assert set(report.pushed) <= {"applied", "duplicate"} and sum(report.pushed.values()) == 5000
    assert report.uploaded_photos == 500
    assert _count(world, FieldObservation) == 5000
    assert _count(world, Media) == 500
    assert _count(world, FieldObservation, FieldObservation.media_pending.is_(True)) == 0
    # a second sync has nothing to send and changes nothing
    again = client.sync()
    assert again.ok and again.pushed == {} and again.uploaded_photos == 0
    assert _count(world, FieldObservation) == 5000
