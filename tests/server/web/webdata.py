"""Test data of the web UI tests: a protected area with camera-trap sequences,
machine detections, real (tiny) JPEG originals, taxa and users of every role.

Used by the fixtures in this folder's conftest.py and by the browser tests,
which build the same data in the database of a real `saola serve`."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

T0 = datetime(2026, 3, 1, 6, 0, tzinfo=timezone.utc)


def jpeg_bytes(color=(80, 120, 60), size=(64, 48)) -> bytes:
    """A small JPEG: ``color`` with a 4-pixel checkerboard, so blurring visibly changes it."""
    import numpy as np
    from PIL import Image

    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    checker = (((xx // 4) + (yy // 4)) % 2).astype(np.uint8)[..., None]
    arr = np.clip(np.array(color, dtype=np.int16)[None, None, :] + checker * 90, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(arr, "RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def store_bytes(app, data: bytes, ext: str) -> tuple[str, str]:
    """Put ``data`` into the app's media store; (sha256, storage key)."""
    import hashlib

    from server.storage import get_store

    sha = hashlib.sha256(data).hexdigest()
    store = get_store(app)
    key = store.key_for(sha, ext)
    store.put_stream(io.BytesIO(data), key)
    return sha, key


@dataclass
class ReviewData:
    area: object
    other_area: object
    program: object
    deployment: object
    other_deployment: object
    sequences: list = field(default_factory=list)   # with detections, queue order
    empty_sequence: object = None                    # no detector ran on it: in the queue all the same
    media: dict = field(default_factory=dict)       # sequence id -> [media]
    detections: dict = field(default_factory=dict)  # media id -> [detections]
    taxa: dict = field(default_factory=dict)        # key -> Taxon
    users: dict = field(default_factory=dict)       # role -> User
    other_sequence: object = None


def build_review_data(app, world) -> ReviewData:
    from server.models import Detection, Media, Program, Sequence, Taxon
    from server.services.taxa import refresh_search_text

    area = world.area("PNKB", "Phong Nha-Ke Bang")
    other = world.area("CTN", "Cat Tien")
    program = world.program(area.id, settings={"common_species": ["Pseudoryx nghetinhensis", "Muntiacus vuquangensis"]})
    other_program = world.program(other.id, "Other cameras")
    dep = world.deployment(program, "S01", deployment_start=T0 - timedelta(days=10),
                           deployment_end=T0 + timedelta(days=20), camera_id="CAM-1")
    other_dep = world.deployment(other_program, "X01", deployment_start=T0 - timedelta(days=10))
    data = ReviewData(area=area, other_area=other, program=program, deployment=dep, other_deployment=other_dep)
    with world.session() as s:
        for key, sci, vi, en, iucn in (("saola", "Pseudoryx nghetinhensis", "Sao la", "Saola", "CR"),
                                       ("muntjac", "Muntiacus vuquangensis", "Mang lớn", "Large-antlered muntjac", "CR"),
                                       ("pheasant", "Lophura edwardsi", "Gà lôi lam mào trắng", "Edwards's pheasant", "CR")):
            t = Taxon(scientific_name=sci, vietnamese_name=vi, english_name=en, iucn_category=iucn,
                      decree84_group="IB")
            refresh_search_text(t)
            s.add(t)
            data.taxa[key] = t
    colors = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30)]
    plan = [  # (deployment, minutes from T0, detections per image: (category, conf, taxon key))
        (dep, 0, [("animal", 0.95, "saola")]),
        (dep, 60, [("animal", 0.40, None)]),
        (dep, 120, [("person", 0.90, None)]),
        (dep, 180, [("animal", 0.15, "muntjac")]),
    ]
    with world.session() as s:
        for i, (d, minutes, dets) in enumerate(plan):
            start = T0 + timedelta(minutes=minutes)
            seq = Sequence(deployment_id=d.id, event_start=start, event_end=start + timedelta(seconds=4), media_count=2)
            s.add(seq)
            s.flush()
            data.sequences.append(seq)
            data.media[seq.id] = []
            for j in range(2):
                sha, key = store_bytes(app, jpeg_bytes(colors[i], (64 + j, 48)), "jpg")
                m = Media(sha256=sha, deployment_id=d.id, sequence_id=seq.id, file_name=f"IMG_{i:02d}{j}.JPG",
                          media_type="image/jpeg", size_bytes=100, storage_key=key,
                          captured_at=start + timedelta(seconds=2 * j), width=64 + j, height=48,
                          contains_person=dets[0][0] == "person")
                s.add(m)
                s.flush()
                data.media[seq.id].append(m)
                data.detections[m.id] = []
                for cat, conf, tk in dets:
                    det = Detection(media_id=m.id, model="megadetector@5a", category=cat, confidence=conf,
                                    bbox_x=0.1, bbox_y=0.2, bbox_width=0.3, bbox_height=0.4,
                                    taxon_id=data.taxa[tk].id if tk else None,
                                    label=data.taxa[tk].scientific_name if tk else None,
                                    label_confidence=conf if tk else None)
                    s.add(det)
                    data.detections[m.id].append(det)
        empty = Sequence(deployment_id=dep.id, event_start=T0 + timedelta(minutes=30),
                         event_end=T0 + timedelta(minutes=31), media_count=1)
        s.add(empty)
        s.flush()
        sha, key = store_bytes(app, jpeg_bytes((1, 2, 3)), "jpg")
        s.add(Media(sha256=sha, deployment_id=dep.id, sequence_id=empty.id, file_name="EMPTY.JPG",
                    media_type="image/jpeg", size_bytes=10, storage_key=key, captured_at=empty.event_start))
        data.empty_sequence = empty
        oseq = Sequence(deployment_id=other_dep.id, event_start=T0, event_end=T0, media_count=1)
        s.add(oseq)
        s.flush()
        sha, key = store_bytes(app, jpeg_bytes((9, 9, 9)), "jpg")
        om = Media(sha256=sha, deployment_id=other_dep.id, sequence_id=oseq.id, file_name="OTHER.JPG",
                   media_type="image/jpeg", size_bytes=10, storage_key=key, captured_at=T0)
        s.add(om)
        s.flush()
        s.add(Detection(media_id=om.id, model="megadetector@5a", category="animal", confidence=0.9,
                        bbox_x=0.1, bbox_y=0.1, bbox_width=0.2, bbox_height=0.2))
        data.other_sequence = oseq
        s.get(Program, program.id)
    data.users = {
        "admin": quick_user(world, "admin", admin=True),
        "manager": quick_user(world, "manager", roles={area.id: "manager"}),
        "biologist": quick_user(world, "bio", roles={area.id: "biologist"}),
        "ranger": quick_user(world, "ranger", roles={area.id: "ranger"}),
        "viewer": quick_user(world, "viewer", roles={area.id: "viewer"}),
        "outsider": quick_user(world, "outsider", roles={other.id: "biologist"}),
    }
    return data


# Argon2 verification reads its cost from the stored hash: a low-cost hash keeps
# sign-in real (the same verify_password) but fast in tests.
_QUICK_HASH = None


def quick_user(world, username: str, *, admin: bool = False, roles: dict | None = None, language: str = "en"):
    """A user with password "password123" stored as a cheap Argon2id hash."""
    global _QUICK_HASH
    from argon2 import PasswordHasher

    from server.models import Membership, User

    if _QUICK_HASH is None:
        _QUICK_HASH = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash("password123")
    with world.session() as s:
        u = User(username=username, password_hash=_QUICK_HASH, is_admin=admin, language=language)
        s.add(u)
        s.flush()
        for area_id, role in (roles or {}).items():
            s.add(Membership(user_id=u.id, area_id=area_id, role=role))
        return u


def add_recording(app, world, rd):
    """A 4 s, 16 kHz WAV with a 3 kHz tone from 1 s to 2 s, a BirdNET-like detection on it,
    a gunshot alert in rd's area and an engine alert in the other area; (media, detection)."""
    import numpy as np
    import soundfile as sf

    from server.models import Alert, Detection, Media

    sr = 16000
    t = np.arange(sr * 4) / sr
    y = (0.3 * np.sin(2 * np.pi * 3000 * t) * (t > 1) * (t < 2)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, y, sr, format="WAV")
    sha, key = store_bytes(app, buf.getvalue(), "wav")
    with world.session() as s:
        m = Media(sha256=sha, kind="audio", deployment_id=rd.deployment.id, file_name="REC_0001.WAV",
                  media_type="audio/wav", size_bytes=len(buf.getvalue()), storage_key=key, captured_at=T0,
                  duration_s=4.0, sample_rate=sr)
        s.add(m)
        s.flush()
        d = Detection(media_id=m.id, model="birdnet@2.4", category="bird", confidence=0.8, start_s=1.0, end_s=2.0,
                      freq_low_hz=2500, freq_high_hz=3500, label="Lophura edwardsi", taxon_id=rd.taxa["pheasant"].id)
        s.add(d)
        s.flush()
        s.add(Alert(area_id=rd.area.id, deployment_id=rd.deployment.id, media_id=m.id, kind="gunshot",
                    confidence=0.91, occurred_at=T0))
        s.add(Alert(area_id=rd.other_area.id, kind="engine", confidence=0.7, occurred_at=T0))
        return m, d


class MiniWorld:
    """The parts of the suite's ``world`` fixture build_review_data needs, for any app."""

    def __init__(self, app):
        self.app = app

    def session(self):
        from server.db import session_scope

        return session_scope(self.app.config["DATABASE_URL"])

    def area(self, code: str, name: str):
        from server.models import ProtectedArea

        with self.session() as s:
            a = ProtectedArea(code=code, name=name)
            s.add(a)
            return a

    def program(self, area_id: str, name: str = "Camera traps", **kw):
        from server.models import Program

        with self.session() as s:
            p = Program(area_id=area_id, name=name, **kw)
            s.add(p)
            return p

    def deployment(self, program, location_name: str = "S01", **fields):
        from server.models import Program
        from server.services.deployments import build_deployment

        with self.session() as s:
            p = s.get(Program, program.id)
            return build_deployment(s, p, fields, location={"name": location_name, "latitude": 17.5,
                                                              "longitude": 106.3})


class Tablets:
    """Two tablets pushing edits of one transect sighting through the sync API (a real conflict)."""

    def __init__(self, client, world, rd):
        import uuid

        self.client, self.uuid = client, uuid
        self.program = world.program(rd.area.id, "Transects", protocol="line-transect")
        self.h1, self.h2 = self.device("ranger", "tab-1"), self.device("manager", "tab-2")

    def device(self, username, device_id):
        r = self.client.post("/api/v1/auth/device", json={"username": username, "password": "password123",
                                                          "device_id": device_id})
        assert r.status_code == 201, r.get_json()
        return {"Authorization": f"Bearer {r.get_json()['token']}"}

    def doc(self, **kw):
        rec = {"observed_at": "2026-03-01T07:30:00+07:00", "taxon": "Pseudoryx nghetinhensis", "sign_type": "sighting",
               "count": 3, "distance_m": 20.0, "bearing_deg": 30.0, "transect_bearing_deg": 0.0,
               "location": {"lat": 17.5, "lon": 106.2}, **kw}
        return {"protocol": "line_transect@1.0", "record_type": "observation", "program_id": self.program.id,
                "recorded_at": "2026-03-01T00:30:00Z", "walk_id": None, "data": rec}

    def push(self, headers, record_id, doc, op="create", base=0):
        m = {"mutation_id": str(self.uuid.uuid4()), "entity": "observation", "record_id": record_id, "op": op,
             "base_revision": base, "data": doc, "device_time": "2026-03-01T00:31:00Z", "gps_time": None}
        r = self.client.post("/api/v1/sync/push", headers=headers, json={"protocol_version": "1.0", "mutations": [m]})
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.get_json()["results"][0]

    def conflict(self):
        """Tablet 1 changes count and distance; tablet 2, from the same base, count and bearing."""
        oid = str(self.uuid.uuid4())
        assert self.push(self.h1, oid, self.doc())["status"] == "applied"
        assert self.push(self.h1, oid, self.doc(count=4, distance_m=25.0), "update", 1)["status"] == "applied"
        res = self.push(self.h2, oid, self.doc(count=7, bearing_deg=40.0), "update", 1)
        assert res["status"] == "conflict", res
        return oid, res["conflict_id"]
