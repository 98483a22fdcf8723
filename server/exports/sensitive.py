"""Protecting sensitive species and people in public exports.

Exact locations of sensitive taxa (server/auth/policy.py ``is_sensitive``:
flagged, or Decree 84 group IB, or IUCN CR/EN) help poachers. Public exports therefore either
*generalise* their coordinates to the centre of a grid cell (0.1 degree by
default, about 11 km) or *withhold* them, and say so in the Darwin Core terms
``dataGeneralizations`` / ``informationWithheld`` with a
``coordinateUncertaintyInMeters`` that covers the whole cell. Media showing
people (``Media.contains_person`` or a person detection that was not rejected)
are left out of public exports.

The rules (which taxa, the grid, which media show people) are the one policy
of server/auth/policy.py, shared with the API, sync and pages; this module
adds what only exports need (the modes and the Darwin Core notes).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..auth.policy import cell_uncertainty_m, generalise, is_sensitive, person_media_clause, sensitive_taxon_ids

__all__ = ["GENERALISE", "POLICIES", "WITHHOLD", "WITHHELD_NOTE", "SensitivePolicy", "cell_uncertainty_m",
           "generalisation_note", "generalise", "is_sensitive", "person_media_clause", "sensitive_taxon_ids"]

GENERALISE = "generalise"
WITHHOLD = "withhold"
POLICIES = (GENERALISE, WITHHOLD)


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


def generalisation_note(grid_deg: float) -> str:
    """The dataGeneralizations text for a grid."""
    return f"coordinates generalised to the centre of a {grid_deg:g} degree grid cell (sensitive species)"


WITHHELD_NOTE = "exact coordinates withheld (sensitive species)"
