"""Start the Saola field app: ``python -m mobile`` or ``saola-mobile``."""
from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    """Run the app; ``--data DIR`` and ``--track FILE.gpx`` set storage and a replayed GPS track."""
    import argparse

    parser = argparse.ArgumentParser(prog="saola-mobile", description="Saola field app (offline, vi/en)")
    parser.add_argument("--data", help="app storage folder (default: the platform's user data folder)")
    parser.add_argument("--track", help="GPX or NMEA file replayed as the GPS (desktop)")
    parser.add_argument("--speed", type=float, default=None, help="replay speed factor (default 1)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.data:
        os.environ["SAOLA_MOBILE_DATA"] = args.data
    if args.track:
        if not os.path.isfile(args.track):
            parser.error(f"--track {args.track}: no such file")
        os.environ["SAOLA_REPLAY_TRACK"] = args.track
    if args.speed is not None:
        os.environ["SAOLA_REPLAY_SPEED"] = str(args.speed)
    # Kivy parses sys.argv itself unless told not to; our options are ours.
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    from kivy.config import Config

    # A tablet-like portrait window on the desktop.
    Config.set("graphics", "width", os.environ.get("SAOLA_WINDOW_WIDTH", "600"))
    Config.set("graphics", "height", os.environ.get("SAOLA_WINDOW_HEIGHT", "960"))
    Config.set("input", "mouse", "mouse,disable_multitouch")
    from .app import SaolaApp

    SaolaApp().run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
