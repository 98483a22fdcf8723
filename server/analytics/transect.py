"""Line-transect summaries: effort (km walked), encounter rates and perpendicular-distance histograms."""
from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .loaders import Sighting, Walk


def effort(walks: Sequence[Walk]) -> list[dict]:
    """Walks and km walked per transect (sorted by transect name)."""
    per: dict[str, list[Walk]] = defaultdict(list)
    for w in walks:
        per[w.transect].append(w)
    return [{"transect": t, "walks": len(ws), "km": round(sum(w.km for w in ws), 3)} for t, ws in sorted(per.items())]


def encounter_rates(walks: Sequence[Walk], sightings: Iterable[Sighting], signs: bool = True) -> list[dict]:
    """Per species: encounters (records), individuals, and encounters and individuals per km walked.

    ``signs=False`` leaves out indirect signs (tracks, dung...) and keeps direct sightings only.
    """
    km = sum(w.km for w in walks)
    n: dict[str, int] = defaultdict(int)
    ind: dict[str, int] = defaultdict(int)
    for s in sightings:
        if not signs and s.sign_type:
            continue
        n[s.species] += 1
        ind[s.species] += s.count or 1
    return [{"species": sp, "encounters": n[sp], "individuals": ind[sp], "km": round(km, 3),
             "encounters_per_km": round(n[sp] / km, 6) if km > 0 else None,
             "individuals_per_km": round(ind[sp] / km, 6) if km > 0 else None} for sp in sorted(n)]


MAX_BINS = 10_000


def distance_histogram(sightings: Iterable[Sighting], bin_m: float = 10.0, truncation_m: float | None = None,
                       species: str | None = None) -> list[dict]:
    """Counts of perpendicular distances in bins of ``bin_m`` metres [lo, hi), up to the truncation distance."""
    if bin_m <= 0:
        raise ValueError(f"bin width must be > 0 m, got {bin_m}")
    d = [s.perpendicular_m for s in sightings
         if s.perpendicular_m is not None and (species is None or s.species == species)]
    if truncation_m is not None:
        d = [x for x in d if x <= truncation_m]
    top = truncation_m if truncation_m is not None else (max(d) if d else 0.0)
    if top / bin_m > MAX_BINS:  # 1e308 m in 10 m bins asked for a list longer than memory
        raise ValueError(f"the histogram would have more than {MAX_BINS} bins of {bin_m:g} m up to {top:g} m: "
                         "widen bin_m or lower truncation_m")
    nbins = max(1, math.ceil(top / bin_m)) if top > 0 else 1
    if truncation_m is None and d and max(d) >= nbins * bin_m:
        nbins += 1  # a distance exactly on the last edge gets its own bin
    counts = [0] * nbins
    for x in d:
        counts[min(nbins - 1, int(x // bin_m))] += 1
    return [{"from_m": round(i * bin_m, 3), "to_m": round((i + 1) * bin_m, 3), "count": c}
            for i, c in enumerate(counts)]
