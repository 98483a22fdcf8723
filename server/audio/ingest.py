"""The ingest reader of sound-trap recordings (WAV, FLAC).

Ingest's scanner calls :func:`read_recording` in its worker processes (no
Flask, no database). It returns the recorder's own clock time, naive, with the
UTC offset only when the file states one, so the ingest matcher turns it into
UTC exactly as it does for photos: the deployment's clock offset is added to
the device clock, and the deployment's time zone is used when the file does
not state an offset (file-name times, GUANO stamps without an offset).

Order of trust for the start time (see :mod:`classifiers.audio.metadata`):
GUANO ``Timestamp`` > AudioMoth header comment > file name; never the file's
mtime. ``Media.timestamp_source`` says which, and whether the file stated the
UTC offset (kept when a deployment is retimed) or the deployment's zone
applies: ``guano``, ``audiomoth``, ``filename_utc`` (old hexadecimal AudioMoth
names, Unix time) state it; ``guano_local`` (a GUANO stamp without offset) and
``filename`` (recorder clock time in the name) use the deployment's zone.
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile
from typing import Optional

from classifiers.audio import AudioFileError, RecordingMetadata, read_metadata
from classifiers.audio.errors import (
    CorruptAudioError,
    EmptyAudioError,
    NotAudioError,
    TruncatedAudioError,
    UnsupportedSampleFormatError,
)

from ..ingest.registry import MediaInfo, UnreadableMedia

#: How each bad-file error reads in the ingest summary (before the reader's reason).
_PROBLEM = {
    TruncatedAudioError: "truncated recording",
    EmptyAudioError: "empty recording",
    UnsupportedSampleFormatError: "unsupported sample format",
    CorruptAudioError: "corrupt recording",
    NotAudioError: "not a WAV/FLAC recording",
}


def _problem(exc: AudioFileError) -> str:
    for cls, words in _PROBLEM.items():
        if isinstance(exc, cls):
            return f"{words}: {exc.reason}"
    return exc.reason


def _suffix(data: bytes) -> str:
    return ".flac" if data[:4] == b"fLaC" else ".wav"


def read_recording(data: Optional[bytes], path: Optional[str]) -> MediaInfo:
    """MediaInfo of one recording; :class:`UnreadableMedia` (skipped, ingest goes on) for bad files."""
    tmp = None
    try:
        if path is None:
            # A member of a zip held in memory: soundfile needs a file (its name is lost).
            fd, tmp = tempfile.mkstemp(suffix=_suffix(data or b""))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data or b"")
            path = tmp
        try:
            # "UTC" as the zone: file-name and offset-less times come back as the recorder's clock
            # time unchanged; the matcher applies the deployment's own zone to them afterwards.
            meta = read_metadata(path, "UTC")
        except AudioFileError as e:
            # libsndfile quotes the path it opened (a temporary or store copy): the summary names the file.
            reason = _problem(e).replace(f"'{path}'", "the file").replace(str(path), "the file")
            raise UnreadableMedia(reason) from None
    finally:
        if tmp is not None:
            os.unlink(tmp)
    return media_info(meta)


def stated_offset(meta: RecordingMetadata) -> Optional[int]:
    """The UTC offset (minutes) the file states for the start time it was dated by, or None."""
    return stated_offset_of(meta, meta.timestamp_source)


def stated_offset_of(meta: RecordingMetadata, src: str) -> Optional[int]:
    """The UTC offset (minutes) the file itself states for its start time, or None.

    AudioMoth comments always state it (no offset written means UTC); GUANO
    stamps may or may not; old hexadecimal AudioMoth names are Unix time (UTC).
    File-name clock times never state one: the deployment's zone applies.
    """
    stamp = (meta.raw.get("timestamps") or {}).get(src) or {}
    if src == "audiomoth":
        return stamp.get("utc_offset_min")
    if src == "guano":
        text = str((meta.raw.get("guano") or {}).get("Timestamp") or "").strip()
        try:
            return stamp.get("utc_offset_min") if dt.datetime.fromisoformat(text).tzinfo is not None else None
        except ValueError:
            return None
    if src == "filename" and (meta.raw.get("filename") or {}).get("pattern") == "audiomoth-hex":
        return 0
    return None


def media_info(meta: RecordingMetadata) -> MediaInfo:
    """Ingest's MediaInfo from the recording's metadata (device clock time, naive)."""
    raw_time = None
    offset = stated_offset(meta)
    if meta.start_utc is not None:
        # read with zone UTC: start_utc + utc_offset_min is the clock time the recorder wrote.
        raw_time = meta.start_utc + dt.timedelta(minutes=meta.utc_offset_min or 0)
    extra = {
        "recorder_model": meta.recorder_model, "recorder_serial": meta.recorder_id,
        "recorder_deployment_id": meta.deployment_id, "gain": meta.gain, "battery": meta.battery,
        "battery_v": meta.battery_v, "temperature_c": meta.temperature_c, "triggered": meta.triggered,
        "format": meta.format, "sample_format": meta.sample_format, "frames": meta.frames,
    }
    audio = {k: v for k, v in extra.items() if v is not None}
    # Every start time the file offers, as the recorder's clock time (and the offset it states, if any).
    audio["timestamps"] = {}
    for source, stamp in (meta.raw.get("timestamps") or {}).items():
        clock = dt.datetime.fromisoformat(stamp["start_utc"]) + dt.timedelta(minutes=stamp["utc_offset_min"] or 0)
        stated = stated_offset_of(meta, source)
        audio["timestamps"][source] = {"clock_time": clock.isoformat(), "utc_offset_min": stated}
    for key in ("guano", "comment", "info"):
        if meta.raw.get(key):
            audio[key] = meta.raw[key]
    notes = []
    if meta.start_utc is None:
        notes.append("no start time in the GUANO chunk, the AudioMoth comment or the file name")
    source = meta.timestamp_source
    if source == "guano" and offset is None:
        source = "guano_local"  # a GUANO stamp without offset: the deployment's zone applies
    elif source == "filename" and offset is not None:
        source = "filename_utc"  # old hexadecimal AudioMoth name: Unix time
    return MediaInfo(
        captured_at_raw=raw_time, timestamp_source=source, utc_offset_min=offset,
        duration_s=meta.duration_s, sample_rate=meta.sample_rate, channels=meta.channels,
        camera_model=meta.recorder_model, camera_serial=meta.recorder_id, meta=audio, notes=notes)
