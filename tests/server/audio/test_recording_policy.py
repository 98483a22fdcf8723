"""Recordings carry the recorder's position and serial: viewers get a copy without them (the policy in
server/auth/policy.py), on the API and on the sound page; rangers and above get the stored bytes."""
from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile
from sqlmodel import select

from server.audio.clean import CleanError, clean_copy, strip_wav
from server.db import session_scope
from server.ingest.pipeline import ingest_path
from server.models import Media
from tests.server.audio.audio_server_helpers import AM_COMMENT, RATE, SERIAL, gibbon_like, guano_chunk, info_list, \
    setup, write_wav
from tests.signin import sign_in

POSITION = "17.5912 106.2834"


@pytest.fixture
def recording(app, world, tmp_path):
    """A GUANO + AudioMoth WAV stating its position and serial, ingested into an acoustic deployment."""
    area, _program, dep = setup(world, serial=None)
    folder = tmp_path / "card"
    folder.mkdir()
    extra = guano_chunk({"Timestamp": "2026-06-15T05:00:00+07:00", "Serial": SERIAL, "Loc Position": POSITION})
    write_wav(folder / "20260615_050000.WAV", gibbon_like(4.0), RATE,
              before_data=extra + info_list(ICMT=AM_COMMENT))
    ingest_path(app, folder, deployment_id=dep.id, workers=0)
    with session_scope(app.config["DATABASE_URL"]) as s:
        media = s.exec(select(Media).where(Media.deployment_id == dep.id)).one()
    users = {r: world.user(r, roles={area.id: r}) for r in ("viewer", "ranger")}
    return {"media": media, "users": users, "original": (folder / "20260615_050000.WAV").read_bytes(),
            "headers": {r: world.headers(u) for r, u in users.items()}}


def _get(client, url, **kw):
    """GET a file answer and close it (send_file keeps the file open until the answer is closed)."""
    r = client.get(url, **kw)
    r.get_data()
    r.close()
    return r


def _assert_clean(data: bytes, original: bytes):
    assert POSITION.encode() not in data and SERIAL.encode() not in data and b"guan" not in data
    assert b"LIST" not in data
    clean, rate = soundfile.read(io.BytesIO(data), dtype="int16")
    ref, _ = soundfile.read(io.BytesIO(original), dtype="int16")
    assert rate == RATE and np.array_equal(clean, ref)  # the samples themselves are untouched


def test_viewers_get_recordings_without_position_or_serial_on_the_api(client, recording):
    url = f"/api/v1/media/{recording['media'].id}/file"
    r = _get(client, url, headers=recording["headers"]["viewer"])
    assert r.status_code == 200, r.get_json()
    _assert_clean(r.data, recording["original"])
    assert "no-store" in r.headers["Cache-Control"]
    # a range request on the clean copy works (the player seeks)
    r = _get(client, url, headers={**recording["headers"]["viewer"], "Range": "bytes=0-11"})
    assert r.status_code == 206 and r.data[:4] == b"RIFF"
    # rangers bring the cards in: they get the stored bytes
    r = _get(client, url, headers=recording["headers"]["ranger"])
    assert r.status_code == 200 and r.data == recording["original"]


def test_the_sound_page_player_follows_the_same_rule(app, client, recording):
    sign_in(client, "viewer")
    r = _get(client, f"/sound/{recording['media'].id}/audio")
    assert r.status_code == 200
    _assert_clean(r.data, recording["original"])
    other = app.test_client()
    sign_in(other, "ranger")
    assert _get(other, f"/sound/{recording['media'].id}/audio").data == recording["original"]


def test_flac_and_damaged_wavs_are_decoded_again_without_metadata(tmp_path):
    src = tmp_path / "rec.flac"
    samples = (gibbon_like(2.0) * 20000).astype("int16")
    with soundfile.SoundFile(str(src), "w", RATE, 1, format="FLAC") as f:
        f.comment = f"Loc Position {POSITION}"
        f.write(samples)
    assert POSITION.encode() in src.read_bytes()
    out = tmp_path / "clean.flac"
    clean_copy(src, "audio/flac", out)
    assert POSITION.encode() not in out.read_bytes()
    assert np.array_equal(soundfile.read(str(out), dtype="int16")[0], samples)
    with pytest.raises(CleanError, match="RIFF"):
        strip_wav(src, tmp_path / "x.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(CleanError, match="decode"):
        clean_copy(junk, "audio/wav", tmp_path / "y.wav")
