"""Review images and spectrograms, made from the originals and cached.

Derivatives live in the derivatives store (``app.extensions["saola.derivatives"]``)
under the original's SHA-256 with a suffix naming what they are, so they are
made once per file and shared by every page that shows it.
"""
from __future__ import annotations

import io
from pathlib import Path

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
def audio_info(path: Path) -> tuple[float, int]:
    """(duration in seconds, sample rate) of an audio file."""
    import soundfile as sf

    info = sf.info(str(path))
    return info.frames / info.samplerate, info.samplerate


def spectrogram(store, derivatives, media) -> Path:
    """The cached overview spectrogram PNG of a whole recording (1600 x 256 at most, 0 Hz to Nyquist).

    Made by the same bounded path as the API's (classifiers.audio.spectrogram):
    an hour-long recording is read a block at a time, never whole.
    """
    key = derivatives.key_for(media.sha256, "spectrogram.png")

    def make() -> bytes:
        import numpy as np

        from classifiers.audio.spectrogram import SpectrogramGrid, overview_png, spectrogram_grid

        try:
            grid = spectrogram_grid(store.path(media.storage_key), 0.0, None, n_fft=512, columns=1600)
        except ValueError:  # shorter than two 512-sample frames: a blank image, not an error page
            grid = SpectrogramGrid(np.full((1, 1), -80.0, dtype=np.float32), np.zeros(1), 0.0, 0.0, 0, 80.0)
        return overview_png(grid, height_px=256)

    return _cached(derivatives, key, make)
