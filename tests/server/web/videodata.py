"""A small camera-trap video for the review tests, made with ffmpeg and ingested like a card.

The clip is ffmpeg's test pattern (H.264 in MP4, which Debian's chromium plays), with the
metadata a camera writes: creation time, a GPS position and a serial in a comment (the
viewer's copy must lose them)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SERIAL = "SAOLA-VID-SERIAL-0042"
LOCATION = "+17.5900+106.2800/"


def make_video(path: Path, seconds: int = 3, fps: int = 10, size: str = "320x240",
               created: str = "2026-03-01T09:00:00Z") -> Path:
    """Write an MP4 test clip to ``path`` (ffmpeg's lavfi test source)."""
    exe = shutil.which("ffmpeg")
    assert exe, "ffmpeg is needed for the video tests (apt-get install ffmpeg)"
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([exe, "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate={fps}:duration={seconds}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
                    "-metadata", f"creation_time={created}", "-metadata", f"location={LOCATION}",
                    "-metadata", f"comment={SERIAL}", str(path)], check=True, timeout=60)
    return path


def ingest_video(app, deployment_id: str, tmp_path: Path, name: str = "VID_0001.MP4", **kw):
    """Make a clip and ingest it into ``deployment_id`` (the real pipeline: sequence, duration).
    Returns (media row, the file's bytes)."""
    from sqlmodel import select

    from server.db import session_scope
    from server.ingest.pipeline import ingest_path
    from server.models import Media

    card = tmp_path / f"card-{name}"
    clip = make_video(card / name, **kw)
    rep = ingest_path(app, card, deployment_id=deployment_id, workers=0)
    assert rep.ingested == 1, rep.summary_lines()
    with session_scope(app.config["DATABASE_URL"]) as s:
        m = s.exec(select(Media).where(Media.file_name == name, Media.deployment_id == deployment_id)).one()
        s.expunge(m)
    return m, clip.read_bytes()
