"""Camera capture and photo picking on Android, through intents (pyjnius), handled in Python.

Capture: plyer 2.1.0 hands the camera app a ``file://`` URI, which Android 7+ refuses
(FileUriExposedException) and which points into the app's private storage anyway. Here the
capture file lives in the app's cache (``<cache>/captures/``) and the camera app gets a
``content://`` URI for it from androidx's FileProvider (authority ``<package>.fileprovider``,
paths in ``mobile/android/res/xml/saola_file_paths.xml``, declared in
``mobile/android/provider.xml``; see buildozer.spec), with a one-time write grant.

Picking: the system photo picker (``MediaStore.ACTION_PICK_IMAGES``) from Android 13, else
``ACTION_GET_CONTENT`` for ``image/*``. The result is a content URI readable only for a moment:
its bytes are copied at once into the app's cache, then resized into the store like a capture.

Both results come back through python-for-android's ``android.activity`` ``on_activity_result``
(on Android's UI thread) and are handed to the Kivy thread with ``post``. Every outcome calls
``on_done(path, problem)`` exactly once: a path, or None with ``"cancelled"`` (the ranger
pressed back: nothing to tell), ``"no_camera"``, ``"empty"`` (the camera app returned OK but
wrote nothing) or ``"failed:<details>"``; :func:`problem_message` words them for the ranger.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable

from ..i18n import N_, tr
from .android_env import cache_dir

REQUEST_CAPTURE = 0x5A01  # request codes must fit in 16 bits
REQUEST_PICK = 0x5A02
RESULT_OK, RESULT_CANCELED = -1, 0
PROVIDER_SUFFIX = ".fileprovider"

_PROBLEMS = {
    "no_camera": N_("No camera app was found on this tablet."),
    "empty": N_("The camera app saved no photo. Try again."),
    "failed": N_("The photo could not be taken or read: {error}"),
}


def problem_message(problem: str | None, lang: str) -> str:
    """What a capture or pick problem means, for the ranger ("" for a plain cancel).

    ``problem`` is "cancelled", "no_camera", "empty" or "failed:<details>".
    """
    kind, _, error = (problem or "").partition(":")
    if kind not in _PROBLEMS:
        return ""
    return tr(_PROBLEMS[kind], lang, error=error)


Done = Callable[[str | None, str | None], None]


class AndroidPhotos:
    """Take a photo with the camera app or pick one; ``on_done(path, problem)`` on the Kivy thread."""

    def __init__(self, *, autoclass=None, cast=None, activity_module=None, sdk: int | None = None,
                 post: Callable[[Callable[[], None]], None] | None = None):
        if autoclass is None or cast is None:
            from jnius import autoclass as real_autoclass, cast as real_cast  # lazy: Android only

            autoclass, cast = autoclass or real_autoclass, cast or real_cast
        if activity_module is None:
            from android import activity as real_activity  # lazy: python-for-android only

            activity_module = real_activity
        self.autoclass, self.cast, self.activity_module = autoclass, cast, activity_module
        self.activity = autoclass("org.kivy.android.PythonActivity").mActivity
        if sdk is None:
            sdk = int(autoclass("android.os.Build$VERSION").SDK_INT)
        self.sdk = sdk
        self.post = post or (lambda fn: fn())
        self._pending: dict[int, tuple[Done, Path | None]] = {}
        self._bound = False
        self.last_intent = None  # what was sent (tests read it)

    # -- plumbing ----------------------------------------------------------------
    def _bind(self) -> None:
        if not self._bound:
            self.activity_module.bind(on_activity_result=self._on_activity_result)
            self._bound = True

    def _unbind_if_idle(self) -> None:
        if self._bound and not self._pending:
            self.activity_module.unbind(on_activity_result=self._on_activity_result)
            self._bound = False

    def _finish(self, on_done: Done, path: str | None, problem: str | None) -> None:
        self.post(lambda: on_done(path, problem))

    def _start(self, intent, request: int, on_done: Done, capture: Path | None) -> None:
        self.last_intent = intent
        self._pending[request] = (on_done, capture)
        self._bind()
        try:
            self.activity.startActivityForResult(intent, request)
        except Exception as exc:  # ActivityNotFoundException (no camera app), SecurityException
            self._pending.pop(request, None)
            self._unbind_if_idle()
            if capture is not None:
                capture.unlink(missing_ok=True)
            name = exc.__class__.__name__ + " " + str(exc)
            self._finish(on_done, None, "no_camera" if "ActivityNotFound" in name else "failed:" + str(exc))

    # -- capture -----------------------------------------------------------------
    def capture_file(self) -> Path:
        """A new, empty capture file in the app's cache (the FileProvider shares this folder)."""
        folder = cache_dir(self.activity) / "captures"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"IMG_{uuid.uuid4().hex}.jpg"
        path.touch()
        return path

    def content_uri(self, path: Path):
        """The FileProvider content:// URI of ``path`` (authority ``<package>.fileprovider``)."""
        File = self.autoclass("java.io.File")
        FileProvider = self.autoclass("androidx.core.content.FileProvider")
        authority = self.activity.getPackageName() + PROVIDER_SUFFIX
        return FileProvider.getUriForFile(self.activity, authority, File(str(path)))

    def take_photo(self, on_done: Done) -> None:
        """Open the camera app; ``on_done(path_of_the_jpeg, None)`` or ``(None, problem)``."""
        Intent = self.autoclass("android.content.Intent")
        MediaStore = self.autoclass("android.provider.MediaStore")
        ClipData = self.autoclass("android.content.ClipData")
        try:
            path = self.capture_file()
            uri = self.content_uri(path)
        except Exception as exc:  # no FileProvider in the APK, storage full
            self._finish(on_done, None, "failed:" + str(exc))
            return
        intent = Intent(MediaStore.ACTION_IMAGE_CAPTURE)
        intent.putExtra(MediaStore.EXTRA_OUTPUT, self.cast("android.os.Parcelable", uri))
        # The grant reaches the camera app through the ClipData as well as the flags (some
        # camera apps only honour one of them).
        intent.setClipData(ClipData.newRawUri("", uri))
        intent.addFlags(Intent.FLAG_GRANT_WRITE_URI_PERMISSION | Intent.FLAG_GRANT_READ_URI_PERMISSION)
        self._start(intent, REQUEST_CAPTURE, on_done, path)

    # -- picking -----------------------------------------------------------------
    def pick_photo(self, on_done: Done) -> None:
        """Open the system photo picker; ``on_done(path_of_a_copy_in_the_cache, None)`` or ``(None, problem)``."""
        Intent = self.autoclass("android.content.Intent")
        if self.sdk >= 33:
            MediaStore = self.autoclass("android.provider.MediaStore")
            intent = Intent(MediaStore.ACTION_PICK_IMAGES)
        else:
            intent = Intent(Intent.ACTION_GET_CONTENT)
            intent.addCategory(Intent.CATEGORY_OPENABLE)
        intent.setType("image/*")
        self._start(intent, REQUEST_PICK, on_done, None)

    def copy_content(self, uri) -> Path:
        """Copy the picked content URI's bytes into the app's cache (it is readable only for now)."""
        resolver = self.activity.getContentResolver()
        pfd = resolver.openFileDescriptor(uri, "r")
        if pfd is None:
            raise OSError("the picker's photo cannot be opened")
        fd = pfd.detachFd()  # a plain file descriptor: read with Python, no Java byte copying
        folder = cache_dir(self.activity) / "picked"
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"picked-{uuid.uuid4().hex}"
        try:
            with os.fdopen(fd, "rb") as src, open(out, "wb") as dst:
                for block in iter(lambda: src.read(1 << 20), b""):
                    dst.write(block)
        except BaseException:
            out.unlink(missing_ok=True)
            raise
        return out

    # -- results -------------------------------------------------------------------
    def _on_activity_result(self, request_code, result_code, intent) -> None:
        if request_code not in self._pending:
            return  # another part of the app's request
        on_done, capture = self._pending.pop(request_code)
        self._unbind_if_idle()
        if request_code == REQUEST_CAPTURE:
            assert capture is not None
            if result_code != RESULT_OK:
                capture.unlink(missing_ok=True)
                self._finish(on_done, None, "cancelled")
            elif not capture.is_file() or capture.stat().st_size == 0:
                capture.unlink(missing_ok=True)
                self._finish(on_done, None, "empty")
            else:
                self._finish(on_done, str(capture), None)
            return
        if result_code != RESULT_OK or intent is None or intent.getData() is None:
            self._finish(on_done, None, "cancelled")
            return
        try:
            path = self.copy_content(intent.getData())
        except Exception as exc:
            self._finish(on_done, None, "failed:" + str(exc))
            return
        self._finish(on_done, str(path), None)
