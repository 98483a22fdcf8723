"""Which files ingest reads, and with what: a registry from file extension to a reader.

Each kind of media (image, video, audio) has a *reader*: a function that
returns a :class:`MediaInfo` for one file. The scanner dispatches on the file
extension through :data:`READERS`, so another feature can add a kind without
touching the scanner: ``server/audio`` registers WAV/FLAC readers with
:func:`register_reader` in its ``readers`` module, declared in
:data:`server.features.FEATURES` and imported by :func:`load_plugins`.

Readers run inside ingest worker processes: keep them importable without
Flask or a database.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Optional


@dataclass
class MediaInfo:
    """What a reader found in one file. Times are the device's local clock, naive."""

    captured_at_raw: Optional[datetime] = None
    timestamp_source: str = "none"  # exif | exif_offset | video | file_header | none
    utc_offset_min: Optional[int] = None  # only when the file itself states its UTC offset
    width: Optional[int] = None
    height: Optional[int] = None
    orientation: Optional[int] = None
    duration_s: Optional[float] = None
    sample_rate: Optional[int] = None
    channels: Optional[int] = None
    camera_make: Optional[str] = None
    camera_model: Optional[str] = None
    camera_serial: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    meta: dict[str, Any] = field(default_factory=dict)
    # Problems the reader noticed but that do not stop ingest (e.g. "corrupt").
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class UnreadableMedia(Exception):
    """The file is not media of the kind its extension claims; it is skipped with this message."""


# read(data, path) -> MediaInfo. ``data`` holds the whole file when it is small
# enough to keep in memory (photos), else None and the reader opens ``path``.
ReadFn = Callable[[Optional[bytes], Optional[str]], MediaInfo]


@dataclass(frozen=True)
class Reader:
    """How one file type is read."""

    kind: str  # image | video | audio
    media_type: str  # MIME type stored on the media row
    read: ReadFn


READERS: dict[str, Reader] = {}
_plugins_loaded = False


def register_reader(extensions: list[str] | tuple[str, ...], kind: str, media_type: str, read: ReadFn) -> None:
    """Read files with these extensions (e.g. ``[".wav"]``) as ``kind`` media with ``read``."""
    if kind not in ("image", "video", "audio"):
        raise ValueError(f"unknown media kind {kind!r} (image, video or audio)")
    for ext in extensions:
        READERS[ext.lower()] = Reader(kind, media_type, read)


def load_plugins() -> None:
    """Import every feature's reader modules (once per process: ingest workers call it too)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    from .. import features

    features.load("readers")
    _plugins_loaded = True


def reader_for(filename: str) -> Reader | None:
    """The reader of ``filename`` by its extension, or None for files ingest does not know."""
    load_plugins()
    dot = filename.rfind(".")
    if dot < 0:
        return None
    return READERS.get(filename[dot:].lower())


def _read_jpeg(data: Optional[bytes], path: Optional[str]) -> MediaInfo:
    # Imported on use: exif imports this module, so either may be imported first.
    from .exif import read_jpeg

    return read_jpeg(data, path)


def _read_video(data: Optional[bytes], path: Optional[str]) -> MediaInfo:
    from .video import read_video

    return read_video(data, path)


def _builtin() -> None:
    register_reader([".jpg", ".jpeg"], "image", "image/jpeg", _read_jpeg)
    register_reader([".mp4", ".m4v"], "video", "video/mp4", _read_video)
    register_reader([".mov"], "video", "video/quicktime", _read_video)
    register_reader([".avi"], "video", "video/x-msvideo", _read_video)


_builtin()
