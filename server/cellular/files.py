"""What a cellular camera may send, and whether a received file is whole.

FTP cannot tell a finished upload from one cut off by a dropped 4G link when the
data connection simply closes: both end with an end-of-file. So a file is only
ingested when its own structure says it is complete (a JPEG ends with its EOI
marker; an MP4/MOV's boxes add up to the file's size and include ``moov``; an AVI's
RIFF size is the file's), and a partial file is kept in the staging folder for the
camera to resume (REST/APPE) or send again.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Optional

#: Extensions a camera may upload, and their kind.
ACCEPTED = {".jpg": "image", ".jpeg": "image", ".mp4": "video", ".mov": "video", ".avi": "video"}


def refusal(name: str) -> Optional[str]:
    """Why ``name`` is refused (not a photo or video type Saola ingests), None when accepted."""
    ext = os.path.splitext(name)[1].lower()
    if ext in ACCEPTED:
        return None
    what = f"'{ext}' files" if ext else "files without an extension"
    return f"{what} are not accepted: send JPEG photos (.jpg) or videos (.mp4, .mov, .avi)"


def incomplete(path: str | os.PathLike) -> Optional[str]:
    """Why the file at ``path`` is not whole yet (cut off), None when it is complete."""
    p = Path(path)
    size = p.stat().st_size
    if size == 0:
        return "empty file (0 bytes)"
    ext = p.suffix.lower()
    with open(p, "rb") as f:
        head = f.read(12)
        if ext in (".jpg", ".jpeg"):
            if head[:2] != b"\xff\xd8":
                return None  # not a JPEG at all: ingest says so (corrupt), waiting would not help
            f.seek(max(0, size - 4096))
            tail = f.read().rstrip(b"\x00")  # some cameras pad after the end marker
            return None if tail.endswith(b"\xff\xd9") else \
                f"cut off: the JPEG has no end marker ({size} bytes received)"
        if ext in (".mp4", ".mov"):
            return _iso_boxes(f, size)
        if ext == ".avi":
            if head[:4] != b"RIFF":
                return None
            declared = struct.unpack("<I", head[4:8])[0] + 8
            return None if size >= declared else f"cut off: {size} of {declared} bytes received"
    return None


def _iso_boxes(f, size: int) -> Optional[str]:
    """Walk the top-level boxes of an MP4/MOV: they must end exactly at the file's end, with a moov."""
    pos, names = 0, set()
    while pos < size:
        f.seek(pos)
        hdr = f.read(16)
        if len(hdr) < 8:
            return f"cut off inside a box header at byte {pos}"
        n, kind = struct.unpack(">I4s", hdr[:8])
        if n == 1:
            if len(hdr) < 16:
                return f"cut off inside a box header at byte {pos}"
            n = struct.unpack(">Q", hdr[8:16])[0]
        elif n == 0:  # the last box runs to the end of the file
            n = size - pos
        if n < 8:
            return None  # not a box structure: ingest judges it
        names.add(kind)
        pos += n
    if pos > size:
        return f"cut off: {size} of {pos} bytes received"
    if b"moov" not in names:
        return "cut off: no 'moov' index yet"
    return None
