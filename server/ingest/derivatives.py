"""Thumbnails and review-size images of photos (originals are never modified).

Speed matters (a card holds tens of thousands of photos), so decoding uses
JPEG draft mode: libjpeg scales by 1/2, 1/4 or 1/8 while decoding, which is
far cheaper than decoding the full image and resizing it.

- thumbnail: long side :data:`THUMB_SIZE` px, or between :data:`THUMB_MIN` and
  that when libjpeg's 1/8 DCT scaling lands there by itself (a 2048 px photo
  gives a 256 px thumbnail with no resampling at all: a third less work per
  photo than decoding at 1/4 and resizing to 320);
- review-size: long side :data:`REVIEW_SIZE` px. A photo whose long side is
  already at most :data:`REVIEW_MAX` px, stored upright (EXIF orientation 1 or
  none) in RGB or greyscale, *is* its own review-size image: the original is
  served and no copy is made (most camera traps write 2048 x 1440 or smaller).

EXIF orientation is applied to both, so rotated photos show upright.
Derivatives live in the derivatives store (``app.extensions["saola.derivatives"]``)
under ``thumb/ab/cd/<sha256>.jpg`` and ``review/ab/cd/<sha256>.jpg``; a video's poster frame, when
one was made, under ``poster/ab/cd/<sha256>.jpg`` (the grid and gallery show it).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Optional

from PIL import Image

from classifiers.safe_image import ImageTooLarge, open_image

THUMB_SIZE = 320
THUMB_MIN = 240  # a thumbnail straight from DCT scaling is accepted down to this size
REVIEW_SIZE = 1600
REVIEW_MAX = 2048
THUMB_QUALITY = 75
REVIEW_QUALITY = 82
# Orientation tag value -> the transpose that shows the photo upright.
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}


def thumb_key(sha256: str) -> str:
    """Derivatives-store key of a photo's thumbnail."""
    return f"thumb/{sha256[:2]}/{sha256[2:4]}/{sha256}.jpg"


def review_key(sha256: str) -> str:
    """Derivatives-store key of a photo's review-size image (absent when the original serves)."""
    return f"review/{sha256[:2]}/{sha256[2:4]}/{sha256}.jpg"


def poster_key(sha256: str) -> str:
    """Derivatives-store key of a video's poster frame (a JPEG), when one was made."""
    return f"poster/{sha256[:2]}/{sha256[2:4]}/{sha256}.jpg"


class DerivativeError(Exception):
    """The photo could not be decoded (truncated or corrupt)."""


@dataclass
class Derivatives:
    """JPEG bytes of a photo's thumbnail and review-size image."""

    thumb: bytes
    review: Optional[bytes]  # None: the original is review-size already


def _fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    w, h = size
    scale = longest / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _encode(im: Image.Image, quality: int) -> bytes:
    if im.mode not in ("RGB", "L"):
        im = im.convert("RGB")  # CMYK, YCCK, P, I;16...
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, optimize=False)
    return buf.getvalue()


def serves_as_review(width: Optional[int], height: Optional[int], orientation: Optional[int],
                     components: Optional[int]) -> bool:
    """Whether a photo is its own review-size image (upright, RGB or grey, long side at most
    :data:`REVIEW_MAX`), known from its header alone: no copy is made, the original is served."""
    if not width or not height:
        return False
    return max(width, height) <= REVIEW_MAX and (orientation or 1) == 1 and components in (None, 1, 3)


def exif_preview(data: bytes) -> Optional[bytes]:
    """The JPEG preview a camera embedded in the EXIF block (IFD1's JPEGInterchangeFormat), or None."""
    import struct

    from .makernotes import tiff_of_jpeg

    tiff = tiff_of_jpeg(data)
    if not tiff or len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return None
    bo = "<" if tiff[:2] == b"II" else ">"
    try:
        (ifd0,) = struct.unpack_from(bo + "I", tiff, 4)
        (n,) = struct.unpack_from(bo + "H", tiff, ifd0)
        (ifd1,) = struct.unpack_from(bo + "I", tiff, ifd0 + 2 + 12 * n)
        if not ifd1 or ifd1 + 2 > len(tiff):
            return None
        (n1,) = struct.unpack_from(bo + "H", tiff, ifd1)
        start = length = None
        for i in range(min(n1, 200)):
            tag, typ, _count, value = struct.unpack_from(bo + "HHII", tiff, ifd1 + 2 + 12 * i)
            if typ == 3:  # a SHORT sits in the first half of the value field
                value = struct.unpack_from(bo + "H", tiff, ifd1 + 2 + 12 * i + 8)[0]
            if tag == 0x0201:
                start = value
            elif tag == 0x0202:
                length = value
    except struct.error:
        return None
    if start is None or not length or start + length > len(tiff):
        return None
    preview = tiff[start:start + length]
    return preview if preview.startswith(b"\xff\xd8") else None


def thumb_from_preview(preview: Optional[bytes], width: Optional[int], height: Optional[int]) -> Optional[bytes]:
    """A thumbnail from the camera's embedded preview, without decoding the photo; None when the
    preview is missing, too small (below :data:`THUMB_MIN`), of another shape (a letterboxed or
    cropped preview would put boxes in the wrong place) or undecodable."""
    from .exif import has_end_marker, jpeg_frame

    if not preview or not width or not height:
        return None
    frame = jpeg_frame(preview)
    if frame is None or not has_end_marker(preview):
        return None
    pw, ph, components = frame
    if max(pw, ph) < THUMB_MIN or components not in (1, 3):
        return None
    if abs(pw / ph - width / height) > 0.02 * (width / height):
        return None
    if max(pw, ph) <= THUMB_SIZE:
        return preview  # already thumbnail-sized: used as the camera wrote it
    try:
        im = open_image(preview)
        im.draft("RGB", _fit((pw, ph), THUMB_SIZE))
        im.load()
    except Exception:  # a damaged preview: the derivative job decodes the photo instead
        return None
    if max(im.size) > THUMB_SIZE:
        im = im.resize(_fit(im.size, THUMB_SIZE), Image.Resampling.BOX)
    return _encode(im, THUMB_QUALITY)


def make_derivatives(data: bytes, orientation: Optional[int] = None, max_pixels: Optional[int] = None) -> Derivatives:
    """Thumbnail (and review-size image when needed) of a JPEG; DerivativeError if it cannot be decoded
    or declares more than ``max_pixels`` (default: the process's limit, classifiers/safe_image.py)."""
    from .exif import strip_metadata_segments

    try:
        im = open_image(strip_metadata_segments(data), limit=max_pixels)
        w, h = im.size
        needs_review = max(w, h) > REVIEW_MAX or (orientation or 1) != 1 or im.mode not in ("RGB", "L")
        target = _fit((w, h), REVIEW_SIZE if needs_review else THUMB_SIZE)
        eighth = max(w, h) // 8
        if not needs_review and THUMB_MIN <= eighth <= THUMB_SIZE:
            target = _fit((w, h), eighth)  # decode at 1/8: already thumbnail-sized
        if im.format == "JPEG":
            # draft() keeps the decoded size >= target: the smallest DCT scale that does.
            im.draft("RGB" if im.mode in ("RGB", "YCbCr") else im.mode, target)
        im.load()
    except ImageTooLarge as e:
        raise DerivativeError(str(e)) from None
    except Exception as e:  # PIL raises OSError, SyntaxError, ValueError... on damaged data
        raise DerivativeError(f"cannot decode the image: {e}") from None
    transpose = _TRANSPOSE.get(orientation or 1)
    review = None
    if needs_review:
        r = im
        if max(r.size) > REVIEW_SIZE:
            r = r.resize(_fit(r.size, REVIEW_SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0)
        if transpose is not None:
            r = r.transpose(transpose)
        review = _encode(r, REVIEW_QUALITY)
        im = r
    t = im
    if max(t.size) > THUMB_SIZE:
        # Box (area-average) filtering: the cheapest good downscale; draft() already did most of it.
        t = t.resize(_fit(t.size, THUMB_SIZE), Image.Resampling.BOX)
    if transpose is not None and not needs_review:
        t = t.transpose(transpose)
    return Derivatives(_encode(t, THUMB_QUALITY), review)
