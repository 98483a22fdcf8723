"""The one way Saola opens an image: pixel limits checked before any pixel is decoded.

A 17 KiB PNG can declare 12,000 x 12,000 pixels: decoding it takes 432 MB, and
the thumbnail of such a field photo took a server from 154 to 980 MiB per
request (20,000 x 20,000 gave a bare 500 from Pillow's own bomb check). Every
path that decodes an image - ingest thumbnails, field-photo thumbnails, review
images, detector and classifier input, exports, uploaded photos - opens it
with :func:`open_image`, which

- reads only the header and refuses an image declaring more than the limit
  with :class:`ImageTooLarge` ("image too large: 12000x12000 pixels (limit 64
  megapixels)");
- turns Pillow's ``DecompressionBombError``/``DecompressionBombWarning`` into
  the same error;
- with ``draft=(w, h)``, lets libjpeg decode a JPEG at the smallest DCT scale
  (1/2, 1/4, 1/8) that is still at least that size: a fraction of the memory
  and time of a full decode.

The limit (default :data:`DEFAULT_MAX_PIXELS`, 64 megapixels: the largest
camera traps write 8000 x 6000) is also set as Pillow's ``MAX_IMAGE_PIXELS``,
deliberately, so code that decodes images by itself (WeasyPrint in reports)
is guarded by Pillow's check too. The server sets it from ``SAOLA_MAX_IMAGE_MPIXELS``
(:func:`set_max_pixels`); ingest worker processes receive it from their parent.

This module lives in ``classifiers`` because it is the lowest layer that
decodes images; it needs only Pillow.
"""
from __future__ import annotations

import io
import os
import re
from typing import IO, Union

from PIL import Image

DEFAULT_MAX_PIXELS = 64_000_000
_max_pixels = DEFAULT_MAX_PIXELS
Image.MAX_IMAGE_PIXELS = _max_pixels

ImageFile = Union[str, os.PathLike, bytes, IO[bytes]]


class ImageTooLarge(ValueError):
    """The image declares more pixels than the limit; nothing was decoded."""

    def __init__(self, width: int | None, height: int | None, limit: int, pixels: int | None = None):
        self.width, self.height, self.limit = width, height, limit
        if width and height:
            size = f"{width}x{height} pixels"
        else:  # refused by Pillow's own check, which reports only the pixel count
            size = _pixels(pixels) if pixels else "too many pixels"
        super().__init__(f"image too large: {size} (limit {_pixels(limit)})")


def _pixels(n: int) -> str:
    return f"{n / 1e6:g} megapixels" if n >= 1_000_000 else f"{n} pixels"


def max_pixels() -> int:
    """The current limit in pixels."""
    return _max_pixels


def set_max_pixels(pixels: int) -> None:
    """Set the limit for this process (and Pillow's MAX_IMAGE_PIXELS to the same value)."""
    global _max_pixels
    if pixels < 1:
        raise ValueError(f"the image pixel limit must be positive, got {pixels}")
    _max_pixels = int(pixels)
    Image.MAX_IMAGE_PIXELS = _max_pixels


def check_size(width: int | None, height: int | None, limit: int | None = None) -> None:
    """Raise ImageTooLarge when ``width`` x ``height`` exceeds the limit (unknown sizes pass)."""
    limit = limit or _max_pixels
    if width and height and width * height > limit:
        raise ImageTooLarge(width, height, limit)


_PILLOW_PIXELS = re.compile(r"\((\d+) pixels\) exceeds limit of (\d+) pixels")


def open_image(source: ImageFile, *, limit: int | None = None,
               draft: tuple[int, int] | None = None) -> Image.Image:
    """Open ``source`` (a path, bytes or a binary file) lazily, refusing an image that is too large.

    Raises :class:`ImageTooLarge` before decoding; Pillow's own errors for
    files that are not images (``UnidentifiedImageError``, ``OSError``) pass
    through. ``draft`` (width, height) makes a JPEG decode at reduced size.
    """
    limit = limit or _max_pixels
    fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        im = Image.open(fp)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        # Above Pillow's own limit (or its warning, raised as an error under strict warning filters).
        m = _PILLOW_PIXELS.search(str(e))
        pixels, pillow_limit = (int(m.group(1)), int(m.group(2))) if m else (None, limit)
        raise ImageTooLarge(None, None, min(limit, pillow_limit), pixels) from None
    try:
        check_size(im.width, im.height, limit)
        if draft is not None and im.format == "JPEG":
            im.draft("RGB" if im.mode in ("RGB", "YCbCr") else im.mode, draft)
    except BaseException:
        im.close()
        raise
    return im
