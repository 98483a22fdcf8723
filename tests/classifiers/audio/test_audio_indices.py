"""Saola's acoustic indices equal scikit-maad's, computed here by maad itself on the same signal.

Tolerance: relative 1e-6 (absolute 1e-9 near zero). Saola's STFT runs in float32
and sums in float64; maad is fed float64, so the only differences are rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from classifiers.audio.analysis import analyse_soundscape
from classifiers.audio.indices import IndexParams, compute_indices, stft
from classifiers.audio.stream import iter_blocks
from tests.classifiers.audio.wavtools import noise, tone

RTOL, ATOL = 1e-6, 1e-9


def maad_indices(s: np.ndarray, fs: int, p: IndexParams) -> dict:
    """The same indices through scikit-maad's own public functions."""
    import maad.features
    import maad.sound

    s = np.asarray(s, dtype=np.float64)
    sxx, _, fn, _ = maad.sound.spectrogram(s, fs, window="hann", nperseg=p.nperseg, noverlap=p.noverlap,
                                           mode="amplitude")
    psd = sxx**2
    _, _, aci = maad.features.acoustic_complexity_index(sxx)
    adi = maad.features.acoustic_diversity_index(sxx, fn, fmin=p.adi_fmin, fmax=p.adi_fmax,
                                                 bin_step=p.adi_bin_step, dB_threshold=p.adi_db_threshold)
    aei = maad.features.acoustic_eveness_index(sxx, fn, fmin=p.aei_fmin, fmax=p.aei_fmax,
                                               bin_step=p.aei_bin_step, dB_threshold=p.aei_db_threshold)
    bi = maad.features.bioacoustics_index(sxx, fn, flim=p.bi_band, R_compatible="soundecology")
    ndsi = maad.features.soundscape_index(psd, fn, flim_bioPh=p.ndsi_bio_band,
                                          flim_antroPh=p.ndsi_anthro_band, R_compatible="soundecology")[0]
    ht = maad.features.temporal_entropy(s, compatibility="QUT", mode="fast", Nt=p.ht_frame)
    hf, _ = maad.features.frequency_entropy(psd, compatibility="QUT")
    return {"aci": aci, "adi": adi, "aei": aei, "bi": bi, "ndsi": ndsi, "ht": ht, "hf": hf, "h": ht * hf}


def assert_matches_maad(samples, rate, params):
    ours = compute_indices(samples, rate, params)
    ref = maad_indices(samples, rate, params)
    for name, value in ref.items():
        assert getattr(ours, name) == pytest.approx(float(value), rel=RTOL, abs=ATOL), name


def synthetic_minute(rate: int, seed: int = 0) -> np.ndarray:
    """Noise, a low engine-like hum, bird-like chirps and a quiet gap: every index has something to see."""
    x = noise(60, rate, amp=0.02, seed=seed)
    x += tone(180, 60, rate, amp=0.05)
    for k, start in enumerate(range(3, 55, 7)):
        n = int(1.5 * rate)
        f0 = 2500 + 400 * k
        t = np.arange(n) / rate
        chirp = 0.2 * np.sin(2 * np.pi * (f0 * t + 800 * t**2)) * np.hanning(n)
        x[start * rate : start * rate + n] += chirp.astype(np.float32)
    x[40 * rate : 42 * rate] *= 0.01
    return x


def test_real_soundscape_minute_matches_maad(real_soundscape):
    samples, rate = soundfile.read(real_soundscape, dtype="float32", frames=60 * 48000)
    assert_matches_maad(samples, rate, IndexParams())


@pytest.mark.parametrize("rate", [48000, 32000, 16000])
def test_synthetic_minute_matches_maad_at_recorder_rates(rate):
    assert_matches_maad(synthetic_minute(rate), rate, IndexParams())


def test_non_default_parameters_match_maad():
    params = IndexParams(nperseg=512, noverlap=128, adi_fmax=8000, adi_bin_step=500, adi_db_threshold=-45,
                         aei_fmin=1000, aei_fmax=7000, aei_bin_step=1000, aei_db_threshold=-40,
                         bi_band=(1500, 6000), ndsi_bio_band=(2000, 8000), ndsi_anthro_band=(0, 2000),
                         ht_frame=256)
    assert_matches_maad(synthetic_minute(22050, seed=3), 22050, params)


def test_digital_silence_gives_finite_values():
    quiet = np.zeros(60 * 16000, dtype=np.float32)
    mi = compute_indices(quiet, 16000)
    assert mi.aci == 0.0
    assert all(np.isfinite([mi.adi, mi.aei, mi.bi, mi.ndsi, mi.h]))


def test_stft_layout_and_axes():
    rate = 16000
    spec = stft(tone(1000, 2.0, rate), rate, 1024, 512)
    assert spec.amplitude.shape == (len(tone(1000, 2.0, rate)) // 512 - 1, 512)
    assert spec.freqs[spec.amplitude.mean(axis=0).argmax()] == pytest.approx(1000, abs=rate / 1024)
    with pytest.raises(ValueError, match="too short"):
        stft(np.zeros(100, np.float32), rate)
    with pytest.raises(ValueError, match="noverlap"):
        stft(np.zeros(4096, np.float32), rate, 512, 512)


def test_streaming_per_minute_equals_whole_minutes(tmp_path):
    rate = 16000
    minutes = [synthetic_minute(rate, seed=s) for s in range(3)]
    tail = noise(25, rate, seed=9)  # final partial block >= 10 s still gets indices
    path = tmp_path / "three_minutes.wav"
    soundfile.write(path, np.concatenate(minutes + [tail]), rate, subtype="FLOAT")
    done = []
    result = analyse_soundscape(path, bands=(), progress=lambda d, t: done.append((d, t)))
    assert [m.start_s for m in result.indices] == [0.0, 60.0, 120.0, 180.0]
    assert result.indices[-1].duration_s == pytest.approx(25.0)
    for got, block in zip(result.indices, minutes + [tail]):
        want = compute_indices(block, rate)
        assert got.aci == pytest.approx(want.aci, rel=1e-9)
        assert got.h == pytest.approx(want.h, rel=1e-9)
    assert done[-1] == (205.0, 205.0)
    assert [d for d, _ in done] == sorted(d for d, _ in done)


def test_blocks_are_bounded_and_mono(tmp_path):
    rate = 8000
    stereo = np.stack([noise(130, rate, seed=1), noise(130, rate, seed=2)], axis=1)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, stereo, rate, subtype="FLOAT")
    blocks = list(iter_blocks(path, block_s=60))
    assert [len(b) for _, b, _ in blocks] == [60 * rate, 60 * rate, 10 * rate]
    assert all(b.ndim == 1 and b.dtype == np.float32 for _, b, _ in blocks)
    np.testing.assert_allclose(blocks[1][1][:100], stereo[60 * rate : 60 * rate + 100].mean(axis=1), atol=1e-7)
