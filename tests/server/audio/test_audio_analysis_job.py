"""The ``audio_analysis`` job end to end: indices per minute, band events, BirdNET (a fake with a known
answer, and the real model on a slice of a real soundscape), custom classifiers, alerts, idempotence."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import soundfile
from sqlmodel import select

from classifiers.audio.birdnet import BirdNETDetection
from server.audio import runtime
from server.db import session_scope
from server.ingest.pipeline import ingest_path
from server.jobs import drain, enqueue
from server.models import AcousticIndex, Alert, Detection, Job, Media, MLModel, Program, utcnow
from tests.server.audio.audio_server_helpers import RATE, audiomoth_wav, info_list, setup, tone, write_wav

START = datetime(2026, 6, 14, 22, 0, tzinfo=timezone.utc)  # the AudioMoth comment's 05:00 at UTC+7


class FakeBirdNET:
    """Stands in for classifiers.audio.birdnet.BirdNET: fixed detections, records what it was asked."""

    model_id = "birdnet@2.4"

    def __init__(self, detections):
        self.detections = detections
        self.calls: list[dict] = []
        self.fed = 0

    def run(self, **kw):
        self.calls.append(kw)
        fake = self

        class Run:
            def feed(self, block, rate):
                fake.fed += len(block)

            def finish(self):
                return list(fake.detections)

        return Run()


def det(start, label, conf):
    sci, _, common = label.partition("_")
    return BirdNETDetection(start, start + 3.0, sci, common, label, conf)


@pytest.fixture
def fake_birdnet(monkeypatch):
    fake = FakeBirdNET([det(3.0, "Junco hyemalis_Dark-eyed Junco", 0.61), det(12.0, "Gun_Gun", 0.93),
                        det(30.0, "Engine_Engine", 0.31)])
    monkeypatch.setattr(runtime, "get_birdnet", lambda: fake)
    return fake


def _ingest(app, folder, dep_id):
    """Ingest a card; the analysis ingest queues is set aside so each test runs its own job."""
    rep = ingest_path(app, folder, deployment_id=dep_id, workers=0, keep_ids=True)
    assert rep.ingested >= 1, rep.summary_lines()
    with session_scope(app.config["DATABASE_URL"]) as s:
        for job in s.exec(select(Job).where(Job.kind == "audio_analysis", Job.status == "queued")):
            job.status = "cancelled"
            s.add(job)
    return rep


def _run(app, area_id, params) -> Job:
    url = app.config["DATABASE_URL"]
    with session_scope(url) as s:
        job_id = enqueue(s, "audio_analysis", params, area_id=area_id).id
    drain(app.config)
    with session_scope(url) as s:
        return s.get(Job, job_id)


def _rows(app, model, *where):
    with session_scope(app.config["DATABASE_URL"]) as s:
        return list(s.exec(select(model).where(*where)))


def test_analysis_stores_indices_events_birdnet_and_alerts(app, world, tmp_path, fake_birdnet):
    area, program, dep = setup(world)
    audiomoth_wav(tmp_path / "card", seconds=70)
    _ingest(app, tmp_path / "card", dep.id)
    job = _run(app, area.id, {"deployment_id": dep.id})
    assert job.status == "done", (job.error, job.failures)
    assert (job.progress_done, job.progress_total) == (70, 70)  # seconds of audio
    assert job.result["analysed"] == 1 and job.failures == []
    (media,) = _rows(app, Media)

    # location/week filter: the deployment's location and the recording's local date (15 June -> week 22)
    (call,) = fake_birdnet.calls
    assert (call["lat"], call["lon"], call["week"], call["min_conf"]) == (17.5, 106.3, 22, 0.25)
    assert fake_birdnet.fed == 70 * RATE

    idx = sorted(_rows(app, AcousticIndex), key=lambda r: r.minute)
    assert [(r.minute, r.start_at) for r in idx] == [(0, START), (1, START + timedelta(minutes=1))]
    assert all(r.media_id == media.id and r.aci is not None and r.h is not None for r in idx)
    assert idx[1].extra["duration_s"] == pytest.approx(10.0)

    (event,) = _rows(app, Detection, Detection.model == "saola-band@1")
    assert (event.category, event.label) == ("event", "gibbon")
    assert event.start_s == pytest.approx(10, abs=0.3) and event.end_s == pytest.approx(18, abs=0.3)
    assert 400 <= event.freq_low_hz < event.freq_high_hz <= 2000 and 0 < event.confidence <= 1

    bn = {d.label: d for d in _rows(app, Detection, Detection.model == "birdnet@2.4")}
    assert set(bn) == {"Junco hyemalis", "Gun", "Engine"}
    assert (bn["Junco hyemalis"].category, bn["Gun"].category) == ("bird", "Gun")
    assert (bn["Gun"].start_s, bn["Gun"].end_s, bn["Gun"].confidence) == (12.0, 15.0, pytest.approx(0.93))

    # only the gunshot is above the default threshold 0.5
    (alert,) = _rows(app, Alert)
    assert (alert.kind, alert.area_id, alert.deployment_id, alert.media_id) == ("gunshot", area.id, dep.id, media.id)
    assert alert.detection_id == bn["Gun"].id and alert.occurred_at == START + timedelta(seconds=12)

    # acknowledged, then analysed again: same rows (replaced, not added), the acknowledgement kept
    with session_scope(app.config["DATABASE_URL"]) as s:
        a = s.get(Alert, alert.id)
        a.acknowledged_by, a.acknowledged_at = "manager", utcnow()
        s.get(Detection, bn["Junco hyemalis"].id).review_status = "verified"
    job = _run(app, area.id, {"media_ids": [media.id]})
    assert job.status == "done"
    assert len(_rows(app, Detection)) == 4 and len(_rows(app, AcousticIndex)) == 2
    (alert2,) = _rows(app, Alert)
    assert alert2.acknowledged_by == "manager"
    junco = _rows(app, Detection, Detection.label == "Junco hyemalis")[0]
    assert junco.id != bn["Junco hyemalis"].id and junco.review_status == "verified"
    assert _rows(app, Detection, Detection.label == "Gun")[0].review_status == "unreviewed"

    # a lower program threshold makes the engine an alert too
    with session_scope(app.config["DATABASE_URL"]) as s:
        p = s.get(Program, program.id)
        p.settings = {"alert_threshold": 0.3}
    _run(app, area.id, {"deployment_id": dep.id})
    assert sorted(a.kind for a in _rows(app, Alert)) == ["engine", "gunshot"]
    assert len(_rows(app, Detection)) == 4


def test_one_bad_recording_is_an_item_failure(app, world, tmp_path, fake_birdnet):
    area, _, dep = setup(world, settings={"birdnet": False})
    audiomoth_wav(tmp_path / "card", name="20260615_050000.WAV", seconds=5)
    audiomoth_wav(tmp_path / "card", name="20260615_060000.WAV", seconds=12,  # >= 10 s: gets indices
                  comment="Recorded at 06:00:00 15/06/2026 (UTC+7) by AudioMoth 24A04F085A1B2C3D at medium gain.")
    _ingest(app, tmp_path / "card", dep.id)
    media = {m.file_name: m for m in _rows(app, Media)}
    (app.extensions["saola.media"].root / media["20260615_050000.WAV"].storage_key).unlink()
    job = _run(app, area.id, {"deployment_id": dep.id})
    assert job.status == "done"
    assert job.result["analysed"] == 1 and job.result["failed"] == 1
    (failure,) = job.failures
    assert failure["item"] == media["20260615_050000.WAV"].id
    assert "20260615_050000.WAV: original missing from the media store" in failure["error"]
    assert {r.media_id for r in _rows(app, AcousticIndex)} == {media["20260615_060000.WAV"].id}
    assert fake_birdnet.calls == []  # BirdNET off for this program
    assert _rows(app, Detection, Detection.model == "birdnet@2.4") == []


def test_bad_params_and_settings_fail_clearly(app, world, tmp_path):
    area, _, dep = setup(world, settings={"alert_threshold": "high"})
    audiomoth_wav(tmp_path / "card", seconds=3)
    _ingest(app, tmp_path / "card", dep.id)
    job = _run(app, area.id, {})
    assert job.status == "failed" and "needs media_ids (a list) or deployment_id" in job.error
    job = _run(app, area.id, {"deployment_id": dep.id})
    assert job.status == "failed" and "settings.alert_threshold must be a number from 0 to 1" in job.error


def test_custom_audio_classifier_of_the_program(app, world, tmp_path, monkeypatch):
    from tests.classifiers.audio.test_audio_custom import N_MELS, mel_model

    area, _, dep = setup(world, settings={"birdnet": False, "audio_bands": [], "audio_classifiers": ["gibbon"]})
    model_path = tmp_path / "gibbon.onnx"
    mel_model(model_path, "NCHW")
    with session_scope(app.config["DATABASE_URL"]) as s:
        s.add(MLModel(name="gibbon", kind="audio_classifier", version="0.1", file_path=str(model_path),
                      sha256=hashlib.sha256(model_path.read_bytes()).hexdigest(),
                      size_bytes=model_path.stat().st_size,
                      config={"labels": ["low_call", "high_call"], "sample_rate": 16000, "window_s": 3.0,
                              "n_mels": N_MELS, "n_fft": 1024, "hop_length": 256, "fmax": 8000, "min_conf": 0.6}))
    x = np.concatenate([tone(500, 3, RATE), tone(6000, 3, RATE), np.zeros(4 * RATE, np.float32)])
    folder = tmp_path / "card"
    folder.mkdir()
    write_wav(folder / "20260615_050000.WAV", x, RATE, before_data=info_list(
        ICMT="Recorded at 05:00:00 15/06/2026 (UTC+7) by AudioMoth 24A04F085A1B2C3D at medium gain."))
    _ingest(app, folder, dep.id)
    job = _run(app, area.id, {"deployment_id": dep.id})
    assert job.status == "done", (job.error, job.failures)
    dets = sorted(_rows(app, Detection), key=lambda d: d.start_s)
    assert [(d.model, d.label, d.start_s, d.end_s) for d in dets] == [
        ("gibbon@0.1", "low_call", 0.0, 3.0), ("gibbon@0.1", "high_call", 3.0, 6.0)]
    assert _rows(app, Detection, Detection.model == "saola-band@1") == []  # no bands configured

    # an unknown model name is a clear per-recording failure
    with session_scope(app.config["DATABASE_URL"]) as s:
        p = s.exec(select(Program)).one()
        p.settings = {"birdnet": False, "audio_classifiers": ["owl"]}
    job = _run(app, area.id, {"deployment_id": dep.id})
    assert job.status == "failed" and "no registered model 'owl'" in job.error


def test_real_birdnet_on_a_real_soundscape(app, world, tmp_path, real_soundscape):
    """The job stores what BirdNET itself finds on 30 s of a real recording (same filter settings)."""
    from classifiers.audio.birdnet import BirdNET, week_48

    samples, rate = soundfile.read(real_soundscape, frames=30 * 48000, dtype="float32")
    folder = tmp_path / "card"
    folder.mkdir()
    # named as a Song Meter file: recorder clock 06:00 on 5 May 2026, deployment zone America/Los_Angeles
    path = folder / "SMA00001_20260505_060000.flac"
    soundfile.write(path, samples, rate, format="FLAC")
    area = world.area()
    program = world.program(area.id, name="Sound", protocol="acoustic", settings={"audio_bands": []})
    with session_scope(app.config["DATABASE_URL"]) as s:
        from server.services.deployments import build_deployment

        p = s.get(Program, program.id)
        dep = build_deployment(s, p, {"kind": "acoustic", "timezone": "America/Los_Angeles",
                                      "deployment_start": datetime(2026, 5, 1, tzinfo=timezone.utc)},
                               location={"name": "Carrizo", "latitude": 35.4244, "longitude": -120.7463})
        dep_id = dep.id
    _ingest(app, folder, dep_id)
    job = _run(app, area.id, {"deployment_id": dep_id})
    assert job.status == "done", (job.error, job.failures)
    assert runtime.get_birdnet() is runtime.get_birdnet()  # loaded once, reused by every job of this worker
    expected = BirdNET().analyse_file(path, lat=35.4244, lon=-120.7463, week=week_48(datetime(2026, 5, 5)),
                                      min_conf=0.25)
    assert expected, "the reference finds birds in this slice"
    stored = _rows(app, Detection, Detection.model == "birdnet@2.4")
    got = sorted((d.start_s, d.extra["birdnet_label"], round(d.confidence, 3)) for d in stored)
    assert got == sorted((d.start_s, d.label, round(d.confidence, 3)) for d in expected)
