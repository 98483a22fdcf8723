"""Registers the WAV/FLAC reader with ingest (``server.ingest.registry.READER_MODULES`` imports this)."""
from __future__ import annotations

from ..ingest.registry import register_reader
from .ingest import read_recording

register_reader([".wav"], "audio", "audio/wav", read_recording)
register_reader([".flac"], "audio", "audio/flac", read_recording)
