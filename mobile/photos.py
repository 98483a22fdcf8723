"""Field photos: made smaller on the tablet, off the UI thread, before they enter the store.

A tablet camera writes 6 MB JPEGs; the server needs far less to identify a species or a snare,
and a ranger's day of photos must upload over a station's weak link. So each photo is resized
to ``max_px`` on its long side (default 2048, setting ``photo_max_px``), turned upright from its
EXIF orientation, and saved as JPEG with its EXIF kept (DateTimeOriginal, the GPS block, the
camera model) but the orientation tag reset, since the pixels are now upright.

Decoding and encoding take most of a second on a tablet, so :class:`PhotoWorker` does it on a
worker thread and hands the result back through ``post`` (Kivy's Clock on the app): the screen
never freezes. Failures (a full disk, a file that is not an image) come back as a
:class:`PhotoError` whose message is for the ranger, in their language; nothing already stored is
touched and no half-written file is left.

Pillow is imported lazily (python-for-android has a recipe; the app's core stays importable
without it).
"""
from __future__ import annotations

import errno
import os
import queue
import threading
import uuid
from pathlib import Path
from typing import Callable

from .i18n import N_, tr
from .store import StorageFull

DEFAULT_MAX_PX = 2048
# Photos declaring more pixels are refused before decoding (a 17 KiB PNG can declare 144 megapixels
# and take the tablet's memory): the server's limit too (SAOLA_MAX_IMAGE_MPIXELS, classifiers/safe_image.py,
# which the app cannot import on Android).
MAX_PIXELS = 64_000_000
JPEG_QUALITY = 85
ORIENTATION = 0x0112
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}

MSG_DISK_FULL = N_("The tablet's storage is full: the photo was not added. Free some space (delete old "
                   "photos or apps), then add it again.")
MSG_NOT_IMAGE = N_("This file is not a photo the app can read (JPEG, PNG or WebP).")
MSG_TOO_LARGE = N_("This photo is too large to open safely (more than {limit} megapixels).")
MSG_UNREADABLE = N_("The photo could not be read: {error}")


class PhotoError(Exception):
    """A photo could not be added; ``message(lang)`` says why, for the ranger."""

    def __init__(self, msgid: str, **params):
        super().__init__(tr(msgid, "en", **params))
        self.msgid, self.params = msgid, params

    def message(self, lang: str) -> str:
        """The reason in ``lang`` ("vi" or "en")."""
        return tr(self.msgid, lang, **self.params)


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc`` means no space is left (ENOSPC, EDQUOT)."""
    return isinstance(exc, OSError) and exc.errno in _NO_SPACE


def resize_photo(source: str | os.PathLike, target_dir: str | os.PathLike, max_px: int = DEFAULT_MAX_PX) -> Path:
    """Write an upright JPEG of ``source`` at most ``max_px`` on its long side into ``target_dir``; returns it.

    EXIF is kept (time taken, GPS, camera) with the orientation reset to "upright". A photo
    already small enough is still re-encoded only if it must be turned; otherwise copied as is.
    The output is written to a temporary name and renamed, so a failure leaves nothing behind.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    out = target_dir / f"photo-{uuid.uuid4().hex}.jpg"
    tmp = out.with_name(out.name + ".part")
    try:
        try:
            img = Image.open(source)  # the header only: pixels are decoded later, if the size is sane
        except UnidentifiedImageError:
            raise PhotoError(MSG_NOT_IMAGE) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoError(MSG_TOO_LARGE, limit=MAX_PIXELS // 1_000_000) from None
        with img:
            if img.width * img.height > MAX_PIXELS:
                raise PhotoError(MSG_TOO_LARGE, limit=MAX_PIXELS // 1_000_000)
            exif = img.getexif()
            orientation = exif.get(ORIENTATION, 1)
            # Read the nested blocks now: tobytes() writes only what was loaded.
            exif.get_ifd(0x8769)  # Exif IFD: DateTimeOriginal
            exif.get_ifd(0x8825)  # GPS IFD
            small_enough = max(img.size) <= max_px and img.format == "JPEG" and orientation in (1, None)
            if small_enough:
                with open(source, "rb") as src, open(tmp, "wb") as dst:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        dst.write(block)
                    dst.flush()
                    os.fsync(dst.fileno())
            else:
                if img.format == "JPEG":
                    # Decode at reduced scale straight away (much less memory and time on a tablet).
                    img.draft("RGB", (max_px, max_px))
                pic: Image.Image = ImageOps.exif_transpose(img)  # upright pixels
                pic.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
                if pic.mode not in ("RGB", "L"):
                    pic = pic.convert("RGB")
                exif[ORIENTATION] = 1
                with open(tmp, "wb") as dst:
                    pic.save(dst, "JPEG", quality=JPEG_QUALITY, exif=exif.tobytes(), optimize=True)
                    dst.flush()
                    os.fsync(dst.fileno())
        os.replace(tmp, out)
        return out
    except PhotoError:
        raise
    except OSError as exc:
        if is_disk_full(exc):
            raise PhotoError(MSG_DISK_FULL) from None
        raise PhotoError(MSG_UNREADABLE, error=str(exc)) from None
    except (ValueError, SyntaxError) as exc:  # Pillow's errors for truncated or odd files
        raise PhotoError(MSG_UNREADABLE, error=str(exc)) from None
    finally:
        tmp.unlink(missing_ok=True)


def add_to_store(store, source: str | os.PathLike, max_px: int = DEFAULT_MAX_PX, *,
                 delete_source: bool = False) -> str:
    """Resize ``source`` and copy it into ``store``; returns the photo's SHA-256.

    ``delete_source`` removes the source afterwards (the camera's capture file in the app's
    cache): only once the photo is safely stored.
    """
    tmp_dir = Path(store.root) / "tmp"
    resized = resize_photo(source, tmp_dir, max_px)
    try:
        try:
            sha = store.add_photo(resized, media_type="image/jpeg")
        except (OSError, StorageFull) as exc:
            if isinstance(exc, StorageFull) or is_disk_full(exc):
                raise PhotoError(MSG_DISK_FULL) from None
            raise
    finally:
        resized.unlink(missing_ok=True)
    if delete_source:
        Path(source).unlink(missing_ok=True)
    return sha


def _deliver(on_done: Callable[[str | None, PhotoError | None], None], sha: str | None,
             err: PhotoError | None) -> Callable[[], None]:
    def call() -> None:
        on_done(sha, err)
    return call


class PhotoWorker:
    """One background thread that resizes and stores photos in order.

    ``submit(path, on_done)``: ``on_done(sha256, error)`` is called through ``post`` (the UI
    thread on the app) with the digest, or None and a :class:`PhotoError`.
    """

    def __init__(self, store, post: Callable[[Callable[[], None]], None], max_px: Callable[[], int] | int = DEFAULT_MAX_PX):
        self.store = store
        self.post = post
        self._max_px = max_px
        self._jobs: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self.thread_ids: list[int] = []  # which threads did the work (the tests check it is not the UI's)

    @property
    def max_px(self) -> int:
        """The long side photos are resized to (a callable reads the current setting)."""
        value = self._max_px() if callable(self._max_px) else self._max_px
        return max(320, int(value or DEFAULT_MAX_PX))

    def submit(self, source: str | os.PathLike, on_done: Callable[[str | None, PhotoError | None], None], *,
               delete_source: bool = False) -> None:
        """Queue a photo; returns at once."""
        self._jobs.put((source, on_done, delete_source))
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="saola-photos", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                source, on_done, delete_source = self._jobs.get(timeout=5)
            except queue.Empty:
                return
            self.thread_ids.append(threading.get_ident())
            try:
                sha, err = add_to_store(self.store, source, self.max_px, delete_source=delete_source), None
            except PhotoError as exc:
                sha, err = None, exc
            except Exception as exc:  # anything else: still tell the ranger, never kill the worker
                sha, err = None, PhotoError(MSG_UNREADABLE, error=f"{exc.__class__.__name__}: {exc}")
            self.post(_deliver(on_done, sha, err))
