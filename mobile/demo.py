"""A synthetic walk for the desktop app when no track file is given (stdlib only)."""
from __future__ import annotations

import math
import time

from .location import Fix


def demo_fixes(n: int = 3600, lat0: float = 16.1960, lon0: float = 107.8560, bearing_deg: float = 45.0,
               speed_mps: float = 0.6, start: float | None = None) -> list[Fix]:
    """``n`` one-second fixes walking a straight line at ``speed_mps`` (a ranger's survey pace).

    The default start lies in Bạch Mã National Park; accuracy wobbles 4-12 m
    like a receiver under forest canopy.
    """
    start = time.time() if start is None else start
    fixes = []
    b = math.radians(bearing_deg)
    for i in range(n):
        d = speed_mps * i
        lat = lat0 + (d * math.cos(b)) / 111_320.0
        lon = lon0 + (d * math.sin(b)) / (111_320.0 * math.cos(math.radians(lat0)))
        fixes.append(Fix(lat, lon, start + i, 8.0 + 4.0 * math.sin(i / 17.0), 420.0, speed_mps, source="demo"))
    return fixes
