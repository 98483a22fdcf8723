"""Image loading and letterboxing shared by the detector and species classifier.

The geometry follows the YOLOv5 reference that MegaDetector uses: the long
side is scaled to the model size, the short side keeps the aspect ratio, and
grey (114) padding is split evenly on both sides.  `Letterbox` remembers the
exact scale and padding that were applied so boxes can be mapped back to the
original image without the rounding drift of recomputing them from shapes.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .safe_image import open_image

ImageSource = Union[str, os.PathLike, bytes, Image.Image]

#: Padding grey used by YOLOv5/MegaDetector letterboxing.
PAD_VALUE = 114


class ImageDecodeError(ValueError):
    """An image file could not be opened or decoded (corrupt, truncated, not an image)."""

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
        super().__init__(f"cannot decode image {source}: {reason}")


def describe_source(source: ImageSource) -> str:
    """A short human-readable name for an image source, used in error messages."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, bytes):
        return f"<{len(source)} bytes>"
    return "<PIL image>"


def load_image(source: ImageSource) -> Image.Image:
    """Open an image as RGB with its EXIF orientation applied.

    Raises `ImageDecodeError` naming the file for anything PIL cannot read fully.
    """
    return decode_for_model(source).image


#: EXIF orientations whose displayed x (resp. y) axis runs against the stored one: a
#: reduced decode's partial last block then sits at the start of that axis.
_FLIPS_X = frozenset({2, 3, 6, 7})
_FLIPS_Y = frozenset({3, 4, 7, 8})


@dataclass(frozen=True)
class DecodedImage:
    """An upright RGB image, possibly decoded at reduced size (JPEG DCT scaling).

    `full_size` is the oriented size of the original; `region` is the rectangle
    of `image`, in its own pixel coordinates (fractions allowed), that shows
    exactly the original's ``full_size`` pixels.  Without reduction it is
    ``(0, 0, width, height)``.  With a reduction by ``s`` the decoder's pixel i
    covers original pixels ``[i*s, (i+1)*s)``, and the last one may reach past
    the original's edge (``ceil(w / s)`` pixels): `region` leaves that overhang
    out, on whichever side the EXIF orientation moved it to.
    """

    image: Image.Image
    full_size: tuple[int, int]
    region: tuple[float, float, float, float]
    scale: int = 1  # DCT reduction: 1, 2, 4 or 8


def load_image_for_model(source: ImageSource, *, draft_for: tuple[int, int] | None = None
                         ) -> tuple[Image.Image, tuple[int, int]]:
    """Like `load_image`, also returning the full (oriented) width and height.

    With `draft_for` the image may be smaller than the full size; use
    `decode_for_model` to know which part of it is the original.
    """
    decoded = decode_for_model(source, draft_for=draft_for)
    return decoded.image, decoded.full_size


def decode_for_model(source: ImageSource, *, draft_for: tuple[int, int] | None = None) -> DecodedImage:
    """Decode `source` upright in RGB, through the safe opener (pixel limits checked first).

    `draft_for` (model height, width) lets the JPEG decoder skip detail that a
    letterbox to that size would throw away anyway (DCT scaling by 1/2, 1/4 or
    1/8, never below the letterboxed size).  Raises `ImageDecodeError` naming
    the file for anything PIL cannot read fully.
    """
    name = describe_source(source)
    try:
        return _decode(source, draft_for)
    except FileNotFoundError as exc:
        raise ImageDecodeError(name, "file not found") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageDecodeError(name, str(exc) or type(exc).__name__) from exc
    except MemoryError:
        raise
    except Exception as exc:  # untrusted bytes: PIL's parsers (EXIF, bomb check...) raise anything
        raise ImageDecodeError(name, f"{type(exc).__name__}: {exc}") from exc


def _decode(source: ImageSource, draft_for: tuple[int, int] | None) -> DecodedImage:
    opened: Image.Image | None = None
    try:
        if isinstance(source, Image.Image):
            img = source
        else:
            fp = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
            img = opened = open_image(fp)  # refuses decompression bombs before decoding
        orientation = img.getexif().get(0x0112, 1)
        swapped = orientation in (5, 6, 7, 8)  # these EXIF orientations rotate by 90 degrees
        full = (img.height, img.width) if swapped else (img.width, img.height)
        scale = 1
        if draft_for is not None and img.format == "JPEG":
            r = min(draft_for[0] / full[1], draft_for[1] / full[0])
            if r < 1:
                w, h = math.ceil(full[0] * r), math.ceil(full[1] * r)
                drafted = img.draft("RGB", (h, w) if swapped else (w, h))
                if drafted is not None:  # (mode, (0, 0, stored w / scale, stored h / scale))
                    scale = int(round((full[1] if swapped else full[0]) / drafted[1][2]))
        img.load()  # decode now so truncation is reported here, not later
        img = ImageOps.exif_transpose(img)
        if img.mode != "RGB":
            img = img.convert("RGB")
        if (img.width, img.height) == full:
            region = (0.0, 0.0, float(full[0]), float(full[1]))
        else:
            # Displayed axes that run against the stored ones start with the overhang.
            rw, rh = full[0] / scale, full[1] / scale
            x0 = img.width - rw if orientation in _FLIPS_X else 0.0
            y0 = img.height - rh if orientation in _FLIPS_Y else 0.0
            region = (x0, y0, x0 + rw, y0 + rh)
        return DecodedImage(img, full, region, scale)
    except BaseException:
        if opened is not None:
            opened.close()  # a truncated file must not leave its handle open
        raise


@dataclass(frozen=True)
class Letterbox:
    """The exact transform from an original image to the model input.

    ``x_input = x_original * scale_x + pad_left`` (same for y); `inverse`
    undoes it.  `scale_x` and `scale_y` differ by at most a rounding pixel:
    they are the ratio of the resized size actually produced to the original.
    """

    orig_width: int
    orig_height: int
    resized_width: int
    resized_height: int
    pad_left: int
    pad_top: int
    input_width: int
    input_height: int

    @property
    def scale_x(self) -> float:
        return self.resized_width / self.orig_width

    @property
    def scale_y(self) -> float:
        return self.resized_height / self.orig_height

    def to_original(self, boxes_xyxy: np.ndarray) -> np.ndarray:
        """Map `[N, 4]` x1,y1,x2,y2 boxes in model-input pixels to original pixels, clipped."""
        out = np.asarray(boxes_xyxy, dtype=np.float64).copy()
        xs, ys = out[:, 0::2], out[:, 1::2]  # views, so the in-place ops below update `out`
        xs -= self.pad_left
        xs /= self.scale_x
        ys -= self.pad_top
        ys /= self.scale_y
        np.clip(xs, 0, self.orig_width, out=xs)
        np.clip(ys, 0, self.orig_height, out=ys)
        return out


def letterbox_geometry(
    width: int, height: int, size: int | tuple[int, int], *, stride: int = 32,
    pad_to_stride: bool = True, scaleup: bool = True,
) -> Letterbox:
    """Compute the YOLOv5 letterbox for an image of `width` x `height`.

    `size` is the model size (an int for square, or (height, width)).  With
    `pad_to_stride` (models with dynamic axes) the padded input is only as large
    as the next multiple of `stride`; otherwise it is exactly `size`.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"image has no pixels ({width}x{height})")
    target_h, target_w = (size, size) if isinstance(size, int) else size
    r = min(target_h / height, target_w / width)
    if not scaleup:
        r = min(r, 1.0)
    new_w, new_h = int(round(width * r)), int(round(height * r))
    dw, dh = target_w - new_w, target_h - new_h
    if pad_to_stride:
        dw, dh = dw % stride, dh % stride
    # Same split as the reference: the odd pixel goes right/bottom.
    left, top = int(round(dw / 2 - 0.1)), int(round(dh / 2 - 0.1))
    return Letterbox(width, height, new_w, new_h, left, top, new_w + dw, new_h + dh)


def letterbox_image(img: Image.Image, box: Letterbox,
                    region: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """Resize and pad a PIL RGB image per `box`; returns an HWC uint8 array.

    `region` (from `DecodedImage`) is the part of `img` that shows the original
    `box` was computed for, when `img` was decoded at reduced size: that part is
    resized straight to the letterbox, so the model input has the same geometry
    as from a full decode and `box` maps detections back to the original exactly.
    """
    if region is None:
        if (img.width, img.height) != (box.orig_width, box.orig_height):
            raise ValueError(
                f"letterbox was computed for {box.orig_width}x{box.orig_height}, "
                f"image is {img.width}x{img.height}")
        region = (0.0, 0.0, float(img.width), float(img.height))
    elif not (0 <= region[0] < region[2] <= img.width + 1e-6 and 0 <= region[1] < region[3] <= img.height + 1e-6):
        raise ValueError(f"region {region} is not inside the {img.width}x{img.height} image")
    if (box.resized_width, box.resized_height) != img.size or region != (0, 0, img.width, img.height):
        # PIL's BILINEAR widens its kernel when shrinking (antialiasing), so it
        # differs slightly from cv2.INTER_LINEAR but does not alias fine texture.
        img = img.resize((box.resized_width, box.resized_height), Image.BILINEAR, box=region)
    out = np.full((box.input_height, box.input_width, 3), PAD_VALUE, dtype=np.uint8)
    out[box.pad_top:box.pad_top + box.resized_height,
        box.pad_left:box.pad_left + box.resized_width] = np.asarray(img)
    return out


def to_nchw_float(hwc: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """HWC uint8 -> CHW float32 in [0, 1] (the /255 normalisation MegaDetector uses)."""
    chw = np.ascontiguousarray(hwc.transpose(2, 0, 1))
    if out is None:
        out = np.empty(chw.shape, dtype=np.float32)
    np.multiply(chw, np.float32(1 / 255), out=out, dtype=np.float32)
    return out
