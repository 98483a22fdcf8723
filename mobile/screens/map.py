"""The offline map: the area's basemap, the walk's track, observations and threats, transects, the
protected-area boundary and the GPS position with its accuracy circle; tap to set a location.

The basemap is the MBTiles file the server provisions for the area (mobile/basemap.py): shown
with its size before it is downloaded, downloaded once (over Wi-Fi; on mobile data only after a
second tap), with progress, resumable. Boundary, transects and the basemap's description come
from the sync reference cached at sign-in (setting ``reference:<area id>``).

In pick mode (``prepare(pick=True, on_pick=...)``, from a form with no GPS fix, finding D5) a tap
puts a cross on the map and "Use this location" hands ``{"lat", "lon", "accuracy_m": None,
"source": "map"}`` back to the form.
"""
from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.uix.screenmanager import Screen
from kivy.utils import platform

from ..basemap import BasemapProblem, MBTiles, basemap_path, download, human_size
from .widgets import set_text

TICK_S = 1.0


def _lines(geometry) -> list[list]:
    """The lines of a GeoJSON geometry (Feature/Collection too), as lists of [lon, lat]."""
    out: list[list] = []
    if not isinstance(geometry, dict):
        return out
    kind = geometry.get("type")
    if kind == "FeatureCollection":
        for f in geometry.get("features") or []:
            out += _lines(f)
    elif kind == "Feature":
        out += _lines(geometry.get("geometry"))
    elif kind == "GeometryCollection":
        for g in geometry.get("geometries") or []:
            out += _lines(g)
    elif kind == "LineString":
        out.append(geometry.get("coordinates") or [])
    elif kind in ("MultiLineString", "Polygon"):
        out += list(geometry.get("coordinates") or [])
    elif kind == "MultiPolygon":
        for poly in geometry.get("coordinates") or []:
            out += list(poly)
    return [line for line in out if isinstance(line, list) and len(line) >= 2]


def walk_layers(store, walk_id: str | None) -> dict:
    """Track (one line per segment), observation and threat positions of a walk, straight from SQLite."""
    if not walk_id:
        return {"track": [], "observations": [], "threats": []}
    with store._lock:  # one short read; the store is shared with the GPS thread
        rows = store._db.execute("SELECT segment, lon, lat FROM track_points WHERE walk_id=? ORDER BY seq",
                                 (walk_id,)).fetchall()
        obs = store._db.execute("SELECT longitude, latitude FROM observations WHERE walk_id=? AND deleted=0 "
                                "AND latitude IS NOT NULL", (walk_id,)).fetchall()
        threats = store._db.execute("SELECT longitude, latitude FROM threats WHERE walk_id=? AND deleted=0 "
                                    "AND latitude IS NOT NULL", (walk_id,)).fetchall()
    track: list[list] = []
    last = None
    for seg, lon, lat in rows:
        if seg != last:
            track.append([])
            last = seg
        track[-1].append((lon, lat))
    return {"track": track, "observations": [tuple(r) for r in obs], "threats": [tuple(r) for r in threats]}


class MapScreen(Screen):
    """The map with its buttons; ``self.map`` is the TileMap."""

    def on_kv_post(self, base_widget):
        self.map = self.ids.map
        self.map.on_tap = self.tapped
        self.pick = False
        self.on_pick = None
        self.return_to = "home"
        self.walk_id = None
        self.picked = None
        self._tick = None
        self._points_seen = -1
        self._mbtiles = None
        self._metered_ok = False
        self.downloading = False

    @property
    def app(self):
        return App.get_running_app()

    def area_id(self) -> str | None:
        return (self.app.store.get_setting("area") or {}).get("id")

    def reference(self) -> dict:
        area = self.area_id()
        return (self.app.store.get_setting(f"reference:{area}") or {}) if area else {}

    def prepare(self, pick: bool = False, on_pick=None, return_to: str = "home", walk_id: str | None = None,
                initial: dict | None = None, **_):
        app = self.app
        self.pick, self.on_pick, self.return_to = pick, on_pick, return_to
        active = app.store.active_walk()
        self.walk_id = walk_id or (active["id"] if active else None)
        self.picked = None
        self.map.set_picked(None)
        self.ids.message.text = ""
        self.ids.use_location.disabled = True
        self.ids.pick_bar.opacity = 1 if pick else 0
        self.ids.pick_bar.disabled = not pick
        self.ids.pick_bar.height = self.ids.use_location.height if pick else 0
        self.load_basemap()
        ref = self.reference()
        boundary = _lines((ref.get("area") or {}).get("boundary"))
        transects = [line for t in ref.get("transects") or [] for line in _lines(t.get("geometry"))]
        self.map.set_layers(boundary=boundary, transects=transects, **walk_layers(app.store, self.walk_id))
        self._points_seen = -1
        self._centre(initial)
        self.update()
        self.show_basemap_status()

    def _centre(self, initial: dict | None) -> None:
        fix = self.app.recorder.last_fix if self.app.recorder else None
        if initial and initial.get("lat") is not None:
            self.map.center_on(initial["lon"], initial["lat"], max(int(self.map.zoom), 15))
            self.picked = (initial["lon"], initial["lat"])
            self.map.set_picked(self.picked)
            self.ids.use_location.disabled = not self.pick
        elif fix is not None:
            self.map.center_on(fix.lon, fix.lat, max(int(self.map.zoom), 15))
        elif self.map.layers["track"] and self.map.layers["track"][-1]:
            lon, lat = self.map.layers["track"][-1][-1]
            self.map.center_on(lon, lat, 15)
        elif self._mbtiles is not None:
            self.map.fit(self._mbtiles.info["bounds"])
        else:
            bounds = (self.reference().get("basemap") or {}).get("bounds")
            if bounds:
                self.map.fit(bounds)

    def on_enter(self, *args):
        if self._tick is None:
            self._tick = Clock.schedule_interval(lambda dt: self.update(), TICK_S)

    def on_leave(self, *args):
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None

    def on_language(self, lang):
        self.show_basemap_status()

    # -- live position and track -------------------------------------------------------
    def update(self) -> None:
        """The GPS position and accuracy circle; the track again when it grew."""
        app = self.app
        fix = app.recorder.last_fix if app.recorder else None
        if fix is None:
            self.map.set_position(None, None)
            set_text(self.ids.gps, app.tr("Waiting for GPS signal…"))
        else:
            self.map.set_position(fix.lon, fix.lat, fix.accuracy_m)
            acc = f"±{fix.accuracy_m:.0f} m" if fix.accuracy_m is not None else "?"
            set_text(self.ids.gps, f"{app.tr('GPS accuracy')}: {acc}")
        if self.walk_id:
            walk = app.store.get_walk(self.walk_id)
            if walk is not None and walk["point_count"] != self._points_seen:
                self._points_seen = walk["point_count"]
                layers = walk_layers(app.store, self.walk_id)
                old = self.map.layers.get("track") or []
                new = layers["track"]
                same_records = (layers["observations"] == self.map.layers.get("observations")
                                and layers["threats"] == self.map.layers.get("threats"))
                grew = (same_records and old and len(new) == len(old) and len(new[-1]) > len(old[-1])
                        and all(len(a) == len(b) for a, b in zip(new[:-1], old[:-1])))
                if grew:  # the usual case while walking: draw only the new piece
                    self.map.append_track(new[-1][len(old[-1]):])
                else:
                    self.map.set_layers(**layers)

    def centre_on_me(self) -> None:
        fix = self.app.recorder.last_fix if self.app.recorder else None
        if fix is None:
            self.ids.message.text = self.app.tr("No GPS position yet")
            return
        self.map.center_on(fix.lon, fix.lat)

    # -- picking a location ------------------------------------------------------------
    def tapped(self, lon: float, lat: float) -> None:
        if not self.pick:
            return
        self.picked = (lon, lat)
        self.map.set_picked(self.picked)
        self.ids.use_location.disabled = False
        self.ids.message.text = f"{lat:.5f}, {lon:.5f}"

    def use_location(self) -> dict | None:
        """Hand the tapped point to the form and go back to it."""
        if self.picked is None:
            self.ids.message.text = self.app.tr("Tap the map where it happened")
            return None
        lon, lat = self.picked
        value = {"lat": round(lat, 7), "lon": round(lon, 7), "accuracy_m": None, "source": "map"}
        if self.on_pick is not None:
            self.on_pick(value)
        self.go_back()
        return value

    def go_back(self) -> None:
        # Back to the form as it was (not prepared again: what the ranger typed stays).
        if self.pick and self.app.sm.has_screen(self.return_to):
            self.app.sm.current = self.return_to
        elif self.app.store.active_walk():
            self.app.show("walk")
        else:
            self.app.show("home")

    # -- basemap ----------------------------------------------------------------------------
    def load_basemap(self) -> None:
        """Open the downloaded basemap of the area, if any (a damaged one is reported, not used)."""
        if self._mbtiles is not None:
            self._mbtiles.close()
            self._mbtiles = None
        area = self.area_id()
        path = basemap_path(self.app.store.root, area) if area else None
        if path is not None and path.is_file():
            try:
                self._mbtiles = MBTiles(path)
            except BasemapProblem as exc:
                self.ids.message.text = exc.message(self.app.lang)
        self.map.set_tiles(self._mbtiles)

    def basemap_state(self) -> str:
        """none (the server has none), missing, outdated or ready."""
        info = self.reference().get("basemap")
        area = self.area_id()
        if self._mbtiles is not None:
            if info and self.app.store.get_setting(f"basemap_sha:{area}") not in (None, info.get("sha256")):
                return "outdated"
            return "ready"
        return "missing" if info else "none"

    def show_basemap_status(self) -> None:
        app = self.app
        if self.downloading:
            return
        state = self.basemap_state()
        info = self.reference().get("basemap") or {}
        size = human_size(info.get("size_bytes") or 0)
        text = {"none": app.tr("No offline map for this area yet: lines and points are shown on a plain background."),
                "missing": app.tr("Offline map for this area: {size}. Download it once, over Wi-Fi.", size=size),
                "outdated": app.tr("A newer offline map is on the server ({size}).", size=size),
                "ready": app.tr("Offline map ready")}[state]
        set_text(self.ids.basemap_status, text)
        show = state in ("missing", "outdated")
        self.ids.download.disabled = not show
        self.ids.download.opacity = 1 if show else 0

    def start_download(self):
        """Download the area's basemap in the background, with its size and progress shown."""
        app = self.app
        info = self.reference().get("basemap")
        server, token = app.store.get_setting("server"), app.store.get_setting("token")
        area = self.area_id()
        if not info or not server or not token or not area or self.downloading:
            return None
        if platform == "android" and not self._metered_ok:
            from ..platform.android_env import unmetered_network

            if not unmetered_network():
                self._metered_ok = True  # a second tap downloads anyway
                set_text(self.ids.basemap_status, app.tr(
                    "Not on Wi-Fi: the map is {size}. Tap Download again to use mobile data anyway.",
                    size=human_size(info["size_bytes"])))
                return None
        self.downloading = True
        self.ids.download.disabled = True
        dest = basemap_path(app.store.root, area)
        total = int(info["size_bytes"])

        def progress(done, _total):
            def show(dt):
                set_text(self.ids.basemap_status, app.tr(
                    "Downloading the map: {done} of {total} ({pct}%)", done=human_size(done),
                    total=human_size(total), pct=int(100 * done / max(total, 1))))
            Clock.schedule_once(show, 0)

        def work():
            import requests

            session = self._session or requests.Session()
            return download(session, server.rstrip("/") + info["download_url"], dest, total, info["sha256"],
                            headers={"Authorization": f"Bearer {token}"}, on_progress=progress)

        def done(result, error):
            self.downloading = False
            self.ids.download.disabled = False
            if error is not None:
                msg = error.message(app.lang) if isinstance(error, BasemapProblem) else str(error)
                set_text(self.ids.basemap_status, msg)
                return
            app.store.set_setting(f"basemap_sha:{area}", result)
            self.load_basemap()
            self.show_basemap_status()
            if self._mbtiles is not None and self.picked is None:
                self.map.fit(self._mbtiles.info["bounds"])

        return app.run_in_background(work, done)

    #: A requests-like session for the download (tests put one over the server's test client).
    _session = None

