"""End to end: the app's sync client against a real `saola serve` process on loopback
(SQLite file and PostgreSQL), including a server restart mid-sync and 30 days offline."""
import random
import threading
import time
import uuid

import pytest
import requests
from sqlmodel import func, select

from saola_server import Server
from server.models import FieldObservation, Media, SyncMutation


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


def test_two_tablets_each_walk_stays_with_its_tablet(site, world, server):
    """Issue 14, D1, against a real server: tablet A records walk T-08 (11 points, about 110 m), stops it
    and syncs; tablet B syncs and must not get it as its own, cannot shrink it (nor can an old app on
    B), and A's next sync keeps A's track."""
    from mobile.store import ReadOnlyRecord, StoreError
    from server.models import SurveyWalk, SyncConflict

    a, b = site.store("tablet-a"), site.store("tablet-b")
    a.set_setting("user", {"username": site.ranger.username})
    b.set_setting("user", {"username": site.ranger2.username})
    t0 = time.time()
    t08 = a.start_walk("line_transect@1.0", {"transect_id": "T-08", "observers": ["Lan"], "weather": "clear"},
                       program_id=site.program.id)
    for i in range(11):
        a.add_track_point(t08, 17.5 + i * 1e-4, 106.2, t0 + 10 * i, 4.0)
    site.observation(a, t08, count=2)
    a.stop_walk(t08)
    track_a = a.track(t08)
    distance_a = a.get_walk(t08)["distance_m"]
    assert len(track_a) == 11 and 105 < distance_a < 115
    client_a, client_b = _client(site, server, a, site.ranger), _client(site, server, b, site.ranger2)
    assert client_a.sync().ok

    # B receives T-08 as A's walk: a read-only reference, never its own walk in progress.
    assert client_b.sync().ok
    ref = b.get_walk(t08)
    assert (ref["status"], ref["origin"], ref["owner"], ref["read_only"]) == ("reference", "remote", "lan", True)
    assert (ref["point_count"], ref["distance_m"]) == (11, round(distance_a, 1))
    assert b.active_walk() is None
    for action in (b.stop_walk, b.pause_walk, b.resume_walk):
        with pytest.raises(ReadOnlyRecord):
            action(t08)
    with pytest.raises(StoreError):
        b.resend("walk", t08)
    assert b.outbox_count() == 0
    # B walks its own transect meanwhile.
    t09 = b.start_walk("line_transect@1.0", {"transect_id": "T-09", "observers": ["Minh"], "weather": "fog"},
                       program_id=site.program.id)
    for i in range(4):
        b.add_track_point(t09, 17.6 + i * 1e-4, 106.3, t0 + 10 * i, 4.0)
    b.stop_walk(t09)
    assert client_b.sync().ok

    # An app of store version 1 on B had made T-08 its own and "stopped" it with an empty track.
    doc = {"protocol": "line_transect@1.0", "record_type": "walk", "program_id": site.program.id, "status": "done",
           "distance_m": 0.0, "data": {**ref["data"], "track": [], "end_time": ref["data"]["end_time"]}}
    r = requests.post(f"{server.url}/api/v1/sync/push", headers={"Authorization": f"Bearer {client_b.token}"},
                      json={"protocol_version": "1.0", "device_id": b.device_id, "mutations": [{
                          "mutation_id": str(uuid.uuid4()), "entity": "walk", "record_id": t08, "op": "update",
                          "base_revision": ref["revision"], "data": doc, "device_time": "2026-03-01T03:00:00Z"}]},
                      timeout=10)
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "conflict"

    # The server keeps every track whole, each walk with its tablet and ranger; the attempt waits for a biologist.
    with world.session() as s:
        w08, w09 = s.get(SurveyWalk, t08), s.get(SurveyWalk, t09)
        assert (len(w08.track), w08.device_id, w08.created_by) == (11, a.device_id, site.ranger.id)
        assert w08.track == track_a and w08.distance_m == round(distance_a, 1) and w08.status == "done"
        assert (len(w09.track), w09.device_id, w09.created_by) == (4, b.device_id, site.ranger2.id)
        conflict = s.exec(select(SyncConflict).where(SyncConflict.record_id == t08)).one()
        assert conflict.client_device == b.device_id and conflict.status == "open"

    # A's next sync keeps its own walk and track, and brings B's walk as a reference.
    assert client_a.sync().ok
    mine = a.get_walk(t08)
    assert (mine["status"], mine["origin"], mine["data"]["track"]) == ("done", "local", track_a)
    assert a.track(t08) == track_a and mine["sync_state"] == "synced"
    other = a.get_walk(t09)
    assert (other["status"], other["origin"], other["owner"], other["point_count"]) == ("reference", "remote",
                                                                                      "minh", 4)
    assert [r["id"] for r in a.records_page(scope="mine")[0] if r["entity"] == "walk"] == [t08]
