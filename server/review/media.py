"""Review images and spectrograms, made from the originals and cached.

Derivatives live in the derivatives store (``app.extensions["saola.derivatives"]``)
under the original's SHA-256 with a suffix naming what they are, so they are
made once per file and shared by every page that shows it.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

SIZES = {"review": 1600, "thumb": 320}


def _cached(derivatives, key: str, make) -> Path:
    if not derivatives.exists(key):
        data = make()
        derivatives.put_stream(io.BytesIO(data), key)
    return derivatives.path(key)


def review_image(store, derivatives, media, size: str = "review") -> Path:
    """A JPEG of ``media`` no wider/taller than SIZES[size]; path in the derivatives store."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    key = derivatives.key_for(media.sha256, f"{size}.jpg")

    def make() -> bytes:
        from classifiers.safe_image import open_image

        side = SIZES[size]
        with open_image(store.path(media.storage_key), draft=(side, side)) as im:
            im = im.convert("RGB")
            im.thumbnail((SIZES[size], SIZES[size]))
            out = io.BytesIO()
            im.save(out, "JPEG", quality=85 if size == "review" else 75)
            return out.getvalue()

    return _cached(derivatives, key, make)


# ---- spectrograms ------------------------------------------------------------------------
N_FFT = 512
MAX_COLUMNS = 1600


def stft_db(samples: np.ndarray, n_fft: int = N_FFT, hop: int | None = None) -> np.ndarray:
    """Magnitude spectrogram in dB (frequency bins x frames), Hann window, numpy only."""
    hop = hop or n_fft // 2
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    samples = samples.astype(np.float32)
    if len(samples) < n_fft:
        samples = np.pad(samples, (0, n_fft - len(samples)))
    frames = 1 + (len(samples) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.abs(np.fft.rfft(samples[idx] * np.hanning(n_fft).astype(np.float32), axis=1)).T
    return 20 * np.log10(np.maximum(spec, 1e-10))


def spectrogram_png(samples: np.ndarray, sample_rate: int, height: int = 256) -> bytes:
    """A PNG spectrogram: time left to right, frequency 0 Hz at the bottom up to Nyquist."""
    from matplotlib import colormaps
    from PIL import Image

    db = stft_db(samples)
    if db.shape[1] > MAX_COLUMNS:  # keep peaks when narrowing: max over column groups
        groups = np.array_split(np.arange(db.shape[1]), MAX_COLUMNS)
        db = np.stack([db[:, g].max(axis=1) for g in groups], axis=1)
    top = db.max()
    norm = np.clip((db - (top - 80.0)) / 80.0, 0, 1)  # an 80 dB window below the loudest bin
    lut = (colormaps["magma"](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
    rgb = lut[(norm[::-1] * 255).astype(np.uint8)]
    im = Image.fromarray(rgb, "RGB").resize((rgb.shape[1], height))
    out = io.BytesIO()
    im.save(out, "PNG", optimize=False)
    return out.getvalue()


def audio_info(path: Path) -> tuple[float, int]:
    """(duration in seconds, sample rate) of an audio file."""
    import soundfile as sf

    info = sf.info(str(path))
    return info.frames / info.samplerate, info.samplerate


def spectrogram(store, derivatives, media) -> Path:
    """The cached spectrogram PNG of an audio medium."""
    key = derivatives.key_for(media.sha256, "spectrogram.png")

    def make() -> bytes:
        import soundfile as sf

        samples, sr = sf.read(str(store.path(media.storage_key)), dtype="float32", always_2d=False)
        return spectrogram_png(samples, sr)

    return _cached(derivatives, key, make)
