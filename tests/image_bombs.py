"""Decompression bombs for tests, built in memory without decoding anything (issue 17, finding 9)."""
from __future__ import annotations

import io
import struct
import zlib


def bomb_png(width: int, height: int) -> bytes:
    """A 1-bit PNG of ``width`` x ``height`` black pixels, built row block by row block (12,000^2: 17 KiB)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    z = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    idat = b"".join(z.compress(row * min(256, height - y)) for y in range(0, height, 256)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def bomb_jpeg(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF) claims ``width`` x ``height``."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (40, 90, 20)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)
