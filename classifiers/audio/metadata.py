"""Technical facts and recording start time of a sound-trap file, without reading its samples.

Start time, in this order of trust (never the file's mtime, which copying a card
rewrites):

1. ``guano``: the GUANO metadata chunk (``guan`` in a WAV), key ``Timestamp``
   (ISO 8601 with its UTC offset; a naive stamp is read in the deployment's zone).
2. ``audiomoth``: the AudioMoth header comment (``ICMT`` in the ``LIST``/``INFO``
   chunk of a WAV, or the ``comment`` tag of a FLAC), every firmware wording, e.g.
   ``Recorded at 05:00:00 15/06/2021 (UTC+7) by AudioMoth 24A04F085A1B2C3D at
   medium gain while battery was 4.2V and temperature was 25.6C.`` A comment
   without an offset is UTC: AudioMoth clocks are set to UTC unless the
   configuration app adds an offset, and then the comment states it.
3. ``filename``: AudioMoth ``[ID_]YYYYMMDD_HHMMSS[T].WAV``, Song Meter
   ``PREFIX_[0+1_]YYYYMMDD_HHMMSS[_mmm].wav`` (the recorder's clock time, read in
   the deployment's IANA zone) or old AudioMoth ``5A1B2C3D.WAV`` (hexadecimal
   Unix time, so UTC). The zone must be the one the recorder's clock was set
   to: an AudioMoth configured without an offset names files in UTC, so such a
   deployment's zone is ``UTC`` (its header comment, trusted first, says so).
4. ``none``: ``start_utc`` is ``None``; the caller decides (e.g. ask the user).

Everything is stdlib + soundfile; reading a 2 GB WAV costs a few kilobytes of I/O.
"""

from __future__ import annotations

import datetime as dt
import re
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import soundfile

from .errors import (
    AudioFileError,
    CorruptAudioError,
    EmptyAudioError,
    NotAudioError,
    TruncatedAudioError,
    UnsupportedSampleFormatError,
)

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"

#: Containers Saola ingests (soundfile's format names).
SUPPORTED_FORMATS = frozenset({"WAV", "WAVEX", "RF64", "W64", "FLAC"})
#: Sample encodings the analysis reads exactly (linear PCM and float). Companded
#: (u-law, A-law) and ADPCM encodings are lossy telephone formats no recorder
#: used for surveys writes; refusing them keeps index values comparable.
SUPPORTED_SUBTYPES = frozenset(
    {"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"}
)

# Chunks we read into memory; anything larger is skipped (never the sample data).
_MAX_TEXT_CHUNK = 1 << 20


@dataclass
class RecordingMetadata:
    """What a sound-trap file says about itself.

    ``start_utc`` is naive UTC; ``utc_offset_min`` is the recorder's (or
    deployment zone's) offset at that instant, so local clock time is
    ``start_utc + utc_offset_min`` minutes.
    """

    path: str
    format: str
    sample_format: str
    sample_rate: int
    channels: int
    frames: int
    duration_s: float
    start_utc: dt.datetime | None = None
    utc_offset_min: int | None = None
    timestamp_source: str = "none"
    recorder_model: str | None = None
    recorder_id: str | None = None
    deployment_id: str | None = None
    gain: str | None = None
    battery: str | None = None
    battery_v: float | None = None
    temperature_c: float | None = None
    triggered: bool | None = None
    raw: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """JSON-able form (datetimes as ISO strings)."""
        out = asdict(self)
        if self.start_utc is not None:
            out["start_utc"] = self.start_utc.isoformat()
        return out


# --------------------------------------------------------------------------- RIFF


def read_riff_chunks(path: Path) -> dict:
    """Walk a RIFF/WAVE file's top-level chunks, reading only the small text ones.

    Returns ``{"chunks": [(id, size), ...], "guano": text|None, "info": {id: text},
    "data_declared": n|None, "data_available": n|None}``. Raises
    :class:`TruncatedAudioError` when the ``data`` chunk claims more bytes than
    the file holds.
    """
    out: dict = {"chunks": [], "guano": None, "info": {}, "data_declared": None, "data_available": None}
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[8:12] != b"WAVE":
            raise CorruptAudioError(path, "RIFF header is incomplete or not WAVE")
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            header = fh.read(8)
            cid = header[:4].decode("latin-1")
            (csize,) = struct.unpack("<I", header[4:8])
            body_start = pos + 8
            available = size - body_start
            out["chunks"].append([cid, csize])
            if cid == "data":
                out["data_declared"] = csize
                out["data_available"] = min(csize, available)
                # 0 and 0xFFFFFFFF mean "size unknown" (streaming writers); trust the file.
                if csize not in (0, 0xFFFFFFFF) and csize > available:
                    raise TruncatedAudioError(
                        path,
                        f"data chunk declares {csize} bytes but only {available} are present "
                        "(file truncated, e.g. card removed or battery died mid-write)",
                    )
            elif cid in ("guan", "LIST") and csize <= _MAX_TEXT_CHUNK:
                body = fh.read(min(csize, available))
                if cid == "guan":
                    out["guano"] = body.rstrip(b"\x00").decode("utf-8", errors="replace")
                elif body[:4] == b"INFO":
                    out["info"].update(_parse_info_list(body[4:]))
            pos = body_start + csize + (csize & 1)  # chunks are word-aligned
    return out


def _parse_info_list(body: bytes) -> dict:
    """Sub-chunks of a ``LIST``/``INFO`` chunk (ICMT comment, IART artist, ...)."""
    info = {}
    pos = 0
    while pos + 8 <= len(body):
        sid = body[pos : pos + 4].decode("latin-1")
        (ssize,) = struct.unpack("<I", body[pos + 4 : pos + 8])
        text = body[pos + 8 : pos + 8 + ssize].split(b"\x00", 1)[0]
        info[sid] = text.decode("utf-8", errors="replace").strip()
        pos += 8 + ssize + (ssize & 1)
    return info


# --------------------------------------------------------------------------- GUANO


def parse_guano(text: str) -> dict:
    """GUANO text (``Key: Value`` lines, namespaced keys like ``WA|Song Meter|Prefix``) to a dict."""
    fields = {}
    for line in text.splitlines():
        if ":" not in line:
            continue
        key, _, value = line.partition(":")
        key = key.strip()
        if key:
            fields[key] = value.strip()
    return fields


def guano_timestamp(fields: dict, tz: ZoneInfo) -> tuple[dt.datetime, int] | None:
    """``(start_utc naive, offset minutes)`` from a GUANO ``Timestamp``, or None."""
    stamp = fields.get("Timestamp")
    if not stamp:
        return None
    try:
        when = dt.datetime.fromisoformat(stamp.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        # GUANO: a timestamp without offset is local time of unknown zone.
        when = when.replace(tzinfo=tz)
    offset = when.utcoffset()
    return _to_naive_utc(when), int(offset.total_seconds() // 60)


# --------------------------------------------------------------------------- AudioMoth

_AM_TIME = re.compile(
    r"Recorded at (?P<time>\d{1,2}:\d{2}:\d{2}) (?P<date>\d{1,2}/\d{1,2}/\d{4})"
    r"(?:\s*\(UTC(?P<offset>[+-]\d{1,2}(?::?\d{2})?)?\))?",
    re.IGNORECASE,
)
_AM_DEVICE = re.compile(r"by (?P<model>AudioMoth(?: \w+)?) (?P<id>[0-9A-F]{8,16})\b", re.IGNORECASE)
_AM_DEPLOYMENT = re.compile(r"during deployment (?P<id>[0-9A-Za-z]+)", re.IGNORECASE)
_AM_GAIN = re.compile(
    r"\bat (?:gain setting (?P<num>\d+)|(?P<name>[a-z-]+) gain(?: setting)?)\b", re.IGNORECASE
)
_AM_BATTERY = re.compile(
    r"battery (?:state )?was (?P<text>(?:(?:less|greater) than |[<>] ?)?(?P<volts>\d+(?:\.\d+)?) ?V)",
    re.IGNORECASE,
)
_AM_TEMPERATURE = re.compile(r"temperature was (?P<c>-?\d+(?:\.\d+)?) ?C", re.IGNORECASE)


def parse_audiomoth_comment(comment: str) -> dict:
    """Fields of an AudioMoth header comment; keys absent when the wording lacks them.

    Returns ``local`` (naive datetime as written), ``offset_min``, ``recorder_id``,
    ``recorder_model``, ``deployment_id``, ``gain``, ``battery``, ``battery_v``,
    ``temperature_c``. An empty dict means "not an AudioMoth comment".
    """
    m = _AM_TIME.search(comment or "")
    if not m:
        return {}
    try:
        local = dt.datetime.strptime(f"{m['date']} {m['time']}", "%d/%m/%Y %H:%M:%S")
    except ValueError:
        return {}
    out: dict = {"local": local, "offset_min": _parse_offset(m["offset"])}
    if d := _AM_DEVICE.search(comment):
        out["recorder_model"] = d["model"]
        out["recorder_id"] = d["id"].upper()
    elif "audiomoth" in comment.lower():
        out["recorder_model"] = "AudioMoth"
    if d := _AM_DEPLOYMENT.search(comment):
        out["deployment_id"] = d["id"]
    if g := _AM_GAIN.search(comment):
        out["gain"] = g["num"] if g["num"] is not None else g["name"].lower()
    if b := _AM_BATTERY.search(comment):
        text = b["text"].replace("<", "less than ").replace(">", "greater than ")
        out["battery"] = re.sub(r"\s+", " ", text).replace(" V", "V").strip()
        out["battery_v"] = float(b["volts"])
    if t := _AM_TEMPERATURE.search(comment):
        out["temperature_c"] = float(t["c"])
    return out


def _parse_offset(text: str | None) -> int:
    """``+7`` / ``-3:30`` / ``+0530`` / None (UTC) to minutes east of UTC."""
    if not text:
        return 0
    sign = -1 if text[0] == "-" else 1
    body = text[1:].replace(":", "")
    hours, minutes = (body, "0") if len(body) <= 2 else (body[:-2], body[-2:])
    return sign * (int(hours) * 60 + int(minutes))


# --------------------------------------------------------------------------- file names

_NAME_CLOCK = re.compile(
    r"^(?:(?P<prefix>[^_]+)_)?(?:(?P<channels>[01](?:\+[01])?)_)?"
    r"(?P<date>\d{8})_(?P<time>\d{6})(?:_(?P<ms>\d{3}))?(?P<triggered>T)?$",
    re.IGNORECASE,
)
_NAME_HEX = re.compile(r"^[0-9A-F]{8}$", re.IGNORECASE)
_HEX_ID = re.compile(r"^[0-9A-F]{16}$", re.IGNORECASE)


def parse_filename(name: str, tz: ZoneInfo) -> dict:
    """Start time and recorder hints from a recorder's file name, or ``{}``.

    Returns ``start_utc`` (naive), ``offset_min``, ``pattern`` and, when the name
    carries them, ``recorder_id`` / ``prefix`` / ``triggered``.
    """
    stem = Path(name).stem
    if _NAME_HEX.match(stem):
        # Old AudioMoth firmware: seconds since 1970 in hex, an absolute instant.
        when = dt.datetime.fromtimestamp(int(stem, 16), dt.timezone.utc)
        if not 2000 <= when.year < 2100:
            return {}
        local = when.astimezone(tz)
        return {
            "start_utc": _to_naive_utc(when),
            "offset_min": int(local.utcoffset().total_seconds() // 60),
            "pattern": "audiomoth-hex",
            "recorder_model": "AudioMoth",
        }
    m = _NAME_CLOCK.match(stem)
    if not m:
        return {}
    try:
        local = dt.datetime.strptime(m["date"] + m["time"], "%Y%m%d%H%M%S")
    except ValueError:
        return {}
    if m["ms"]:  # Song Meter bat detectors add milliseconds for triggered files
        local += dt.timedelta(milliseconds=int(m["ms"]))
    aware = local.replace(tzinfo=tz)
    out = {
        "start_utc": _to_naive_utc(aware),
        "offset_min": int(aware.utcoffset().total_seconds() // 60),
    }
    prefix = m["prefix"]
    if m["channels"] or (prefix and not _HEX_ID.match(prefix) and not m["triggered"]):
        out["pattern"] = "songmeter" if prefix else "audiomoth"
    else:
        out["pattern"] = "audiomoth"
    if out["pattern"] == "songmeter":
        out["prefix"] = prefix
        if m["channels"]:
            out["channels"] = m["channels"]
    else:
        out["recorder_model"] = "AudioMoth"
        out["triggered"] = bool(m["triggered"])
        if prefix:
            out["recorder_id"] = prefix.upper() if _HEX_ID.match(prefix) else prefix
    return out


# --------------------------------------------------------------------------- entry point


def read_metadata(path, timezone: str = DEFAULT_TIMEZONE) -> RecordingMetadata:
    """Read a WAV/FLAC's technical facts and start time without loading its samples.

    ``timezone`` is the deployment's IANA zone, used only for local clock times
    that carry no offset (file names, naive GUANO stamps). Raises a subclass of
    :class:`~classifiers.audio.errors.AudioFileError` naming the file when it is
    empty, truncated, corrupt, not audio, or in a sample format we do not analyse.
    """
    path = Path(path)
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {timezone!r}") from exc
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise EmptyAudioError(path, "file is empty (0 bytes)")
    with path.open("rb") as fh:
        magic = fh.read(12)
    is_riff = magic[:4] in (b"RIFF", b"RF64")
    is_flac = magic[:4] == b"fLaC"

    riff: dict = {}
    if magic[:4] == b"RIFF":
        riff = read_riff_chunks(path)

    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError) as exc:
        if is_riff or is_flac:
            raise CorruptAudioError(path, f"unreadable {'WAV' if is_riff else 'FLAC'} header ({exc})") from None
        raise NotAudioError(path, "not a WAV or FLAC file (unrecognised content)") from None

    if info.format not in SUPPORTED_FORMATS:
        raise NotAudioError(path, f"{info.format} container; sound-trap ingest takes WAV or FLAC")
    if info.subtype not in SUPPORTED_SUBTYPES:
        raise UnsupportedSampleFormatError(
            path,
            f"sample format {info.subtype} is not supported "
            f"(use linear PCM or float: {', '.join(sorted(SUPPORTED_SUBTYPES))})",
        )
    if info.frames <= 0 or info.samplerate <= 0:
        raise EmptyAudioError(path, "header is valid but holds no sample frames")
    if is_flac:
        _check_flac_end(path, info.frames)

    meta = RecordingMetadata(
        path=str(path),
        format=info.format,
        sample_format=info.subtype,
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
        frames=int(info.frames),
        duration_s=info.frames / info.samplerate,
    )
    raw: dict = {
        "soundfile": {
            "format": info.format,
            "format_info": info.format_info,
            "subtype": info.subtype,
            "subtype_info": info.subtype_info,
            "endian": getattr(info, "endian", None),
        },
        "size_bytes": size,
        "timestamps": {},
    }
    if riff:
        raw["riff_chunks"] = riff["chunks"]
        if riff["info"]:
            raw["info"] = riff["info"]

    comment = riff.get("info", {}).get("ICMT") if riff else None
    if is_flac:
        comment = _flac_comment(path) or comment
        if comment:
            raw["comment"] = comment

    candidates: dict[str, tuple[dt.datetime, int]] = {}

    if riff.get("guano"):
        guano = parse_guano(riff["guano"])
        raw["guano"] = guano
        if ts := guano_timestamp(guano, tz):
            candidates["guano"] = ts
        meta.recorder_id = guano.get("Serial") or meta.recorder_id
        if guano.get("Make") or guano.get("Model"):
            meta.recorder_model = " ".join(v for v in (guano.get("Make"), guano.get("Model")) if v)
        for key in ("Temperature Int", "Temperature Ext"):
            if key in guano:
                try:
                    meta.temperature_c = float(guano[key])
                    break
                except ValueError:
                    pass

    am = parse_audiomoth_comment(comment) if comment else {}
    if am:
        raw["audiomoth"] = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in am.items()}
        local = am["local"]
        candidates["audiomoth"] = (local - dt.timedelta(minutes=am["offset_min"]), am["offset_min"])
        meta.recorder_model = meta.recorder_model or am.get("recorder_model")
        meta.recorder_id = meta.recorder_id or am.get("recorder_id")
        meta.deployment_id = am.get("deployment_id")
        meta.gain = am.get("gain")
        meta.battery = am.get("battery")
        meta.battery_v = am.get("battery_v")
        if meta.temperature_c is None:
            meta.temperature_c = am.get("temperature_c")

    name = parse_filename(path.name, tz)
    if name:
        raw["filename"] = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in name.items()}
        candidates["filename"] = (name["start_utc"], name["offset_min"])
        meta.recorder_model = meta.recorder_model or name.get("recorder_model")
        meta.recorder_id = meta.recorder_id or name.get("recorder_id")
        if "triggered" in name:
            meta.triggered = name["triggered"]

    for source, (when, offset) in candidates.items():
        raw["timestamps"][source] = {"start_utc": when.isoformat(), "utc_offset_min": offset}
    for source in ("guano", "audiomoth", "filename"):
        if source in candidates:
            meta.start_utc, meta.utc_offset_min = candidates[source]
            meta.timestamp_source = source
            break
    meta.raw = raw
    return meta


def _check_flac_end(path: Path, frames: int) -> None:
    """Seek to the last frame a FLAC header promises (cheap: FLAC frames are indexed)."""
    try:
        with soundfile.SoundFile(str(path)) as sf:
            sf.seek(frames - 1)
            if len(sf.read(1)) == 1:
                return
    except (soundfile.LibsndfileError, RuntimeError):
        pass
    raise TruncatedAudioError(
        path, f"FLAC header promises {frames} frames but the audio data ends before that (file truncated)"
    )


def _flac_comment(path: Path) -> str | None:
    """The Vorbis ``comment`` tag of a FLAC (where AudioMoth-to-FLAC tools keep the header)."""
    try:
        with soundfile.SoundFile(str(path)) as sf:
            return sf.comment or None
    except (soundfile.LibsndfileError, RuntimeError):
        return None


def _to_naive_utc(when: dt.datetime) -> dt.datetime:
    return when.astimezone(dt.timezone.utc).replace(tzinfo=None)


__all__ = [
    "AudioFileError",
    "DEFAULT_TIMEZONE",
    "RecordingMetadata",
    "guano_timestamp",
    "parse_audiomoth_comment",
    "parse_filename",
    "parse_guano",
    "read_metadata",
    "read_riff_chunks",
    "scan",
]


def scan(paths, timezone: str = DEFAULT_TIMEZONE):
    """Yield ``(path, RecordingMetadata | AudioFileError)`` for each path, never stopping on a bad file.

    For ingesting a card: one corrupt or truncated file is reported, the rest go on.
    """
    for path in paths:
        try:
            yield path, read_metadata(path, timezone)
        except AudioFileError as exc:
            yield path, exc
