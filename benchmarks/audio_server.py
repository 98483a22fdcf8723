"""Benchmark: the server's ``audio_analysis`` job vs the bare analysis it wraps, and the result write.

At run time, in a temporary folder (never committed), the real 120 s soundscape
from ``../shared/real-data/audio/`` is tiled into a 48 kHz WAV of ``--minutes``
minutes, ingested into a fresh SQLite database, and analysed:

  (a) CPU seconds of the whole job (selection, streaming analysis with indices,
      band events and BirdNET, result write, progress updates) vs
      :func:`classifiers.audio.analyse_recording` alone on the same file with the
      same settings. BirdNET is loaded (and warmed up) before both. The ratio is
      the server's overhead; close to 1 means storing results costs little.
  (b) Wall seconds of the one write transaction storing a synthetic 24-hour
      recording's results (1,440 index minutes, one BirdNET detection per 3 s
      window = 28,800 rows, 200 band events, 50 alerts): how long SQLite's write
      lock is held per recording.

Usage:  .venv/bin/python benchmarks/audio_server.py [--quick] [--minutes N]
Ends with ``BENCH audio_job_vs_analysis <ratio>`` and ``BENCH audio_store_24h_s <seconds>``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import soundfile

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SOUNDSCAPE = REPO.parent / "shared" / "real-data" / "audio" / "soundscape_120s.flac"
LAT, LON = 35.4244, -120.7463


def tile(out: Path, minutes: float) -> Path:
    x, rate = soundfile.read(SOUNDSCAPE, dtype="int16")
    need = int(minutes * 60 * rate)
    with soundfile.SoundFile(out, "w", rate, 1, "PCM_16") as f:
        done = 0
        while done < need:
            part = x[: need - done]
            f.write(part)
            done += len(part)
    return out


def world(url: str):
    from server.db import session_scope
    from server.models import Program, ProtectedArea
    from server.services.deployments import build_deployment

    with session_scope(url) as s:
        a = ProtectedArea(code="BENCH", name="Bench")
        s.add(a)
        s.flush()
        p = Program(area_id=a.id, name="Sound", protocol="acoustic")
        s.add(p)
        s.flush()
        d = build_deployment(s, p, {"kind": "acoustic", "timezone": "America/Los_Angeles",
                                    "deployment_start": datetime(2026, 5, 1, tzinfo=timezone.utc)},
                             location={"name": "Carrizo", "latitude": LAT, "longitude": LON})
        return a.id, d.id


def synthetic_day():
    from classifiers.audio import AcousticEvent, IndexParams, MinuteIndices, RecordingAnalysis
    from classifiers.audio.birdnet import BirdNETDetection

    r = RecordingAnalysis(metadata=None, index_params=IndexParams())
    r.indices = [MinuteIndices(i * 60.0, 60.0, 0.5, 2.0, 0.3, 5.0, 0.1, 0.8, 0.9, 0.7) for i in range(1440)]
    r.events = [AcousticEvent(i * 400.0, i * 400.0 + 8, 400.0, 2000.0, 9.0, "gibbon") for i in range(200)]
    labels = ["Junco hyemalis_Dark-eyed Junco", "Corvus corax_Common Raven", "Gun_Gun"]
    r.birdnet = [BirdNETDetection(i * 3.0, i * 3.0 + 3, *labels[i % 2].split("_"), labels[i % 2], 0.4)
                 for i in range(28800)]
    for i in range(50):
        r.birdnet[i * 500] = BirdNETDetection(i * 1500.0, i * 1500.0 + 3, "Gun", "Gun", "Gun_Gun", 0.9)
    r.birdnet_model, r.birdnet_week = "birdnet@2.4", 18
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 minute of audio (seconds)")
    ap.add_argument("--minutes", type=float, default=10.0)
    args = ap.parse_args()
    minutes = 1.0 if args.quick else args.minutes

    from classifiers.audio import analyse_recording
    from server import create_app
    from server.audio import runtime
    from server.audio.results import store_analysis
    from server.db import session_scope
    from server.ingest.pipeline import ingest_path
    from server.jobs import drain, enqueue
    from server.migrate import upgrade
    from server.models import Job, Media

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        card = tmp / "card"
        card.mkdir()
        wav = tile(card / "SMA00001_20260505_060000.wav", minutes)
        url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade(url)
        app = create_app({"TESTING": True, "DATABASE_URL": url, "DATA_DIR": str(tmp / "data"),
                          "SECRET_KEY": "bench", "WORKER": "inprocess"})
        area_id, dep_id = world(url)
        rep = ingest_path(app, card, deployment_id=dep_id, workers=0)
        assert rep.ingested == 1, rep.summary_lines()
        birdnet = runtime.get_birdnet()
        analyse_recording(wav, birdnet=birdnet, lat=LAT, lon=LON, week=18, block_s=60)  # warm-up
        t0 = time.process_time()
        ref = analyse_recording(wav, birdnet=birdnet, lat=LAT, lon=LON, week=18)
        bare = time.process_time() - t0
        with session_scope(url) as s:
            enqueue(s, "audio_analysis", {"deployment_id": dep_id}, area_id=area_id)
        t0 = time.process_time()
        drain(app.config)
        job_cpu = time.process_time() - t0
        with session_scope(url) as s:
            job = s.exec(__import__("sqlmodel").select(Job)).one()
            assert job.status == "done", (job.error, job.failures)
            assert job.result["birdnet"] == len(ref.birdnet), (job.result, len(ref.birdnet))
            media = s.exec(__import__("sqlmodel").select(Media)).one()
        hours = minutes / 60
        print(f"audio: {minutes:g} min; analysis alone {bare:.2f} CPU s ({bare / hours:.1f} per audio hour); "
              f"job {job_cpu:.2f} CPU s ({job_cpu / hours:.1f} per audio hour); {job.result}")

        day = synthetic_day()
        t0 = time.perf_counter()
        with session_scope(url) as s:
            counts = store_analysis(s, s.get(Media, media.id), area_id, day, alert_threshold=0.5, job_id="bench",
                                    taxa={})
        store_s = time.perf_counter() - t0
        print(f"24 h of results written in one transaction: {store_s:.2f} s wall ({counts})")
    print(f"BENCH audio_job_vs_analysis {job_cpu / bare:.3f} job CPU / analyse_recording CPU on the same file")
    print(f"BENCH audio_store_24h_s {store_s:.3f} wall seconds writing a 24-hour recording's results (SQLite)")


if __name__ == "__main__":
    main()
