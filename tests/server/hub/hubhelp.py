"""Helpers of the hub tests: an area's records made in its database, a hub database beside the
area's (a second SQLite file, or a second PostgreSQL database), and ``saola`` commands."""
from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.saola_server import SAOLA, Server

SENSITIVE = "Pseudoryx nghetinhensis"
COMMON = "Muntiacus vaginalis"
T0 = datetime(2026, 3, 1, 8, tzinfo=timezone.utc)


def config(url: str, data_dir: Path) -> dict[str, Any]:
    from server import settings

    return settings.resolve_paths(settings.load({"DATABASE_URL": url, "DATA_DIR": str(data_dir),
                                                 "SECRET_KEY": "hub-test"}))


def seed_area(url: str, data_dir: Path, code: str = "PNKB", n_obs: int = 4) -> dict[str, Any]:
    """An area with a program, two stations (one where the saola was photographed), a deployment with
    a malfunction, media with thumbnails, observations, a detection, acoustic indices, a transect walk
    and a field record of the saola; the ids."""
    from server.db import session_scope
    from server.ingest.derivatives import thumb_key
    from server.models import (AcousticIndex, Alert, Deployment, Device, Detection, FieldObservation, Location, Media, Observation,
                               OperatingInterval, Program, ProtectedArea, Sequence, SurveyWalk, Taxon, Transect)
    from server.storage import stores_from_config

    _store, derivatives = stores_from_config(config(url, data_dir))
    ids: dict[str, Any] = {}
    with session_scope(url) as s:
        taxa = {}
        for name, cat, group in ((SENSITIVE, "CR", "IB"), (COMMON, "LC", None)):
            t = s.exec(__import__("sqlmodel").select(Taxon).where(Taxon.scientific_name == name)).first()
            if t is None:
                t = Taxon(scientific_name=name, iucn_category=cat, decree84_group=group, rank="species")
                s.add(t)
                s.flush()
            taxa[name] = t.id
        area = ProtectedArea(code=code, name=f"Area {code}")
        s.add(area)
        s.flush()
        prog = Program(area_id=area.id, name="Camera traps")
        s.add(prog)
        s.flush()
        st_saola = Location(area_id=area.id, name="S01", latitude=17.5432, longitude=106.2871)
        st_plain = Location(area_id=area.id, name="S02", latitude=17.6111, longitude=106.3333)
        s.add_all([st_saola, st_plain])
        s.flush()
        deps = []
        for st in (st_saola, st_plain):
            d = Deployment(program_id=prog.id, location_id=st.id, deployment_start=T0,
                           deployment_end=T0 + timedelta(days=30), camera_id=f"CAM-{st.name}")
            s.add(d)
            deps.append(d)
        s.flush()
        seq = Sequence(deployment_id=deps[0].id, event_start=T0, event_end=T0 + timedelta(minutes=1), media_count=1)
        s.add(seq)
        s.flush()
        s.add(OperatingInterval(deployment_id=deps[1].id, start=T0 + timedelta(days=3), end=T0 + timedelta(days=5),
                                status="malfunction", reason="flooded"))
        media = []
        for i in range(4):
            data = secrets.token_bytes(200)
            sha = hashlib.sha256(data).hexdigest()
            m = Media(sha256=sha, kind="image", deployment_id=deps[i % 2].id, file_name=f"IMG_{i}.JPG",
                      media_type="image/jpeg", size_bytes=len(data), storage_key=f"{sha[:2]}/{sha[2:4]}/{sha}.jpg",
                      captured_at=T0 + timedelta(hours=i), has_derivatives=True,
                      sequence_id=seq.id if i == 0 else None,
                      latitude=17.5432, longitude=106.2871)
            s.add(m)
            media.append(m)
            derivatives.put_bytes(thumb_key(sha), b"\xff\xd8thumb" + data[:50])
        s.flush()
        det = Detection(media_id=media[0].id, model="md@5", category="animal", confidence=0.9,
                        bbox_x=0.1, bbox_y=0.1, bbox_width=0.2, bbox_height=0.2, taxon_id=taxa[SENSITIVE])
        s.add(det)
        s.flush()
        obs = []
        for i in range(n_obs):
            saola = i == 0
            o = Observation(deployment_id=deps[0 if saola else 1].id, media_id=media[0 if saola else 1].id,
                            detection_id=det.id if saola else None, event_start=T0 + timedelta(hours=i),
                            event_end=T0 + timedelta(hours=i, minutes=1),
                            taxon_id=taxa[SENSITIVE if saola else COMMON], count=1,
                            classification_method="machine" if saola else "human",
                            classified_by="md@5" if saola else "biologist")
            s.add(o)
            obs.append(o)
        s.add(AcousticIndex(media_id=media[3].id, minute=0, aci=1.5))
        s.add(Device(area_id=area.id, serial="CAM-S01", make="Browning", status="deployed"))
        s.add(Alert(area_id=area.id, deployment_id=deps[1].id, media_id=media[3].id, kind="gunshot", confidence=0.8,
                    occurred_at=T0))
        tr = Transect(area_id=area.id, program_id=prog.id, name="T1", length_m=2000)
        s.add(tr)
        s.flush()
        walk = SurveyWalk(program_id=prog.id, transect_id=tr.id, started_at=T0, observers=["A"])
        s.add(walk)
        s.flush()
        fo = FieldObservation(program_id=prog.id, walk_id=walk.id, protocol="line-transect@1",
                              taxon_id=taxa[SENSITIVE], latitude=17.5432, longitude=106.2871, observed_at=T0,
                              data={"location": {"lat": 17.5432, "lon": 106.2871}})
        s.add(fo)
        s.flush()
        ids.update(area=area.id, program=prog.id, stations=[st_saola.id, st_plain.id], deployments=[d.id for d in deps],
                   media=[m.id for m in media], shas=[m.sha256 for m in media], observations=[o.id for o in obs],
                   field_observation=fo.id, detection=det.id, walk=walk.id)
    return ids


def add_observations(url: str, deployment_id: str, n: int) -> None:
    from server.db import session_scope
    from server.models import Observation

    with session_scope(url) as s:
        s.add_all([Observation(deployment_id=deployment_id, event_start=T0 + timedelta(minutes=i),
                               event_end=T0 + timedelta(minutes=i, seconds=30), count=1) for i in range(n)])


def saola(args: list[str], url: str, data_dir: Path, extra: dict | None = None, timeout: float = 300):
    env = {**os.environ, "SAOLA_DATABASE_URL": url, "SAOLA_DATA_DIR": str(data_dir),
           "SAOLA_SECRET_KEY": "hub-test", "SAOLA_WORKER": "external", **(extra or {})}
    return subprocess.run([SAOLA, *args], env=env, capture_output=True, text=True, timeout=timeout)


def hub_server(url: str, data_dir: Path) -> Server:
    srv = Server(url, data_dir)
    srv.env["SAOLA_ROLE"] = "hub"
    return srv


def count(url: str, model, *where) -> int:
    from sqlalchemy import func
    from sqlmodel import select

    from server.db import session_scope

    with session_scope(url) as s:
        q = select(func.count()).select_from(model)
        for w in where:
            q = q.where(w)
        return s.exec(q).one()


def start(srv: Server, wait_s: float = 120) -> Server:
    """Start ``srv`` and wait for /api/v1/health (a loaded machine takes a while to start a server)."""
    import time

    import requests

    srv.proc = subprocess.Popen([SAOLA, "serve", "--port", str(srv.port)], env=srv.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + wait_s
    while time.time() < deadline:
        if srv.proc.poll() is not None:
            raise AssertionError(f"saola serve exited with {srv.proc.returncode}")
        try:
            if requests.get(srv.url + "/api/v1/health", timeout=1).status_code == 200:
                return srv
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError("saola serve did not start")
