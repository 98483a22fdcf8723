"""Fakes of the Android classes the app's Java-facing code uses (pyjnius autoclass/cast,
python-for-android's android.activity and android.permissions), for desktop tests.

They behave as the real classes do in the ways the code relies on: FileProvider refuses an
authority the manifest does not declare and files outside its shared folder; the activity's
startActivityForResult raises ActivityNotFoundException when no app handles the intent; a
content resolver hands out a real file descriptor; Build.VERSION.SDK_INT is settable.
"""
from __future__ import annotations

import os
from pathlib import Path


class JavaException(Exception):
    """What pyjnius raises for a Java exception (the Java class name is in the message)."""


class JFile:
    """java.io.File"""

    def __init__(self, path):
        self.path = str(path)

    def getAbsolutePath(self):
        return self.path


class Uri:
    def __init__(self, text: str, path: Path | None = None):
        self.text, self.path = text, path

    def toString(self):
        return self.text

    def getScheme(self):
        return self.text.split(":", 1)[0]


class Intent:
    ACTION_GET_CONTENT = "android.intent.action.GET_CONTENT"
    CATEGORY_OPENABLE = "android.intent.category.OPENABLE"
    FLAG_GRANT_READ_URI_PERMISSION = 0x1
    FLAG_GRANT_WRITE_URI_PERMISSION = 0x2

    def __init__(self, action=None):
        self.action, self.extras, self.flags, self.categories = action, {}, 0, []
        self.type = self.clip = self.data = None

    def putExtra(self, key, value):
        self.extras[key] = value
        return self

    def addFlags(self, flags):
        self.flags |= flags
        return self

    def setClipData(self, clip):
        self.clip = clip

    def setType(self, t):
        self.type = t
        return self

    def addCategory(self, c):
        self.categories.append(c)
        return self

    def getData(self):
        return self.data


class MediaStore:
    ACTION_IMAGE_CAPTURE = "android.media.action.IMAGE_CAPTURE"
    ACTION_PICK_IMAGES = "android.provider.action.PICK_IMAGES"
    EXTRA_OUTPUT = "output"


class ClipData:
    @staticmethod
    def newRawUri(label, uri):
        return ("raw", label, uri)


class FileProvider:
    """androidx.core.content.FileProvider with the app's declared authority and <cache-path name="captures">."""

    declared_authority = "org.saola.saola.fileprovider"

    @classmethod
    def getUriForFile(cls, context, authority, file):
        if authority != cls.declared_authority:
            raise JavaException(f"java.lang.IllegalArgumentException: Couldn't find meta-data for provider "
                                f"with authority {authority}")
        path = Path(file.getAbsolutePath())
        shared = Path(context.cache) / "captures"
        if shared not in path.parents:
            raise JavaException(f"java.lang.IllegalArgumentException: Failed to find configured root that "
                                f"contains {path}")
        return Uri(f"content://{authority}/captures/{path.name}", path)


class ParcelFileDescriptor:
    def __init__(self, path):
        self._fd = os.open(path, os.O_RDONLY)

    def detachFd(self):
        fd, self._fd = self._fd, -1
        return fd


class ContentResolver:
    def __init__(self):
        self.contents: dict[str, Path] = {}

    def openFileDescriptor(self, uri, mode):
        assert mode == "r"
        return ParcelFileDescriptor(self.contents[uri.toString()])


class Activity:
    """PythonActivity.mActivity: package name, private folders, startActivityForResult."""

    def __init__(self, root: Path, handles=("android.media.action.IMAGE_CAPTURE", "android.provider.action.PICK_IMAGES",
                                            "android.intent.action.GET_CONTENT")):
        self.cache, self.files = root / "cache", root / "files"
        self.cache.mkdir(parents=True, exist_ok=True)
        self.files.mkdir(parents=True, exist_ok=True)
        self.started: list[tuple] = []
        self.handles = set(handles)
        self.resolver = ContentResolver()

    def getPackageName(self):
        return "org.saola.saola"

    def getCacheDir(self):
        return JFile(self.cache)

    def getFilesDir(self):
        return JFile(self.files)

    def getContentResolver(self):
        return self.resolver

    def startActivityForResult(self, intent, code):
        if intent.action not in self.handles:
            raise JavaException(f"android.content.ActivityNotFoundException: No Activity found to handle Intent "
                                f"{{ act={intent.action} }}")
        self.started.append((intent, code))


class ActivityModule:
    """python-for-android's ``android.activity``: bind/unbind on_activity_result."""

    def __init__(self):
        self.callbacks: list = []

    def bind(self, on_activity_result=None):
        self.callbacks.append(on_activity_result)

    def unbind(self, on_activity_result=None):
        self.callbacks.remove(on_activity_result)

    def result(self, request_code, result_code, intent=None):
        """Android delivers an activity result to every bound callback."""
        for cb in list(self.callbacks):
            cb(request_code, result_code, intent)


class PermissionsModule:
    """python-for-android's ``android.permissions``: the ranger answers with ``answer``."""

    def __init__(self, granted=(), answer=None):
        self.granted = set(granted)
        self.answer = answer or {}
        self.requests: list[list[str]] = []
        self.pending = None

    def check_permission(self, p):
        return p in self.granted

    def request_permissions(self, perms, callback):
        self.requests.append(list(perms))
        self.pending = (list(perms), callback)

    def reply(self):
        """The ranger answers the system dialog (Android calls back on its UI thread)."""
        perms, callback = self.pending
        self.pending = None
        grants = [bool(self.answer.get(p, False)) for p in perms]
        self.granted |= {p for p, g in zip(perms, grants) if g}
        callback(perms, grants)


class BuildVersion:
    SDK_INT = 34


class PythonService:
    """org.kivy.android.PythonService.mService: a Context with the app's files folder."""

    def __init__(self, files: Path):
        self.files = files
        self.auto_restart: list[bool] = []
        self.stopped = False

    def getFilesDir(self):
        return JFile(self.files)

    def setAutoRestartService(self, value):
        self.auto_restart.append(value)

    def stopSelf(self):
        self.stopped = True


def make_autoclass(activity: Activity | None = None, sdk: int = 34, service: PythonService | None = None):
    """An ``autoclass`` returning the fakes; records the class names asked for."""
    version = type("BuildVersion", (), {"SDK_INT": sdk})
    classes = {
        "org.kivy.android.PythonActivity": type("PythonActivity", (), {"mActivity": activity}),
        "org.kivy.android.PythonService": type("PythonServiceClass", (), {"mService": service}),
        "android.os.Build$VERSION": version,
        "android.content.Intent": Intent,
        "android.provider.MediaStore": MediaStore,
        "android.content.ClipData": ClipData,
        "androidx.core.content.FileProvider": FileProvider,
        "java.io.File": JFile,
    }
    asked: list[str] = []

    def autoclass(name):
        asked.append(name)
        return classes[name]

    autoclass.asked = asked  # type: ignore[attr-defined]
    return autoclass


def cast(name, obj):
    return obj
