"""Area server -> national hub with two real ``saola serve`` processes, on SQLite and PostgreSQL:
publish, correct and delete at the area, publish again, the hub killed mid-publish and the run
finished, another area's credentials refused, a replayed batch, a revoked token, sensitive
positions generalised."""
from __future__ import annotations

import subprocess
import time

import requests
from sqlmodel import select

from server.db import session_scope
from server.models import (Deployment, FieldObservation, HubPeer, HubRecord, Location, Media, Observation,
                           OperatingInterval, ProtectedArea)
from tests.server.hub import hubhelp as h


def _token(hub_url, data_dir, name, area):
    r = h.saola(["hub", "add-peer", name, "--area", area], hub_url, data_dir, {"SAOLA_ROLE": "hub"})
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


def test_hub_publish_correct_delete_kill_resume(db_url, hub_url, tmp_path):
    area_dir, hub_dir = tmp_path / "area", tmp_path / "hub"
    ids = h.seed_area(db_url, area_dir)
    hub = h.start(h.hub_server(hub_url, hub_dir))
    area_srv = h.Server(db_url, area_dir)
    try:
        h.start(area_srv)  # the area server runs beside its publishing, as in the field
        token = _token(hub_url, hub_dir, "pnkb", "PNKB")
        token2 = _token(hub_url, hub_dir, "ctn", "CTN")
        pub = ["publish", "--hub", hub.url, "--token", token]

        # 1. First publish: every kind lands in the standard tables under the hub's PNKB area.
        r = h.saola(pub, db_url, area_dir)
        assert r.returncode == 0, r.stderr
        with session_scope(hub_url) as s:
            hub_area = s.exec(select(ProtectedArea).where(ProtectedArea.code == "PNKB")).one()
            assert hub_area.name == "Area PNKB"
            locs = {loc.id: loc for loc in s.exec(select(Location))}
            assert set(locs) == set(ids["stations"]) and all(loc.area_id == hub_area.id for loc in locs.values())
            # The saola's station leaves the area generalised; the other station is exact.
            saola_st, plain_st = locs[ids["stations"][0]], locs[ids["stations"][1]]
            assert (saola_st.latitude, saola_st.longitude) == (17.55, 106.25)
            assert (plain_st.latitude, plain_st.longitude) == (17.6111, 106.3333)
            fo = s.get(FieldObservation, ids["field_observation"])
            assert (fo.latitude, fo.longitude) == (17.55, 106.25) and fo.data["location"]["generalised"] is True
            assert s.get(Media, ids["media"][0]).latitude == 17.55
            assert len(s.exec(select(Observation)).all()) == 4
            saola_obs = s.get(Observation, ids["observations"][0])
            assert saola_obs.classification_method == "machine" and saola_obs.classified_by == "md@5"
            assert len(s.exec(select(OperatingInterval)).all()) == 1
            assert s.get(Media, ids["media"][0]).sequence_id is not None
            assert all(m.has_derivatives for m in s.exec(select(Media)))
        assert any((hub_dir / "derivatives").rglob(f"{ids['shas'][0]}*"))

        # 2. Correct one observation and delete another at the area; publish again: the hub follows.
        with session_scope(db_url) as s:
            s.get(Observation, ids["observations"][1]).count = 7
            s.delete(s.get(Observation, ids["observations"][2]))
        r = h.saola(pub, db_url, area_dir)
        assert r.returncode == 0, r.stderr
        assert "published: 1 observation" in r.stdout and "deleted: 1 observation" in r.stdout
        with session_scope(hub_url) as s:
            assert s.get(Observation, ids["observations"][1]).count == 7
            assert s.get(Observation, ids["observations"][2]) is None
            assert s.get(HubRecord, ("observation", ids["observations"][2])).deleted
        r = h.saola(pub, db_url, area_dir)
        assert r.returncode == 0 and "published: nothing new" in r.stdout, r.stdout + r.stderr

        # 3. The hub is killed mid-publish; the next run finishes, nothing lost or doubled.
        h.add_observations(db_url, ids["deployments"][1], 3000)
        proc = subprocess.Popen([h.SAOLA, *pub, "--max-kbps", "3000"], env={
            **h.os.environ, "SAOLA_DATABASE_URL": db_url, "SAOLA_DATA_DIR": str(area_dir),
            "SAOLA_SECRET_KEY": "hub-test"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while h.count(hub_url, Observation) < 3 + 500 and time.time() < deadline:
            time.sleep(0.05)
        hub.kill()
        out, err = proc.communicate(timeout=120)
        assert proc.returncode != 0 and "cannot be reached" in err, out + err
        partial = h.count(hub_url, Observation)
        assert 3 < partial < 3003
        h.start(hub)
        r = h.saola(pub, db_url, area_dir)
        assert r.returncode == 0, r.stderr
        assert h.count(hub_url, Observation) == h.count(db_url, Observation) == 3003
        assert h.count(hub_url, HubRecord, HubRecord.kind == "observation", HubRecord.deleted.is_(False)) == 3003

        # 4. Another area's credentials cannot write, overwrite or point at PNKB's records.
        with session_scope(db_url) as s:
            o = s.get(Observation, ids["observations"][1])
            data = {c: (v.isoformat() if hasattr(v, "isoformat") else v) for c, v in o.model_dump().items()}
        data.update(count=99, taxon_id=None)
        hdr2 = {"X-Saola-Hub-Token": token2}
        for batch in ([{"kind": "observation", "id": o.id, "hash": "0" * 64, "data": data}],
                      [{"kind": "observation", "id": "11111111-2222-3333-4444-555555555555", "hash": "1" * 64,
                        "data": {**data, "id": "11111111-2222-3333-4444-555555555555"}}],
                      [{"kind": "observation", "id": o.id, "deleted": True}]):
            resp = requests.post(hub.url + "/api/v1/hub/batches", json={"rev": 10**6, "records": batch},
                                 headers=hdr2, timeout=30)
            assert resp.status_code == 403, resp.text
            assert resp.json()["error"]["code"] == "not_owner"
        with session_scope(hub_url) as s:
            assert s.get(Observation, o.id).count == 7
            assert s.get(Observation, "11111111-2222-3333-4444-555555555555") is None

        # 5. A replayed (older) batch of PNKB's own writes nothing.
        resp = requests.post(hub.url + "/api/v1/hub/batches", json={"rev": 1, "records": [
            {"kind": "observation", "id": o.id, "hash": "2" * 64, "data": {**data, "count": 1}}]},
            headers={"X-Saola-Hub-Token": token}, timeout=30)
        assert resp.status_code == 200 and resp.json()["results"][0]["status"] == "stale", resp.text
        assert h.count(hub_url, Observation, Observation.id == o.id, Observation.count == 7) == 1

        # 6. A revoked token is refused with a clear 401 and nothing is written.
        r = h.saola(["hub", "revoke", "pnkb"], hub_url, hub_dir, {"SAOLA_ROLE": "hub"})
        assert r.returncode == 0, r.stderr
        with session_scope(db_url) as s:
            s.get(Deployment, ids["deployments"][0]).camera_height = 1.2
        with session_scope(hub_url) as s:
            last = s.exec(select(HubPeer).where(HubPeer.name == "pnkb")).one().last_rev
        r = h.saola(pub, db_url, area_dir)
        assert r.returncode == 1 and "401" in r.stderr and "revoked" in r.stderr, r.stderr
        with session_scope(hub_url) as s:
            assert s.get(Deployment, ids["deployments"][0]).camera_height is None
            assert s.exec(select(HubPeer).where(HubPeer.name == "pnkb")).one().last_rev == last
    finally:
        hub.kill()
        area_srv.kill()
