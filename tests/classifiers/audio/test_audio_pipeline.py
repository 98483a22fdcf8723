"""analyse_recording: one streaming pass giving metadata, indices, events, BirdNET, alerts, custom models."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
import soundfile

from classifiers.audio import EmptyAudioError, analyse_recording
from classifiers.audio.birdnet import BirdNET, week_48
from classifiers.audio.custom import CustomClassifier, CustomModelConfig
from classifiers.audio.indices import compute_indices
from tests.classifiers.audio.test_audio_custom import LABELS, N_MELS, mel_model
from tests.classifiers.audio.test_audio_detector import song
from tests.classifiers.audio.wavtools import noise, tone

RATE = 16000


@pytest.fixture(scope="module")
def birdnet():
    return BirdNET()


def test_one_pass_over_an_audiomoth_file(tmp_path):
    x = noise(150, RATE, amp=0.01, seed=11)
    x[70 * RATE : 78 * RATE] += song(8.0)
    x[100 * RATE : 103 * RATE] += tone(500, 3, RATE)
    path = tmp_path / "24A04F085A1B2C3D_20240301_053000.WAV"
    soundfile.write(path, x, RATE, subtype="PCM_16")
    mel_model(tmp_path / "tiny.onnx", "NCHW")
    (tmp_path / "labels.txt").write_text("\n".join(LABELS))
    clf = CustomClassifier(CustomModelConfig(str(tmp_path / "tiny.onnx"), str(tmp_path / "labels.txt"),
                                             name="gibbon", n_mels=N_MELS, hop_length=256, min_conf=0.7))
    progress = []
    result = analyse_recording(path, custom=[clf], progress=lambda done, total: progress.append((done, total)))

    assert result.metadata.start_utc == dt.datetime(2024, 2, 29, 22, 30)
    assert result.metadata.recorder_id == "24A04F085A1B2C3D"
    assert [m.start_s for m in result.indices] == [0.0, 60.0, 120.0]
    on_disk, _ = soundfile.read(path, dtype="float32", start=60 * RATE, stop=120 * RATE)
    assert result.indices[1].aci == pytest.approx(compute_indices(on_disk, RATE).aci, rel=1e-12)
    assert [(round(e.start_s), round(e.end_s)) for e in result.events] == [(70, 78)]
    # (white noise leans to the toy model's "high" bands, so only its low_call output is checked)
    assert [(d.start_s, d.label) for d in result.custom["gibbon@1"] if d.label == "low_call"] == [
        (69.0, "low_call"), (72.0, "low_call"), (75.0, "low_call"),  # the song (700-1400 Hz)
        (99.0, "low_call"), (102.0, "low_call")]  # the 500 Hz tone at 100-103 s
    assert progress == [(60, 150), (120, 150), (150, 150)]
    assert result.birdnet == [] and result.birdnet_model is None
    json.dumps(result.as_dict())


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Couldn't find ffmpeg or avconv:RuntimeWarning")
def test_birdnet_and_alerts_in_the_same_pass(birdnet, real_soundscape):
    result = analyse_recording(real_soundscape, birdnet=birdnet, lat=35.4244, lon=-120.7463, week=18,
                               indices=False, bands=())
    alone = birdnet.analyse_file(real_soundscape, lat=35.4244, lon=-120.7463, week=18, min_conf=0.25)
    assert [d.as_tuple() for d in result.birdnet] == [d.as_tuple() for d in alone]
    assert result.indices == [] and result.events == []
    assert result.birdnet_model == "birdnet@2.4"
    expected = [(d.start_s, d.confidence) for d in alone if d.label == "Engine_Engine" and d.confidence >= 0.5]
    assert expected, "the soundscape has an engine at 111 s (confidence ~0.52)"
    assert [(a.kind, a.start_s, a.confidence) for a in result.alerts] == [("engine", s, c) for s, c in expected]
    strict = analyse_recording(real_soundscape, birdnet=birdnet, lat=35.4244, lon=-120.7463, week=18,
                               indices=False, bands=(), alert_threshold=0.99)
    assert strict.alerts == []


def test_week_comes_from_the_local_recording_date(tmp_path, birdnet):
    path = tmp_path / "20231231_233000.WAV"  # local 31 Dec: week 48, though UTC is still 31 Dec 16:30
    soundfile.write(path, noise(4, 48000), 48000)
    result = analyse_recording(path, birdnet=birdnet, lat=18.25, lon=105.42, indices=False, bands=())
    assert result.birdnet_week == week_48(dt.date(2023, 12, 31)) == 48
    unnamed = tmp_path / "clip.wav"
    soundfile.write(unnamed, np.zeros(48000 * 4, np.float32), 48000)
    assert analyse_recording(unnamed, birdnet=birdnet, indices=False, bands=()).birdnet_week == -1


def test_bad_file_raises_before_any_work(tmp_path):
    path = tmp_path / "20240301_053000.WAV"
    path.write_bytes(b"")
    with pytest.raises(EmptyAudioError, match="20240301_053000.WAV"):
        analyse_recording(path)
