"""Band energy event detector (streaming across minute blocks) and spectrogram images."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from PIL import Image

from classifiers.audio.analysis import GIBBON_BAND, Band, analyse_soundscape, render_spectrogram
from tests.classifiers.audio.wavtools import noise, tone

RATE = 16000


def song(seconds: float) -> np.ndarray:
    """A gibbon-like phrase: notes sweeping 700-1400 Hz with short gaps, smooth onsets."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    freq = 1050 + 350 * np.sin(2 * np.pi * 0.8 * t)
    x = 0.2 * np.sin(2 * np.pi * np.cumsum(freq) / RATE)
    gate = (np.sin(2 * np.pi * 2.0 * t) > -0.9).astype(float)  # brief dips, well under max_gap_s
    return (x * gate * np.hanning(n) ** 0.1).astype(np.float32)


@pytest.fixture(scope="module")
def soundscape(tmp_path_factory):
    """Five minutes of noise with known events in and out of the gibbon band."""
    x = noise(300, RATE, amp=0.01, seed=7)

    def put(start_s, clip):
        i = int(start_s * RATE)
        x[i : i + len(clip)] += clip

    put(65.0, song(8.0))  # inside one minute
    put(116.0, song(9.0))  # straddles the 120 s block boundary
    put(150.0, song(1.0))  # too short for a phrase
    put(190.0, song(30.0))  # too long: e.g. an engine drone in the band
    put(250.0, tone(5000, 8.0, RATE, amp=0.2))  # right length, wrong band
    path = tmp_path_factory.mktemp("det") / "listening_post.wav"
    soundfile.write(path, x, RATE, subtype="PCM_16")
    return path


def test_detects_phrases_in_band_and_duration(soundscape):
    result = analyse_soundscape(soundscape, bands=(GIBBON_BAND,))
    boxes = [e.as_tuple() for e in result.events]
    assert len(boxes) == 2, boxes
    (s1, e1, lo, hi, score1), (s2, e2, _, _, score2) = boxes
    assert s1 == pytest.approx(65.0, abs=0.3) and e1 == pytest.approx(73.0, abs=0.3)
    assert s2 == pytest.approx(116.0, abs=0.3) and e2 == pytest.approx(125.0, abs=0.3)
    assert (lo, hi) == (400.0, 2000.0)
    assert score1 > 10 and score2 > 10  # dB above the noise floor
    assert len(result.indices) == 5


def test_bands_are_configurable(soundscape):
    high = Band("insect", 4000, 6000, 4, 12)
    result = analyse_soundscape(soundscape, bands=(high,))
    assert [(e.band, round(e.start_s), round(e.end_s)) for e in result.events] == [("insect", 250, 258)]
    drone = Band("drone", 400, 2000, 20, 40)
    result = analyse_soundscape(soundscape, bands=(drone,))
    assert [(round(e.start_s), round(e.end_s)) for e in result.events] == [(190, 220)]


def test_band_validation():
    with pytest.raises(ValueError, match="gibbon.*f_low < f_high"):
        Band("gibbon", 2000, 400, 4, 12)
    with pytest.raises(ValueError, match="min_duration_s"):
        Band("gibbon", 400, 2000, 12, 4)


def test_spectrogram_png_with_axes(soundscape, tmp_path):
    image = render_spectrogram(soundscape, tmp_path / "review" / "song.png", 60.0, 80.0, f_max=4000)
    assert (image.start_s, image.end_s) == (60.0, 80.0)
    assert image.f_max == pytest.approx(4000, abs=RATE / 1024)
    with Image.open(image.path) as im:
        assert im.format == "PNG" and im.size == (1200, 400)
        pixels = np.asarray(im.convert("L"), dtype=float)
    assert pixels.std() > 10  # not a blank canvas


def test_spectrogram_bad_range(soundscape, tmp_path):
    with pytest.raises(ValueError, match="listening_post.wav.*start_s < end_s"):
        render_spectrogram(soundscape, tmp_path / "x.png", 30.0, 10.0)
    with pytest.raises(ValueError, match="listening_post.wav.*no audio"):
        render_spectrogram(soundscape, tmp_path / "x.png", 400.0, 410.0)
    with pytest.raises(ValueError, match="listening_post.wav.*exceeds 900 s"):
        render_spectrogram(soundscape, tmp_path / "x.png", 0.0, 3600.0)
