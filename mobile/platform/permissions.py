"""Run-time permissions, asked when a feature needs them, with what to tell the ranger on a refusal.

Which permissions each feature needs depends on the API level:

- ``location`` (walk tracks, a record's position): ACCESS_FINE_LOCATION and
  ACCESS_COARSE_LOCATION (Android 12+ lets the ranger grant only "approximate", which cannot
  record a transect, so FINE must be granted). Asked *before* the GPS foreground service
  starts: since Android 14 a service of type ``location`` (FOREGROUND_SERVICE_LOCATION in the
  manifest) may only start once the app holds a location permission, else Android throws a
  SecurityException. The service starts while the app is in the foreground, so
  ACCESS_BACKGROUND_LOCATION is not needed and not asked.
- ``notifications``: POST_NOTIFICATIONS from Android 13 (API 33), so the "recording the track"
  notification of the service is shown; recording works without it.
- ``camera``: CAMERA. The manifest declares CAMERA, and then ACTION_IMAGE_CAPTURE itself
  needs it granted (else SecurityException).
- ``photos``: nothing from Android 13 on: the system photo picker hands over the chosen photo
  without any storage permission (and Google Play's policy restricts READ_MEDIA_IMAGES to
  apps that need the whole gallery). Up to Android 12, READ_EXTERNAL_STORAGE, because older
  pickers and file managers may return a file path instead of a content URI.

:class:`PermissionFlow` checks, asks for the missing ones, and calls back on the Kivy thread
(``post``) with the result; :func:`refusal_message` says, in the ranger's language, what the
refusal means and where to allow it.
"""
from __future__ import annotations

from typing import Callable

from ..i18n import N_, tr

P = "android.permission."
FINE, COARSE = P + "ACCESS_FINE_LOCATION", P + "ACCESS_COARSE_LOCATION"
CAMERA, NOTIFICATIONS = P + "CAMERA", P + "POST_NOTIFICATIONS"
READ_STORAGE = P + "READ_EXTERNAL_STORAGE"
FEATURES = ("location", "notifications", "camera", "photos")

_REFUSED = {
    "location": N_("Location was not allowed: the walk's track and record positions cannot be taken. "
                   "Open Settings › Apps › Saola › Permissions › Location, choose “Allow only while using the "
                   "app” and “Use precise location”, then start again. You can still set a position on the map."),
    "camera": N_("The camera was not allowed. Open Settings › Apps › Saola › Permissions › Camera and allow it, "
                 "or add the photo from the gallery."),
    "photos": N_("Photos were not allowed. Open Settings › Apps › Saola › Permissions › Photos and allow them, "
                 "or take the photo with the camera."),
    "notifications": N_("Notifications are off: the track is still recorded, but Android shows no "
                        "“recording” notice. Allow them in Settings › Apps › Saola › Notifications."),
}


def needed(feature: str, sdk: int) -> list[str]:
    """The permissions ``feature`` needs at API level ``sdk`` (see the module's notes)."""
    if feature == "location":
        return [FINE, COARSE]
    if feature == "notifications":
        return [NOTIFICATIONS] if sdk >= 33 else []
    if feature == "camera":
        return [CAMERA]
    if feature == "photos":
        return [] if sdk >= 33 else [READ_STORAGE]
    raise ValueError(f"unknown feature {feature!r}; expected one of {FEATURES}")


def essential(feature: str, sdk: int) -> list[str]:
    """The permissions without which ``feature`` cannot work (precise location for tracks)."""
    return [FINE] if feature == "location" else needed(feature, sdk)


def refusal_message(feature: str, lang: str) -> str:
    """What a refusal of ``feature`` means for the ranger and how to allow it, in ``lang``."""
    return tr(_REFUSED[feature], lang)


class PermissionFlow:
    """Ask for a feature's permissions when it is about to be used.

    ``permissions`` is python-for-android's ``android.permissions`` module (check_permission,
    request_permissions), ``post(fn)`` runs ``fn`` on the Kivy thread: Android calls the
    request's callback on its own UI thread.
    """

    def __init__(self, sdk: int, permissions=None, post: Callable[[Callable[[], None]], None] | None = None):
        if permissions is None:
            from android import permissions as real  # lazy: python-for-android only

            permissions = real
        self.sdk = sdk
        self.permissions = permissions
        self.post = post or (lambda fn: fn())
        self.asked: list[list[str]] = []  # what was requested, in order (logs and tests)

    def granted(self, feature: str) -> bool:
        """Whether everything ``feature`` cannot work without is granted already."""
        return all(self.permissions.check_permission(p) for p in essential(feature, self.sdk))

    def ensure(self, feature: str, on_granted: Callable[[], None],
               on_refused: Callable[[str], None] | None = None) -> None:
        """Call ``on_granted()`` once ``feature`` may be used, else ``on_refused(feature)``.

        Asks only for what is missing; nothing is asked when all is granted (``on_granted``
        then runs at once, on the calling thread).
        """
        missing = [p for p in needed(feature, self.sdk) if not self.permissions.check_permission(p)]
        if not missing:
            on_granted()
            return
        self.asked.append(missing)

        def answered(permissions, grants):
            result = dict(zip(permissions, grants))

            def deliver():
                ok = all(result.get(p, self.permissions.check_permission(p)) for p in essential(feature, self.sdk))
                if ok:
                    on_granted()
                elif on_refused is not None:
                    on_refused(feature)
            self.post(deliver)

        self.permissions.request_permissions(missing, answered)
