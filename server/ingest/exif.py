"""Photo metadata with exifread: capture time, camera, serial, GPS, orientation, size.

The whole (printable) tag set is kept as JSON in ``Media.meta["exif"]``, so
nothing the camera wrote is lost even when Saola does not use it yet.
"""
from __future__ import annotations

import io
import logging
import re
from datetime import datetime
from typing import Any, Optional

import exifread

from . import makernotes
from .registry import MediaInfo, UnreadableMedia

log = logging.getLogger("saola.ingest")
# exifread logs every odd tag at WARNING; a card of 50,000 images would flood the log.
logging.getLogger("exifread").setLevel(logging.ERROR)

JPEG_SOI = b"\xff\xd8\xff"
# Tags that are binary blobs, not worth keeping as text.
_SKIP_TAGS = {"JPEGThumbnail", "TIFFThumbnail", "EXIF MakerNote", "EXIF UserComment", "Image PrintIM",
              "EXIF ComponentsConfiguration", "Image ApplicationNotes"}
_MAX_VALUE_CHARS = 500
_DATE_RE = re.compile(r"^\s*(\d{4})[:\-/](\d{2})[:\-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET_RE = re.compile(r"^\s*([+-])(\d{2}):?(\d{2})\s*$")
_SERIAL_TAGS = ("EXIF BodySerialNumber", "Image CameraSerialNumber", "MakerNote SerialNumber",
                "EXIF CameraSerialNumber")


def parse_exif_datetime(text: str | None, subsec: str | None = None) -> Optional[datetime]:
    """``2021:04:11 20:43:09`` (+ SubSecTime digits) as a naive datetime; None when blank or invalid."""
    if not text:
        return None
    m = _DATE_RE.match(str(text))
    if not m:
        return None
    try:
        dt = datetime(*(int(g) for g in m.groups()))
    except ValueError:  # 0000:00:00 00:00:00 and other impossible dates
        return None
    digits = re.sub(r"\D", "", str(subsec or ""))[:6]
    if digits:
        dt = dt.replace(microsecond=int(digits.ljust(6, "0")))
    return dt


def parse_offset(text: str | None) -> Optional[int]:
    """EXIF OffsetTime ``+07:00`` in minutes east of UTC; None when absent or malformed."""
    if not text:
        return None
    m = _OFFSET_RE.match(str(text))
    if not m:
        return None
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    if minutes > 14 * 60:
        return None
    return -minutes if m.group(1) == "-" else minutes


def _ratio(v: Any) -> float:
    return float(v.num) / float(v.den) if getattr(v, "den", 0) else float(v)


def _gps(tags: dict) -> tuple[Optional[float], Optional[float]]:
    try:
        lat_t, lon_t = tags["GPS GPSLatitude"], tags["GPS GPSLongitude"]
        lat = sum(_ratio(x) / 60 ** i for i, x in enumerate(lat_t.values[:3]))
        lon = sum(_ratio(x) / 60 ** i for i, x in enumerate(lon_t.values[:3]))
    except (KeyError, ZeroDivisionError, TypeError, ValueError, AttributeError):
        return None, None
    if str(tags.get("GPS GPSLatitudeRef", "N")).strip().upper().startswith("S"):
        lat = -lat
    if str(tags.get("GPS GPSLongitudeRef", "E")).strip().upper().startswith("W"):
        lon = -lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None, None
    return round(lat, 7), round(lon, 7)


def _text(tags: dict, name: str) -> Optional[str]:
    v = tags.get(name)
    if v is None:
        return None
    s = str(v).replace("\x00", "").strip().encode("utf-8", "replace").decode("utf-8")
    return s[:100] or None


def exif_tags(data: bytes) -> dict:
    """The raw exifread tag dictionary of a JPEG (empty when it has no EXIF)."""
    try:
        return exifread.process_file(io.BytesIO(data), details=False, extract_thumbnail=False)
    except Exception:  # exifread raises assorted errors on mangled EXIF: treat as no EXIF
        return {}


def info_from_tags(tags: dict) -> MediaInfo:
    """A :class:`MediaInfo` from an exifread tag dictionary."""
    info = MediaInfo()
    raw = None
    for name, sub in (("EXIF DateTimeOriginal", "EXIF SubSecTimeOriginal"),
                      ("EXIF DateTimeDigitized", "EXIF SubSecTimeDigitized"), ("Image DateTime", "EXIF SubSecTime")):
        raw = parse_exif_datetime(_text(tags, name), _text(tags, sub))
        if raw is not None:
            break
    if raw is not None:
        info.captured_at_raw = raw
        info.timestamp_source = "exif"
        off = parse_offset(_text(tags, "EXIF OffsetTimeOriginal") or _text(tags, "EXIF OffsetTime"))
        if off is not None:
            info.utc_offset_min = off
            info.timestamp_source = "exif_offset"
    info.camera_make = _text(tags, "Image Make")
    info.camera_model = _text(tags, "Image Model")
    for t in _SERIAL_TAGS:
        info.camera_serial = _text(tags, t)
        if info.camera_serial:
            break
    orient = tags.get("Image Orientation")
    if orient is not None:
        try:
            o = int(orient.values[0])
            info.orientation = o if 1 <= o <= 8 else None
        except (AttributeError, IndexError, TypeError, ValueError):
            pass
    info.latitude, info.longitude = _gps(tags)
    exif: dict[str, str] = {}
    for k, v in tags.items():
        if k in _SKIP_TAGS or k.startswith("Thumbnail"):
            continue
        # Text as every database takes it: no NUL characters, valid UTF-8.
        s = str(v).replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
        exif[k] = s if len(s) <= _MAX_VALUE_CHARS else s[:_MAX_VALUE_CHARS] + "…"
    info.meta = {"exif": exif}
    return info


def read_jpeg(data: Optional[bytes], path: Optional[str]) -> MediaInfo:
    """Reader for JPEG photos: EXIF metadata plus the pixel size from the JPEG header.

    A file that does not start with a JPEG marker is not a photo (skipped); one
    that does but cannot be decoded is kept and flagged ``corrupt`` (see
    :mod:`server.ingest.derivatives`, which decodes it).
    """
    if data is None:
        with open(path, "rb") as f:
            data = f.read()
    if not data:
        raise UnreadableMedia("empty file")
    if not data.startswith(JPEG_SOI):
        raise UnreadableMedia("not a JPEG file (does not start with a JPEG marker)")
    tags = exif_tags(data)
    info = info_from_tags(tags)
    if not info.meta["exif"]:
        info.notes.append("no EXIF metadata")
    else:
        add_camera_notes(info, data, tags)
    frame = jpeg_frame(data)
    if frame is not None:
        info.width, info.height, components = frame
        info.meta["components"] = components
        if not has_end_marker(data):
            # Cut short (card pulled while writing, copy interrupted). Checked here rather than
            # left to the decoder: Pillow decodes truncated files silently once any library in
            # the process sets ImageFile.LOAD_TRUNCATED_IMAGES (weasyprint does).
            info.flags.append("corrupt")
            info.notes.append("truncated JPEG: no end-of-image marker after the image data")
    else:  # no frame header: keep the bytes, flag them
        info.flags.append("corrupt")
        info.notes.append("JPEG frame header (SOF) missing or damaged")
        try:  # the size the camera wrote, as a fallback
            info.width = int(info.meta["exif"]["EXIF ExifImageWidth"])
            info.height = int(info.meta["exif"]["EXIF ExifImageLength"])
        except (KeyError, TypeError, ValueError):
            pass
    return info


_TEXT_TAGS = ("Image ImageDescription", "Image XPComment", "Image Artist", "Image Software")


def _long_text(tags: dict, name: str) -> Optional[str]:
    v = tags.get(name)
    if v is None:
        return None
    try:
        s = str(v)
    except Exception:  # exifread's UserComment decoding fails on odd charsets
        return None
    return s.replace("\x00", " ").strip()[:1000] or None


def add_camera_notes(info: MediaInfo, data: bytes, tags: dict) -> None:
    """The camera maker's own metadata (:mod:`server.ingest.makernotes`) into ``info``.

    Stored as ``info.meta["camera"]``; fills ``camera_serial`` when EXIF has none and the
    capture time when only the maker note has it (older Reconyx models). A maker note that
    cannot be read is noted and logged; the photo is ingested all the same.
    """
    note: dict = {}
    try:
        extras = makernotes.exif_extras(data)
    except Exception as e:  # a mangled EXIF block: what exifread read stands
        extras = {}
        info.notes.append(f"EXIF structure not fully readable: {e}")
    blob = extras.get("maker_note")
    if blob:
        try:
            note = makernotes.read_maker_note(info.camera_make, blob) or {}
        except makernotes.MakerNoteError as e:
            info.notes.append(f"maker note not read: {e}")
            log.info("maker note not read (%s %s): %s", info.camera_make, info.camera_model, e)
        except Exception as e:  # unknown firmware must never stop a card
            info.notes.append(f"maker note not read: {type(e).__name__}: {e}")
            log.warning("maker note not read (%s %s)", info.camera_make, info.camera_model, exc_info=True)
    if note.get("layout") in (None, "text"):
        # Bushnell, Browning, Spypoint, OEM cameras: labelled values in their text fields.
        texts = [t for t in (_long_text(tags, n) for n in _TEXT_TAGS) if t] + [extras.get("user_comment") or ""]
        for k, v in makernotes.read_text_fields(texts).items():
            note.setdefault(k, v)
    if "temperature_c" in extras:
        note.setdefault("temperature_c", extras["temperature_c"])
    if not note:
        return
    note.setdefault("maker", (info.camera_make or "").strip().title() or None)
    number = _text(tags, "EXIF ImageNumber")
    if number and number.isdigit():
        note.setdefault("image_number", int(number))
    info.meta["camera"] = {k: v for k, v in note.items() if v is not None}
    if not info.camera_serial and note.get("serial"):
        info.camera_serial = note["serial"]
    if info.captured_at_raw is None and note.get("captured_at"):
        t = parse_exif_datetime(note["captured_at"])
        if t is not None:
            info.captured_at_raw = t
            info.timestamp_source = "makernote"


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def jpeg_segments(data: bytes):
    """Yield (marker, start, end) of the marker segments before the image data (SOS)."""
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = (data[pos + 2] << 8) | data[pos + 3]
        if length < 2:
            return
        yield marker, pos, pos + 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return
        pos += 2 + length


def jpeg_frame(data: bytes) -> Optional[tuple[int, int, int]]:
    """(width, height, components) from the JPEG's SOF header, without decoding anything."""
    for marker, a, b in jpeg_segments(data):
        if marker in _SOF and b - a >= 10 and b <= len(data):
            h = (data[a + 5] << 8) | data[a + 6]
            w = (data[a + 7] << 8) | data[a + 8]
            return (w, h, data[a + 9]) if w and h else None
    return None


def has_end_marker(data: bytes) -> bool:
    """Whether the JPEG's image data is followed by an EOI marker (FF D9).

    Inside entropy-coded data an FF byte is always followed by 00 or a restart
    marker, so FF D9 after the start of scan can only be the real end.
    """
    sos_end = None
    for marker, _, b in jpeg_segments(data):
        if marker == 0xDA:
            sos_end = b
    # Searched from the end, where the marker is: the whole image is not scanned.
    return sos_end is not None and data.rfind(b"\xff\xd9", sos_end) != -1


def strip_metadata_segments(data: bytes) -> bytes:
    """The JPEG without its APP1 (EXIF/XMP), APP2 (ICC/MPO), APP13 (IPTC) and comment segments.

    Decoding does not need them, and Pillow parses EXIF on open (about 1 ms a photo);
    thumbnails are made from this lighter copy (orientation is read by exifread).
    """
    keep, last = [data[:2]], 2
    cut = False
    for marker, a, b in jpeg_segments(data):
        if marker in (0xE1, 0xE2, 0xED, 0xFE):
            keep.append(data[last:a])
            last = b
            cut = True
        if marker == 0xDA:
            break
    if not cut:
        return data
    keep.append(data[last:])
    return b"".join(keep)
