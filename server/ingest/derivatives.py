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
