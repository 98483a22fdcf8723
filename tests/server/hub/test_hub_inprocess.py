"""Hub publishing in one process (the hub is a Flask test client behind the publisher's HTTP calls),
on SQLite and PostgreSQL: originals in chunks with a corrupted chunk refused and sent again, a
corrupted thumbnail in a bundle, the bandwidth cap, a hub trusted with exact positions, the
periodic job, the annual report, and the hub's refusals of bad requests."""
from __future__ import annotations

import hashlib
import time

import pytest
from sqlmodel import select

from server.db import session_scope
from server.hub import publish as P
from server.models import FieldObservation, HubPeer, Job, Location, Media
from tests.server.hub import hubhelp as h


class _Answer:
    def __init__(self, r):
        self.status_code, self.reason, self._r = r.status_code, r.status, r

    def json(self):
        return self._r.get_json()


@pytest.fixture
def hub(hub_url, tmp_path):
    """(hub app, test client, token of peer pnkb for area PNKB)."""
    from server import create_app
    from server.hub.peers import add_peer

    app = create_app({"TESTING": True, "DATABASE_URL": hub_url, "DATA_DIR": str(tmp_path / "hub"),
                      "SECRET_KEY": "x", "ROLE": "hub", "LANGUAGE": "en", "WORKER": "inprocess"})
    with session_scope(hub_url) as s:
        _p, token = add_peer(s, "pnkb", "PNKB")
    return app, app.test_client(), token


def _wire(pub: P.Publisher, client, corrupt=None):
    """Route the publisher's HTTP calls to the hub's test client; ``corrupt(method, path, data)`` may
    change the bytes on the way (a bad link)."""
    def request(method, url, data=None, headers=None, timeout=None):
        path = url.split("://", 1)[1].split("/", 1)[1]
        if corrupt is not None:
            data = corrupt(method, path, data)
        hdrs = {**pub.client.http.headers, **(headers or {})}  # the session's token header too
        return _Answer(client.open("/" + path, method=method, data=data, headers=hdrs))

    pub.client.http.request = request  # type: ignore[method-assign]
    return pub


def _publisher(db_url, area_dir, token, client, corrupt=None, **opts):
    cfg = h.config(db_url, area_dir)
    return _wire(P.Publisher(cfg, P.Options(hub_url="http://hub.test", token=token, **opts)), client, corrupt)


def test_hub_originals_in_chunks_corrupted_chunk_refused_and_resent(db_url, hub, tmp_path, monkeypatch):
    app, client, token = hub
    area_dir = tmp_path / "area"
    ids = h.seed_area(db_url, area_dir)
    from server.storage import stores_from_config

    store, _d = stores_from_config(h.config(db_url, area_dir))
    big = bytes(range(256)) * 12_000  # 3 MB: three chunks of 1 MiB
    sha = hashlib.sha256(big).hexdigest()
    with session_scope(db_url) as s:
        m = s.get(Media, ids["media"][0])
        s.delete(m)
    with session_scope(db_url) as s:
        s.add(Media(id=ids["media"][0], sha256=sha, deployment_id=ids["deployments"][0], file_name="BIG.JPG",
                    media_type="image/jpeg", size_bytes=len(big), storage_key=store.key_for(sha, "jpg")))
    store.put_bytes(store.key_for(sha, "jpg"), big)
    spoiled = []

    def corrupt(method, path, data):
        if method == "PATCH" and not spoiled and data:  # the first chunk arrives damaged, once
            spoiled.append(path)
            return bytes([data[0] ^ 0xFF]) + data[1:]
        return data

    rep = _publisher(db_url, area_dir, token, client, corrupt, originals=True).run()
    assert spoiled and rep.retried_chunks == 1 and rep.files["original"] == 1, rep.summary()
    with app.app_context():
        from server.storage import get_store

        assert get_store().sha256(store.key_for(sha, "jpg")) == sha
    # Sent once: a second run sends no original again.
    rep2 = _publisher(db_url, area_dir, token, client, originals=True).run()
    assert not rep2.files and not rep2.sent


def test_hub_corrupted_thumbnail_refused_and_resent(db_url, hub, tmp_path):
    _app, client, token = hub
    area_dir = tmp_path / "area"
    h.seed_area(db_url, area_dir)
    hits = []

    def corrupt(method, path, data):
        if path.endswith("files/bundle") and not hits:
            hits.append(1)
            return data.replace(b'"data":"/9h0', b'"data":"AAAA', 1)
        return data

    rep = _publisher(db_url, area_dir, token, client, corrupt).run()
    assert hits and rep.retried_chunks == 1 and rep.files["thumb"] == 4, rep.summary()


def test_hub_bandwidth_cap_slows_publishing(db_url, hub, tmp_path):
    _app, client, token = hub
    area_dir = tmp_path / "area"
    h.seed_area(db_url, area_dir)
    t = time.monotonic()
    rep = _publisher(db_url, area_dir, token, client, max_kbps=64).run()
    took = time.monotonic() - t
    # 64 kbit/s is 8,000 bytes a second: the bytes sent cannot have gone faster.
    assert rep.bytes_sent > 8000 and took >= rep.bytes_sent / 8000 * 0.9, (rep.bytes_sent, took)


def test_hub_trusted_with_exact_positions(db_url, hub, hub_url, tmp_path):
    _app, client, token = hub
    area_dir = tmp_path / "area"
    ids = h.seed_area(db_url, area_dir)
    _publisher(db_url, area_dir, token, client, precise_positions=True).run()
    with session_scope(hub_url) as s:
        assert s.get(Location, ids["stations"][0]).latitude == 17.5432
        fo = s.get(FieldObservation, ids["field_observation"])
        assert (fo.latitude, fo.longitude) == (17.5432, 106.2871)


def test_hub_periodic_job_publishes(db_url, hub, hub_url, tmp_path, monkeypatch):
    from server.hub.jobs import queue_if_idle
    from server.jobs import core

    _app, client, token = hub
    area_dir = tmp_path / "area"
    ids = h.seed_area(db_url, area_dir)
    cfg = {**h.config(db_url, area_dir), "HUB_URL": "http://hub.test", "HUB_TOKEN": token}
    real = P.HubClient.__init__

    def wired(self, *a, **kw):
        real(self, *a, **kw)
        _wire(type("X", (), {"client": self})(), client)

    monkeypatch.setattr(P.HubClient, "__init__", wired)
    assert queue_if_idle(cfg) and not queue_if_idle(cfg)  # one queued at a time
    assert core.drain(cfg) == 1
    with session_scope(db_url) as s:
        job = s.exec(select(Job).where(Job.kind == "hub_publish")).one()
        assert job.status == "done", job.error
    with session_scope(hub_url) as s:
        assert s.get(Media, ids["media"][0]) is not None


def test_hub_refuses_bad_requests(db_url, hub, hub_url, app):
    _app, client, token = hub
    # Not a hub: the area app answers 404.
    r = app.test_client().get("/api/v1/hub/hello", headers={"X-Saola-Hub-Token": token})
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_a_hub"
    assert client.get("/api/v1/hub/hello").status_code == 401
    r = client.get("/api/v1/hub/hello", headers={"X-Saola-Hub-Token": "saola-hub-nope"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "hub_token_invalid"
    hdr = {"X-Saola-Hub-Token": token}
    for body, field in (({"rev": 0, "records": []}, "rev"),
                        ({"rev": 1, "records": [{"kind": "user", "id": "abcdefgh", "hash": "0" * 64, "data": {}}]},
                         "kind"),
                        ({"rev": 1, "records": [{"kind": "program", "id": "../../etc", "hash": "0" * 64,
                                                 "data": {}}]}, "id"),
                        ({"rev": 1, "records": [{"kind": "program", "id": "p-12345678", "hash": "0" * 64,
                                                 "data": {"name": "x", "password": "y"}}]}, "password"),
                        ({"rev": 1, "records": [{"kind": "deployment", "id": "d-12345678", "hash": "0" * 64,
                                                 "data": {"program_id": "nope-1234", "location_id": "nope-5678",
                                                          "deployment_start": "2026-01-01T00:00:00+00:00"}}]},
                         "program")):
        r = client.post("/api/v1/hub/batches", json=body, headers=hdr)
        assert r.status_code == 422, (field, r.get_json())
        assert field in r.get_data(as_text=True)
    with session_scope(hub_url) as s:
        assert s.exec(select(HubPeer)).one().last_rev == 0  # nothing written
    r = client.post("/api/v1/hub/files/bundle", headers=hdr, json={"files": [
        {"sha256": "a" * 64, "variant": "thumb", "media_sha256": "b" * 64, "data": ""}]})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_owner"


def test_hub_annual_report_recorded(db_url, hub, hub_url, tmp_path):
    from server.models import ReportSubmission

    _app, client, token = hub
    area_dir = tmp_path / "area"
    h.seed_area(db_url, area_dir)
    rep = _publisher(db_url, area_dir, token, client, report_years=(2026,), report_languages=("en",)).run()
    assert rep.files["report"] == 2, rep.summary()
    with session_scope(hub_url) as s:
        sub = s.exec(select(ReportSubmission)).one()
        assert sub.year == 2026 and sub.language == "en" and sub.source == "publish" and sub.submitted_by == "pnkb"
        assert sub.pdf_sha256 and sub.html_sha256


def test_hub_original_on_request(db_url, hub, hub_url, tmp_path):
    from server.hub.peers import want_originals, wanted_originals
    from server.storage import stores_from_config

    app, client, token = hub
    area_dir = tmp_path / "area"
    ids = h.seed_area(db_url, area_dir)
    store, _d = stores_from_config(h.config(db_url, area_dir))
    data = b"\xff\xd8 original photo " * 1000
    sha = hashlib.sha256(data).hexdigest()
    with session_scope(db_url) as s:
        m = s.get(Media, ids["media"][1])
        m.sha256, m.storage_key, m.size_bytes = sha, store.key_for(sha, "jpg"), len(data)
    store.put_bytes(store.key_for(sha, "jpg"), data)
    rep = _publisher(db_url, area_dir, token, client).run()
    assert not rep.files["original"]  # thumbnails only, by default
    with session_scope(hub_url) as s:
        peer = s.exec(select(HubPeer)).one()
        with pytest.raises(Exception, match="no media"):
            want_originals(s, peer, ["not-a-published-media"])
    with session_scope(hub_url) as s:
        peer = s.exec(select(HubPeer)).one()
        assert want_originals(s, peer, [ids["media"][1]]) == 1
    rep = _publisher(db_url, area_dir, token, client).run()
    assert rep.files["original"] == 1, rep.summary()
    with session_scope(hub_url) as s:
        assert wanted_originals(s, s.exec(select(HubPeer)).one()) == []
    with app.app_context():
        from server.storage import get_store

        assert get_store().sha256(store.key_for(sha, "jpg")) == sha


def test_hub_ignores_the_area_clock(db_url, hub, hub_url, tmp_path):
    """A correction stamped in the past by an area server whose clock went back is still published:
    what changed is found by content, and versions are ordered by the publishing revision."""
    from datetime import datetime, timezone

    from server.models import Observation

    _app, client, token = hub
    area_dir = tmp_path / "area"
    ids = h.seed_area(db_url, area_dir)
    _publisher(db_url, area_dir, token, client).run()
    with session_scope(db_url) as s:
        o = s.get(Observation, ids["observations"][1])
        o.count, o.updated_at = 5, datetime(1990, 1, 1, tzinfo=timezone.utc)
    rep = _publisher(db_url, area_dir, token, client).run()
    assert rep.sent == {"observation": 1}, rep.summary()
    with session_scope(hub_url) as s:
        assert s.get(Observation, ids["observations"][1]).count == 5


def test_hub_publishes_every_kind(db_url, hub, hub_url, tmp_path):
    """Every published kind arrives whole, under the hub's area, with the area's ids; taxa by name."""
    from server.hub.kinds import KINDS
    from server.models import Observation, ProtectedArea, Taxon

    _app, client, token = hub
    area_dir = tmp_path / "area"
    ids = h.seed_area(db_url, area_dir)
    rep = _publisher(db_url, area_dir, token, client).run()
    assert not rep.conflicts
    for kind in KINDS:
        model = kind.model
        with session_scope(db_url) as s:
            want = sorted(s.exec(select(model.id)).all())
        with session_scope(hub_url) as s:
            got = sorted(s.exec(select(model.id)).all())
        assert want and got == want, kind.name
    with session_scope(hub_url) as s:
        hub_area = s.exec(select(ProtectedArea).where(ProtectedArea.code == "PNKB")).one()
        assert hub_area.id != ids["area"]
        assert s.get(Location, ids["stations"][1]).area_id == hub_area.id
        taxon = s.get(Taxon, s.get(Observation, ids["observations"][1]).taxon_id)
        assert taxon.scientific_name == h.COMMON
