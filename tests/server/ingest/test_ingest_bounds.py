"""Ingest refuses what would blow up its memory (issue 17, finding 9).

- a photo whose header declares more pixels than SAOLA_MAX_IMAGE_MPIXELS is
  skipped unread ("image too large: WxH pixels");
- a photo file (or zip member) larger than IMAGE_MAX_BYTES is skipped by its
  declared size before anything is read: a 300 MiB member at 85:1, under the
  ratio limit, took ingest to 1 GiB;
- a video's header atoms are read a few bytes at a time, whatever size they claim.
"""
from __future__ import annotations

import os
import struct
import tracemalloc
import zipfile
from datetime import datetime

from sqlmodel import select

from image_bombs import bomb_jpeg
from ingest_helpers import jpeg_bytes, make_deployment, mp4_bytes, write
from server.ingest.pipeline import ingest_path
from server.ingest.sources import IMAGE_MAX_BYTES, scan_zip
from server.models import Media


def _media(world) -> list[Media]:
    with world.session() as s:
        return list(s.exec(select(Media)))


def _store_files(app) -> list[str]:
    root = app.extensions["saola.media"].root
    return [f for _, _, fs in os.walk(root) for f in fs if not f.startswith(".")]


def test_a_photo_declaring_too_many_pixels_is_skipped_unread(app, world, tmp_path):
    _, _, dep = make_deployment(world)
    card = tmp_path / "card"
    write(card / "DCIM/GOOD.JPG", jpeg_bytes())
    write(card / "DCIM/BOMB.JPG", bomb_jpeg(60000, 60000))
    rep = ingest_path(app, card, deployment_id=dep.id, workers=0)
    lines = "\n".join(rep.summary_lines())
    assert "skipped DCIM/BOMB.JPG: image too large: 60000x60000 pixels (limit 64 megapixels)" in lines
    assert [m.file_name for m in _media(world)] == ["GOOD.JPG"]
    assert len(_store_files(app)) == 1  # the bomb was not stored either


def _compressible_member(zf: zipfile.ZipFile, name: str, size: int) -> None:
    """A member of ``size`` bytes compressing at about 80:1 (under the 100:1 bomb ratio), written in blocks."""
    block = b"\xff\xd8\xff\xe0" + os.urandom(1020) + b"\x00" * (80 * 1024)
    info = zipfile.ZipInfo(name, (2026, 3, 2, 6, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with zf.open(info, "w", force_zip64=True) as out:
        written = 0
        while written < size:
            chunk = block[:size - written]
            out.write(chunk)
            written += len(chunk)


def test_a_huge_photo_in_a_zip_is_refused_by_its_size_before_reading(app, world, tmp_path):
    _, _, dep = make_deployment(world)
    z = tmp_path / "card.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(8):  # enough files for the worker pool
            zf.writestr(f"DCIM/IMG_{i:04d}.JPG", jpeg_bytes(f"2026:03:02 06:15:{i:02d}", color=(i * 20, 5, 5)))
        _compressible_member(zf, "DCIM/HUGE.JPG", 100 * 1024 * 1024)
    with zipfile.ZipFile(z) as zf:
        info = zf.getinfo("DCIM/HUGE.JPG")
        assert 50 < info.file_size / info.compress_size < 100  # the ratio check alone lets it through
    _, skipped = scan_zip(z)
    assert [s.reason for s in skipped] == ["image file too large: 100 MiB (limit 64 MiB); not read"]
    rep = ingest_path(app, z, deployment_id=dep.id, workers=2)
    assert rep.ingested == 8 and rep.fatal is None
    assert "skipped DCIM/HUGE.JPG: image file too large: 100 MiB (limit 64 MiB)" in "\n".join(rep.summary_lines())


def test_a_huge_photo_in_a_folder_is_refused_by_its_size(app, world, tmp_path):
    _, _, dep = make_deployment(world)
    card = tmp_path / "card"
    write(card / "DCIM/GOOD.JPG", jpeg_bytes())
    big = card / "DCIM/BIG.JPG"
    with open(big, "wb") as f:  # sparse: costs no disk
        f.write(b"\xff\xd8\xff\xe0")
        f.truncate(IMAGE_MAX_BYTES + 1)
    rep = ingest_path(app, card, deployment_id=dep.id, workers=0)
    assert "skipped DCIM/BIG.JPG: image file too large" in "\n".join(rep.summary_lines())
    assert [m.file_name for m in _media(world)] == ["GOOD.JPG"]


def test_video_header_atoms_are_read_a_few_bytes_at_a_time(tmp_path):
    """A track header claiming 100 MiB is read up to its fields (96 bytes), not whole."""
    from server.ingest.video import read_video

    good = mp4_bytes(datetime(2026, 3, 2, 10, 0, 0), 10.0)
    tkhd_at = good.index(b"tkhd") - 4
    pad = 100 * 1024 * 1024
    data = bytearray(good[:tkhd_at + 8 + 92])  # ftyp, moov header, mvhd, trak header, the tkhd itself
    # Grow tkhd, trak and moov by the padding so the file stays well-formed.
    for kind in (b"moov", b"trak", b"tkhd"):
        at = data.index(kind) - 4
        struct.pack_into(">I", data, at, struct.unpack_from(">I", data, at)[0] + pad)
    path = tmp_path / "CLIP.MP4"
    with open(path, "wb") as f:
        f.write(data)
        f.truncate(len(data) + pad)  # sparse padding
    tracemalloc.start()
    try:
        info = read_video(None, str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (info.width, info.height) == (1280, 720) and info.duration_s == 10.0
    assert peak < 4 * 1024 * 1024, peak
