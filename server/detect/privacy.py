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

from ..storage_s3 import materialise

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
        materialise(original)  # an S3 original not fetched yet (server/storage_s3.py)
        data = render(original, size, boxes)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        derivatives.commit(key)  # S3: send the copy made in the local cache to the bucket
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


#: Shown while ingest's background job has not made a photo's thumbnail yet (server/ingest/jobs.py).
PENDING_IMAGE = Path(__file__).resolve().parents[1] / "web" / "static" / "thumb-pending.svg"


def is_placeholder(path: Path) -> bool:
    """Whether ``path`` is the stand-in for a derivative still being made (pages retry it)."""
    return path == PENDING_IMAGE


def _review_sized(media) -> bool:
    from ..ingest.derivatives import serves_as_review

    # getattr: a video's poster frame stands in as a duck-typed photo (server/auth/policy.py).
    meta = getattr(media, "meta", None)
    meta = meta if isinstance(meta, dict) else {}
    return serves_as_review(getattr(media, "width", None), getattr(media, "height", None),
                            getattr(media, "orientation", None), meta.get("components"))


def derivative_pending(media, size: str) -> bool:
    """Whether ingest left the ``size`` image of this photo to the background derivative job,
    which has not made it yet: the placeholder is served instead of decoding while the user waits."""
    meta = getattr(media, "meta", None)
    if not isinstance(meta, dict) or getattr(media, "kind", None) != "image" or media.has_derivatives \
            or meta.get("derivatives") != "pending":
        return False
    return size == "thumb" or (size == "review" and not _review_sized(media))


def _clear_derivative(media, size: str, media_store, derivatives) -> Path:
    # Ingest's own derivatives when it made them (server/ingest/derivatives.py keys), else ours.
    sha = media.sha256
    theirs = f"{size}/{sha[:2]}/{sha[2:4]}/{sha}.jpg"
    if size in ("thumb", "review") and derivatives.exists(theirs):
        return derivatives.path(theirs)
    if derivative_pending(media, size):
        return PENDING_IMAGE
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
            return *_typed(_clear_derivative(media, size, media_store, derivatives)), False
    if size == "original":
        return media_store.path(media.storage_key), media.media_type, False
    sha = media.sha256
    if (size == "review" and (media.has_derivatives or _review_sized(media))
            and not derivatives.exists(f"review/{sha[:2]}/{sha[2:4]}/{sha}.jpg")):
        # Ingest makes no review copy when the original is review-size already.
        return media_store.path(media.storage_key), media.media_type, False
    return *_typed(_clear_derivative(media, size, media_store, derivatives)), False


def _typed(path: Path) -> tuple[Path, str]:
    return path, "image/svg+xml" if is_placeholder(path) else "image/jpeg"


# ---- videos ---------------------------------------------------------------------------------------
#: How long stripping a video's metadata may take (a remux, no re-encoding: seconds even for long clips).
FFMPEG_TIMEOUT_S = 120
_MUXERS = {"video/mp4": ("mp4", "mp4"), "video/quicktime": ("mov", "mov"), "video/x-msvideo": ("avi", "avi")}


class VideoCopyUnavailable(Exception):
    """A copy of a video without its metadata cannot be made here (no ffmpeg, or it failed)."""


def video_copy_key(sha256: str, ext: str) -> str:
    """Derivatives-store key of a video's copy without metadata."""
    return f"video/{sha256[:2]}/{sha256[2:4]}/{sha256}-public.{ext}"


def stripped_video(derivatives, original: Path, sha256: str, media_type: str) -> Path:
    """A copy of a video with every metadata tag (GPS position, camera serial, creation time) and every
    data track removed, made once with ``ffmpeg -c copy`` (the frames are not re-encoded) and kept in
    the derivatives store."""
    import shutil
    import subprocess

    fmt, ext = _MUXERS.get(media_type, ("mp4", "mp4"))
    path = derivatives.path(video_copy_key(sha256, ext))
    if path.is_file():
        return path
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise VideoCopyUnavailable("ffmpeg is not installed on the server")
    materialise(original)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix="." + ext)
    os.close(fd)
    try:
        # Only picture and sound: data tracks (GPS telemetry), subtitles and chapters are dropped.
        cmd = [exe, "-v", "error", "-y", "-i", str(original), "-map", "0:v", "-map", "0:a?", "-dn", "-sn",
               "-map_metadata", "-1", "-map_chapters", "-1", "-c", "copy", "-f", fmt]
        if fmt in ("mp4", "mov"):
            cmd += ["-movflags", "+faststart"]  # the index first: the browser can play while it loads
        done = subprocess.run(cmd + [tmp], capture_output=True, timeout=FFMPEG_TIMEOUT_S)
        if done.returncode != 0:
            raise VideoCopyUnavailable(done.stderr.decode("utf-8", "replace").strip()[-300:] or "ffmpeg failed")
        os.replace(tmp, path)
        derivatives.commit(video_copy_key(sha256, ext))
    except subprocess.TimeoutExpired:
        raise VideoCopyUnavailable(f"ffmpeg took longer than {FFMPEG_TIMEOUT_S} s") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def video_for_role(session, media, role: str, media_store, derivatives,
                   detector_configured: bool) -> tuple[Path, str, bool]:
    """(file, MIME type, private) of the video ``role`` may see of ``media``.

    The rules of server/auth/policy.py, for frames that cannot be blurred yet:
    biologists and above get the original. For viewers and rangers a video
    showing a person or a vehicle (flagged, or a box in any frame) raises
    :class:`Withheld`, and when a detector is configured a video no detector
    has checked raises :class:`NotScreened`. Rangers get the stored bytes of a
    video showing nobody; viewers a copy without metadata (:func:`stripped_video`).
    ``private``: the answer must not be cached for everyone.
    """
    from ..auth import policy
    from .service import has_unboxed_person, is_screened, private_boxes

    original = media_store.path(media.storage_key)
    if policy.sees_clear_images(role):
        return original, media.media_type, False
    if media.contains_person or private_boxes(session, media.id) or has_unboxed_person(session, media.id):
        raise Withheld(media.id)
    if detector_configured and not is_screened(session, media.id):
        raise NotScreened(media.id)
    if policy.may_download_originals(role):
        return original, media.media_type, True
    return stripped_video(derivatives, original, media.sha256, media.media_type), media.media_type, True
