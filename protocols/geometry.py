"""Small geometry helpers for distance sampling (stdlib only)."""
from __future__ import annotations

import math


def perpendicular_distance(distance_m: float, bearing_deg: float, transect_bearing_deg: float) -> float:
    """Perpendicular distance from the transect line to a detection.

    ``distance * |sin(bearing - transect_bearing)|``: the quantity distance
    sampling models (Buckland et al.) fit, from the observer's radial sighting
    distance and compass bearing and the bearing of the line being walked.
    Rounded to 0.1 m, finer than any field estimate.
    """
    angle = math.radians(float(bearing_deg) - float(transect_bearing_deg))
    return round(abs(float(distance_m) * math.sin(angle)), 1)


COMPUTED = {"perpendicular_distance": perpendicular_distance}
