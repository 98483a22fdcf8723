"""Blur people and vehicles in the derivatives that viewers and public exports see.

`blur_detections` returns a new image; the original (kept for authorised
roles) is never modified.  Boxes are widened by a margin so the edge of a face
or number plate is not left sharp, and the blur strength scales with the box
so a large person is as unrecognisable as a small one.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from PIL import Image, ImageFilter

from classifiers.megadetector import Detection

#: MegaDetector categories hidden by default: '2' person, '3' vehicle.
PRIVATE_CATEGORIES = ("2", "3")
METHODS = ("gaussian", "pixelate")


def _pixel_box(size, bbox, margin):
    W, H = size
    x, y, w, h = bbox
    mx, my = w * margin, h * margin
    x1, y1 = max(0, int((x - mx) * W)), max(0, int((y - my) * H))
    x2, y2 = min(W, int(round((x + w + mx) * W + 0.5))), min(H, int(round((y + h + my) * H + 0.5)))
    return (x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None


def blur_region(image: Image.Image, box: tuple[int, int, int, int], *, method: str = "gaussian",
                strength: float = 0.15) -> None:
    """Blur one pixel box of `image` in place.

    `strength` is relative to the box: the Gaussian radius (or pixel block
    size) is `strength` times the box's shorter side, at least 4 px, so detail
    the size of facial features is gone.
    """
    if method not in METHODS:
        raise ValueError(f"blur method must be one of {', '.join(METHODS)}, got {method!r}")
    region = image.crop(box)
    w, h = region.size
    amount = max(4.0, strength * min(w, h))
    if method == "gaussian":
        # Blur with the surroundings so the box edge does not keep a sharp band.
        pad = int(amount * 3)
        outer = (max(0, box[0] - pad), max(0, box[1] - pad),
                 min(image.width, box[2] + pad), min(image.height, box[3] + pad))
        blurred = image.crop(outer).filter(ImageFilter.GaussianBlur(amount))
        region = blurred.crop((box[0] - outer[0], box[1] - outer[1],
                               box[2] - outer[0], box[3] - outer[1]))
    else:
        block = max(4, int(amount))
        small = region.resize((max(1, w // block), max(1, h // block)), Image.BOX)
        region = small.resize((w, h), Image.NEAREST)
    image.paste(region, box[:2])


def blur_detections(image: Image.Image, detections: Iterable[Detection], *,
                    categories: Sequence[str] = PRIVATE_CATEGORIES, min_conf: float = 0.1,
                    method: str = "gaussian", strength: float = 0.15, margin: float = 0.1) -> Image.Image:
    """A copy of `image` with boxes of `categories` (conf >= `min_conf`) blurred.

    `min_conf` is deliberately lower than a review threshold: hiding a doubtful
    person costs little, showing one costs much.
    """
    if method not in METHODS:
        raise ValueError(f"blur method must be one of {', '.join(METHODS)}, got {method!r}")
    out = image.convert("RGB") if image.mode != "RGB" else image.copy()
    for det in detections:
        if det.category in categories and det.conf >= min_conf:
            box = _pixel_box(out.size, det.bbox, margin)
            if box:
                blur_region(out, box, method=method, strength=strength)
    return out
