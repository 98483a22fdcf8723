"""Photos with camera makers' metadata, written byte by byte: an EXIF block (TIFF header, IFD0, EXIF IFD)
holding a maker note in each Reconyx layout, or the text fields other trail cameras write.

The layouts are those of ExifTool's Reconyx tag tables (offsets in bytes, little-endian).
"""
from __future__ import annotations

import io
import struct
from typing import Optional

from PIL import Image


def _ascii(s: str) -> bytes:
    return s.encode("latin-1") + b"\x00"


def tiff(entries0: list[tuple[int, int, bytes]], exif_entries: list[tuple[int, int, bytes]]) -> bytes:
    """A little-endian TIFF with IFD0 and an EXIF IFD; entries are (tag, type, value bytes).

    Type sizes: 1 BYTE, 2 ASCII, 3 SHORT, 4 LONG, 7 UNDEFINED, 10 SRATIONAL.
    """
    size = {1: 1, 2: 1, 3: 2, 4: 4, 7: 1, 10: 8}
    entries0 = sorted(entries0 + [(0x8769, 4, b"\x00\x00\x00\x00")])
    exif_entries = sorted(exif_entries)
    ifd0_off = 8
    exif_off = ifd0_off + 2 + 12 * len(entries0) + 4
    data_off = exif_off + 2 + 12 * len(exif_entries) + 4
    blobs = bytearray()

    def ifd(entries: list, next_data: int) -> bytes:
        out = bytearray(struct.pack("<H", len(entries)))
        for tag, typ, value in entries:
            if tag == 0x8769:
                value = struct.pack("<I", exif_off)
            count = len(value) // size[typ]
            if len(value) <= 4:
                out += struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\x00")
            else:
                out += struct.pack("<HHII", tag, typ, count, next_data + len(blobs))
                blobs.extend(value)
                if len(blobs) % 2:
                    blobs.append(0)
        return bytes(out + b"\x00\x00\x00\x00")

    first = ifd(entries0, data_off)
    second = ifd(exif_entries, data_off)
    return b"II*\x00" + struct.pack("<I", ifd0_off) + first + second + bytes(blobs)


def photo(make: str, model: str, maker_note: Optional[bytes] = None, *, when: Optional[str] = None,
          description: Optional[str] = None, user_comment: Optional[str] = None, serial: Optional[str] = None,
          temperature: Optional[tuple[int, int]] = None, image_number: Optional[int] = None,
          color=(40, 90, 60)) -> bytes:
    """A small JPEG whose APP1 EXIF segment is the TIFF built above."""
    ifd0 = [(0x010F, 2, _ascii(make)), (0x0110, 2, _ascii(model))]
    if description is not None:
        ifd0.append((0x010E, 2, _ascii(description)))
    exif: list[tuple[int, int, bytes]] = []
    if when:
        exif.append((0x9003, 2, _ascii(when)))
    if maker_note is not None:
        exif.append((0x927C, 7, maker_note))
    if user_comment is not None:
        exif.append((0x9286, 7, b"ASCII\x00\x00\x00" + user_comment.encode("ascii")))
    if serial is not None:
        exif.append((0xA431, 2, _ascii(serial)))
    if temperature is not None:
        exif.append((0x9400, 10, struct.pack("<ii", *temperature)))
    if image_number is not None:
        exif.append((0x9211, 4, struct.pack("<I", image_number)))
    t = tiff(ifd0, exif)
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, "JPEG", quality=70)
    jpeg = buf.getvalue()
    app1 = b"Exif\x00\x00" + t
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def _put(buf: bytearray, off: int, fmt: str, *values) -> None:
    struct.pack_into("<" + fmt, buf, off, *values)


def _ucs2(s: str) -> bytes:
    return s.encode("utf-16-le")


def hyperfire(*, serial="H500RX12345", seq=(2, 3), event=70000, clock=(5, 4, 3, 6, 15, 2019), moon=4, temp_f=77,
              temp_c=25, battery_mv=8450, label="PNKB S01", big_endian_time=False) -> bytes:
    """HyperFire / RapidFire: 16-bit words; ``clock`` = (sec, min, hour, month, day, year)."""
    b = bytearray(2 * 0x2B + 22)
    _put(b, 0, "H", 0xF101)
    _put(b, 2, "3H", 3, 2, 1)
    _put(b, 2 * 0x06, "2s", b"M\x00")
    _put(b, 2 * 0x07, "2H", *seq)
    _put(b, 2 * 0x09, "2H", event >> 16, event & 0xFFFF)
    words = list(clock)
    if big_endian_time:
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    _put(b, 2 * 0x0B, "6H", *words)
    _put(b, 2 * 0x12, "H", moon)
    _put(b, 2 * 0x13, "hh", temp_f, temp_c)
    b[2 * 0x15:2 * 0x15 + 2 * len(serial)] = _ucs2(serial)
    _put(b, 2 * 0x2A, "H", battery_mv)
    b[2 * 0x2B:2 * 0x2B + len(label)] = label.encode()
    return bytes(b)


def ultrafire(*, serial="UF0123456789", seq=(1, 5), event=123456, clock=(30, 15, 22, 9, 7, 2020), weekday=4,
              moon=2, temp_f=50, temp_c=10, battery_mv=11900, label="BACH MA 3") -> bytes:
    """UltraFire: ``clock`` = (sec, min, hour, day, month, year); weekday Sunday = 0."""
    b = bytearray(0x5A + 21)
    b[:10] = b"RECONYXUF\x00"
    _put(b, 0x18, "BBHBBc", 1, 0x23, 0x2019, 5, 17, b"A")
    b[0x34] = ord("T")
    _put(b, 0x35, "BB", *seq)
    _put(b, 0x37, "I", event)
    sec, minute, hour, day, month, year = clock
    _put(b, 0x3B, "5BH", sec, minute, hour, day, month, year)
    _put(b, 0x42, "BB", weekday, moon)
    _put(b, 0x44, "hh", temp_f, temp_c)
    _put(b, 0x49, "H", battery_mv)
    b[0x4B:0x4B + len(serial)] = serial.encode()
    b[0x5A:0x5A + len(label)] = label.encode()
    return bytes(b)


def hyperfire2(*, serial="H2RXEM00000001", seq=(3, 10), event=4, clock=(9, 43, 20, 4, 11, 2021), weekday=1, moon=0,
               temp_f=35, temp_c=2, light=17, battery_mv=7814, label="CAT TIEN 12") -> bytes:
    """HyperFire 2: ``clock`` = (sec, min, hour, month, day, year); weekday Sunday = 1."""
    b = bytearray(0x7E + 30)
    b[:10] = b"RECONYXH2\x00"
    _put(b, 0x10, "HH", 31, 100)
    _put(b, 0x2A, "3H", 1, 4, ord("a"))
    b[0x34:0x36] = b"M\x00"
    _put(b, 0x36, "2H", *seq)
    _put(b, 0x3A, "2H", event >> 16, event & 0xFFFF)
    _put(b, 0x3E, "6H", *clock)
    _put(b, 0x4A, "HHhh", weekday, moon, temp_f, temp_c)
    _put(b, 0x5A, "7H", 1, 3, light, 90, battery_mv, 9521, 1)
    b[0x68:0x68 + len(label)] = label.encode()
    b[0x7E:0x7E + 2 * len(serial)] = _ucs2(serial)
    return bytes(b)


def microfire(*, serial="MF5000123", seq=(1, 1), event=9, clock=(0, 30, 6, 12, 24, 2023), weekday=1, moon=6,
              temp_f=-4, temp_c=-20, light=250, battery_mv=4800, label="YOK DON") -> bytes:
    """MicroFire: ``clock`` = (sec, min, hour, month, day, year); weekday Sunday = 1."""
    b = bytearray(0x8C + 30)
    b[:10] = b"RECONYXMF\x00"
    _put(b, 0x2A, "3H", 2, 1, ord("b"))
    b[0x44:0x46] = b"E\x00"
    _put(b, 0x46, "2H", *seq)
    _put(b, 0x4A, "2H", event >> 16, event & 0xFFFF)
    _put(b, 0x4E, "6H", *clock)
    _put(b, 0x5A, "HHhh", weekday, moon, temp_f, temp_c)
    _put(b, 0x6C, "HHHH", 5, light, 80, battery_mv)
    b[0x76:0x76 + len(label)] = label.encode()
    b[0x8C:0x8C + 2 * len(serial)] = _ucs2(serial)
    return bytes(b)


def hyperfire4k(*, serial="HF4K00042", seq=(4, 4), event=77, clock=(1, 2, 3, 28, 2, 2024), weekday=4, moon=7,
                temp_f=95, temp_c=35, light=1234, battery_mv=12100, label="CUC PHUONG") -> bytes:
    """HyperFire 4K: ``clock`` = (sec, min, hour, day, month, year); weekday Sunday = 1."""
    b = bytearray(0x84 + 15 + 4)
    b[:12] = b"RECONYXHF4K\x00"
    b[0x28] = ord("M")
    _put(b, 0x29, "BB", *seq)
    _put(b, 0x2B, "I", event)
    sec, minute, hour, day, month, year = clock
    _put(b, 0x2F, "5BH", sec, minute, hour, day, month, year)
    _put(b, 0x36, "BB", weekday, moon)
    _put(b, 0x38, "hh", temp_f, temp_c)
    _put(b, 0x45, "I", light)
    _put(b, 0x4B, "H", battery_mv)
    b[0x51:0x51 + len(label)] = label.encode()
    b[0x84:0x84 + len(serial)] = serial.encode()
    return bytes(b)
