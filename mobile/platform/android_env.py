"""Where the app lives on Android: API level, private folders, and the GPS service's data folder.

The GPS service runs in its own process. python-for-android passes it the app's data folder
as ``PYTHON_SERVICE_ARGUMENT`` when the app starts it, but when Android restarts a sticky
service after killing it, the argument comes back empty and the working folder is the app's
code folder: opening a database there finds no walk (finding D4). So the service asks Android
itself: its own Context's files folder is the app's ``user_data_dir`` (Kivy 2.3 uses
``Context.getFilesDir()``), the same folder in every process of the package.
"""
from __future__ import annotations

import os
from pathlib import Path

#: The store's database file name (mobile/store.py).
DB_NAME = "saola.db"


def _autoclass(autoclass=None):
    if autoclass is not None:
        return autoclass
    from jnius import autoclass as real  # lazy: Android only

    return real


def sdk_int(autoclass=None) -> int:
    """The device's Android API level (Build.VERSION.SDK_INT)."""
    return int(_autoclass(autoclass)("android.os.Build$VERSION").SDK_INT)


def activity(autoclass=None):
    """The app's activity (org.kivy.android.PythonActivity.mActivity)."""
    return _autoclass(autoclass)("org.kivy.android.PythonActivity").mActivity


def cache_dir(context) -> Path:
    """The app's private cache folder (where camera captures land before they are resized)."""
    return Path(context.getCacheDir().getAbsolutePath())


def files_dir(context) -> Path:
    """The app's private files folder (Kivy's ``user_data_dir`` on Android: the store lives here)."""
    return Path(context.getFilesDir().getAbsolutePath())


def has_store(folder: str | os.PathLike | None) -> bool:
    """Whether ``folder`` holds the app's database."""
    return folder is not None and str(folder) != "" and (Path(folder) / DB_NAME).is_file()


class NoStore(RuntimeError):
    """The service cannot find the app's database (the message lists where it looked)."""


def service_data_dir(argument: str | None, environ=None, service_context=None) -> Path:
    """The app's data folder for the GPS service, whatever way Android started it.

    In order: the argument the app passed (when it holds the database), the service Context's
    files folder, then python-for-android's ``ANDROID_PRIVATE``. Never the working folder:
    a database opened there is a new, empty one. Raises :class:`NoStore` when none holds it.
    """
    environ = os.environ if environ is None else environ
    tried: list[str] = []
    candidates: list[str | None] = [argument or None]
    if service_context is not None:
        try:
            candidates.append(str(files_dir(service_context)))
        except Exception as exc:  # a Java exception: keep looking, say so if nothing works
            tried.append(f"Context.getFilesDir() failed: {exc}")
    candidates.append(environ.get("ANDROID_PRIVATE"))
    for c in candidates:
        if c and has_store(c):
            return Path(c)
        if c:
            tried.append(c)
    raise NoStore(f"no {DB_NAME} in any of: {', '.join(tried) or 'nothing to try'}")


def unmetered_network(autoclass=None, cast=None) -> bool:
    """Whether the active network is unmetered (Wi-Fi), where big downloads (the basemap) belong.

    False when there is no network or it is metered (mobile data, a phone's hotspot).
    """
    autoclass = _autoclass(autoclass)
    if cast is None:
        from jnius import cast as jnius_cast  # lazy: Android only

        cast = jnius_cast
    context = activity(autoclass)
    Context = autoclass("android.content.Context")
    manager = cast("android.net.ConnectivityManager", context.getSystemService(Context.CONNECTIVITY_SERVICE))
    if manager.getActiveNetwork() is None:
        return False
    return not manager.isActiveNetworkMetered()
