"""A small offline map widget over Kivy: MBTiles tiles, lines, markers, the GPS accuracy circle.

Why not kivy_garden.mapview: its last release (1.0.6, 2022) downloads tiles on worker threads
through its own cache and ties the MBTiles source to that machinery; an offline field map needs
far less, and this one is tested headless and measured in benchmarks/mobile.py.

Drawing: everything is placed in world pixels of the current zoom (x east, y north), under one
``Translate``. Panning moves only that translation (plus the tiles that come into view), so a
6-hour track and hundreds of markers are not recomputed while the ranger drags the map; a zoom
change re-projects once. Tiles are decoded on the UI thread as they come into view (a 256-pixel
PNG takes about a millisecond) and kept in a small LRU cache.

Touch: drag to pan, the +/- buttons of the screen (or a double tap) to zoom, and a tap calls
``on_tap(lon, lat)`` (the map screen uses it to set a location when there is no fix).
"""
from __future__ import annotations

import io
from collections import OrderedDict

from kivy.core.image import Image as CoreImage
from kivy.graphics import Color, Ellipse, InstructionGroup, Line, PopMatrix, PushMatrix, Rectangle, Translate
from kivy.metrics import dp
from kivy.properties import NumericProperty
from kivy.uix.stencilview import StencilView

from ..basemap import TILE, lonlat_to_px, metres_per_px, px_to_lonlat, world_size

TAP_SLOP = dp(10)
CACHE_TILES = 96

# Colours (RGBA): readable in sunlight on the green-grey basemap.
BOUNDARY = (0.85, 0.2, 0.75, 1)
TRANSECT = (0.1, 0.35, 0.95, 1)
TRACK = (1.0, 0.45, 0.0, 1)
OBSERVATION = (0.1, 0.6, 0.2, 1)
THREAT = (0.9, 0.1, 0.1, 1)
POSITION = (0.1, 0.5, 1.0, 1)
PICKED = (0.95, 0.85, 0.0, 1)


class TileMap(StencilView):
    """The map (a StencilView: nothing is drawn outside it). Set data with :meth:`set_layers`,
    the position with :meth:`set_position`."""

    zoom = NumericProperty(14)
    min_zoom = NumericProperty(1)
    max_zoom = NumericProperty(19)

    def __init__(self, **kw):
        self.center_lon, self.center_lat = 107.86, 16.195
        self.tiles = None  # an mobile.basemap.MBTiles, or None (no basemap: plain background)
        self.layers: dict = {"boundary": [], "transects": [], "track": [], "observations": [], "threats": []}
        self.position = None  # (lon, lat, accuracy_m)
        self.picked = None  # (lon, lat)
        self.on_tap = None
        self._cache: OrderedDict = OrderedDict()
        self._drawn_tiles: dict = {}
        self._touch_start = None
        self._fit_later = None
        self.redraws = 0  # full re-projections (the benchmark counts them)
        super().__init__(**kw)
        self._tile_group = InstructionGroup()
        self._overlay = InstructionGroup()
        self._marks = InstructionGroup()
        with self.canvas:
            Color(0.86, 0.88, 0.84, 1)
            self._bg = Rectangle(pos=self.pos, size=self.size)
            PushMatrix()
            self._translate = Translate(0, 0)
        # Inside the translated block: tiles, then lines and markers, then the position and picked point.
        for group in (self._tile_group, self._overlay, self._marks):
            self.canvas.add(group)
        self.canvas.add(PopMatrix())
        self.bind(pos=self._on_geometry, size=self._on_geometry, zoom=lambda *_: self.redraw())

    # -- view -----------------------------------------------------------------------
    def center_on(self, lon: float, lat: float, zoom: int | None = None) -> None:
        """Centre the map on a point (and zoom)."""
        self._fit_later = None
        self.center_lon, self.center_lat = lon, lat
        if zoom is not None and int(zoom) != int(self.zoom):
            self.zoom = max(self.min_zoom, min(self.max_zoom, int(zoom)))  # redraws through the binding
        else:
            self._move()

    def zoom_by(self, step: int) -> None:
        """Zoom in (+1) or out (-1) around the centre."""
        self.zoom = max(self.min_zoom, min(self.max_zoom, int(self.zoom) + step))

    def fit(self, bounds) -> None:
        """Show the box [w, s, e, n] as large as it fits."""
        w, s, e, n = bounds
        lon, lat = (w + e) / 2, (s + n) / 2
        z = int(self.max_zoom)
        while z > self.min_zoom:
            x0, y0 = lonlat_to_px(w, n, z)
            x1, y1 = lonlat_to_px(e, s, z)
            if x1 - x0 <= max(self.width, 1) and y1 - y0 <= max(self.height, 1):
                break
            z -= 1
        self.center_on(lon, lat, z)
        if self.width <= 100 or self.height <= 100:  # not laid out yet: fit again once it has its size
            self._fit_later = bounds

    def world_center(self) -> tuple[float, float]:
        """The centre in world pixels (x east, y north) at the current zoom."""
        x, y = lonlat_to_px(self.center_lon, self.center_lat, int(self.zoom))
        return x, world_size(int(self.zoom)) - y

    def to_lonlat(self, wx: float, wy: float) -> tuple[float, float]:
        """The point under window coordinates (wx, wy)."""
        cx, cy = self.world_center()
        z = int(self.zoom)
        px = cx + (wx - self.center_x)
        py_north = cy + (wy - self.center_y)
        return px_to_lonlat(px, world_size(z) - py_north, z)

    def to_widget(self, lon: float, lat: float) -> tuple[float, float]:
        """Window coordinates of a point."""
        cx, cy = self.world_center()
        x, y = self._project(lon, lat)
        return self.center_x + x - cx, self.center_y + y - cy

    def _project(self, lon: float, lat: float) -> tuple[float, float]:
        z = int(self.zoom)
        x, y = lonlat_to_px(lon, lat, z)
        return x, world_size(z) - y

    # -- data ---------------------------------------------------------------------------
    def set_tiles(self, tiles) -> None:
        """Use an MBTiles file (or None) for the basemap."""
        self.tiles = tiles
        self._cache.clear()
        self._clear_tiles()
        if tiles is not None:
            self.min_zoom = max(1, tiles.info["minzoom"] - 2)
        self._update_tiles()

    def set_layers(self, **layers) -> None:
        """Replace layers: boundary / transects (lists of [lon, lat] lines), track (a list of lines),
        observations and threats (lists of (lon, lat))."""
        self.layers.update({k: v for k, v in layers.items() if v is not None})
        self._draw_overlay()

    def append_track(self, points) -> None:
        """Add points at the end of the last track segment without redrawing the rest.

        While a walk records, the track grows every few seconds: drawing only the new piece
        keeps the GPU buffers of the thousands of older points as they are (rebuilding them
        each time made the app's memory grow on Mesa's llvmpipe, ~1.5 MB per rebuild).
        """
        if not points:
            return
        track = self.layers.setdefault("track", [])
        if not track:
            track.append([])
        start = track[-1][-1:] if track[-1] else []
        track[-1].extend(points)
        pts = self._line_points(list(start) + list(points))
        if len(pts) >= 4:
            self._overlay.add(Color(*TRACK))
            self._overlay.add(Line(points=pts, width=dp(2.5), joint="miter", cap="none"))

    def set_position(self, lon: float | None, lat: float | None, accuracy_m: float | None = None) -> None:
        """The GPS position and its accuracy circle (None: no fix, nothing drawn)."""
        self.position = None if lon is None or lat is None else (lon, lat, accuracy_m)
        self._draw_marks()

    def set_picked(self, lonlat) -> None:
        """The point the ranger tapped (or None)."""
        self.picked = lonlat
        self._draw_marks()

    # -- drawing ---------------------------------------------------------------------------
    def _on_geometry(self, *_):
        self._bg.pos, self._bg.size = self.pos, self.size
        if self._fit_later is not None and self.width > 100 and self.height > 100:
            bounds, self._fit_later = self._fit_later, None
            self.fit(bounds)
        self._move()

    def redraw(self) -> None:
        """Re-project everything (after a zoom change or new data)."""
        self.redraws += 1
        self._clear_tiles()
        self._draw_overlay()
        self._move()

    def _move(self) -> None:
        cx, cy = self.world_center()
        self._translate.x = self.center_x - cx
        self._translate.y = self.center_y - cy
        self._update_tiles()
        self._draw_marks()

    def _clear_tiles(self) -> None:
        self._tile_group.clear()
        self._drawn_tiles.clear()

    def _texture(self, key):
        tex = self._cache.get(key)
        if tex is not None:
            self._cache.move_to_end(key)
            return tex
        data = self.tiles.tile(*key) if self.tiles is not None else None
        if data is None:
            return None
        fmt = self.tiles.info["format"]
        try:
            tex = CoreImage(io.BytesIO(data), ext="jpg" if fmt == "jpeg" else fmt).texture
        except Exception:  # a damaged tile: leave the gap, keep the map usable
            return None
        self._cache[key] = tex
        if len(self._cache) > CACHE_TILES:
            self._cache.popitem(last=False)
        return tex

    def _update_tiles(self) -> None:
        """Draw the tiles in view not drawn yet; drop those far out of view."""
        if self.tiles is None:
            return
        z = int(self.zoom)
        info = self.tiles.info
        # Beyond the file's zoom levels, scale up the nearest level's tiles.
        src_z = max(info["minzoom"], min(info["maxzoom"], z))
        scale = 2 ** (z - src_z)
        tile_px = TILE * scale
        n = 2 ** src_z
        cx, cy = self.world_center()
        half_w, half_h = self.width / 2 + tile_px, self.height / 2 + tile_px
        size = world_size(z)
        x0, x1 = int(max(0, (cx - half_w) // tile_px)), int(min(n - 1, (cx + half_w) // tile_px))
        # Rows count from the top (XYZ); world y here grows to the north.
        top, bottom = size - (cy + half_h), size - (cy - half_h)
        y0, y1 = int(max(0, top // tile_px)), int(min(n - 1, bottom // tile_px))
        wanted = {(src_z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)}
        for key in list(self._drawn_tiles):
            if key not in wanted:
                self._tile_group.remove(self._drawn_tiles.pop(key))
        for key in sorted(wanted - set(self._drawn_tiles)):
            tex = self._texture(key)
            if tex is None:
                continue
            _, x, y = key
            g = InstructionGroup()
            g.add(Color(1, 1, 1, 1))
            g.add(Rectangle(texture=tex, pos=(x * tile_px, size - (y + 1) * tile_px), size=(tile_px, tile_px)))
            self._tile_group.add(g)
            self._drawn_tiles[key] = g

    def _line_points(self, coords) -> list[float]:
        """Projected points, dropping those within 1.5 pixels of the last kept one (a 6-hour track at
        low zoom is thousands of points on a few hundred pixels)."""
        pts: list[float] = []
        lx = ly = None
        limit = dp(1.5) ** 2
        last = len(coords) - 1
        for i, c in enumerate(coords):
            x, y = self._project(c[0], c[1])
            if lx is not None and ly is not None and i != last and (x - lx) ** 2 + (y - ly) ** 2 < limit:
                continue
            pts += [x, y]
            lx, ly = x, y
        return pts

    def _draw_overlay(self) -> None:
        g = self._overlay
        g.clear()
        width = dp(2.5)
        for name, colour, w in (("boundary", BOUNDARY, dp(2)), ("transects", TRANSECT, width), ("track", TRACK, width)):
            g.add(Color(*colour))
            for line in self.layers.get(name) or []:
                pts = self._line_points(line)
                if len(pts) >= 4:
                    # No round joints: thousands of points would each get a fan of triangles.
                    g.add(Line(points=pts, width=w, joint="miter", cap="none"))
        r = dp(7)
        g.add(Color(*OBSERVATION))
        for lon, lat in self.layers.get("observations") or []:
            x, y = self._project(lon, lat)
            g.add(Ellipse(pos=(x - r, y - r), size=(2 * r, 2 * r), segments=12))  # 12 sides look round at 14 px
        g.add(Color(*THREAT))
        for lon, lat in self.layers.get("threats") or []:
            x, y = self._project(lon, lat)
            g.add(Rectangle(pos=(x - r, y - r), size=(2 * r, 2 * r)))

    def accuracy_radius_px(self) -> float:
        """The accuracy circle's radius in pixels at the current zoom (0 without a fix or accuracy)."""
        if self.position is None:
            return 0.0
        _, lat, accuracy = self.position
        if accuracy is None:
            return 0.0
        return accuracy / metres_per_px(lat, int(self.zoom))

    def _draw_marks(self) -> None:
        g = self._marks
        g.clear()
        if self.position is not None:
            lon, lat, _ = self.position
            x, y = self._project(lon, lat)
            rad = self.accuracy_radius_px()
            if rad > 0:
                g.add(Color(POSITION[0], POSITION[1], POSITION[2], 0.18))
                g.add(Ellipse(pos=(x - rad, y - rad), size=(2 * rad, 2 * rad)))
                g.add(Color(*POSITION))
                g.add(Line(circle=(x, y, rad), width=dp(1.2)))
            r = dp(8)
            g.add(Color(1, 1, 1, 1))
            g.add(Ellipse(pos=(x - r - dp(2), y - r - dp(2)), size=(2 * r + dp(4), 2 * r + dp(4))))
            g.add(Color(*POSITION))
            g.add(Ellipse(pos=(x - r, y - r), size=(2 * r, 2 * r)))
        if self.picked is not None:
            x, y = self._project(*self.picked)
            r = dp(11)
            g.add(Color(0, 0, 0, 1))
            g.add(Line(points=[x - r, y, x + r, y], width=dp(2)))
            g.add(Line(points=[x, y - r, x, y + r], width=dp(2)))
            g.add(Color(*PICKED))
            g.add(Line(circle=(x, y, r), width=dp(2.5)))

    # -- touch --------------------------------------------------------------------------------
    def on_touch_down(self, touch):
        if not self.collide_point(*touch.pos):
            return super().on_touch_down(touch)
        if touch.is_double_tap:
            self.zoom_by(1)
            return True
        touch.grab(self)
        self._touch_start = touch.pos
        return True

    def on_touch_move(self, touch):
        if touch.grab_current is not self:
            return super().on_touch_move(touch)
        z = int(self.zoom)
        cx, cy = self.world_center()
        cx, cy = cx - touch.dx, cy - touch.dy
        self.center_lon, self.center_lat = px_to_lonlat(cx, world_size(z) - cy, z)
        self._move()
        return True

    def on_touch_up(self, touch):
        if touch.grab_current is not self:
            return super().on_touch_up(touch)
        touch.ungrab(self)
        start, self._touch_start = self._touch_start, None
        if start is not None and abs(touch.x - start[0]) <= TAP_SLOP and abs(touch.y - start[1]) <= TAP_SLOP:
            if self.on_tap is not None:
                self.on_tap(*self.to_lonlat(*touch.pos))
        return True
