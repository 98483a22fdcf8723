"""Demo data for ingest: a camera deployment with the project's own sample photos."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flask import Flask
from sqlmodel import select

from ..db import session_scope
from ..models import Deployment, Location, Program
from ..services.deployments import build_deployment
from .pipeline import ingest_path

DEMO_STATION = "Demo S01"
DEMO_SERIAL = "SAOLA-CAM-01"  # the serial sample_media/generate.py writes


def ingest_demo_media(app: Flask, info: dict, sample_media_dir: str | Path) -> dict:
    """Create (or reuse) a demo deployment in ``info["program_id"]`` and ingest sample_media/camera/ into it."""
    camera_dir = Path(sample_media_dir) / "camera"
    if not camera_dir.is_dir():
        return {"skipped": f"{camera_dir} is missing"}
    url = app.config["DATABASE_URL"]
    with session_scope(url) as s:
        program = s.get(Program, info["program_id"])
        dep = s.exec(select(Deployment).join(Location, Location.id == Deployment.location_id).where(
            Deployment.program_id == program.id, Location.name == DEMO_STATION)).first()
        if dep is None:
            dep = build_deployment(s, program, {
                "kind": "camera", "deployment_start": datetime(2026, 3, 1, 8, 0),
                "deployment_end": datetime(2026, 3, 31, 17, 0), "timezone": "Asia/Ho_Chi_Minh",
                "camera_id": DEMO_SERIAL, "camera_model": "SaolaCam Synthetic 1", "camera_height": 0.6,
                "camera_heading": 90, "habitat": "evergreen forest"},
                location={"name": DEMO_STATION, "latitude": 17.59, "longitude": 106.28})
        dep_id = dep.id
    rep = ingest_path(app, camera_dir, deployment_id=dep_id, workers=0)
    # A handful of photos: their thumbnails are made now, so the demo shows pictures without a worker.
    from ..jobs import run_job

    for job_id in rep.derivative_jobs:
        run_job(job_id, app.config)
    return {"deployment_id": dep_id, "ingested": rep.ingested, "duplicates": rep.duplicates,
            "skipped": len(rep.skipped), "sequences": rep.sequences, "summary": rep.summary_lines()}
