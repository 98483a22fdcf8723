"""Camera-trap analyses with camtrapR's definitions (pure functions, no database).

The functions take plain records and station operating periods, so results
can be checked by hand and against camtrapR:

* :func:`record_table` - camtrapR ``recordTable``: duplicates (same station,
  species and time) removed, then a record is independent when at least
  ``min_delta_min`` minutes passed since the previous record of the species at
  the station (``last-record``) or since the previous *independent* record
  (``last-independent-record``); a difference exactly equal to the threshold
  counts as independent (camtrapR: ``delta >= minDeltaTime``).
* :func:`camera_operation` - camtrapR ``cameraOperation``: one row per station,
  one column per local calendar day, ``None`` (NA) when no camera was set up
  that day. Three conventions (:data:`CONVENTIONS`; every output names the one
  it used):

  - ``exact`` - camtrapR >= 2.1 given date-times: the fraction of the day the
    station was operational (union of its cameras, malfunctions removed), 0 when
    set up but not working. The interval ends one second before retrieval, so a
    retrieval exactly at midnight leaves that day NA, as camtrapR does.
  - ``noon`` - camtrapR >= 2.1 given dates only: setup and retrieval at 12:00
    (0.5 on those days), malfunctions whole days.
  - ``whole-days`` - camtrapR < 2.1 (``fractional=False``): 1 on every day from
    setup to retrieval, 0 on malfunction days.
* :func:`trap_nights`, :func:`relative_abundance` (independent events per 100
  trap-nights), :func:`detection_history` (camtrapR ``detectionHistory``),
  :func:`naive_occupancy`, :func:`species_accumulation`, :func:`diel_activity`.

Times are the station's local wall-clock time (naive datetimes), as camtrapR
reads them from the images.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Iterable, Sequence

from ..bounds import MAX_ANALYSIS_DAYS

EXACT, NOON, WHOLE_DAYS = "exact", "noon", "whole-days"
#: The camera operation conventions and what each means (shown in the outputs' notes).
CONVENTIONS = {
    EXACT: "date-times as recorded (camtrapR >= 2.1 with date-times): fractions of days",
    NOON: "dates only, setup and retrieval at 12:00 (camtrapR >= 2.1 with dates): 0.5 on those days",
    WHOLE_DAYS: "dates only, every day from setup to retrieval counts 1 (camtrapR < 2.1)",
}
LAST_RECORD = "last-record"
LAST_INDEPENDENT = "last-independent-record"
COMPARED_TO = (LAST_RECORD, LAST_INDEPENDENT)
DAY_S = 86400.0


@dataclass(frozen=True)
class Record:
    """One classified record: a species at a station at a local time."""

    station: str
    species: str
    time: datetime
    count: int | None = None
    deployment_id: str | None = None
    record_id: str | None = None


@dataclass
class RecordRow:
    """One row of the record table (an independent record)."""

    station: str
    species: str
    time: datetime
    delta_s: float
    count: int | None
    deployment_id: str | None
    record_id: str | None

    def as_dict(self) -> dict:
        return {"station": self.station, "species": self.species,
                "date_time": self.time.strftime("%Y-%m-%d %H:%M:%S"), "date": self.time.date().isoformat(),
                "time": self.time.strftime("%H:%M:%S"), "delta_time_secs": round(self.delta_s, 3),
                "delta_time_mins": round(self.delta_s / 60, 3), "delta_time_hours": round(self.delta_s / 3600, 3),
                "delta_time_days": round(self.delta_s / DAY_S, 3), "count": self.count,
                "deployment_id": self.deployment_id, "record_id": self.record_id}


RECORD_TABLE_COLUMNS = ["station", "species", "date_time", "date", "time", "delta_time_secs", "delta_time_mins",
                        "delta_time_hours", "delta_time_days", "count", "deployment_id", "record_id"]


def record_table(records: Iterable[Record], min_delta_min: float = 0,
                 compared_to: str = LAST_RECORD, remove_duplicates: bool = True) -> list[RecordRow]:
    """camtrapR's record table: the independent records, sorted by station, species and time.

    ``remove_duplicates=False`` is camtrapR's ``removeDuplicateRecords = FALSE``: records of
    one station and species at the same second are all kept. As in camtrapR's
    ``assessTemporalIndependence``, each of them is measured against the *earlier*
    records (strictly before that second), so copies share one delta and one verdict:
    all of them are in the table, or none.
    """
    if compared_to not in COMPARED_TO:
        raise ValueError(f"compared_to must be one of {', '.join(COMPARED_TO)}, got {compared_to!r}")
    if min_delta_min < 0:
        raise ValueError(f"min_delta_min must be >= 0, got {min_delta_min}")
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in records:
        groups[(r.station, r.species)].append(r)
    threshold = min_delta_min * 60.0
    out: list[RecordRow] = []
    for key in sorted(groups):
        recs = sorted(groups[key], key=lambda r: (r.time, r.record_id or ""))
        last_any: datetime | None = None  # the latest earlier second with a record
        last_indep: datetime | None = None  # the latest earlier second with an independent record
        i = 0
        while i < len(recs):
            j = i
            while j < len(recs) and recs[j].time == recs[i].time:
                j += 1
            same_second = recs[i:j] if not remove_duplicates else recs[i:i + 1]
            at = recs[i].time
            if last_any is None:  # the first record of the species at the station
                delta, independent = 0.0, True
            else:
                ref = last_any if compared_to == LAST_RECORD else last_indep
                delta = (at - ref).total_seconds() if ref is not None else 0.0
                independent = delta >= threshold or delta == 0
            last_any = at
            if independent:
                last_indep = at
                out.extend(RecordRow(r.station, r.species, r.time, delta, r.count, r.deployment_id, r.record_id)
                           for r in same_second)
            i = j
    return out


# ---- camera operation --------------------------------------------------------------------
@dataclass
class StationPeriod:
    """One camera at a station: set up ``start``, retrieved ``end`` (local times), and its problems."""

    station: str
    start: datetime
    end: datetime
    problems: list[tuple[datetime, datetime]] = field(default_factory=list)
    operating: list[tuple[datetime, datetime]] | None = None  # only these windows worked, when given


@dataclass
class CameraOperation:
    """The camera operation matrix: ``values[i][j]`` for station ``stations[i]`` on ``days[j]``."""

    stations: list[str]
    days: list[date]
    values: list[list[float | None]]
    # Occasion effort per (occasion length, day1, include_effort, min_active): shared by every species.
    _effort_cache: dict = field(default_factory=dict, repr=False, compare=False)

    def row(self, station: str) -> list[float | None]:
        return self.values[self.stations.index(station)]

    def as_rows(self) -> list[dict]:
        """One dict per station: {'station': ..., '2026-01-01': value or None, ...}."""
        return [{"station": s, **{d.isoformat(): _r(v) for d, v in zip(self.days, vals)}}
                for s, vals in zip(self.stations, self.values)]


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 6)


def _merge(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out: list[list[datetime]] = []
    for s, e in sorted(i for i in intervals if i[1] > i[0]):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _subtract(intervals: list[tuple[datetime, datetime]], holes: list[tuple[datetime, datetime]]):
    out = []
    holes = _merge(holes)
    for s, e in intervals:
        cur = s
        for hs, he in holes:
            if he <= cur or hs >= e:
                continue
            if hs > cur:
                out.append((cur, hs))
            cur = max(cur, he)
        if cur < e:
            out.append((cur, e))
    return out


def _day_seconds(intervals: list[tuple[datetime, datetime]]) -> dict[date, float]:
    secs: dict[date, float] = defaultdict(float)
    for s, e in intervals:
        d = s.date()
        while True:
            day_start = datetime.combine(d, time())
            day_end = day_start + timedelta(days=1)
            lo, hi = max(s, day_start), min(e, day_end)
            if hi > lo:
                secs[d] += (hi - lo).total_seconds()
            if e <= day_end:
                break
            d += timedelta(days=1)
    return secs


def _by_station(periods: Sequence[StationPeriod]) -> dict[str, list[StationPeriod]]:
    by_station: dict[str, list[StationPeriod]] = defaultdict(list)
    for p in periods:
        if p.end < p.start:
            raise ValueError(f"station {p.station}: retrieval {p.end} is before setup {p.start}")
        by_station[p.station].append(p)
    return by_station


def _working(ps: Sequence[StationPeriod]) -> list[tuple[datetime, datetime]]:
    """The merged spans in which a station's cameras worked (operating windows, minus problems)."""
    working: list[tuple[datetime, datetime]] = []
    for p in ps:
        base = [(p.start, p.end)] if p.operating is None else [
            (max(s, p.start), min(e, p.end)) for s, e in p.operating]
        working += _subtract(base, p.problems)
    return _merge(working)


def _convention(fractional: bool, convention: str | None) -> str:
    conv = convention or (EXACT if fractional else WHOLE_DAYS)
    if conv not in CONVENTIONS:
        raise ValueError(f"convention must be one of {', '.join(CONVENTIONS)}, got {conv!r}")
    return conv


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time())


def noon_periods(periods: Sequence[StationPeriod]) -> list[StationPeriod]:
    """The periods as camtrapR (>= 2.1) reads a table of dates only: setup and retrieval at 12:00
    of their days, every malfunction (and every time outside the operating windows) whole days."""
    out = []
    for p in periods:
        bad = list(p.problems)
        if p.operating is not None:
            bad += _subtract([(p.start, p.end)], p.operating)
        start = _midnight(p.start.date()) + timedelta(hours=12)
        end = max(start, _midnight(p.end.date()) + timedelta(hours=12))
        problems = [(_midnight(s.date()), _midnight(e.date()) + timedelta(days=1)) for s, e in bad if e > s]
        out.append(StationPeriod(p.station, start, end, problems, None))
    return out


def camera_operation(periods: Sequence[StationPeriod], stations: Sequence[str] | None = None,
                     fractional: bool = True, max_days: int = MAX_ANALYSIS_DAYS,
                     convention: str | None = None) -> CameraOperation:
    """camtrapR's camera operation matrix (see module docstring); ``stations`` fixes the row order.

    ``convention`` is one of :data:`CONVENTIONS` (default: ``exact``, or ``whole-days`` when
    ``fractional`` is false). ValueError when the matrix would span more than ``max_days``
    days: one column per day of a deployment dated years 1 to 9999 took minutes of CPU per request.
    """
    conv = _convention(fractional, convention)
    by_station = _by_station(periods)
    names = list(stations) if stations is not None else sorted(by_station)
    if not by_station:
        return CameraOperation(names, [], [[] for _ in names])
    first = min(p.start for p in periods).date()
    last = max(p.end for p in periods).date()
    span = (last - first).days + 1
    if span > max_days:
        raise ValueError(f"the camera operation matrix would span {span} days ({first} to {last}), more than "
                         f"{max_days} ({max_days // 366} years): narrow the analysis with start and end, or year")
    if conv == NOON:
        by_station = _by_station(noon_periods(periods))
    days = [first + timedelta(days=i) for i in range(span)]
    index = {d: i for i, d in enumerate(days)}
    values: list[list[float | None]] = []
    for name in names:
        row: list[float | None] = [None] * len(days)
        ps = by_station.get(name, [])
        if conv != WHOLE_DAYS:
            # camtrapR's interval runs from setup to one second before retrieval (cameraOperation:
            # "if not removing 1 second, last day with end on midnight"): every day it touches is set up
            # (0, not NA, on a day with no working seconds), and a retrieval at midnight leaves that day NA.
            set_up = {p.start.date() + timedelta(days=k) for p in ps if p.end > p.start
                      for k in range(((p.end - timedelta(seconds=1)).date() - p.start.date()).days + 1)}
            op = _day_seconds(_working(ps))
            for d in set_up:
                row[index[d]] = min(1.0, op.get(d, 0.0) / DAY_S)
        else:
            for p in ps:
                d = p.start.date()
                while d <= p.end.date():
                    if row[index[d]] is None:
                        row[index[d]] = 1.0
                    d += timedelta(days=1)
            for p in ps:
                bad = list(p.problems)
                if p.operating is not None:
                    bad += _subtract([(p.start, p.end)], p.operating)
                for s, e in bad:
                    d = max(s.date(), first)  # a problem may outlast the matrix: only its days count
                    while d <= min(e.date(), last):
                        if d in index and row[index[d]] is not None:
                            row[index[d]] = 0.0
                        d += timedelta(days=1)
        values.append(row)
    return CameraOperation(names, days, values)


def _day_ranges(spans: Iterable[tuple[date, date]]) -> list[tuple[int, int]]:
    """Union of inclusive day ranges as merged (first, last) ordinals."""
    out: list[list[int]] = []
    for a, b in sorted((s.toordinal(), e.toordinal()) for s, e in spans if e >= s):
        if out and a <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _days_in(ranges: list[tuple[int, int]]) -> int:
    return sum(b - a + 1 for a, b in ranges)


def _overlap_days(xs: list[tuple[int, int]], ys: list[tuple[int, int]]) -> int:
    n, i, j = 0, 0, 0
    while i < len(xs) and j < len(ys):
        lo, hi = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if hi >= lo:
            n += hi - lo + 1
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return n


def station_nights(periods: Sequence[StationPeriod], stations: Sequence[str] | None = None,
                   fractional: bool = True, convention: str | None = None) -> dict[str, float]:
    """Trap-nights per station computed from the periods alone: the row sums of
    :func:`camera_operation` without building its day-by-day matrix.

    O(periods x problems) whatever the dates, so trap-nights and RAI need no day
    limit. Exact and noon conventions: a day's value is its working seconds / 86,400 (the merged
    working spans never exceed a day within one), so the sum is the total
    working time in days. Date-only: the set-up days minus those touched by a
    problem (or outside the operating windows).
    """
    conv = _convention(fractional, convention)
    by_station = _by_station(noon_periods(periods) if conv == NOON else periods)
    names = list(stations) if stations is not None else sorted(by_station)
    out: dict[str, float] = {}
    for name in names:
        ps = by_station.get(name, [])
        if conv != WHOLE_DAYS:
            out[name] = sum((e - s).total_seconds() for s, e in _working(ps)) / DAY_S
            continue
        set_up = _day_ranges((p.start.date(), p.end.date()) for p in ps)
        bad: list[tuple[datetime, datetime]] = []
        for p in ps:
            bad += p.problems
            if p.operating is not None:
                bad += _subtract([(p.start, p.end)], p.operating)
        out[name] = float(_days_in(set_up) - _overlap_days(set_up, _day_ranges((s.date(), e.date()) for s, e in bad)))
    return out


def _nights(camop: CameraOperation) -> dict[str, float]:
    return {s: sum(v for v in vals if v is not None) for s, vals in zip(camop.stations, camop.values)}


def trap_nights(camop: CameraOperation | dict[str, float]) -> dict[str, float]:
    """Trap-nights (active camera-days) per station: the row sums of the operation matrix
    (or the values of :func:`station_nights`)."""
    nights = camop if isinstance(camop, dict) else _nights(camop)
    return {s: round(v, 6) for s, v in nights.items()}


def relative_abundance(rows: Iterable[RecordRow], camop: CameraOperation | dict[str, float],
                       by_station: bool = False) -> list[dict]:
    """Relative abundance index: independent events per 100 trap-nights, per species (or species x station).

    ``camop`` is the operation matrix or, cheaper, :func:`station_nights` (stations in row order).
    """
    nights = camop if isinstance(camop, dict) else _nights(camop)
    stations = list(nights)
    total = sum(nights.values())
    counts: dict[tuple, int] = defaultdict(int)
    for r in rows:
        counts[(r.species, r.station) if by_station else (r.species,)] += 1
    out = []
    if by_station:
        species = sorted({k[0] for k in counts})
        for sp in species:
            for st in stations:
                n = counts.get((sp, st), 0)
                tn = nights.get(st, 0.0)
                out.append({"species": sp, "station": st, "events": n, "trap_nights": round(tn, 6),
                            "rai": round(100.0 * n / tn, 6) if tn > 0 else None})
    else:
        for (sp,), n in sorted(counts.items()):
            out.append({"species": sp, "events": n, "trap_nights": round(total, 6),
                        "rai": round(100.0 * n / total, 6) if total > 0 else None})
    return out


# ---- detection histories -------------------------------------------------------------------
@dataclass
class DetectionHistory:
    """Detection/non-detection (or counts) by station and occasion, with the effort of each occasion."""

    species: str
    stations: list[str]
    occasions: int
    history: list[list[int | None]]
    effort: list[list[float | None]]
    occasion_starts: list[list[str | None]]  # first day of each occasion per station (ISO)
    records_outside_effort: int = 0

    def as_rows(self) -> list[dict]:
        out = []
        for i, s in enumerate(self.stations):
            row: dict = {"station": s}
            for j in range(self.occasions):
                row[f"o{j + 1}"] = self.history[i][j]
            for j in range(self.occasions):
                row[f"effort_o{j + 1}"] = _r(self.effort[i][j])
            out.append(row)
        return out


def detection_history(rows: Iterable[RecordRow], camop: CameraOperation, species: str, occasion_length: int = 1,
                      day1: str = "station", include_effort: bool = True, output: str = "binary",
                      min_active_days: float | None = None) -> DetectionHistory:
    """camtrapR's detectionHistory for ``species``.

    ``day1='station'``: each station's occasions start on its setup day (first
    non-NA day); ``'survey'``: all start on the first day of the survey. The
    effort of an occasion is the sum of its days' operation values; it is NA
    when every day is NA or the sum is 0, when fewer than ``min_active_days``
    days were active, or - with ``include_effort=False`` - when any day was NA
    or 0 or the occasion is cut short. The history is NA wherever the effort is.
    """
    if occasion_length < 1:
        raise ValueError(f"occasion_length must be >= 1 day, got {occasion_length}")
    if day1 not in ("station", "survey"):
        raise ValueError(f"day1 must be 'station' or 'survey', got {day1!r}")
    if output not in ("binary", "count"):
        raise ValueError(f"output must be 'binary' or 'count', got {output!r}")
    key = (occasion_length, day1, include_effort, min_active_days)
    if key not in camop._effort_cache:
        camop._effort_cache[key] = _effort_matrix(camop, occasion_length, day1, include_effort, min_active_days)
    n_occ, offsets, effort, starts = camop._effort_cache[key]
    history: list[list[int | None]] = [[0 if e is not None else None for e in e_row] for e_row in effort]
    index = {s: i for i, s in enumerate(camop.stations)}
    day_index = {d: j for j, d in enumerate(camop.days)}
    outside = 0
    for r in rows:
        if r.species != species:
            continue
        i = index.get(r.station)
        j = day_index.get(r.time.date())
        if i is None or j is None or camop.values[i][j] is None:
            outside += 1
            continue
        k = (j - offsets[i]) // occasion_length
        if k < 0 or k >= n_occ or history[i][k] is None:
            outside += 1
            continue
        history[i][k] = 1 if output == "binary" else history[i][k] + 1
    return DetectionHistory(species, list(camop.stations), n_occ, history, effort, starts, outside)


def _effort_matrix(camop: CameraOperation, occasion_length: int, day1: str, include_effort: bool,
                   min_active_days: float | None):
    """(occasions, per-station day offsets, effort matrix, occasion start days) of a camera operation matrix."""
    firsts: list[int | None] = []
    lasts: list[int | None] = []
    for vals in camop.values:
        active = [j for j, v in enumerate(vals) if v is not None]
        firsts.append(active[0] if active else None)
        lasts.append(active[-1] if active else None)
    if day1 == "station":
        span = max((last - first + 1 for first, last in zip(firsts, lasts) if first is not None), default=0)
        offsets = [f if f is not None else 0 for f in firsts]
    else:
        span = len(camop.days)
        offsets = [0] * len(camop.stations)
    n_occ = math.ceil(span / occasion_length) if span else 0
    effort: list[list[float | None]] = []
    starts: list[list[str | None]] = []
    for i, vals in enumerate(camop.values):
        e_row: list[float | None] = []
        s_row: list[str | None] = []
        for k in range(n_occ):
            lo = offsets[i] + k * occasion_length
            hi = min(lo + occasion_length, len(vals))
            days = vals[lo:hi] if lo < len(vals) else []
            s_row.append(camop.days[lo].isoformat() if lo < len(vals) else None)
            e = _occasion_effort(days, occasion_length, include_effort, min_active_days)
            e_row.append(e)
        effort.append(e_row)
        starts.append(s_row)
    return n_occ, offsets, effort, starts


def _occasion_effort(days: list[float | None], length: int, include_effort: bool,
                     min_active: float | None) -> float | None:
    known = [v for v in days if v is not None]
    if not known or sum(known) == 0:
        return None
    total = sum(known)
    if min_active is not None:
        return None if total < min_active else total
    if not include_effort and (len(known) < len(days) or any(v == 0 for v in known) or len(days) < length):
        return None
    return total


def naive_occupancy(history: DetectionHistory) -> dict:
    """Share of stations with effort where the species was detected at least once."""
    surveyed = [row for row in history.history if any(v is not None for v in row)]
    detected = sum(1 for row in surveyed if any(v for v in row if v is not None))
    return {"species": history.species, "stations_surveyed": len(surveyed), "stations_detected": detected,
            "naive_occupancy": round(detected / len(surveyed), 6) if surveyed else None}


# ---- species accumulation and activity ------------------------------------------------------
def species_accumulation(rows: Iterable[RecordRow], units: Sequence[str] | None = None,
                         unit: str = "station") -> list[dict]:
    """Expected species richness for 1..N sampling units (vegan ``specaccum(method='exact')``).

    Units are stations (``unit='station'``) or survey days (``'day'``);
    ``units`` lists every unit surveyed, including those with no records.
    S(n) = sum over species of 1 - C(N - f, n) / C(N, n), with f the number of
    units where the species was recorded.
    """
    if unit not in ("station", "day"):
        raise ValueError(f"unit must be 'station' or 'day', got {unit!r}")
    where: dict[str, set[str]] = defaultdict(set)
    seen_units: set[str] = set()
    for r in rows:
        u = r.station if unit == "station" else r.time.date().isoformat()
        where[r.species].add(u)
        seen_units.add(u)
    all_units = set(units) if units is not None else seen_units
    all_units |= seen_units
    n_total = len(all_units)
    out = []
    for n in range(1, n_total + 1):
        denom = math.comb(n_total, n)
        s = sum(1 - math.comb(n_total - len(us), n) / denom for us in where.values())
        out.append({"units": n, "richness": round(s, 6)})
    return out


def diel_activity(rows: Iterable[RecordRow], species: str | None = None, bins: int = 24) -> list[dict]:
    """Independent records per hour-of-day bin (local time), optionally for one species."""
    counts = [0] * bins
    for r in rows:
        if species is not None and r.species != species:
            continue
        h = r.time.hour + r.time.minute / 60 + r.time.second / 3600
        counts[min(bins - 1, int(h * bins / 24))] += 1
    width = 24 / bins
    return [{"hour_from": round(i * width, 4), "hour_to": round((i + 1) * width, 4), "records": c}
            for i, c in enumerate(counts)]


def activity_density(rows: Iterable[RecordRow], species: str | None = None, kappa: float = 10.0,
                     points: int = 97) -> list[tuple[float, float]]:
    """Circular kernel density (von Mises kernel) of record times over 0..24 h, for the diel plot."""
    angles = [2 * math.pi * (r.time.hour + r.time.minute / 60 + r.time.second / 3600) / 24 for r in rows
              if species is None or r.species == species]
    if not angles:
        return [(24 * i / (points - 1), 0.0) for i in range(points)]
    norm = 2 * math.pi * _i0(kappa) * len(angles)
    out = []
    for i in range(points):
        x = 2 * math.pi * i / (points - 1)
        dens = sum(math.exp(kappa * math.cos(x - a)) for a in angles) / norm
        out.append((24 * i / (points - 1), dens * 2 * math.pi / 24))  # density per hour
    return out


def _i0(x: float) -> float:
    """Modified Bessel function of the first kind, order 0 (series; fine for kappa <= 50)."""
    total, term, k = 1.0, 1.0, 1
    while term > 1e-12 * total:
        term *= (x / (2 * k)) ** 2
        total += term
        k += 1
    return total
