"""Spectrograms of long recordings take bounded memory: an hour-long recording's review-page spectrogram
and the API's longest range (900 s) each stay under 300 MB resident, measured in a subprocess that
serves it (the page's spectrogram used to take 10.6 GB for an hour, the API's 8.9 GB for 900 s)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

REPO = Path(__file__).resolve().parents[3]
LIMIT_MB = 300
RATE = 48000

# Runs in a fresh interpreter: the app as `saola serve` builds it, then one spectrogram.
SERVE_ONE = r"""
import json, sys
which, url, data_dir, media_id, token = sys.argv[1:6]


def peak_mb():
    # VmHWM, the peak resident memory of this program: getrusage's ru_maxrss would carry the
    # parent's (pytest's) peak over the fork and exec.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


from server import create_app
app = create_app({"DATABASE_URL": url, "DATA_DIR": data_dir, "SECRET_KEY": "memory-test-secret-0123456789",
                  "WORKER": "external", "LANGUAGE": "en"})
client = app.test_client()
before = peak_mb()
if which == "page":
    from server.models import Media
    from server.db import session_scope
    from server.review.media import spectrogram
    from server.storage import get_store
    with app.app_context(), session_scope(url) as s:
        png = spectrogram(get_store(), app.extensions["saola.derivatives"], s.get(Media, media_id)).read_bytes()
    status = 200
else:
    r = client.get(f"/api/v1/media/{media_id}/spectrogram.png?start=0&end=900",
                   headers={"Authorization": f"Bearer {token}"})
    status, png = r.status_code, r.data
peak = peak_mb()
print(json.dumps({"status": status, "png": png[:8].hex(), "size": len(png), "before_mb": before, "peak_mb": peak}))
"""


@pytest.fixture(scope="module")
def hour_wav(tmp_path_factory):
    """A 60-minute 48 kHz mono 16-bit WAV of noise with a tone each minute (~345 MB), written in blocks."""
    path = tmp_path_factory.mktemp("hour") / "hour.wav"
    rng = np.random.default_rng(7)
    t = np.arange(10 * RATE) / RATE
    with soundfile.SoundFile(str(path), "w", samplerate=RATE, channels=1, subtype="PCM_16") as f:
        for block in range(360):  # 10 s at a time
            x = rng.normal(0.0, 0.02, 10 * RATE)
            if block % 6 == 0:
                x[RATE:2 * RATE] += 0.3 * np.sin(2 * np.pi * 3000 * t[RATE:2 * RATE])
            f.write(x.astype(np.float32))
    assert path.stat().st_size > 340_000_000
    yield path
    shutil.rmtree(path.parent, ignore_errors=True)  # do not leave 345 MB in pytest's kept temp folders


@pytest.fixture
def db_url(tmp_path, sqlite_template):
    """SQLite only: what is measured is rendering, which reads no more from one database than the other."""
    from server.db import dispose_engine

    path = tmp_path / "saola.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    yield url
    dispose_engine(url)


@pytest.fixture
def stored_hour(hour_wav, app, world):
    """The recording as an audio medium of a deployment (hard-linked into the media store), a viewer's token."""
    from server.models import Media
    from server.storage import get_store

    area = world.area()
    dep = world.deployment(world.program(area.id, "Sound", protocol="acoustic-recorder"), kind="acoustic")
    store = get_store(app)
    sha = "a" * 64
    key = store.key_for(sha, "wav")
    dest = store.path(key)
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.link(hour_wav, dest)
    with world.session() as s:
        m = Media(sha256=sha, kind="audio", deployment_id=dep.id, file_name="hour.wav", media_type="audio/wav",
                  size_bytes=hour_wav.stat().st_size, storage_key=key, duration_s=3600.0, sample_rate=RATE)
        s.add(m)
        s.flush()
        media_id = m.id
    token = world.token(world.user("viewer", roles={area.id: "viewer"}))
    return media_id, token


def _serve_one(app, which: str, media_id: str, token: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-c", SERVE_ONE, which, app.config["DATABASE_URL"], app.config["DATA_DIR"],
                          media_id, token], env=env, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_an_hour_long_recordings_page_spectrogram_stays_under_300_mb(app, stored_hour):
    out = _serve_one(app, "page", *stored_hour)
    assert out["status"] == 200 and out["png"] == b"\x89PNG\r\n\x1a\n".hex()
    assert out["peak_mb"] < LIMIT_MB, f"peak {out['peak_mb']:.0f} MB (app loaded: {out['before_mb']:.0f} MB)"


@pytest.mark.slow
def test_the_apis_longest_spectrogram_range_stays_under_300_mb(app, stored_hour):
    out = _serve_one(app, "api", *stored_hour)
    assert out["status"] == 200 and out["png"] == b"\x89PNG\r\n\x1a\n".hex()
    assert out["peak_mb"] < LIMIT_MB, f"peak {out['peak_mb']:.0f} MB (app loaded: {out['before_mb']:.0f} MB)"
