"""Drive the real Saola app headless, one scenario per process (imported by scenario scripts only).

Kivy keeps global state (one Window, one EventLoop, one Clock), so each UI
scenario runs in its own subprocess; pytest only reads the JSON it prints.
The window is SDL2's offscreen driver over Mesa's software GL (llvmpipe):
no X server, no GPU.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def headless_env(kivy_home: str | None = None) -> dict:
    """Environment variables for a headless Kivy process."""
    env = {
        "KIVY_WINDOW": "sdl2",
        "SDL_VIDEODRIVER": "offscreen",
        "SDL_AUDIODRIVER": "dummy",
        "LIBGL_ALWAYS_SOFTWARE": "1",
        "KIVY_GL_BACKEND": "sdl2",
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_CONSOLELOG": "1",
        "KIVY_NO_FILELOG": "1",
        "KIVY_HOME": kivy_home or tempfile.mkdtemp(prefix="kivy-home-"),
        "KIVY_METRICS_DENSITY": "1",
        "KIVY_CLIPBOARD": "sdl2",  # not xclip/xsel: there is no X server
        # Leave sys.stderr alone so a traceback in a scenario reaches pytest.
        "KIVY_LOG_MODE": "PYTHON",
    }
    return env


class Driver:
    """Start SaolaApp without its main loop and advance frames by hand."""

    def __init__(self, data_dir: str, provider=None, size=(600, 960)):
        for k, v in headless_env(os.environ.get("KIVY_HOME")).items():
            os.environ.setdefault(k, v)
        sys.path.insert(0, str(REPO))
        from kivy.config import Config

        Config.set("graphics", "width", str(size[0]))
        Config.set("graphics", "height", str(size[1]))
        from kivy.base import EventLoop, runTouchApp

        from mobile.app import SaolaApp

        self.EventLoop = EventLoop
        self.app = SaolaApp(data_dir=data_dir, provider=provider)
        self.app._run_prepare()
        runTouchApp(embedded=True)
        self.frames(3)

    def frames(self, n: int = 2) -> None:
        """Run ``n`` iterations of the event loop (Clock callbacks, layout, drawing)."""
        for _ in range(n):
            self.EventLoop.idle()

    def wait(self, seconds: float) -> None:
        """Run the loop for ``seconds`` of real time (animations such as a popup closing)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.EventLoop.idle()

    def until(self, condition, timeout: float = 30.0) -> bool:
        """Run the loop until ``condition()`` holds (e.g. a worker thread's result reached the screen)."""
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                return False
            self.EventLoop.idle()
        return True

    def reveal(self, widget) -> None:
        """Scroll the ScrollView holding ``widget`` until it is on screen (as a ranger's thumb would)."""
        from kivy.uix.scrollview import ScrollView

        parent = widget.parent
        while parent is not None and not isinstance(parent, ScrollView):
            parent = parent.parent
        if parent is not None:
            parent.scroll_to(widget, padding=20, animate=False)
            self.frames(2)

    def tap(self, widget, frames: int = 2) -> None:
        """Press and release at the widget's centre, as a finger would."""
        from kivy.tests.common import UnitTestTouch

        assert widget.get_root_window() is not None, f"{widget!r} is not on screen"
        assert not widget.disabled, f"{widget!r} is disabled"
        self.scroll_into_view(widget)
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()
        self.frames(frames)
        # A ScrollView whose content overflows holds a tap until it knows it is not a scroll,
        # then hands it to the button from a Clock callback (about 0.2 s later): wait for it.
        delay = self._scroll_hold(widget)
        if delay:
            self.wait(delay)

    @staticmethod
    def _scroll_hold(widget) -> float:
        from kivy.uix.scrollview import ScrollView

        parent = widget.parent
        while parent is not None and parent is not parent.parent:
            if isinstance(parent, ScrollView) and parent.children:
                content = parent.children[0]
                if content.height > parent.height or content.width > parent.width:
                    return parent.scroll_timeout / 1000.0 + 0.15
            parent = parent.parent
        return 0.0

    def scroll_into_view(self, widget) -> None:
        """Scroll every ScrollView holding ``widget`` until it is visible, as a ranger's swipe would (not a tap)."""
        from kivy.uix.scrollview import ScrollView

        parent, views = widget.parent, []
        while parent is not None and parent is not parent.parent:
            if isinstance(parent, ScrollView):
                views.append(parent)
            parent = parent.parent
        for view in views:
            vx, vy = view.to_window(view.x, view.y)
            _, wy = widget.to_window(widget.x, widget.y)
            if wy < vy or wy + widget.height > vy + view.height:
                view.scroll_to(widget, padding=10, animate=False)
                self.frames(2)

    def find(self, root, cls_name: str):
        """The first widget of class ``cls_name`` under ``root``."""
        for w in root.walk():
            if type(w).__name__ == cls_name:
                return w
        raise LookupError(f"no {cls_name} under {root!r}")

    def tap_language(self) -> None:
        """Tap the vi/en button in the current screen's top bar."""
        self.tap(self.find(self.screen, "TopBar").ids.lang)

    @property
    def screen(self):
        """The current screen."""
        return self.app.sm.current_screen

    def screenshot(self, path: str | Path) -> str:
        """Save the window as PNG (after drawing a fresh frame); returns the path written."""
        self.frames(2)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        from kivy.core.window import Window

        if len(Window.children) > 1:
            # A dialog or a notice over the screen: they are the Window's children, not the root's.
            # Window.screenshot appends a counter to the name: move its file to ours.
            written = Window.screenshot(name=str(path))
            os.replace(written, path)
        else:
            self.app.root.export_to_png(str(path))
        return str(path)

    def stop(self) -> None:
        from kivy.base import stopTouchApp

        self.app.stop()
        stopTouchApp()


def emit(result: dict) -> None:
    """Print the scenario's result for pytest (one JSON line, marked)."""
    print("RESULT " + json.dumps(result, ensure_ascii=False), flush=True)


def write_gpx(path: str | Path, n: int = 200, lat0: float = 16.1960, lon0: float = 107.8560,
              step_m: float = 6.0, start: float | None = None, bad: tuple = ()) -> Path:
    """A straight GPX walk north-east, one point per 5 s; indexes in ``bad`` get 200 m accuracy."""
    import math

    start = time.time() if start is None else start
    rows = []
    for i in range(n):
        d = i * step_m
        lat = lat0 + d * math.cos(math.radians(45)) / 111_320
        lon = lon0 + d * math.sin(math.radians(45)) / (111_320 * math.cos(math.radians(lat0)))
        t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + 5 * i))
        hdop = 40.0 if i in bad else 1.2
        rows.append(f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><ele>400</ele><time>{t}</time><hdop>{hdop}</hdop></trkpt>')
    path = Path(path)
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="saola-tests" '
                    'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>T1</name><trkseg>'
                    + "".join(rows) + "</trkseg></trk></gpx>\n", encoding="utf-8")
    return path
