"""The one spectrogram path: ranges read block by block, pooled to screen columns, a short call still shows."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile
from PIL import Image

from classifiers.audio import spectrogram as sp
from tests.classifiers.audio.wavtools import noise, tone

RATE = 16000


@pytest.fixture(scope="module")
def ten_minutes(tmp_path_factory):
    """Ten minutes of quiet noise with one 0.2 s, 3 kHz call at 400 s."""
    x = noise(600, RATE, amp=0.001, seed=3)
    at = 400 * RATE
    x[at:at + RATE // 5] += tone(3000, 0.2, RATE, amp=0.5)
    path = tmp_path_factory.mktemp("grid") / "ten.wav"
    soundfile.write(str(path), x, RATE, subtype="PCM_16")
    return path


def test_a_short_call_survives_pooling_into_screen_columns(ten_minutes, monkeypatch):
    monkeypatch.setattr(sp, "BLOCK_S", 7.0)  # frames straddle block edges
    grid = sp.spectrogram_grid(ten_minutes, 0.0, None, n_fft=512, columns=300)
    assert grid.db.shape == (257, 300) and grid.db.dtype == np.float32
    assert (grid.start_s, grid.end_s, grid.sample_rate) == (0.0, 600.0, RATE)
    row, col = np.unravel_index(np.argmax(grid.db), grid.db.shape)
    assert grid.freqs[row] == pytest.approx(3000, abs=RATE / 512)
    assert col == int(400 / 600 * 300)  # the column holding 400 s
    assert grid.db.max() == 0.0 and grid.db.min() >= -80.0
    assert np.median(grid.db[:, :100]) < -40  # the quiet part stays dark


def test_only_the_range_and_band_asked_for(ten_minutes):
    grid = sp.spectrogram_grid(ten_minutes, 399.0, 402.0, n_fft=1024, columns=1200, f_max=4000)
    assert grid.freqs[-1] <= 4000 and grid.db.shape[0] == len(grid.freqs)
    assert grid.db.shape[1] <= 1200 and (grid.start_s, grid.end_s) == (399.0, 402.0)
    # the call fills its 0.2 s of the 3 s range: about a fifteenth of the columns are loud
    loud = (grid.db[np.argmin(np.abs(grid.freqs - 3000))] > -20).mean()
    assert 0.04 < loud < 0.12


def test_overview_png_and_a_too_short_recording(ten_minutes, tmp_path):
    png = sp.overview_png(sp.spectrogram_grid(ten_minutes, 0.0, None, n_fft=512, columns=1600), height_px=256)
    with Image.open(io.BytesIO(png)) as im:
        assert im.format == "PNG" and im.size == (1600, 256)
    short = tmp_path / "short.wav"
    soundfile.write(str(short), noise(0.03, RATE), RATE)
    with pytest.raises(ValueError, match="short.wav.*too short"):
        sp.spectrogram_grid(short, 0.0, None, n_fft=512)

    from server.review.media import spectrogram
    from server.storage import LocalMediaStore

    class Medium:
        sha256, storage_key = "b" * 64, "short.wav"

    derivatives = LocalMediaStore(tmp_path / "derivatives")
    with Image.open(spectrogram(LocalMediaStore(tmp_path), derivatives, Medium())) as im:
        assert im.size == (1, 256)  # a blank image the page stretches, not an error
