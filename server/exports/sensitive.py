"""Protecting sensitive species and people in public exports.

Exact locations of sensitive taxa (``Taxon.sensitive``: by default Decree 84
group IB and IUCN CR/EN) help poachers. Public exports therefore either
*generalise* their coordinates to the centre of a grid cell (0.1 degree by
default, about 11 km) or *withhold* them, and say so in the Darwin Core terms
``dataGeneralizations`` / ``informationWithheld`` with a
``coordinateUncertaintyInMeters`` that covers the whole cell. Media showing
people (``Media.contains_person`` or a person detection that was not rejected)
are left out of public exports.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import or_, select

from ..models import Detection, Media

GENERALISE = "generalise"
WITHHOLD = "withhold"
POLICIES = (GENERALISE, WITHHOLD)
EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class SensitivePolicy:
    """How a public export treats sensitive taxa: generalise to a ``grid_deg`` grid, or withhold."""

    mode: str = GENERALISE
    grid_deg: float = 0.1

    def __post_init__(self):
        if self.mode not in POLICIES:
            raise ValueError(f"sensitive-species policy must be one of {', '.join(POLICIES)}, got {self.mode!r}")
        if not (0 < self.grid_deg <= 10):
            raise ValueError(f"generalisation grid must be between 0 and 10 degrees, got {self.grid_deg}")


def cell_uncertainty_m(lat: float, grid_deg: float) -> int:
    """Radius (m) of the circle around a grid-cell centre that covers the whole cell (half its diagonal)."""
    dlat = math.radians(grid_deg) * EARTH_RADIUS_M
    # The cell is widest at the latitude of its edge nearer the equator.
    edge = max(0.0, abs(lat) - grid_deg / 2)
    dlon = math.radians(grid_deg) * EARTH_RADIUS_M * math.cos(math.radians(edge))
    return int(math.ceil(math.hypot(dlat, dlon) / 2))


def generalise(lat: float, lon: float, grid_deg: float = 0.1) -> tuple[float, float, int]:
    """(lat, lon) moved to the centre of their ``grid_deg`` cell, and the uncertainty (m) covering the cell."""
    def centre(v: float) -> float:
        return round((math.floor(v / grid_deg) + 0.5) * grid_deg, 6)

    clat, clon = centre(lat), centre(lon)
    return clat, clon, cell_uncertainty_m(clat, grid_deg)


def generalisation_note(grid_deg: float) -> str:
    """The dataGeneralizations text for a grid."""
    return f"coordinates generalised to the centre of a {grid_deg:g} degree grid cell (sensitive species)"


WITHHELD_NOTE = "exact coordinates withheld (sensitive species)"


def person_media_clause():
    """SQL condition: the media row shows a person (flagged, or a person detection not rejected/dismissed)."""
    person_det = (select(Detection.media_id).where(Detection.category == "person")
                  .where(Detection.dismissed.is_(False)).where(Detection.review_status != "rejected"))
    return or_(Media.contains_person.is_(True), Media.id.in_(person_det))
