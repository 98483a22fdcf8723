"""The Saola field app (Kivy): a thin GUI over store, location, reference and recorder.

Screens are created on first use (each with its own .kv), so the app shows
its first screen quickly. All state that matters lives in the Store: the
app can be killed at any moment and picks up where it was, including a walk
in progress.

Environment (desktop and tests):
    SAOLA_MOBILE_DATA     app storage folder (default: Kivy's user_data_dir)
    SAOLA_REPLAY_TRACK    a GPX/NMEA file replayed as the GPS (desktop)
    SAOLA_REPLAY_SPEED    replay speed factor (default 1; 0 = fixes only on demand)
"""
from __future__ import annotations

import importlib
import os
import threading
import time
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.metrics import dp, sp
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.popup import Popup
from kivy.uix.screenmanager import NoTransition, ScreenManager
from kivy.utils import platform

from .i18n import DEFAULT_LANGUAGE, LANGUAGES, tr
from .location import ReplayProvider, TrackFilter
from .recorder import WalkRecorder
from .reference import Reference
from .screens.chooser import TouchFileChooser
from .store import Store

SCREENS_DIR = Path(__file__).with_name("screens")

# name -> (module, class); the .kv file has the module's name.
SCREENS = {
    "signin": ("signin", "SignInScreen"),
    "area": ("area", "AreaScreen"),
    "home": ("home", "HomeScreen"),
    "walk": ("walk", "WalkScreen"),
    "form": ("form", "FormScreen"),
    "species": ("species", "SpeciesScreen"),
    "records": ("records", "RecordsScreen"),
    "summary": ("summary", "SummaryScreen"),
    "map": ("map", "MapScreen"),
    "record": ("record", "RecordScreen"),
}


def make_location_provider():
    """Android: plyer GPS. Desktop: replay SAOLA_REPLAY_TRACK, else a built-in demo walk."""
    if platform == "android":
        from .location import PlyerGPSProvider

        return PlyerGPSProvider()
    speed = float(os.environ.get("SAOLA_REPLAY_SPEED", "1"))
    track = os.environ.get("SAOLA_REPLAY_TRACK")
    if track:
        return ReplayProvider(track, speed=speed)
    from .demo import demo_fixes

    return ReplayProvider(demo_fixes(), speed=speed)


class SaolaApp(App):
    """The field app. ``lang`` drives every label: kv rules read app.tr("English text", app.lang)."""

    lang = StringProperty(DEFAULT_LANGUAGE)
    title = "Saola"

    def __init__(self, data_dir: str | None = None, provider=None, **kw):
        super().__init__(**kw)
        self._data_dir = data_dir
        self._provider = provider
        self.store: Store | None = None
        self.reference: Reference | None = None
        self.recorder: WalkRecorder | None = None
        self.first_frame_callbacks = []
        self._service_started = False
        self.dialog = None  # the open confirmation or choice (screens/dialogs.py)
        self.last_toast = None  # the last "saved" notice
        self._sync = None
        self._autosync = None
        self.photo_worker = None
        self._permission_flow = None
        self._android_photos = None
        self.location_refused = False

    # -- setup ------------------------------------------------------------------
    def build(self):
        data_dir = self._data_dir or os.environ.get("SAOLA_MOBILE_DATA") or self.user_data_dir
        self.store = Store(data_dir)
        self.reference = Reference(self.store)
        self.lang = self.store.get_setting("language", DEFAULT_LANGUAGE)
        self.recorder = WalkRecorder(self.store, self._provider or make_location_provider())
        from .photos import DEFAULT_MAX_PX, PhotoWorker

        # Photos are resized off the UI thread; the result comes back on it (Clock).
        self.photo_worker = PhotoWorker(self.store, post=lambda fn: Clock.schedule_once(lambda dt: fn(), 0),
                                        max_px=lambda: self.store.get_setting("photo_max_px", DEFAULT_MAX_PX))
        from .screens import widgets  # noqa: F401  (registers TopBar, FieldTitle... with the Factory)

        Builder.load_file(str(SCREENS_DIR / "common.kv"))
        self.sm = ScreenManager(transition=NoTransition())
        return self.sm

    def on_start(self):
        walk = self.store.active_walk()
        if walk is not None:
            # Killed mid-walk: go straight back to it and keep recording.
            self.show("walk", resumed=True)
        elif self.store.get_setting("program") is not None:
            self.show("home")
        elif self.store.get_setting("token") or self.store.get_setting("offline"):
            self.show("area")
        else:
            self.show("signin")
        self.start_autosync()
        from kivy.core.window import Window

        Window.bind(on_flip=self._first_frame)

    # -- Android: permissions asked when a feature needs them (mobile/platform/) -------
    def permission_flow(self):
        """The run-time permission flow (Android), or None elsewhere (nothing to ask)."""
        if platform != "android":
            return None
        if self._permission_flow is None:
            from .platform.android_env import sdk_int
            from .platform.permissions import PermissionFlow

            self._permission_flow = PermissionFlow(sdk_int(), post=self.post)
        return self._permission_flow

    def with_permission(self, feature: str, then, on_refused=None) -> None:
        """Run ``then()`` once ``feature`` (location, camera, photos, notifications) is allowed.

        On a refusal the ranger is told what it means and how to allow it (current screen's
        message line), then ``on_refused()`` runs if given.
        """
        flow = self.permission_flow()
        if flow is None:
            then()
            return

        def refused(feature):
            from .platform.permissions import refusal_message

            self.tell(refusal_message(feature, self.lang))
            if on_refused is not None:
                on_refused()
        flow.ensure(feature, then, refused)

    def post(self, fn) -> None:
        """Run ``fn()`` on the UI thread at the next frame (from any thread)."""
        Clock.schedule_once(lambda dt: fn(), 0)

    def tell(self, text: str) -> None:
        """Show ``text`` on the current screen's message line (if it has one)."""
        scr = self.sm.current_screen if self.sm else None
        label = getattr(scr, "ids", {}).get("message") if scr is not None else None
        if label is not None:
            label.text = text

    def _first_frame(self, *args):
        # on_flip: the first frame is on screen (what "cold start" measures).
        from kivy.core.window import Window

        Window.unbind(on_flip=self._first_frame)
        for cb in self.first_frame_callbacks:
            cb()
        if os.environ.get("SAOLA_EXIT_AFTER_FIRST_FRAME"):
            print(f"FIRST_FRAME {time.time():.6f} {self.sm.current}", flush=True)
            self.stop()

    def on_stop(self):
        if self._autosync is not None:
            self._autosync.stop()
        if self.recorder is not None:
            self.recorder.shutdown()
        if self.store is not None:
            self.store.close()

    def on_pause(self):
        # Android: keep running in the background (the GPS service records the track).
        return True

    # -- navigation -------------------------------------------------------------
    def screen(self, name: str):
        """The screen ``name``, created (and its .kv loaded) on first use."""
        if not self.sm.has_screen(name):
            module_name, cls_name = SCREENS[name]
            Builder.load_file(str(SCREENS_DIR / f"{module_name}.kv"))
            module = importlib.import_module(f".screens.{module_name}", __package__)
            self.sm.add_widget(getattr(module, cls_name)(name=name))
        return self.sm.get_screen(name)

    def show(self, name: str, **kwargs):
        """Open screen ``name``, passing ``kwargs`` to its prepare()."""
        scr = self.screen(name)
        if hasattr(scr, "prepare"):
            scr.prepare(**kwargs)
        self.sm.current = name
        return scr

    # -- language ---------------------------------------------------------------
    def tr(self, message: str, lang: str | None = None, **params) -> str:
        """``message`` (English text) in the current language (pass app.lang in kv so it rebinds)."""
        return tr(message, lang or self.lang, **params)

    def set_language(self, lang: str):
        """Switch every screen to ``lang`` ("vi" or "en") and remember it."""
        if lang not in LANGUAGES:
            raise ValueError(f"language {lang!r} is not one of {LANGUAGES}")
        self.lang = lang
        self.store.set_setting("language", lang)
        for scr in self.sm.screens:
            if hasattr(scr, "on_language"):
                scr.on_language(lang)

    def toggle_language(self):
        """The top bar's vi/en button."""
        self.set_language("en" if self.lang == "vi" else "vi")

    # -- location ---------------------------------------------------------------
    def start_recording(self, walk_id: str):
        """Record the walk's track: in the foreground service on Android, in-process elsewhere.

        Android 14 lets a location foreground service start only once the app holds a
        location permission, so it is asked first; notifications (the service's notice) too.
        """
        if platform == "android":
            def start_service():
                self.location_refused = False
                self._android_service("start")
                self._service_started = True
                self.recorder.listen()  # forms still want the current position

            def refused():
                self.location_refused = True
            self.with_permission("location", lambda: self.with_permission("notifications", start_service,
                                                                         on_refused=start_service),
                                 on_refused=refused)
        else:
            self.recorder.filter = self.track_filter()
            self.recorder.start(walk_id)

    def stop_recording(self):
        """Pause or stop: the store's walk status tells the service; in-process recording stops here."""
        self.recorder.stop()

    def recording(self) -> bool:
        """True while this process (desktop) records the track."""
        return self._service_started if platform == "android" else self.recorder.running

    def _android_service(self, action: str):
        from jnius import autoclass  # lazy: Android only

        activity = autoclass("org.kivy.android.PythonActivity").mActivity
        service = autoclass(f"{activity.getPackageName()}.ServiceGps")
        if action == "start":
            service.start(activity, str(self.store.root))
        else:
            service.stop(activity)

    def track_filter(self) -> TrackFilter:
        """A filter with the line-transect protocol's GPS settings."""
        return TrackFilter.from_protocol(self.reference.protocol("line_transect"))

    def current_location(self) -> dict | None:
        """The latest GPS fix as a geopoint, or None."""
        return self.recorder.current_location() if self.recorder else None

    def ensure_gps(self):
        """Keep the receiver on outside walks too, so forms get a position."""
        def listen():
            self.location_refused = False
            self.recorder.listen()

        def refused():
            self.location_refused = True
        self.with_permission("location", listen, on_refused=refused)

    # -- photos -----------------------------------------------------------------
    def android_photos(self):
        """Camera capture and photo picking through intents (mobile/platform/android_camera.py)."""
        if self._android_photos is None:
            from .platform.android_camera import AndroidPhotos

            self._android_photos = AndroidPhotos(post=self.post)
        return self._android_photos

    def add_photo(self, field_widget, camera: bool = False):
        """Camera or gallery (Android), file chooser (desktop); the photo is resized into the store
        on the photo worker's thread, the field shows it when done."""
        if platform == "android":
            from .platform.android_camera import problem_message

            def done(path, problem):
                if path:
                    self._photo_chosen(field_widget, path, delete_source=True)
                elif problem_message(problem, self.lang):
                    field_widget.show_error(problem_message(problem, self.lang))
            photos = self.android_photos()
            if camera:
                self.with_permission("camera", lambda: photos.take_photo(done))
            else:
                self.with_permission("photos", lambda: photos.pick_photo(done))
            return None
        return self.open_file_chooser(lambda path: self._photo_chosen(field_widget, path))

    def open_file_chooser(self, on_choice):
        """A popup file chooser filtered to images."""
        box = BoxLayout(orientation="vertical", spacing=dp(6))
        start = os.environ.get("SAOLA_PHOTO_DIR") or str(Path.home())
        chooser = TouchFileChooser(path=start, filters=["*.jpg", "*.jpeg", "*.png", "*.JPG", "*.JPEG", "*.PNG"])
        row = BoxLayout(size_hint_y=None, height=dp(56), spacing=dp(6))
        ok = Button(text=self.tr("Photo from file"), font_size=sp(18))
        cancel = Button(text=self.tr("Cancel"), font_size=sp(18))
        row.add_widget(cancel)
        row.add_widget(ok)
        box.add_widget(chooser)
        box.add_widget(row)
        popup = Popup(title=self.tr("Choose a photo"), content=box, size_hint=(0.95, 0.9))
        def choose(*_):
            if chooser.selection:
                popup.dismiss()
                on_choice(chooser.selection[0])
        ok.bind(on_release=choose)
        cancel.bind(on_release=lambda *_: popup.dismiss())
        popup.open()
        self.file_chooser = chooser
        self.file_chooser_popup = popup
        return popup

    def _photo_chosen(self, field_widget, path, delete_source: bool = False):
        """Queue the photo on the worker and return at once; the field shows it (or why not) when done."""
        if not path:
            return
        field_widget.begin_pending()

        def done(sha, error):
            field_widget.end_pending()
            if error is not None:
                field_widget.show_error(error.message(self.lang))
            else:
                field_widget.add(sha)
        assert self.photo_worker is not None, "build() makes the photo worker"
        self.photo_worker.submit(path, done, delete_source=delete_source)

    # -- locations without a fix (D5) ----------------------------------------------
    def pick_on_map(self, on_pick, initial: dict | None = None, return_to: str = "form"):
        """Open the map to tap a location; ``on_pick(geopoint)`` gets it (the form stays as it was)."""
        self.show("map", pick=True, on_pick=on_pick, return_to=return_to, initial=initial)

    # -- sync (mobile/sync.py does the work; the app owns one client) --------------
    def sync_client(self):
        """The sync client for the signed-in server, or None when working offline."""
        server, token = self.store.get_setting("server"), self.store.get_setting("token")
        if not server or not token:
            return None
        if self._sync is None or self._sync.token != token or self._sync.server != server.rstrip("/"):
            from .sync import SyncClient

            self._sync = SyncClient(self.store, server, token, on_progress=self._sync_progress)
        return self._sync

    def _sync_progress(self, progress):
        # Called on the sync thread: hand it to the UI thread.
        def show(dt):
            if self.sm.has_screen("home"):
                self.sm.get_screen("home").show_progress(progress)
        Clock.schedule_once(show, 0)

    def start_autosync(self):
        """Sync by itself when the network comes back (and every few minutes while it is up)."""
        client = self.sync_client()
        if client is None or self._autosync is not None:
            return
        from .sync import AutoSync

        self._autosync = AutoSync(client)
        self._autosync.start()

    # -- background work ----------------------------------------------------------
    def run_in_background(self, work, on_done):
        """Run ``work()`` off the UI thread; ``on_done(result, error)`` runs on it."""
        def target():
            try:
                result, error = work(), None
            except Exception as exc:  # reported to the screen, which shows it
                result, error = None, exc
            Clock.schedule_once(lambda dt: on_done(result, error), 0)
        t = threading.Thread(target=target, daemon=True)
        t.start()
        return t
