"""The thumbnail grid and the gallery: pages of media or sequences, bulk actions, favourites as a zip.

Reading needs the viewer role in the areas shown (thumbnails pass the image
policy: blurred for viewers and rangers); a bulk action needs the biologist
role on every item of the selection (server/review/bulk.py).
"""
from __future__ import annotations

import io
import zipfile
from typing import Any, Literal, Optional

from flask import current_app, g, send_file, url_for
from pydantic import Field, field_validator

from ..auth import policy
from ..auth.permissions import current_user, load_in_area, require_area, visible_area_ids
from ..bounds import BoundedDatetime
from ..db import get_session
from ..errors import SaolaError
from ..models import Deployment, Location, Media, Program
from ..review import bulk, grid
from ..storage import get_store
from ..timeutil import to_utc
from .core import endpoint
from .schemas import In, Out

TAGS = ["review"]
FlagName = Literal["outside_window", "clock_reset", "corrupt", "no_timestamp", "future_time"]
ZIP_MAX_FILES = 500


class GridFilterQuery(In):
    """What the grid or gallery shows (all optional, combined with AND)."""

    mode: Literal["media", "sequence"] = Field(default="media", description="one tile per photo/video, or per sequence")
    area_id: Optional[str] = None
    program_id: Optional[str] = None
    deployment_id: Optional[str] = None
    location_id: Optional[str] = Field(default=None, description="a station")
    date_from: Optional[BoundedDatetime] = None
    date_to: Optional[BoundedDatetime] = None
    time_of_day: Optional[Literal["dawn", "day", "dusk", "night"]] = Field(
        default=None, description="local time: dawn 05-07, day 07-17, dusk 17-19, night 19-05")
    hour_from: Optional[int] = Field(default=None, ge=0, le=23, description="local hour range start (with hour_to)")
    hour_to: Optional[int] = Field(default=None, ge=1, le=24, description="local hour range end, exclusive; "
                                                                           "below hour_from it wraps past midnight")
    taxon_id: Optional[str] = None
    species_source: Literal["any", "machine", "human"] = Field(
        default="any", description="the species as a machine label nobody rejected, a person's label, or either")
    min_confidence: Optional[float] = Field(default=None, ge=0, le=1, description="a live box at least this confident")
    max_confidence: Optional[float] = Field(default=None, ge=0, le=1)
    review_status: Literal["unreviewed", "reviewed", "blank", "any"] = "any"
    flag: Optional[list[FlagName]] = Field(default=None, max_length=5, description="ingest flags (any of them)")
    favorite: Optional[bool] = None
    kind: Optional[Literal["image", "video"]] = None

    @field_validator("flag", mode="before")
    @classmethod
    def _one_flag(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class GridQuery(GridFilterQuery):
    limit: int = Field(default=100, ge=grid.MIN_PAGE, le=grid.MAX_PAGE, description="tiles per page")
    after: Optional[str] = Field(default=None, max_length=120, description="next_cursor of the previous page")
    before: Optional[str] = Field(default=None, max_length=120, description="prev_cursor of the next page")


class GridTaxonOut(Out):
    id: str
    scientific_name: str
    vietnamese_name: Optional[str]
    english_name: Optional[str]
    iucn_category: Optional[str]
    decree84_group: Optional[str]


class GridBoxOut(Out):
    id: str
    bbox: list[float] = Field(description="normalised [x, y, width, height], top-left")
    category: str
    confidence: float
    human: bool = Field(description="drawn by a person")
    taxon: Optional[GridTaxonOut]
    label: Optional[str]


class GridLabelOut(Out):
    observation_type: str
    taxon: Optional[GridTaxonOut]
    count: Optional[int]
    level: str
    classified_by: Optional[str]


class GridGuessOut(Out):
    taxon: Optional[GridTaxonOut]
    category: str
    label: Optional[str]
    confidence: float


class GridTileOut(Out):
    """One tile: a photo or video (media mode) or a sequence shown by one of its media."""

    id: str
    kind: str
    sequence_id: Optional[str]
    deployment_id: str
    location: Optional[str]
    location_id: Optional[str]
    file_name: Optional[str]
    captured_at: Optional[str] = Field(description="UTC")
    captured_at_local: str = Field(description="the deployment's local time with its zone")
    captured_at_raw: Optional[str] = Field(description="the camera's own clock reading")
    width: Optional[int]
    height: Optional[int]
    poster_id: Optional[str] = None
    thumb: Optional[str] = Field(description="thumbnail URL (null: a video without a poster frame)")
    boxes: list[GridBoxOut]
    labels: list[GridLabelOut] = Field(description="people's labels")
    machine: Optional[GridGuessOut] = Field(description="the machine's most confident guess")
    review_status: str
    sequence_status: Optional[str]
    favorite: bool
    favorite_by: Optional[str]
    favorite_at: Optional[str]
    flags: list[str]
    media_count: int
    version: str = Field(description="digest of the review state; send it back with a bulk action")


class GridPageOut(Out):
    mode: str
    items: list[GridTileOut]
    next_cursor: Optional[str]
    prev_cursor: Optional[str]
    can_edit: bool = Field(description="the biologist role in every area shown")


class GridCountOut(Out):
    mode: str
    count: int
    more: bool = Field(description="more than count (counting stops there)")


class BulkItemIn(In):
    id: str = Field(min_length=1, max_length=64)
    version: str = Field(min_length=1, max_length=64, description="the tile's version as the page showed it")


class BulkIn(In):
    mode: Literal["media", "sequence"] = "media"
    action: Literal["species", "blank", "human", "vehicle", "unidentifiable", "delete_boxes", "favorite",
                    "unfavorite"]
    items: list[BulkItemIn] = Field(min_length=1, max_length=bulk.MAX_ITEMS)
    taxon_id: Optional[str] = Field(default=None, description="with action species")
    count: Optional[int] = Field(default=None, ge=1, le=10000, description="individuals (labels only)")


class BulkSkippedOut(Out):
    id: str
    reason: str


class BulkOut(Out):
    action_id: str = Field(description="POST /review/undo reverts it")
    action: str
    mode: str
    applied: int
    media: int
    skipped: list[BulkSkippedOut] = Field(description="left as they are: changed since the page was loaded...")
    skipped_count: int


# ---- helpers ------------------------------------------------------------------------------------------
def grid_filter(query: GridFilterQuery) -> grid.GridFilter:
    """The filter of a query, every id in it checked through the access-scope helper."""
    s = get_session()
    scoped = False
    for model, ident in ((Deployment, query.deployment_id), (Program, query.program_id),
                         (Location, query.location_id)):
        if ident:
            load_in_area(s, model, ident)
            scoped = True
    if query.area_id:
        require_area(s, query.area_id)
        scoped = True
    return grid.GridFilter(
        area_ids=None if scoped else visible_area_ids(s, current_user()), area_id=query.area_id,
        program_id=query.program_id, deployment_id=query.deployment_id, location_id=query.location_id,
        date_from=to_utc(query.date_from) if query.date_from else None,
        date_to=to_utc(query.date_to) if query.date_to else None, time_of_day=query.time_of_day,
        hour_from=query.hour_from, hour_to=query.hour_to, taxon_id=query.taxon_id,
        species_source=query.species_source, min_confidence=query.min_confidence,
        max_confidence=query.max_confidence, review_status=query.review_status, flags=tuple(query.flag or ()),
        favorite=query.favorite, kind=query.kind)


def tile_thumb(m: Media) -> Optional[str]:
    """The thumbnail URL of a photo, or of a video's poster frame (None without one)."""
    if m.kind == "video":
        from ..ingest.derivatives import poster_key

        if not current_app.extensions["saola.derivatives"].exists(poster_key(m.sha256)):
            return None
    return url_for("review_pages.media_image", media_id=m.id, size="thumb")


def _can_edit(flt: grid.GridFilter, query: GridFilterQuery) -> bool:
    s, user = get_session(), current_user()
    if user.is_admin:
        return True
    if flt.area_ids is not None:
        mine = visible_area_ids(s, user, "biologist") or []
        return bool(flt.area_ids) and set(flt.area_ids) <= set(mine)
    for model, ident in ((Deployment, query.deployment_id), (Program, query.program_id),
                         (Location, query.location_id)):
        if ident and not load_in_area(s, model, ident).at_least("biologist"):
            return False
    return not query.area_id or require_area(s, query.area_id) in ("biologist", "manager", "admin")


# ---- routes ---------------------------------------------------------------------------------------------
@endpoint("/review/grid", summary="A page of thumbnails (media or sequences) under a filter, keyset-paged",
          tags=TAGS, query=GridQuery, response=GridPageOut)
def review_grid(query: GridQuery):
    s = get_session()
    flt = grid_filter(query)
    rows, next_cursor, prev_cursor = grid.page(s, flt, query.mode, query.limit, query.after, query.before)
    tiles = grid.media_tiles(s, rows, tile_thumb) if query.mode == "media" else grid.sequence_tiles(s, rows, tile_thumb)
    return {"mode": query.mode, "items": tiles, "next_cursor": next_cursor, "prev_cursor": prev_cursor,
            "can_edit": _can_edit(flt, query)}


@endpoint("/review/grid/count", summary="How many tiles a grid filter holds (counted up to 100,000)", tags=TAGS,
          query=GridFilterQuery, response=GridCountOut)
def review_grid_count(query: GridFilterQuery):
    n, more = grid.count(get_session(), grid_filter(query), query.mode)
    return {"mode": query.mode, "count": n, "more": more}


@endpoint("/review/bulk", ["POST"], summary="One bulk action on a grid selection (one undoable review action)",
          tags=TAGS, body=BulkIn, response=BulkOut)
def review_bulk(body: BulkIn):
    """Every item is checked through the access-scope helper (404 for an id outside your areas, 403 below
    biologist: nothing is written then); items changed since the page was loaded are left alone and
    listed in ``skipped``. Undo with POST /review/undo."""
    items: dict[str, str] = {}
    for it in body.items:
        items.setdefault(it.id, it.version)
    return bulk.apply(get_session(), g.user, body.mode, body.action, items, body.taxon_id, body.count)


@endpoint("/review/grid/download.zip", summary="The photos of a grid filter as a zip (e.g. favourites, at most 500)",
          tags=TAGS, query=GridFilterQuery, raw=True, produces=("application/zip",))
def review_grid_zip(query: GridFilterQuery):
    """Each photo as your role may see it (server/auth/policy.py): biologists get the originals, viewers
    copies with people blurred and no metadata; photos withheld from you are listed in SKIPPED.txt."""
    s = get_session()
    base = grid_filter(query)
    flt = grid.GridFilter(**{**base.as_dict(), "kind": "image"}, area_ids=base.area_ids)
    media: list = []
    cursor = None
    while len(media) <= ZIP_MAX_FILES:  # keyset pages, like the grid's
        rows, cursor, _prev = grid.page(s, flt, "media", grid.MAX_PAGE, after=cursor)
        media += rows
        if cursor is None:
            break
    if len(media) > ZIP_MAX_FILES:
        raise SaolaError(f"more than {ZIP_MAX_FILES} photos match: narrow the filter (favourites, a station, "
                         "dates)", status=422, code="too_many",
                         details=[{"field": "favorite", "message": "too many photos"}])
    store, derivatives = get_store(), current_app.extensions["saola.derivatives"]
    detector = bool(current_app.config.get("DETECTOR_MODEL"))
    buf = io.BytesIO()
    skipped: list[str] = []
    names: set[str] = set()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for m in media:
            acc = load_in_area(s, Media, m.id)
            try:
                if not store.exists(m.storage_key):
                    raise SaolaError("the original is missing from the media store", status=404)
                path, _mime, _blurred = policy.image_for(s, m, "original", acc.role, store, derivatives, detector)
            except SaolaError as e:
                skipped.append(f"{m.file_name}: {e.message}")
                continue
            stamp = m.captured_at.strftime("%Y%m%dT%H%M%SZ_") if m.captured_at else ""
            name = f"{stamp}{m.file_name}"
            if name in names:
                name = f"{m.id[:8]}_{name}"
            names.add(name)
            z.write(path, name)
        if skipped:
            z.writestr("SKIPPED.txt", "\n".join(skipped) + "\n")
    buf.seek(0)
    resp = send_file(buf, mimetype="application/zip", as_attachment=True, download_name="saola-photos.zip")
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
