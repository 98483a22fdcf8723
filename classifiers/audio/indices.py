"""Acoustic indices ACI, ADI, AEI, BI, NDSI and H from ONE short-time Fourier transform.

Definitions follow scikit-maad 1.5 (``maad.features``) exactly, so a value here
equals maad's on the same minute of audio with the same parameters (the tests
check this against maad itself). What Saola does differently is only *how*:
maad recomputes decibels, normalisations and band masks inside every index
function; here one STFT per minute feeds all indices, and threshold tests are
done on linear amplitudes (``20*log10(a/max) >= t`` is ``a >= max*10**(t/20)``).

The spectrogram (maad ``sound.spectrogram`` with ``mode='amplitude'``):

* frames of ``nperseg`` samples, hop ``nperseg - noverlap``, periodic Hann window,
  each frame's mean removed (scipy ``detrend='constant'``);
* amplitude ``|rfft| * sqrt(2 / (nperseg * sum(w**2)))``; the Nyquist bin and any
  frame not fully inside the signal are dropped (``len(x)//hop - 1`` frames);
* PSD is the amplitude squared.

Indices (``S`` amplitude spectrogram, ``P = S**2``, ``f`` bin frequencies):

* **ACI** (Pieretti 2011, maad ``acoustic_complexity_index``): sum over bins of
  ``sum_t |S[f,t+1]-S[f,t]| / sum_t S[f,t]``, over the whole minute. A bin that
  is all-zero (digital silence) contributes 0 instead of maad's NaN.
* **ADI** / **AEI** (Villanueva-Rivera 2011, maad ``acoustic_diversity_index`` /
  ``acoustic_eveness_index``): for ``floor((fmax-fmin)/bin_step)`` bands, the mean
  over the band's bins of the fraction of frames with ``20*log10(S/max S) >=
  db_threshold``; ADI is the Shannon entropy (natural log) of those band scores,
  AEI their Gini coefficient. Band edges are inclusive on both sides, as maad's
  ``index_bw`` (the bin at 1000 Hz belongs to 0-1000 and 1000-2000).
* **BI** (Boelman 2007, maad ``bioacoustics_index``, soundecology variant):
  ``m = 20*log10(mean_t(S/max S))`` per bin; ``sum(m - min m)`` over the band,
  divided by the bin width in Hz.
* **NDSI** (Kasten 2012, maad ``soundscape_index``, soundecology variant): PSD
  averaged into bins of the anthropophony band width starting at 0 Hz, scaled by
  the mean bin count; ``(bio - anthro) / (bio + anthro)`` with inclusive band edges.
* **H** = Ht x Hf (Sueur 2008; maad ``temporal_entropy`` QUT variant and
  ``frequency_entropy`` QUT variant): Ht is the Shannon entropy, normalised by
  ``log(n)``, of the squared envelope (max ``|x|`` over frames of ``ht_frame``
  samples); Hf the normalised entropy of the time-averaged PSD.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

# scipy.signal takes about a second to import: imported where first needed, so that
# importing the server (which registers the audio job) stays fast.

_MIN = np.finfo(np.float64).tiny  # maad's _MIN_: stands in for 0 before log


@dataclass(frozen=True)
class IndexParams:
    """Parameters of the per-minute spectrogram and indices (defaults: soundecology's).

    Frequencies in Hz. ``adi_*``/``aei_*`` default to the same bands and threshold
    so both indices share one band-score computation.
    """

    nperseg: int = 1024
    noverlap: int = 512
    adi_fmin: float = 0.0
    adi_fmax: float = 10000.0
    adi_bin_step: float = 1000.0
    adi_db_threshold: float = -50.0
    aei_fmin: float = 0.0
    aei_fmax: float = 10000.0
    aei_bin_step: float = 1000.0
    aei_db_threshold: float = -50.0
    bi_band: tuple[float, float] = (2000.0, 8000.0)
    ndsi_bio_band: tuple[float, float] = (1000.0, 10000.0)
    ndsi_anthro_band: tuple[float, float] = (0.0, 1000.0)
    ht_frame: int = 512

    def as_dict(self) -> dict:
        """JSON-able form, stored beside the values so they can be reproduced."""
        return asdict(self)


@dataclass
class Spectrogram:
    """Amplitude spectrogram laid out (time, frequency) plus its axes."""

    amplitude: np.ndarray  # (frames, bins), float64
    freqs: np.ndarray  # (bins,) Hz
    times: np.ndarray  # (frames,) s, frame centres relative to the block start
    sample_rate: int
    _psd: np.ndarray | None = field(default=None, repr=False)

    @property
    def psd(self) -> np.ndarray:
        """Power spectral density (amplitude squared), computed once."""
        if self._psd is None:
            self._psd = np.square(self.amplitude)
        return self._psd


@dataclass
class MinuteIndices:
    """Acoustic indices of one minute (or the final, shorter block) of a recording."""

    start_s: float
    duration_s: float
    aci: float
    adi: float
    aei: float
    bi: float
    ndsi: float
    h: float
    ht: float
    hf: float

    def as_dict(self) -> dict:
        """JSON-able form."""
        return asdict(self)


_WINDOWS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _window(nperseg: int) -> tuple[np.ndarray, np.ndarray]:
    if nperseg not in _WINDOWS:
        import scipy.fft
        import scipy.signal

        win = scipy.signal.get_window("hann", nperseg)
        # rfft of the window: removing a frame's mean m from x before windowing
        # equals subtracting m * rfft(w) afterwards, which saves a pass.
        _WINDOWS[nperseg] = (win, scipy.fft.rfft(win))
    return _WINDOWS[nperseg]


def stft(samples: np.ndarray, sample_rate: int, nperseg: int = 1024, noverlap: int = 512) -> Spectrogram:
    """maad-compatible amplitude spectrogram of a mono block (see module docstring)."""
    # float64 throughout: in float32 a spectrogram cell sitting on the ADI/AEI dB
    # threshold can round to the other side, and AEI near 0 is sensitive to that.
    x = np.asarray(samples, dtype=np.float64)
    hop = nperseg - noverlap
    if hop <= 0:
        raise ValueError(f"noverlap ({noverlap}) must be smaller than nperseg ({nperseg})")
    n_frames = min(len(x) // hop - 1, (len(x) - nperseg) // hop + 1) if len(x) >= nperseg else 0
    if n_frames < 2:
        raise ValueError(f"block of {len(x)} samples is too short for a spectrogram with nperseg={nperseg}")
    win, win_fft = _window(nperseg)
    frames = np.lib.stride_tricks.sliding_window_view(x, nperseg)[: (n_frames - 1) * hop + 1 : hop]
    scale = math.sqrt(2.0 / (nperseg * float(np.sum(win**2))))
    amplitude = np.empty((n_frames, nperseg // 2))
    # Frames in slices of ~4 MiB: temporaries stay small and in cache, and a
    # one-minute block does not need several full-size complex copies at once.
    step = max(1, (1 << 22) // (nperseg * 8))
    for a in range(0, n_frames, step):
        part = frames[a : a + step]
        import scipy.fft

        spec = scipy.fft.rfft(part * win, axis=-1)
        spec -= part.mean(axis=1)[:, None] * win_fft
        np.abs(spec[:, :-1], out=amplitude[a : a + step])
    amplitude *= scale
    freqs = np.arange(nperseg // 2) * (sample_rate / nperseg)
    times = (np.arange(n_frames) * hop + nperseg / 2) / sample_rate
    return Spectrogram(amplitude=amplitude, freqs=freqs, times=times, sample_rate=sample_rate)


def index_band(freqs: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    """Boolean mask of bins from the one nearest ``band[0]`` to the one nearest ``band[1]`` (inclusive)."""
    lo = freqs[np.abs(freqs - band[0]).argmin()]
    hi = freqs[np.abs(freqs - band[1]).argmin()]
    return (freqs >= lo) & (freqs <= hi)


def _band_scores(active_fraction: np.ndarray, freqs: np.ndarray, fmin: float, fmax: float, step: float) -> np.ndarray:
    n = int(np.floor((fmax - fmin) / step))
    scores = np.empty(n)
    for i in range(n):
        f0 = int(fmin + step * i)
        scores[i] = active_fraction[index_band(freqs, (f0, int(f0 + step)))].mean()
    return scores


def _entropy(x: np.ndarray) -> float:
    """maad ``util.entropy`` of a non-negative vector: Shannon entropy / log(n)."""
    n = len(x)
    if n <= 1:
        return 0.0
    total = float(np.sum(x, dtype=np.float64))
    if total == 0:
        return 1.0
    pmf = np.asarray(x, dtype=np.float64) / total
    pmf = pmf[pmf > 0]  # maad puts tiny * log(tiny) here: 0 to double precision
    return float(-np.sum(pmf * np.log(pmf)) / math.log(n))


def _gini(x: np.ndarray) -> float:
    if np.sum(x) == 0:
        return 0.0
    x = np.sort(x)
    n = len(x)
    g = np.sum(x * np.arange(1, n + 1)) * 2 / np.sum(x) - (n + 1)
    return float(g / n)


def temporal_entropy(samples: np.ndarray, frame: int = 512) -> float:
    """Ht: normalised entropy of the squared max-abs envelope (maad QUT, mode 'fast')."""
    x = np.asarray(samples)
    k = len(x) // frame
    env = np.abs(x[: k * frame].reshape(k, frame)).max(axis=1).astype(np.float64)
    return _entropy(env**2)


def compute_indices(samples: np.ndarray, sample_rate: int, params: IndexParams = IndexParams(),
                    spec: Spectrogram | None = None, start_s: float = 0.0) -> MinuteIndices:
    """All six indices of one block (normally one minute), from one spectrogram.

    Pass ``spec`` when the caller already has the block's :func:`stft` (the event
    detector shares it).
    """
    if spec is None:
        spec = stft(samples, sample_rate, params.nperseg, params.noverlap)
    amp, freqs = spec.amplitude, spec.freqs
    peak = float(amp.max())
    frames = amp.shape[0]

    # Column sums over time, shared by ACI and BI.
    sum_t = amp.sum(axis=0, dtype=np.float64)
    diff_t = np.zeros(amp.shape[1])
    step = max(1, (1 << 22) // (amp.shape[1] * 8))
    for a in range(0, frames - 1, step):  # |S[t+1]-S[t]| in slices, as in stft()
        diff_t += np.abs(np.diff(amp[a : a + step + 1], axis=0)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        aci = float(np.sum(np.where(sum_t > 0, diff_t / sum_t, 0.0)))

    # ADI / AEI: fraction of frames above a dB threshold relative to the peak.
    fractions: dict[float, np.ndarray] = {}
    for thr in {params.adi_db_threshold, params.aei_db_threshold}:
        level = peak * 10 ** (thr / 20) if peak > 0 else _MIN
        fractions[thr] = np.count_nonzero(amp >= level, axis=0) / frames
    adi_scores = _band_scores(fractions[params.adi_db_threshold], freqs,
                              params.adi_fmin, params.adi_fmax, params.adi_bin_step)
    if (params.aei_fmin, params.aei_fmax, params.aei_bin_step, params.aei_db_threshold) == (
        params.adi_fmin, params.adi_fmax, params.adi_bin_step, params.adi_db_threshold
    ):
        aei_scores = adi_scores
    else:
        aei_scores = _band_scores(fractions[params.aei_db_threshold], freqs,
                                  params.aei_fmin, params.aei_fmax, params.aei_bin_step)
    adi = _entropy(adi_scores) * math.log(len(adi_scores)) if len(adi_scores) > 1 else 0.0
    aei = _gini(aei_scores.copy())

    # BI on the mean normalised amplitude spectrum, in dB.
    df = freqs[1] - freqs[0]
    mean_norm = sum_t / frames / (peak if peak > 0 else 1.0)
    mean_db = 20 * np.log10(np.where(mean_norm == 0, _MIN, mean_norm))
    band = mean_db[index_band(freqs, params.bi_band)]
    bi = float(np.sum(band - band.min()) / df)

    # NDSI and Hf on the time-summed PSD (linear, so binning commutes with the time sum).
    psd_sum_t = np.einsum("tf,tf->f", amp, amp, dtype=np.float64)
    ndsi = _ndsi(psd_sum_t, freqs, params.ndsi_bio_band, params.ndsi_anthro_band)
    hf = _entropy(psd_sum_t / frames)
    ht = temporal_entropy(samples, params.ht_frame)

    return MinuteIndices(
        start_s=start_s,
        duration_s=len(samples) / sample_rate,
        aci=aci, adi=float(adi), aei=aei, bi=bi, ndsi=ndsi, h=ht * hf, ht=ht, hf=hf,
    )


def _ndsi(psd_sum_t: np.ndarray, freqs: np.ndarray, bio: tuple[float, float], anthro: tuple[float, float]) -> float:
    step = anthro[1] - anthro[0]
    edges = np.arange(freqs[0], freqs[-1] + step, step)
    sums, counts = [], []
    for b0, b1 in zip(edges[:-1], edges[1:]):
        rows = (freqs >= b0) & (freqs < b1)
        counts.append(int(rows.sum()))
        sums.append(psd_sum_t[rows].sum() / max(counts[-1], 1))
    binned = np.asarray(sums) * np.mean(counts)
    starts = edges[:-1]
    bio_e = binned[index_band(starts, bio)].sum()
    anthro_e = binned[index_band(starts, anthro)].sum()
    total = bio_e + anthro_e
    return float((bio_e - anthro_e) / total) if total > 0 else 0.0
