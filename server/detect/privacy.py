"""What viewers see: images with people and vehicles blurred.

Originals in the media store are never changed. Viewers, rangers and public
exports get derivatives from the derivatives store in which every person or
vehicle box (any model, confidence >= :data:`PRIVACY_THRESHOLD`, not rejected
by a reviewer) is blurred; biologists and above get the clear image. A
blurred derivative's key carries a fingerprint of the boxes it hides
(``ab/cd/<sha256>-<size>-public-<fingerprint>.jpg``), so when detections
change a stale derivative is simply never asked for again.
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Sequence

#: People and vehicles at or above this confidence are blurred for viewers. Lower than the
#: usual review threshold (0.2) on purpose: a blurred tree stump costs little, a visible face a lot.
PRIVACY_THRESHOLD = 0.1
#: Long side in pixels of each derivative size; None keeps the original size.
SIZES = {"thumb": 320, "review": 1280, "original": None}
JPEG_QUALITY = 85

Box = tuple[float, float, float, float]


def fingerprint(boxes: Sequence[Box]) -> str:
    """Short stable digest of the boxes a derivative hides."""
    text = ";".join(",".join(f"{v:.4f}" for v in b) for b in sorted(boxes))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def derivative_key(sha256: str, size: str, boxes: Sequence[Box] = ()) -> str:
    """Derivatives-store key of an image of ``size`` with ``boxes`` blurred (clear when none)."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, not {size!r}")
    stem = f"{sha256[:2]}/{sha256[2:4]}/{sha256}-{size}"
    return f"{stem}-public-{fingerprint(boxes)}.jpg" if boxes else f"{stem}.jpg"


def blur_boxes(img, boxes: Sequence[Box]):
    """A copy of a PIL RGB image with each normalised ``[x, y, w, h]`` box blurred beyond recognition."""
    from classifiers.megadetector import Detection as Box_
    from classifiers.privacy import blur_detections

    # The boxes were already chosen (category, threshold, review): hide every one of them.
    return blur_detections(img, [Box_("2", 1.0, tuple(b)) for b in boxes], categories=("2",), min_conf=0.0)


def render(original: Path, size: str, boxes: Sequence[Box]) -> bytes:
    """JPEG bytes of ``original`` at ``size`` with ``boxes`` blurred."""
    from classifiers.image import load_image_for_model

    long_side = SIZES[size]
    # EXIF orientation applied, as the detector saw it; JPEG draft decoding for the small sizes.
    img, _ = load_image_for_model(original, draft_for=(long_side, long_side) if long_side else None)
    if long_side and max(img.size) > long_side:
        img.thumbnail((long_side, long_side))
    if boxes:
        img = blur_boxes(img, boxes)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def ensure_derivative(derivatives, original: Path, sha256: str, size: str, boxes: Sequence[Box]) -> Path:
    """Path of the derivative in the derivatives store, made (atomically) when missing."""
    key = derivative_key(sha256, size, boxes)
    path = derivatives.path(key)
    if not path.is_file():
        data = render(original, size, boxes)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return path


def public_image(session, media, size: str, media_store, derivatives) -> Path:
    """The image of ``media`` that anyone may see (public exports, viewers): people blurred.

    Exports call this rather than reading originals.
    """
    from .service import private_boxes

    boxes = private_boxes(session, media.id)
    if not boxes and size == "original":
        return media_store.path(media.storage_key)
    return ensure_derivative(derivatives, media_store.path(media.storage_key), media.sha256, size, boxes)


class NotScreened(Exception):
    """A viewer asked for an image no detector has checked for people yet."""


class Withheld(Exception):
    """A viewer asked for an image showing a person with no box to blur."""


def _clear_derivative(media, size: str, media_store, derivatives) -> Path:
    # Ingest's own derivatives when it made them (server/ingest/derivatives.py keys), else ours.
    sha = media.sha256
    theirs = f"{size}/{sha[:2]}/{sha[2:4]}/{sha}.jpg"
    if size in ("thumb", "review") and derivatives.exists(theirs):
        return derivatives.path(theirs)
    return ensure_derivative(derivatives, media_store.path(media.storage_key), sha, size, ())


def image_for_role(session, media, size: str, role: str, media_store, derivatives,
                   detector_configured: bool) -> tuple[Path, str, bool]:
    """(file, MIME type, blurred) of the image ``role`` may see of ``media`` at ``size``.

    The rules are server/auth/policy.py's: biologists, managers and
    administrators get the clear image (the original itself for
    ``original``); viewers and rangers get people and vehicles blurred. For
    them, an image showing a person with no box to blur raises
    :class:`Withheld`, and when a detector is configured an image no detector
    has checked yet raises :class:`NotScreened` rather than risk showing a
    face. Rangers get the stored bytes of an image that shows nobody; viewers
    always a re-encoded copy (no EXIF position, no camera serial).
    """
    from ..auth import policy
    from .service import has_unboxed_person, is_screened, private_boxes

    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, not {size!r}")
    if not policy.sees_clear_images(role):
        boxes = private_boxes(session, media.id)
        if boxes:
            return ensure_derivative(derivatives, media_store.path(media.storage_key), media.sha256, size,
                                     boxes), "image/jpeg", True
        if has_unboxed_person(session, media.id):
            raise Withheld(media.id)
        if detector_configured and not is_screened(session, media.id):
            raise NotScreened(media.id)
        if not policy.may_download_originals(role):
            if size == "original":
                return ensure_derivative(derivatives, media_store.path(media.storage_key), media.sha256, size,
                                         ()), "image/jpeg", False
            return _clear_derivative(media, size, media_store, derivatives), "image/jpeg", False
    if size == "original":
        return media_store.path(media.storage_key), media.media_type, False
    sha = media.sha256
    if (size == "review" and media.has_derivatives
            and not derivatives.exists(f"review/{sha[:2]}/{sha[2:4]}/{sha}.jpg")):
        # Ingest made no review copy because the original is review-size already.
        return media_store.path(media.storage_key), media.media_type, False
    return _clear_derivative(media, size, media_store, derivatives), "image/jpeg", False
