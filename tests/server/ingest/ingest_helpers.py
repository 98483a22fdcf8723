"""Builders shared by the ingest tests: photos with and without EXIF, tiny MP4/AVI files, deployments."""
from __future__ import annotations

import io
import struct
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from PIL import Image

RECONYX = Path("standards/camtrap-dp/example/media")


def reconyx_dir(shared_dir: Path) -> Path:
    """The 10 real Reconyx HyperFire 2 photos of the Camtrap DP example."""
    d = shared_dir / RECONYX
    assert len(list(d.glob("*.JPG"))) == 10, f"expected 10 Reconyx photos in {d}"
    return d


def jpeg_bytes(when: Optional[str] = "2026:03:02 06:15:01", *, serial: Optional[str] = "CAM-1",
               size=(96, 64), mode: str = "RGB", orientation: Optional[int] = None, offset: Optional[str] = None,
               color=(120, 80, 40), gps: Optional[tuple[float, float]] = None, subsec: Optional[str] = None,
               make: str = "TestMake", model: str = "TestCam", exif: bool = True) -> bytes:
    """A small JPEG; EXIF DateTimeOriginal ``when`` etc. unless ``exif`` is False."""
    if mode == "CMYK":
        im = Image.new("CMYK", size, (10, 60, 90, 20))
    elif mode == "L":
        im = Image.new("L", size, 90)
    else:
        im = Image.new("RGB", size, color)
    # A marker in the top-left corner so orientation handling can be checked.
    im.paste((255, 255, 255, 0) if mode == "CMYK" else (255 if mode == "L" else (255, 255, 255)),
             (0, 0, size[0] // 4, size[1] // 4))
    buf = io.BytesIO()
    kw = {}
    if exif:
        e = Image.Exif()
        e[0x010F], e[0x0110] = make, model
        if orientation:
            e[0x0112] = orientation
        ifd = e.get_ifd(0x8769)
        if when:
            ifd[0x9003] = when
        if serial:
            ifd[0xA431] = serial
        if offset:
            ifd[0x9011] = offset
        if subsec:
            ifd[0x9291] = subsec
        if gps:
            g = e.get_ifd(0x8825)
            lat, lon = gps
            g[1], g[3] = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
            g[2] = (abs(lat), 0.0, 0.0)
            g[4] = (abs(lon), 0.0, 0.0)
        kw["exif"] = e
    im.save(buf, "JPEG", quality=80, **kw)
    return buf.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _atom(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def mp4_bytes(created: datetime, duration_s: float, width: int = 1280, height: int = 720, version: int = 0) -> bytes:
    """A minimal MP4: ftyp, moov (mvhd, trak/tkhd), empty mdat."""
    secs = int((created - datetime(1904, 1, 1)).total_seconds())
    scale = 1000
    if version == 0:
        mvhd = bytes([0, 0, 0, 0]) + struct.pack(">IIII", secs, secs, scale, int(duration_s * scale)) + bytes(80)
        tkhd = bytes([0, 0, 0, 3]) + bytes(72) + struct.pack(">II", width << 16, height << 16)
    else:
        mvhd = bytes([1, 0, 0, 0]) + struct.pack(">QQIQ", secs, secs, scale, int(duration_s * scale)) + bytes(80)
        tkhd = bytes([1, 0, 0, 3]) + bytes(84) + struct.pack(">II", width << 16, height << 16)
    moov = _atom(b"moov", _atom(b"mvhd", mvhd) + _atom(b"trak", _atom(b"tkhd", tkhd)))
    return _atom(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + moov + _atom(b"mdat", b"\x00" * 64)


def avi_bytes(idit: str = "THU MAR 05 14:30:12 2026\n", frames: int = 300, usec_per_frame: int = 33333,
              width: int = 1920, height: int = 1080) -> bytes:
    """A minimal AVI: RIFF/LIST hdrl with avih and an IDIT date chunk, an empty movi list."""
    def chunk(cid: bytes, body: bytes) -> bytes:
        pad = b"\x00" if len(body) % 2 else b""
        return struct.pack("<4sI", cid, len(body)) + body + pad

    avih = struct.pack("<10I", usec_per_frame, 0, 0, 0, frames, 0, 1, 0, width, height) + bytes(16)
    hdrl = chunk(b"LIST", b"hdrl" + chunk(b"avih", avih) + chunk(b"IDIT", idit.encode()))
    movi = chunk(b"LIST", b"movi")
    body = b"AVI " + hdrl + movi
    return struct.pack("<4sI", b"RIFF", len(body)) + body


def make_deployment(world, *, start=datetime(2026, 3, 1, tzinfo=timezone.utc), end=None, serial: Optional[str] = None,
                    tz: str = "Asia/Ho_Chi_Minh", offset: int = 0, gap: int = 60, area=None, station: str = "S01"):
    """(area, program, deployment) for ingest tests."""
    area = area or world.area()
    program = world.program(area.id, name=f"Camera traps {station}", sequence_gap_s=gap)
    dep = world.deployment(program, location_name=station, deployment_start=start, deployment_end=end,
                           camera_id=serial, timezone=tz, clock_offset_s=offset)
    return area, program, dep


def make_thumbnails(app) -> int:
    """Run the background ``derivatives`` jobs ingest queued (a worker does this in a server); how many ran."""
    from sqlmodel import select

    from server.db import session_scope
    from server.jobs import run_job
    from server.models import Job

    with session_scope(app.config["DATABASE_URL"]) as s:
        ids = list(s.exec(select(Job.id).where(Job.kind == "derivatives", Job.status == "queued")
                          .order_by(Job.created_at)))
    for job_id in ids:
        run_job(job_id, app.config)
    return len(ids)
