"""Registers the WAV/FLAC reader with ingest (``server.ingest.registry.READER_MODULES`` imports this)."""
from __future__ import annotations

from typing import Optional

from ..ingest.registry import MediaInfo, register_reader


def _read_recording(data: Optional[bytes], path: Optional[str]) -> MediaInfo:
    # Imported on first use: every ingest loads the readers (scanning a card of photos included),
    # and the recording reader brings numpy and the sound-analysis package with it.
    from .ingest import read_recording

    return read_recording(data, path)


register_reader([".wav"], "audio", "audio/wav", _read_recording)
register_reader([".flac"], "audio", "audio/flac", _read_recording)
