"""Sound-trap ingest: start time from GUANO > AudioMoth comment > file name, recorder facts, bad files."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import numpy as np
import soundfile
from sqlmodel import select

from server.ingest.pipeline import ingest_path
from server.models import Media
from tests.server.audio.audio_server_helpers import (
    AM_COMMENT, RATE, SERIAL, audiomoth_wav, gibbon_like, guano_chunk, info_list, setup, write_wav,
)


def _media(app) -> dict[str, Media]:
    from server.db import session_scope

    with session_scope(app.config["DATABASE_URL"]) as s:
        return {m.file_name: m for m in s.exec(select(Media))}


def utc(*a) -> datetime:
    return datetime(*a, tzinfo=timezone.utc)


def test_audiomoth_matched_by_recorder_serial(app, world, tmp_path):
    _, _, dep = setup(world)
    audiomoth_wav(tmp_path / "card", seconds=5)
    rep = ingest_path(app, tmp_path / "card", workers=0)
    assert rep.ingested == 1 and rep.by_kind["audio"] == 1
    m = _media(app)["20260615_050000.WAV"]
    assert m.kind == "audio" and m.media_type == "audio/wav"
    assert m.deployment_id == dep.id  # Deployment.camera_id holds the recorder serial
    assert m.captured_at == utc(2026, 6, 14, 22, 0)  # 05:00 at UTC+7 as the comment states
    assert m.captured_at_raw == datetime(2026, 6, 15, 5, 0)
    assert (m.utc_offset_min, m.timestamp_source) == (420, "audiomoth")
    assert (m.sample_rate, m.channels, m.duration_s) == (RATE, 1, 5.0)
    assert len(m.sha256) == 64 and m.camera_serial == SERIAL
    assert (m.meta["gain"], m.meta["battery"], m.meta["temperature_c"]) == ("medium", "4.2V", 25.6)
    assert m.meta["recorder_serial"] == SERIAL
    # re-ingest is a no-op (identity by SHA-256)
    again = ingest_path(app, tmp_path / "card", workers=0)
    assert (again.ingested, again.duplicates) == (0, 1)


def test_start_time_order_of_trust_and_deployment_clock(app, world, tmp_path):
    # deployment clock 2 minutes slow: +120 s is added to recorder-clock times, as for photos
    _, _, dep = setup(world, serial=None, clock_offset_s=120)
    card = tmp_path / "card"
    card.mkdir()
    x = gibbon_like(3)
    # GUANO with its offset wins over a wrong file name
    write_wav(card / "SM4_20260101_000000.wav", x, RATE,
              before_data=guano_chunk({"Timestamp": "2026-06-15T06:30:00+07:00", "Serial": "S4A01234"}))
    # GUANO without an offset is read in the deployment's zone (Asia/Ho_Chi_Minh)
    write_wav(card / "naive.wav", x * 0.9, RATE, before_data=guano_chunk({"Timestamp": "2026-06-15T06:40:00"}))
    # AudioMoth comment without an offset: UTC; also the old "gain setting N" wording
    write_wav(card / "old.wav", x * 0.8, RATE, before_data=info_list(
        ICMT=f"Recorded at 05:00:00 15/06/2026 by AudioMoth {SERIAL} at gain setting 2 while battery state "
             "was less than 3.6V."))
    # Song Meter file name only: the recorder's clock in the deployment's zone
    write_wav(card / "SMA01234_0+1_20260615_063000.wav", x * 0.7, RATE)
    # FLAC named by an AudioMoth
    soundfile.write(card / "20260615_070000.flac", x * 0.6, RATE, format="FLAC")
    # old AudioMoth firmware: hexadecimal Unix time (UTC) 2026-06-15T01:00:00Z
    write_wav(card / "6A2F4E90.WAV", x * 0.5, RATE)
    rep = ingest_path(app, card, deployment_id=dep.id, workers=0)
    assert rep.ingested == 6, rep.summary_lines()
    m = _media(app)
    two = timedelta(seconds=120)
    g = m["SM4_20260101_000000.wav"]
    assert (g.timestamp_source, g.utc_offset_min) == ("guano", 420)
    assert g.captured_at == utc(2026, 6, 14, 23, 30) + two
    assert g.camera_serial == "S4A01234"
    n = m["naive.wav"]
    assert (n.timestamp_source, n.utc_offset_min, n.captured_at) == ("guano_local", 420, utc(2026, 6, 14, 23, 40) + two)
    o = m["old.wav"]
    assert (o.timestamp_source, o.utc_offset_min, o.captured_at) == ("audiomoth", 0, utc(2026, 6, 15, 5, 0) + two)
    assert (o.meta["gain"], o.meta["battery"]) == ("2", "less than 3.6V")
    sm = m["SMA01234_0+1_20260615_063000.wav"]
    assert (sm.timestamp_source, sm.utc_offset_min, sm.captured_at) == ("filename", 420, utc(2026, 6, 14, 23, 30) + two)
    f = m["20260615_070000.flac"]
    assert (f.media_type, f.timestamp_source, f.captured_at) == ("audio/flac", "filename", utc(2026, 6, 15, 0, 0) + two)
    h = m["6A2F4E90.WAV"]
    assert (h.timestamp_source, h.utc_offset_min, h.captured_at) == ("filename_utc", 0, utc(2026, 6, 15, 1, 0) + two)
    assert all(x.deployment_id == dep.id for x in m.values())


def test_bad_recordings_are_reported_and_the_others_go_on(app, world, tmp_path):
    _, _, dep = setup(world)
    card = tmp_path / "card"
    good = audiomoth_wav(card, seconds=2)
    data = good.read_bytes()
    (card / "truncated.wav").write_bytes(data[: len(data) // 2])  # card pulled mid-write
    (card / "zero.wav").write_bytes(b"")
    buf = io.BytesIO()
    soundfile.write(buf, np.zeros(RATE, np.float32), RATE, subtype="ULAW", format="WAV")
    (card / "ulaw.wav").write_bytes(buf.getvalue())
    buf = io.BytesIO()
    soundfile.write(buf, np.zeros(0, np.float32), RATE, subtype="PCM_16", format="WAV")
    (card / "noframes.wav").write_bytes(buf.getvalue())
    (card / "photo.flac").write_bytes(b"\xff\xd8\xff\xe0 not audio at all" * 10)
    rep = ingest_path(app, card, deployment_id=dep.id, workers=0)
    assert rep.ingested == 1
    text = "\n".join(rep.summary_lines())
    assert "truncated.wav: truncated recording: data chunk declares" in text, text
    assert "zero.wav: empty file (0 bytes)" in text
    assert "ulaw.wav: unsupported sample format: sample format ULAW is not supported" in text
    assert "noframes.wav: empty recording" in text
    assert "photo.flac: not a WAV/FLAC recording" in text
    assert list(_media(app)) == ["20260615_050000.WAV"]


def test_cli_ingest(app, world, runner, tmp_path):
    area, _, dep = setup(world)
    audiomoth_wav(tmp_path / "card", seconds=2)
    res = runner.invoke(["ingest", str(tmp_path / "card"), "--deployment", dep.id, "--quiet", "--workers", "0"])
    assert res.exit_code == 0, res.output
    assert "ingested: 1 (1 audio)" in res.output
    assert _media(app)["20260615_050000.WAV"].deployment_id == dep.id


def test_api_upload_of_a_recording(app, world, client, tmp_path):
    area, _, dep = setup(world)
    ranger = world.user("ranger", roles={area.id: "ranger"})
    path = write_wav(tmp_path / "20260616_050000.WAV", gibbon_like(2) * 0.5, RATE,
                     before_data=info_list(ICMT=AM_COMMENT.replace("15/06/2026", "16/06/2026")))
    with path.open("rb") as fh:
        r = client.post(f"/api/v1/deployments/{dep.id}/media", headers=world.headers(ranger),
                        data={"files": (fh, path.name)}, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    m = _media(app)["20260616_050000.WAV"]
    assert (m.kind, m.timestamp_source, m.captured_at) == ("audio", "audiomoth", utc(2026, 6, 15, 22, 0))
    assert m.deployment_id == dep.id


def test_queue_after_ingest_queues_the_analysis(app, world, tmp_path):
    from server.audio import queue_after_ingest
    from server.db import session_scope
    from server.models import Job

    area, _, dep = setup(world)
    audiomoth_wav(tmp_path / "card", seconds=2)
    ingest_path(app, tmp_path / "card", workers=0)
    mid = next(iter(_media(app).values())).id
    with session_scope(app.config["DATABASE_URL"]) as s:
        assert queue_after_ingest(s, [], area.id) is None
        job = queue_after_ingest(s, [mid], area.id, app.config)
        job_id = job.id
    with session_scope(app.config["DATABASE_URL"]) as s:
        job = s.get(Job, job_id)
        assert (job.kind, job.params, job.area_id, job.status) == ("audio_analysis", {"media_ids": [mid]}, area.id,
                                                                    "queued")
