"""The thumbnail grid: pages of media (or of sequences, one tile each) under a filter, in keyset order.

The review grid and the gallery both read this module. A page is found by a
keyset step, never an OFFSET: media in (capture time, id) order, then the
media with no capture time by id; sequences in (event start, id) order. The
cursor of a page is the key of its last (or first) tile, so a tile that is
labelled, added or deleted meanwhile never shifts the pages around it, and
tiles with the same time are split between pages by their id.

Filters (all optional, combined with AND): protected area, program,
deployment, station; date range; time of day (dawn, day, dusk, night or a
range of local hours, from the file's own UTC offset or its deployment's
zone); species (a machine label nobody rejected, a person's label, or
either); detector confidence of a live box; review status; ingest flags;
favourites; media kind.

Each tile carries a ``version``: a digest of its review state (its
sequence's status and reviewer, the labels people gave it, its favourite
mark and its live boxes). A bulk action (server/review/bulk.py) sends back
the versions the page showed and leaves alone every tile whose version
changed since: someone else's work is reported, never overwritten.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Optional

from sqlalchemy import BigInteger, Integer, String, and_, case, cast, exists, func, literal, or_, tuple_
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from ..errors import ValidationError
from ..models import Deployment, Detection, Location, Media, Observation, Program, Sequence, Taxon
from ..timeutil import as_utc, format_local, format_raw, zone_or_utc
from .queue import BLANK_CATEGORY, HUMAN_MODEL, load_taxa, taxon_dict

MODES = ("media", "sequence")
REVIEW_STATUSES = ("unreviewed", "reviewed", "blank", "any")
SPECIES_SOURCES = ("any", "machine", "human")
FLAGS = ("outside_window", "clock_reset", "corrupt", "no_timestamp", "future_time")
KINDS = ("image", "video")
MIN_PAGE, MAX_PAGE = 24, 200
# Local clock minutes [from, to) of each part of the day. Fixed hours near the tropics (Viet Nam):
# sunrise and sunset move by about an hour over the year there.
TIMES_OF_DAY = {"dawn": (5 * 60, 7 * 60), "day": (7 * 60, 17 * 60), "dusk": (17 * 60, 19 * 60),
                "night": (19 * 60, 5 * 60)}
_CHUNK = 500
# Columns tiles, versions and bulk actions never read: a camera's EXIF and a detector's extra output can
# be kilobytes per row, decoded from JSON for nothing (loaded on access if some path ever needs them).
LEAN_MEDIA = defer(Media.meta)
LEAN_DETECTION = defer(Detection.extra)


def _bad(field: str, message: str, detail: str) -> ValidationError:
    return ValidationError(message, details=[{"field": field, "message": detail}])


@dataclass
class GridFilter:
    """What the grid shows; None means no restriction."""

    area_ids: Optional[list[str]] = None  # the areas the user may see (None: all, administrators)
    area_id: Optional[str] = None
    program_id: Optional[str] = None
    deployment_id: Optional[str] = None
    location_id: Optional[str] = None
    date_from: Optional[datetime] = None
    date_to: Optional[datetime] = None
    time_of_day: Optional[str] = None
    hour_from: Optional[int] = None
    hour_to: Optional[int] = None
    taxon_id: Optional[str] = None
    species_source: str = "any"
    min_confidence: Optional[float] = None
    max_confidence: Optional[float] = None
    review_status: str = "any"
    flags: tuple[str, ...] = ()
    favorite: Optional[bool] = None
    kind: Optional[str] = None

    def __post_init__(self):
        if self.review_status not in REVIEW_STATUSES:
            raise _bad("review_status", f"review_status must be one of {', '.join(REVIEW_STATUSES)}, "
                       f"got {self.review_status!r}", "unknown status")
        if self.species_source not in SPECIES_SOURCES:
            raise _bad("species_source", f"species_source must be one of {', '.join(SPECIES_SOURCES)}",
                       "unknown source")
        if self.time_of_day is not None and self.time_of_day not in TIMES_OF_DAY:
            raise _bad("time_of_day", f"time_of_day must be one of {', '.join(TIMES_OF_DAY)}", "unknown part of day")
        if self.time_of_day is not None and (self.hour_from is not None or self.hour_to is not None):
            raise _bad("time_of_day", "give a time of day or an hour range, not both", "both given")
        if (self.hour_from is None) != (self.hour_to is None):
            raise _bad("hour_to" if self.hour_to is None else "hour_from",
                       "an hour range needs both hour_from and hour_to", "half a range")
        if self.hour_from is not None and not (0 <= self.hour_from <= 23 and 1 <= self.hour_to <= 24):
            raise _bad("hour_from", "hour_from is 0-23 and hour_to 1-24 (local hours)", "out of range")
        if self.hour_from is not None and self.hour_from == self.hour_to % 24:
            raise _bad("hour_to", "hour_to equals hour_from: the range is empty (0 to 24 is the whole day)",
                       "empty range")
        for name in ("min_confidence", "max_confidence"):
            v = getattr(self, name)
            if v is not None and not 0.0 <= v <= 1.0:
                raise _bad(name, f"{name} must be between 0 and 1, got {v}", "out of range")
        if (self.min_confidence is not None and self.max_confidence is not None
                and self.min_confidence > self.max_confidence):
            raise _bad("min_confidence", "min_confidence is above max_confidence", "above max")
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise _bad("date_to", "date_to is before date_from", "before date_from")
        unknown = [f for f in self.flags if f not in FLAGS]
        if unknown:
            raise _bad("flag", f"unknown flag {unknown[0]!r} (one of {', '.join(FLAGS)})", "unknown flag")
        if self.kind is not None and self.kind not in KINDS:
            raise _bad("kind", f"kind must be one of {', '.join(KINDS)}", "unknown kind")

    def minutes(self) -> Optional[tuple[int, int]]:
        """The local clock range [from, to) in minutes of the day, or None."""
        if self.time_of_day:
            return TIMES_OF_DAY[self.time_of_day]
        if self.hour_from is not None:
            return self.hour_from * 60, (self.hour_to % 24) * 60
        return None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "area_ids"}


# ---- statements ----------------------------------------------------------------------------------
def deployments_stmt(flt: GridFilter):
    """SELECT of the ids of the camera deployments in the filter's scope."""
    deps = select(Deployment.id).where(Deployment.kind == "camera")
    if flt.area_ids is not None or flt.area_id:
        deps = deps.join(Program, Program.id == Deployment.program_id)
        if flt.area_ids is not None:
            deps = deps.where(Program.area_id.in_(flt.area_ids))
        if flt.area_id:
            deps = deps.where(Program.area_id == flt.area_id)
    if flt.program_id:
        deps = deps.where(Deployment.program_id == flt.program_id)
    if flt.deployment_id:
        deps = deps.where(Deployment.id == flt.deployment_id)
    if flt.location_id:
        deps = deps.where(Deployment.location_id == flt.location_id)
    return deps


def _epoch_minutes(column, dialect: str):
    """Whole minutes since 1970 of a stored UTC time, in SQL."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", column), BigInteger) // 60
    return cast(func.strftime("%s", column), Integer) // 60


def _fallback_offsets(session: Session, flt: GridFilter, deployment_column):
    """The UTC offset (minutes) of each deployment's zone, for files that do not state their own:
    a constant when every deployment of the scope shares one (the usual case), else a CASE."""
    now = datetime.now(timezone.utc)
    by_offset: dict[int, list[str]] = {}
    for dep_id, tz in session.exec(select(Deployment.id, Deployment.timezone)
                                   .where(Deployment.id.in_(deployments_stmt(flt)))):
        off = now.astimezone(zone_or_utc(tz)).utcoffset()
        by_offset.setdefault(int(off.total_seconds() // 60) if off else 0, []).append(dep_id)
    if len(by_offset) <= 1:
        return literal(next(iter(by_offset), 420))
    return case(*[(deployment_column.in_(ids), off) for off, ids in by_offset.items()], else_=0)


def _in_minutes(minute_of_day, span: tuple[int, int]):
    lo, hi = span
    if lo < hi:
        return and_(minute_of_day >= lo, minute_of_day < hi)
    return or_(minute_of_day >= lo, minute_of_day < hi)  # across midnight (night: 19:00 to 05:00)


def _flag_clause(column, flags: Iterable[str]):
    # The JSON list as text holds each flag in quotes; the same test on both databases.
    return or_(*[cast(column, String).like(f'%"{f}"%') for f in flags])


def _live_box(*conds):
    """EXISTS a live box (not dismissed, not a detector's "nothing found" row) on the current media."""
    return exists().where(Detection.media_id == Media.id, Detection.dismissed.is_(False),
                          Detection.category != BLANK_CATEGORY, *conds)


def _machine_species(taxon_id: str):
    return _live_box(Detection.taxon_id == taxon_id, Detection.review_status != "rejected")


def _human_obs(*conds):
    return exists().where(Observation.classification_method == "human", *conds)


def media_conditions(session: Session, flt: GridFilter, *, for_sequences: bool = False) -> list:
    """Conditions on Media (correlated) of the filter's per-file parts: time of day, flags, favourites,
    kind, confidence and (machine) species. ``for_sequences``: used inside EXISTS for sequence tiles."""
    conds = []
    span = flt.minutes()
    if span is not None:
        dialect = session.get_bind().dialect.name
        offset = func.coalesce(Media.utc_offset_min, _fallback_offsets(session, flt, Media.deployment_id))
        minute = ((_epoch_minutes(Media.captured_at, dialect) + offset) % 1440 + 1440) % 1440
        conds += [Media.captured_at.is_not(None), _in_minutes(minute, span)]
    if flt.flags:
        conds.append(_flag_clause(Media.flags, flt.flags))
    if flt.favorite is not None:
        conds.append(Media.favorite.is_(flt.favorite))
    conds.append(Media.kind == flt.kind if flt.kind else Media.kind.in_(KINDS))
    box = []
    if flt.min_confidence is not None:
        box.append(Detection.confidence >= flt.min_confidence)
    if flt.max_confidence is not None:
        box.append(Detection.confidence <= flt.max_confidence)
    if box:
        conds.append(_live_box(*box))
    if flt.taxon_id and flt.species_source == "machine":
        conds.append(_machine_species(flt.taxon_id))
    return conds


def _media_review_status(status: str):
    """A media's review status: from the labels people gave the media itself when it has some,
    else its sequence's."""
    own = _human_obs(Observation.media_id == Media.id)
    own_animal = _human_obs(Observation.media_id == Media.id, Observation.observation_type != "blank")
    seq_status = select(Sequence.review_status).where(Sequence.id == Media.sequence_id).scalar_subquery()
    if status == "unreviewed":
        return and_(~own, or_(Media.sequence_id.is_(None), seq_status == "unreviewed"))
    if status == "reviewed":
        return or_(own_animal, and_(~own, seq_status == "reviewed"))
    return or_(and_(own, ~own_animal), and_(~own, seq_status == "blank"))


def media_stmt(session: Session, flt: GridFilter):
    """SELECT of the grid's media (unordered)."""
    stmt = select(Media).options(LEAN_MEDIA).where(Media.deployment_id.in_(deployments_stmt(flt)))
    if flt.deployment_id:  # lets the database use the (deployment, time) index directly
        stmt = stmt.where(Media.deployment_id == flt.deployment_id)
    if flt.date_from:
        stmt = stmt.where(Media.captured_at >= flt.date_from)
    if flt.date_to:
        stmt = stmt.where(Media.captured_at <= flt.date_to)
    stmt = stmt.where(*media_conditions(session, flt))
    if flt.taxon_id and flt.species_source != "machine":
        human = or_(_human_obs(Observation.media_id == Media.id, Observation.taxon_id == flt.taxon_id),
                    _human_obs(Observation.sequence_id == Media.sequence_id, Observation.observation_level == "event",
                               Observation.taxon_id == flt.taxon_id))
        stmt = stmt.where(human if flt.species_source == "human" else or_(human, _machine_species(flt.taxon_id)))
    if flt.review_status != "any":
        stmt = stmt.where(_media_review_status(flt.review_status))
    return stmt


def sequence_stmt(session: Session, flt: GridFilter):
    """SELECT of the grid's sequences (unordered): a sequence matches when one of its media does."""
    stmt = select(Sequence).where(Sequence.deployment_id.in_(deployments_stmt(flt)))
    if flt.deployment_id:
        stmt = stmt.where(Sequence.deployment_id == flt.deployment_id)
    if flt.date_from:
        stmt = stmt.where(Sequence.event_start >= flt.date_from)
    if flt.date_to:
        stmt = stmt.where(Sequence.event_start <= flt.date_to)
    if flt.review_status != "any":
        stmt = stmt.where(Sequence.review_status == flt.review_status)
    conds = media_conditions(session, flt, for_sequences=True)
    machine_only = flt.taxon_id and flt.species_source == "machine"
    if len(conds) > 1 or machine_only or flt.kind:
        stmt = stmt.where(exists().where(Media.sequence_id == Sequence.id, *conds))
    if flt.taxon_id and flt.species_source != "machine":
        human = _human_obs(Observation.sequence_id == Sequence.id, Observation.taxon_id == flt.taxon_id)
        if flt.species_source == "any":
            human = or_(human, exists().where(Media.sequence_id == Sequence.id, _machine_species(flt.taxon_id)))
        stmt = stmt.where(human)
    return stmt


# ---- keyset pages --------------------------------------------------------------------------------
def encode_cursor(when: Optional[datetime], ident: str) -> str:
    """The key of a tile as text: ``<UTC ISO time>Z~<id>``, or ``~<id>`` for a media with no time
    (no ``+``, so it travels in a query string as it is)."""
    return (as_utc(when).isoformat().replace("+00:00", "Z") if when is not None else "") + "~" + ident


def decode_cursor(text: str, field: str) -> tuple[Optional[datetime], str]:
    when, sep, ident = text.rpartition("~")
    if not sep or not ident:
        raise _bad(field, f"{field} is not a page cursor (use next_cursor / prev_cursor of a page)", "bad cursor")
    if not when:
        return None, ident
    try:
        t = datetime.fromisoformat(when)
    except ValueError:
        raise _bad(field, f"{field} is not a page cursor (use next_cursor / prev_cursor of a page)",
                   "bad cursor") from None
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)), ident


@dataclass
class _Order:
    time: Any
    id: Any
    nullable: bool

    def key(self, row) -> tuple[Optional[datetime], str]:
        return getattr(row, self.time.key), row.id


_ORDERS = {"media": _Order(Media.captured_at, Media.id, True),
           "sequence": _Order(Sequence.event_start, Sequence.id, False)}


def _phases(order: _Order, cursor, backwards: bool) -> list:
    """The parts of the walk from ``cursor``, each (conditions, ORDER BY): tiles with a time in
    (time, id) order, then (media only) the timeless ones by id; the other way round ``backwards``."""
    t, i = order.time, order.id
    timed = ([t.is_not(None)], [t.desc(), i.desc()] if backwards else [t, i])
    timeless = ([t.is_(None)], [i.desc()] if backwards else [i])
    when, ident = cursor if cursor is not None else (None, None)
    if ident is not None and when is not None:
        key = tuple_(literal(when, t.type), literal(ident))
        timed[0].append(tuple_(t, i) < key if backwards else tuple_(t, i) > key)
    elif ident is not None:
        timeless[0].append(i < ident if backwards else i > ident)
    if not order.nullable:
        return [timed]
    if ident is None:
        return [timeless, timed] if backwards else [timed, timeless]
    if when is None:  # the cursor lies in the timeless part, after every timed tile
        return [timeless, timed] if backwards else [timeless]
    return [timed] if backwards else [timed, timeless]


def _walk(session: Session, stmt, order: _Order, cursor, backwards: bool, n: int) -> list:
    rows: list = []
    for conds, by in _phases(order, cursor, backwards):
        if len(rows) >= n:
            break
        rows += list(session.exec(stmt.where(*conds).order_by(*by).limit(n - len(rows))))
    return rows


def page(session: Session, flt: GridFilter, mode: str = "media", limit: int = 100, after: Optional[str] = None,
         before: Optional[str] = None) -> tuple[list, Optional[str], Optional[str]]:
    """One page of tiles: (rows in order, next_cursor, prev_cursor); a cursor is None at either end.

    ``after``: the page after that cursor (the first page without either);
    ``before``: the page before it.
    """
    if mode not in MODES:
        raise _bad("mode", f"mode must be one of {', '.join(MODES)}", "unknown mode")
    if not MIN_PAGE <= limit <= MAX_PAGE:
        raise _bad("limit", f"a grid page holds {MIN_PAGE} to {MAX_PAGE} tiles, got {limit}", "out of range")
    if after and before:
        raise _bad("before", "give after or before, not both", "both given")
    order = _ORDERS[mode]
    stmt = media_stmt(session, flt) if mode == "media" else sequence_stmt(session, flt)
    if before:
        cur = decode_cursor(before, "before")
        rows = _walk(session, stmt, order, cur, True, limit + 1)
        more_before = len(rows) > limit
        rows = list(reversed(rows[:limit]))
        prev_cursor = encode_cursor(*order.key(rows[0])) if rows and more_before else None
        next_cursor = encode_cursor(*order.key(rows[-1])) if rows else None
        return rows, next_cursor, prev_cursor
    cur = decode_cursor(after, "after") if after else None
    rows = _walk(session, stmt, order, cur, False, limit + 1)
    more_after = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(*order.key(rows[-1])) if rows and more_after else None
    prev_cursor = None
    if rows and cur is not None and _walk(session, stmt, order, order.key(rows[0]), True, 1):
        prev_cursor = encode_cursor(*order.key(rows[0]))
    return rows, next_cursor, prev_cursor


def count(session: Session, flt: GridFilter, mode: str = "media", cap: int = 100_000) -> tuple[int, bool]:
    """How many tiles the filter holds, counted up to ``cap``: (count, more than cap)."""
    stmt = media_stmt(session, flt) if mode == "media" else sequence_stmt(session, flt)
    sub = stmt.with_only_columns(literal(1).label("one")).limit(cap + 1).subquery()
    n = session.exec(select(func.count()).select_from(sub)).one()
    return min(n, cap), n > cap


# ---- tiles ---------------------------------------------------------------------------------------------
def _iso(dt: Optional[datetime]) -> Optional[str]:
    return as_utc(dt).isoformat() if dt is not None else None


def _digest(parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _chunks(items: list, n: int = _CHUNK) -> Iterable[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _in(session: Session, stmt_of: Callable, ids: list) -> list:
    out: list = []
    for part in _chunks(list(ids)):
        out += list(session.exec(stmt_of(part)))
    return out


@dataclass
class _State:
    """What the tiles of a set of media show and what their versions are made of."""

    media: dict[str, Media]
    sequences: dict[str, Sequence]
    boxes: dict[str, list[Detection]]  # media id -> live boxes
    media_obs: dict[str, list[Observation]]  # media id -> people's media-level labels
    event_obs: dict[str, list[Observation]]  # sequence id -> people's labels of the sequence (any level)


def load_state(session: Session, media: list[Media], with_sequences: Iterable[str] = ()) -> _State:
    """The review state of ``media`` (and of the sequences ``with_sequences``), in a few chunked queries."""
    mids = [m.id for m in media]
    seq_ids = list({m.sequence_id for m in media if m.sequence_id} | set(with_sequences))
    seqs = {s.id: s for s in _in(session, lambda p: select(Sequence).where(Sequence.id.in_(p)), seq_ids)}
    boxes: dict[str, list[Detection]] = {m: [] for m in mids}
    for d in _in(session, lambda p: select(Detection).options(LEAN_DETECTION).where(
            Detection.media_id.in_(p), Detection.dismissed.is_(False), Detection.category != BLANK_CATEGORY,
            Detection.bbox_x.is_not(None)).order_by(Detection.confidence.desc(), Detection.id), mids):
        boxes[d.media_id].append(d)
    media_obs: dict[str, list[Observation]] = {m: [] for m in mids}
    event_obs: dict[str, list[Observation]] = {s: [] for s in seq_ids}
    human = Observation.classification_method == "human"
    for o in _in(session, lambda p: select(Observation).where(human, Observation.media_id.in_(p))
                 .order_by(Observation.created_at, Observation.id), mids):
        media_obs[o.media_id].append(o)
    for o in _in(session, lambda p: select(Observation).where(human, Observation.sequence_id.in_(p))
                 .order_by(Observation.created_at, Observation.id), seq_ids):
        event_obs[o.sequence_id].append(o)
    return _State({m.id: m for m in media}, seqs, boxes, media_obs, event_obs)


def _obs_key(obs: list[Observation]) -> list:
    return sorted([o.id, _iso(o.updated_at), o.observation_type, o.taxon_id, o.count] for o in obs)


def _seq_key(seq: Optional[Sequence]) -> list:
    return [seq.review_status, seq.reviewed_by, _iso(seq.reviewed_at)] if seq is not None else []


def media_version(st: _State, m: Media) -> str:
    """The version of a media tile (see the module docstring)."""
    return _digest(["media", _seq_key(st.sequences.get(m.sequence_id)), _obs_key(st.media_obs[m.id]),
                    m.favorite, _iso(m.favorite_at), sorted(d.id for d in st.boxes[m.id])])


def sequence_version(st: _State, seq: Sequence, media: list[Media]) -> str:
    """The version of a sequence tile: its state and that of every media in it."""
    return _digest(["sequence", _seq_key(seq), _obs_key(st.event_obs.get(seq.id, [])),
                    sorted([m.id, m.favorite, _iso(m.favorite_at)] for m in media if m.favorite),
                    sorted(d.id for m in media for d in st.boxes[m.id])])


def media_status(st: _State, m: Media) -> str:
    """Review status of one media: its own labels first, else its sequence's."""
    own = st.media_obs[m.id]
    if own:
        return "blank" if all(o.observation_type == "blank" for o in own) else "reviewed"
    seq = st.sequences.get(m.sequence_id)
    return seq.review_status if seq is not None else "unreviewed"


def _box(d: Detection, taxa: dict[str, Taxon]) -> dict[str, Any]:
    return {"id": d.id, "bbox": [d.bbox_x, d.bbox_y, d.bbox_width, d.bbox_height], "category": d.category,
            "confidence": d.confidence, "human": d.model == HUMAN_MODEL,
            "taxon": taxon_dict(taxa.get(d.taxon_id)) if d.taxon_id else None, "label": d.label}


def _label(o: Observation, taxa: dict[str, Taxon]) -> dict[str, Any]:
    return {"observation_type": o.observation_type, "taxon": taxon_dict(taxa.get(o.taxon_id)) if o.taxon_id else None,
            "count": o.count, "level": o.observation_level, "classified_by": o.classified_by}


def _machine(boxes: list[Detection], taxa: dict[str, Taxon]) -> Optional[dict[str, Any]]:
    """The most confident machine guess with a species, person or vehicle among the boxes."""
    for d in boxes:
        if d.model != HUMAN_MODEL and (d.taxon_id or d.category in ("person", "vehicle")) \
                and d.review_status != "rejected":
            return {"taxon": taxon_dict(taxa.get(d.taxon_id)) if d.taxon_id else None, "category": d.category,
                    "label": d.label, "confidence": d.label_confidence if d.label_confidence is not None
                    else d.confidence}
    return None


def _places(session: Session, dep_ids: Iterable[str]) -> dict[str, tuple[Deployment, Optional[Location]]]:
    ids = list(set(dep_ids))
    if not ids:
        return {}
    rows = session.exec(select(Deployment, Location).outerjoin(Location, Location.id == Deployment.location_id)
                        .where(Deployment.id.in_(ids)))
    return {d.id: (d, loc) for d, loc in rows}


def media_tiles(session: Session, rows: list[Media], thumb_url: Optional[Callable[[Media], Optional[str]]] = None
                ) -> list[dict[str, Any]]:
    """The tiles of a page of media (in the given order)."""
    st = load_state(session, rows)
    places = _places(session, [m.deployment_id for m in rows])
    taxa = load_taxa(session, [d.taxon_id for bs in st.boxes.values() for d in bs]
                     + [o.taxon_id for os in st.media_obs.values() for o in os]
                     + [o.taxon_id for os in st.event_obs.values() for o in os])
    out = []
    for m in rows:
        dep, loc = places[m.deployment_id]
        seq = st.sequences.get(m.sequence_id)
        labels = st.media_obs[m.id] or [o for o in st.event_obs.get(m.sequence_id, [])
                                         if o.observation_level == "event"]
        out.append({
            "id": m.id, "kind": m.kind, "sequence_id": m.sequence_id, "deployment_id": m.deployment_id,
            "location": loc.name if loc else None, "location_id": loc.id if loc else None,
            "file_name": m.file_name, "captured_at": _iso(m.captured_at),
            "captured_at_local": format_local(m.captured_at, dep.timezone),
            "captured_at_raw": format_raw(m.captured_at_raw) or None, "width": m.width, "height": m.height,
            "thumb": thumb_url(m) if thumb_url else None,
            "boxes": [_box(d, taxa) for d in st.boxes[m.id]],
            "labels": [_label(o, taxa) for o in labels], "machine": _machine(st.boxes[m.id], taxa),
            "review_status": media_status(st, m), "sequence_status": seq.review_status if seq else None,
            "favorite": m.favorite, "favorite_by": m.favorite_by, "favorite_at": _iso(m.favorite_at),
            "flags": list(m.flags or []), "media_count": 1, "version": media_version(st, m)})
    return out


def sequence_media(session: Session, seq_ids: list[str]) -> dict[str, list[Media]]:
    """The photos and videos of each sequence, in time order."""
    out: dict[str, list[Media]] = {s: [] for s in seq_ids}
    for m in _in(session, lambda p: select(Media).options(LEAN_MEDIA).where(Media.sequence_id.in_(p),
                                                                          Media.kind.in_(KINDS))
                 .order_by(Media.captured_at, Media.file_name, Media.id), seq_ids):
        out[m.sequence_id].append(m)
    return out


def _poster(media: list[Media], st: _State) -> Optional[Media]:
    """The media a sequence tile shows: the one with the most confident box, else the first."""
    best = None
    for m in media:
        conf = max((d.confidence for d in st.boxes[m.id]), default=-1.0)
        if best is None or conf > best[0]:
            best = (conf, m)
    return best[1] if best else None


def sequence_tiles(session: Session, rows: list[Sequence],
                   thumb_url: Optional[Callable[[Media], Optional[str]]] = None) -> list[dict[str, Any]]:
    """The tiles of a page of sequences (in the given order), each showing one of its media."""
    by_seq = sequence_media(session, [s.id for s in rows])
    st = load_state(session, [m for ms in by_seq.values() for m in ms], with_sequences=[s.id for s in rows])
    places = _places(session, [s.deployment_id for s in rows])
    taxa = load_taxa(session, [d.taxon_id for bs in st.boxes.values() for d in bs]
                     + [o.taxon_id for os in st.event_obs.values() for o in os])
    out = []
    for seq in rows:
        dep, loc = places[seq.deployment_id]
        media = by_seq[seq.id]
        poster = _poster(media, st)
        all_boxes = sorted((d for m in media for d in st.boxes[m.id]), key=lambda d: -d.confidence)
        flags = list(dict.fromkeys(f for m in media for f in (m.flags or [])))
        out.append({
            "id": seq.id, "kind": "sequence", "sequence_id": seq.id, "deployment_id": seq.deployment_id,
            "location": loc.name if loc else None, "location_id": loc.id if loc else None,
            "file_name": poster.file_name if poster else None,
            "captured_at": _iso(seq.event_start), "captured_at_local": format_local(seq.event_start, dep.timezone),
            "captured_at_raw": None, "width": poster.width if poster else None,
            "height": poster.height if poster else None, "poster_id": poster.id if poster else None,
            "thumb": thumb_url(poster) if thumb_url and poster else None,
            "boxes": [_box(d, taxa) for d in st.boxes[poster.id]] if poster else [],
            "labels": [_label(o, taxa) for o in st.event_obs.get(seq.id, [])],
            "machine": _machine(all_boxes, taxa), "review_status": seq.review_status,
            "sequence_status": seq.review_status, "favorite": any(m.favorite for m in media),
            "favorite_by": None, "favorite_at": None, "flags": flags, "media_count": len(media),
            "version": sequence_version(st, seq, media)})
    return out
