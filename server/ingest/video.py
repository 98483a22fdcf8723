"""Camera-trap videos: capture time and duration, read in pure Python.

MP4/MOV: the ``moov/mvhd`` atom (creation time in seconds since 1904,
duration / timescale) and the first video ``tkhd`` (width, height).
AVI: the ``avih`` main header (microseconds per frame x frames, width,
height) and the ``IDIT`` or ``ICRD`` date chunk. When that fails,
``ffprobe`` (from ffmpeg) is asked, with a timeout.

Camera traps write their local clock into these fields (the MP4 standard says
UTC, but trail cameras ignore it), so the time is treated like an EXIF time:
local device time, corrected with the deployment's time zone and clock offset.
"""
from __future__ import annotations

import io
import json
import re
import shutil
import struct
import subprocess
from datetime import datetime, timedelta
from typing import BinaryIO, Optional

from .registry import MediaInfo, UnreadableMedia

_MP4_EPOCH = datetime(1904, 1, 1)
_CONTAINERS = {b"moov", b"trak", b"mdia", b"udta", b"edts"}
_MONTHS = {m: i for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                                       "NOV", "DEC"), 1)}
FFPROBE_TIMEOUT_S = 20


class VideoParseError(Exception):
    """The container structure could not be read."""


def _atoms(f: BinaryIO, start: int, end: int):
    """Yield (type, payload_start, payload_end) of the atoms between ``start`` and ``end``."""
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        head = f.read(8)
        if len(head) < 8:
            return
        size, kind = struct.unpack(">I4s", head)
        hdr = 8
        if size == 1:
            ext = f.read(8)
            if len(ext) < 8:
                return
            size = struct.unpack(">Q", ext)[0]
            hdr = 16
        elif size == 0:
            size = end - pos
        if size < hdr:
            raise VideoParseError(f"bad atom size {size} at offset {pos}")
        yield kind, pos + hdr, min(pos + size, end)
        pos += size


def parse_mp4(f: BinaryIO, file_size: int) -> MediaInfo:
    """Capture time, duration and frame size from an MP4/MOV ``moov`` atom."""
    info = MediaInfo()
    found = False

    def walk(start: int, end: int) -> None:
        nonlocal found
        for kind, a, b in _atoms(f, start, end):
            if kind == b"mvhd":
                f.seek(a)
                body = f.read(min(b - a, 32))
                version = body[0] if body else 0
                if version == 1 and len(body) >= 32:
                    created, _, scale, duration = struct.unpack(">QQIQ", body[4:32])
                elif len(body) >= 20:
                    created, _, scale, duration = struct.unpack(">IIII", body[4:20])
                else:
                    raise VideoParseError("mvhd atom too short")
                found = True
                if created:
                    info.captured_at_raw = _MP4_EPOCH + timedelta(seconds=created)
                    info.timestamp_source = "video"
                if scale:
                    info.duration_s = round(duration / scale, 3)
                info.meta["mvhd"] = {"creation_time": created, "timescale": scale, "duration": duration}
            elif kind == b"tkhd" and info.width is None:
                f.seek(a)
                body = f.read(min(b - a, 96))  # the fields end at byte 96; the atom may claim gigabytes
                if len(body) >= 84:
                    off = 76 if body[0] == 0 else 88
                    if len(body) >= off + 8:
                        w, h = struct.unpack(">II", body[off:off + 8])
                        if w >> 16 and h >> 16:  # audio tracks have 0 x 0
                            info.width, info.height = w >> 16, h >> 16
            elif kind in _CONTAINERS:
                walk(a, b)

    walk(0, file_size)
    if not found:
        raise VideoParseError("no moov/mvhd atom")
    return info


def _chunks(f: BinaryIO, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        head = f.read(8)
        if len(head) < 8:
            return
        cid, size = struct.unpack("<4sI", head)
        yield cid, pos + 8, min(pos + 8 + size, end)
        pos += 8 + size + (size & 1)


def parse_avi_date(text: str) -> Optional[datetime]:
    """An AVI IDIT/ICRD date: ``THU OCT 22 08:59:35 2020`` or ``2020:10:22 08:59:35`` / ISO."""
    t = text.strip("\x00\r\n ").upper()
    m = re.match(r"^[A-Z]{3}\s+([A-Z]{3})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s+(\d{4})", t)
    try:
        if m and m.group(1) in _MONTHS:
            return datetime(int(m.group(6)), _MONTHS[m.group(1)], int(m.group(2)), int(m.group(3)),
                            int(m.group(4)), int(m.group(5)))
        m = re.match(r"^(\d{4})[:\-/](\d{2})[:\-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})", t)
        if m:
            return datetime(*(int(g) for g in m.groups()))
    except ValueError:
        return None
    return None


def parse_avi(f: BinaryIO, file_size: int) -> MediaInfo:
    """Duration, frame size and date from an AVI file's headers."""
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"AVI ":
        raise VideoParseError("not a RIFF AVI file")
    info = MediaInfo()
    found = False

    def walk(start: int, end: int) -> None:
        nonlocal found
        for cid, a, b in _chunks(f, start, end):
            if cid == b"LIST":
                f.seek(a)
                if f.read(4) in (b"hdrl", b"INFO"):
                    walk(a + 4, b)
            elif cid == b"avih":
                f.seek(a)
                body = f.read(40)
                if len(body) < 40:
                    raise VideoParseError("avih header too short")
                usec, _, _, _, frames, _, _, _, w, h = struct.unpack("<10I", body)
                found = True
                info.duration_s = round(usec * frames / 1e6, 3)
                info.width, info.height = w or None, h or None
                info.meta["avih"] = {"usec_per_frame": usec, "frames": frames}
            elif cid in (b"IDIT", b"ICRD") and info.captured_at_raw is None:
                f.seek(a)
                text = f.read(min(b - a, 64)).decode("latin-1", "replace")
                info.meta[cid.decode()] = text.strip("\x00\r\n ")
                dt = parse_avi_date(text)
                if dt is not None:
                    info.captured_at_raw, info.timestamp_source = dt, "video"

    walk(12, file_size)
    if not found:
        raise VideoParseError("no avih header")
    return info


def ffprobe(path: str) -> MediaInfo:
    """Duration and creation time from ``ffprobe``; VideoParseError when it is missing or fails."""
    exe = shutil.which("ffprobe")
    if exe is None:
        raise VideoParseError("ffprobe is not installed")
    try:
        out = subprocess.run([exe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path],
                             capture_output=True, timeout=FFPROBE_TIMEOUT_S, check=True).stdout
        doc = json.loads(out or b"{}")
    except (subprocess.SubprocessError, OSError, ValueError) as e:
        raise VideoParseError(f"ffprobe could not read it ({type(e).__name__})") from None
    fmt = doc.get("format") or {}
    if not fmt:
        raise VideoParseError("ffprobe found no container")
    info = MediaInfo()
    try:
        info.duration_s = round(float(fmt["duration"]), 3)
    except (KeyError, TypeError, ValueError):
        pass
    created = (fmt.get("tags") or {}).get("creation_time")
    if created:
        try:
            info.captured_at_raw = datetime.fromisoformat(created.replace("Z", "")).replace(tzinfo=None)
            info.timestamp_source = "video"
        except ValueError:
            pass
    video = [st for st in doc.get("streams") or [] if st.get("codec_type") == "video"]
    if not video:
        raise VideoParseError("ffprobe found no video stream")
    info.width, info.height = video[0].get("width"), video[0].get("height")
    info.meta["ffprobe"] = {"format_name": fmt.get("format_name"), "tags": fmt.get("tags") or {}}
    return info


def read_video(data: Optional[bytes], path: Optional[str]) -> MediaInfo:
    """Reader for MP4/MOV/AVI: headers in pure Python, then ffprobe as a fallback."""
    f: BinaryIO
    if data is not None:
        f, size = io.BytesIO(data), len(data)
    else:
        f = open(path, "rb")
        f.seek(0, 2)
        size = f.tell()
    try:
        if size == 0:
            raise UnreadableMedia("empty file")
        f.seek(0)
        head = f.read(12)
        try:
            if head[:4] == b"RIFF":
                info = parse_avi(f, size)
            else:
                info = parse_mp4(f, size)
            info.meta["parser"] = "saola"
            return info
        except (VideoParseError, struct.error) as first:
            try:
                if path is None:
                    raise VideoParseError("no file to give ffprobe")
                info = ffprobe(path)
            except VideoParseError as second:
                if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide") or head[8:12] == b"AVI ":
                    # A video container whose headers are damaged (camera lost power while
                    # writing): keep the bytes, flag them.
                    info = MediaInfo(flags=["corrupt"], notes=[f"damaged video: {first}; {second}"])
                    info.meta["parser"] = "none"
                    return info
                raise UnreadableMedia(f"not a readable video: {first}; {second}") from None
            info.meta["parser"] = "ffprobe"
            return info
    finally:
        f.close()
