"""What each role may see of sensitive species' positions and of photos of people: the one policy.

Every path that returns a position or an image asks this module: the REST API
(media, field records, locations), sync pull, the field records page and its
photos, the review and sound pages, and the exports (public exports generalise
with the same functions).

**Sensitive species.** A taxon is sensitive when it is flagged
(``Taxon.sensitive``) or, so that a species added without the flag is still
protected, when it is in Decree 84 group IB or IUCN Critically Endangered or
Endangered. Exact positions of records of sensitive taxa help poachers, so:

* biologists, managers and administrators of the area see them exactly;
* rangers see their *own* records exactly (the tablet holds them anyway and
  they must find the place again: a snare line, a camera) and everyone else's
  sensitive records generalised;
* viewers see them generalised; they also get generalised the stations
  (locations) where a sensitive taxon was recorded and the EXIF positions of
  media taken there or showing one (a camera's GPS is its station), which
  rangers and above see exactly since they set up and service the stations.

Generalised means the centre of a :data:`GRID_DEG` degree grid cell (about
11 km) with a coordinate uncertainty covering the whole cell — the rule public
exports use (server/exports/sensitive.py) — and ``"generalised": true`` in the
position, so a tablet never pushes the cell back as a real fix (push restores
the stored position: :func:`restore_generalised`). Pages say "position
withheld" instead of showing the cell. Records of other taxa are exact for
every member.

**Photos of people.** Originals are never changed. Biologists and above see
clear images and download originals. Rangers and viewers get people and
vehicles blurred (server/detect/privacy.py; on a video's poster frame, the boxes of every frame); when a detector is configured an
image no detector has checked is withheld from them; an image marked as
showing a person with no box to blur is withheld from them. Rangers download
the original bytes only of images showing nobody (they bring in the cards);
viewers get re-encoded copies without metadata (no EXIF GPS, no serials).
**Videos** follow the same rule with what can be done without blurring
frames: biologists and above get the original; a video showing a person or a
vehicle (flagged, or a box in any frame) is withheld from rangers and
viewers; rangers get the original of one showing nobody, viewers a copy with
every metadata tag removed (:func:`video_for`).

**Field photos** (uploaded from tablets, outside every deployment) are
reachable from a protected area only through a live field record of that area
that lists the photo's SHA-256, and only when the area may own the bytes:
someone with the ranger role or above there uploaded them (or the photo is a
media of the area's own deployments). Listing another area's SHA-256 in a
record reaches nothing; an upload reveals whether bytes exist only to a user
who may see that media (:func:`may_reuse_bytes`).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from sqlalchemy import or_
from sqlmodel import Session, col, select

from ..models import (Deployment, Detection, FieldObservation, Media, Membership, Observation, Program, Taxon,
                      Upload, User)
from .permissions import OWNER, RANK, role_in_area

#: From this role up, exact positions of sensitive species and clear images.
EXACT_FROM = "biologist"
CLEAR_FROM = "biologist"
#: Rangers may download untouched originals of images that show nobody.
ORIGINALS_FROM = "ranger"
SENSITIVE_IUCN = ("CR", "EN")
SENSITIVE_DECREE84 = ("IB",)
GRID_DEG = 0.1
EARTH_RADIUS_M = 6_371_008.8
#: Sync entities whose documents carry ``data.location`` and a taxon.
FIELD_ENTITIES = ("observation", "threat", "deployment")


def _reaches(role: Optional[str], minimum: str) -> bool:
    return role is not None and (role == OWNER or RANK[role] >= RANK[minimum])


def sees_exact_positions(role: Optional[str]) -> bool:
    """Whether ``role`` sees exact positions of every sensitive record of the area."""
    return _reaches(role, EXACT_FROM)


def sees_clear_images(role: Optional[str]) -> bool:
    """Whether ``role`` sees people unblurred (and every original)."""
    return _reaches(role, CLEAR_FROM)


def may_download_originals(role: Optional[str]) -> bool:
    """Whether ``role`` gets the stored bytes of an image showing nobody (below: a re-encoded copy)."""
    return _reaches(role, ORIGINALS_FROM)


def hub_role(precise_positions: bool) -> Optional[str]:
    """The role a national hub is given when an area server publishes to it (server/hub/publish.py).

    By default the hub is treated like a viewer of the area: stations, media positions and field
    records of sensitive taxa leave the area generalised (and photos of people are not sent);
    ``SAOLA_HUB_PRECISE_POSITIONS`` (a hub trusted with exact positions, e.g. the national
    database behind the ministry's access rules) gives it the biologist role instead.
    """
    return EXACT_FROM if precise_positions else None


# ---- sensitive taxa -------------------------------------------------------------------------
def is_sensitive(taxon: Optional[Taxon]) -> bool:
    """Whether records of ``taxon`` have protected positions (see the module docstring)."""
    if taxon is None:
        return False
    return bool(taxon.sensitive) or taxon.decree84_group in SENSITIVE_DECREE84 \
        or taxon.iucn_category in SENSITIVE_IUCN


def sensitive_clause():
    """SQL condition on ``Taxon``: the taxon is sensitive (the same rule as :func:`is_sensitive`)."""
    return or_(Taxon.sensitive.is_(True), Taxon.decree84_group.in_(SENSITIVE_DECREE84),
               Taxon.iucn_category.in_(SENSITIVE_IUCN))


def sensitive_taxon_ids():
    """A subquery of the ids of sensitive taxa."""
    return select(Taxon.id).where(sensitive_clause())


# ---- generalising a position ----------------------------------------------------------------
def cell_uncertainty_m(lat: float, grid_deg: float) -> int:
    """Radius (m) of the circle around a grid-cell centre that covers the whole cell (half its diagonal)."""
    dlat = math.radians(grid_deg) * EARTH_RADIUS_M
    # The cell is widest at the latitude of its edge nearer the equator.
    edge = max(0.0, abs(lat) - grid_deg / 2)
    dlon = math.radians(grid_deg) * EARTH_RADIUS_M * math.cos(math.radians(edge))
    return int(math.ceil(math.hypot(dlat, dlon) / 2))


def generalise(lat: float, lon: float, grid_deg: float = GRID_DEG) -> tuple[float, float, int]:
    """(lat, lon) moved to the centre of their ``grid_deg`` cell, and the uncertainty (m) covering the cell."""
    def centre(v: float) -> float:
        return round((math.floor(v / grid_deg) + 0.5) * grid_deg, 6)

    clat, clon = centre(lat), centre(lon)
    return clat, clon, cell_uncertainty_m(clat, grid_deg)


@dataclass(frozen=True)
class Position:
    """A position as a role may see it; ``generalised`` when moved to a grid-cell centre."""

    lat: Optional[float]
    lon: Optional[float]
    uncertainty_m: Optional[float] = None
    generalised: bool = False


def position_for(lat: Optional[float], lon: Optional[float], *, sensitive: bool, role: Optional[str],
                 own: bool = False, uncertainty_m: Optional[float] = None) -> Position:
    """The position ``role`` may see of a record at (lat, lon).

    ``own``: the record was made by the user asking (rangers see their own exactly).
    """
    if lat is None or lon is None or not sensitive or sees_exact_positions(role) \
            or (own and _reaches(role, "ranger")):
        return Position(lat, lon, uncertainty_m, False)
    glat, glon, unc = generalise(lat, lon)
    return Position(glat, glon, unc, True)


# ---- field records (page, API) and sync pull -------------------------------------------------
def field_record_position(obs: FieldObservation, taxon: Optional[Taxon], role: Optional[str],
                          user: Optional[User]) -> Position:
    """The position of a field record (observation, threat, deployment form) for ``user``."""
    own = user is not None and obs.created_by == user.id
    return position_for(obs.latitude, obs.longitude, sensitive=is_sensitive(taxon), role=role, own=own)


def _doc_taxon_name(doc: Any) -> Optional[str]:
    rec = doc.get("data") if isinstance(doc, dict) else None
    t = rec.get("taxon") if isinstance(rec, dict) else None
    if isinstance(t, dict):
        t = t.get("scientific_name") or t.get("id")
    return t.strip() if isinstance(t, str) and t.strip() else None


def _sensitive_names(session: Session, names: set[str]) -> set[str]:
    """The names (scientific, Vietnamese, English or ids) among ``names`` that denote a sensitive taxon."""
    if not names:
        return set()
    from ..services.taxa import find_taxon

    found: dict[str, Taxon] = {}
    for t in session.exec(select(Taxon).where(or_(Taxon.scientific_name.in_(names), Taxon.id.in_(names)))):
        found[t.scientific_name] = found[t.id] = t
    for n in names - set(found):  # Vietnamese or English names, other spellings
        t = find_taxon(session, n)
        if t is not None:
            found[n] = t
    return {n for n in names if is_sensitive(found.get(n))}


def _generalised_doc(doc: dict) -> dict:
    out = copy.deepcopy(doc)
    loc = out["data"]["location"]
    pos = position_for(loc.get("lat"), loc.get("lon"), sensitive=True, role=None)
    out["data"]["location"] = {"lat": pos.lat, "lon": pos.lon, "accuracy_m": pos.uncertainty_m,
                               "generalised": True}
    return out


def _has_location(doc: Any) -> bool:
    rec = doc.get("data") if isinstance(doc, dict) else None
    loc = rec.get("location") if isinstance(rec, dict) else None
    return isinstance(loc, dict) and isinstance(loc.get("lat"), (int, float)) \
        and isinstance(loc.get("lon"), (int, float)) and not loc.get("generalised")


def _redact_docs(session: Session, user: User, items: list[tuple[Any, str, Any, Any]]) -> dict[Any, Any]:
    """``items``: (key, area id, record id, document). The documents ``user`` may see, by key:
    sensitive positions generalised where the user's role does not reach them."""
    out = {key: doc for key, _a, _r, doc in items}
    roles = {a: role_in_area(session, user, a) for a in {a for _k, a, _r, _d in items}}
    todo = [it for it in items if _has_location(it[3]) and not sees_exact_positions(roles[it[1]])]
    if not todo:
        return out
    sensitive = _sensitive_names(session, {n for it in todo if (n := _doc_taxon_name(it[3]))})
    todo = [it for it in todo if _doc_taxon_name(it[3]) in sensitive]
    ids = list({it[2] for it in todo})
    creators = dict(session.exec(select(FieldObservation.id, FieldObservation.created_by)
                                 .where(FieldObservation.id.in_(ids))).all()) if ids else {}
    for key, area_id, record_id, doc in todo:
        if not (creators.get(record_id) == user.id and _reaches(roles[area_id], "ranger")):
            out[key] = _generalised_doc(doc)
    return out


def redact_changes(session: Session, user: User, rows: Iterable[Any]) -> dict[int, Any]:
    """The ``data`` each sync change may carry to ``user`` (by seq), sensitive positions generalised.

    A page costs nothing extra for biologists and above; for others one query
    for the taxa named and one for the records' creators.
    """
    rows = list(rows)
    out = {r.seq: r.data for r in rows}
    out.update(_redact_docs(session, user, [(r.seq, r.area_id, r.record_id, r.data) for r in rows
                                            if r.entity in FIELD_ENTITIES and r.op != "delete"]))
    return out


def redact_push_answers(session: Session, user: User, answers: list[dict]) -> list[dict]:
    """Push answers as ``user`` may see them: the server's version sent back after a merge or a
    conflict (``server_data``) has sensitive positions generalised like a pull."""
    items = []
    for i, a in enumerate(answers):
        doc = a.get("server_data")
        if a.get("entity") in FIELD_ENTITIES and isinstance(doc, dict) and _has_location(doc):
            program = session.get(Program, doc.get("program_id")) if isinstance(doc.get("program_id"), str) else None
            if program is not None:
                items.append((i, program.area_id, a.get("record_id"), doc))
    if not items:
        return answers
    docs = _redact_docs(session, user, items)
    return [{**a, "server_data": docs[i]} if i in docs else a for i, a in enumerate(answers)]


def restore_generalised(doc: Any, stored: Any) -> Any:
    """A pushed document whose location is the generalised cell it was given keeps the stored position.

    The tablet of a ranger or viewer received ``"generalised": true`` instead of
    the exact fix; editing another field of that record must not move it.
    """
    if not isinstance(doc, dict) or not isinstance(stored, dict):
        return doc
    rec, old = doc.get("data"), stored.get("data")
    loc = rec.get("location") if isinstance(rec, dict) else None
    if not (isinstance(loc, dict) and loc.get("generalised") and isinstance(old, dict)
            and isinstance(old.get("location"), dict)):
        return doc
    out = copy.deepcopy(doc)
    out["data"]["location"] = copy.deepcopy(old["location"])
    return out


# ---- media and stations -------------------------------------------------------------------------
def sensitive_media_ids(session: Session, media_ids: list[str]) -> set[str]:
    """Media showing a sensitive taxon (a label, or a machine label nobody rejected), or taken at a
    station where one was recorded (a camera's GPS is its station's position)."""
    if not media_ids:
        return set()
    sens = sensitive_taxon_ids()
    out = {m for m in session.exec(select(Observation.media_id).where(col(Observation.media_id).in_(media_ids),
                                                                     col(Observation.taxon_id).in_(sens))) if m}
    out |= set(session.exec(select(Detection.media_id).where(
        col(Detection.media_id).in_(media_ids), col(Detection.taxon_id).in_(sens), col(Detection.dismissed).is_(False),
        Detection.review_status != "rejected")))
    deps = dict(session.exec(select(Media.id, Deployment.location_id)
                             .join(Deployment, col(Deployment.id) == col(Media.deployment_id))
                             .where(col(Media.id).in_(media_ids))).all())
    stations = sensitive_location_ids(session, list(set(deps.values())))
    return out | {m for m, loc in deps.items() if loc in stations}


def sensitive_location_ids(session: Session, location_ids: list[str]) -> set[str]:
    """Stations where a sensitive taxon was recorded (as public exports generalise them)."""
    if not location_ids:
        return set()
    sens = sensitive_taxon_ids()
    deps = select(Deployment.id).where(col(Deployment.location_id).in_(location_ids))
    hit = set(session.exec(select(Observation.deployment_id).where(col(Observation.deployment_id).in_(deps),
                                                                  col(Observation.taxon_id).in_(sens))))
    hit |= {d for d in session.exec(
        select(Media.deployment_id).join(Detection, col(Detection.media_id) == col(Media.id)).where(
            col(Media.deployment_id).in_(deps), col(Detection.taxon_id).in_(sens), col(Detection.dismissed).is_(False),
            Detection.review_status != "rejected")) if d}
    if not hit:
        return set()
    return set(session.exec(select(Deployment.location_id).where(col(Deployment.id).in_(hit))))


GPS_META_PREFIX = "GPS "


def media_view(session: Session, rows: list[Media], role_of) -> list[Any]:
    """Media as the user may see them: for viewers, media of sensitive records or stations
    (:func:`sensitive_media_ids`) have their EXIF position generalised and the GPS tags dropped
    from ``meta`` (rangers and above know the stations; see :func:`location_view`).

    ``role_of(media)`` is the user's role for that media. Changed rows are
    answered as dicts (the session's rows are never modified).
    """
    hidden = [m for m in rows if not _reaches(role_of(m), "ranger")]
    sens = sensitive_media_ids(session, [m.id for m in hidden]) if hidden else set()
    if not sens:
        return rows
    out: list[Any] = []
    for m in rows:
        if m.id not in sens:
            out.append(m)
            continue
        data = m.model_dump()
        pos = position_for(m.latitude, m.longitude, sensitive=True, role=role_of(m))
        data["latitude"], data["longitude"] = pos.lat, pos.lon
        meta = dict(data.get("meta") or {})
        if isinstance(meta.get("exif"), dict):
            meta["exif"] = {k: v for k, v in meta["exif"].items() if not str(k).startswith(GPS_META_PREFIX)}
        data["meta"] = meta
        out.append(data)
    return out


def location_view(session: Session, rows: list, role_of) -> list[Any]:
    """Stations as the user may see them: for viewers, those where a sensitive taxon was recorded
    are generalised (rangers and above set up and service them and see them exactly)."""
    hidden = [loc for loc in rows if loc.latitude is not None and not _reaches(role_of(loc), "ranger")]
    sens = sensitive_location_ids(session, [loc.id for loc in hidden]) if hidden else set()
    if not sens:
        return rows
    out: list[Any] = []
    for loc in rows:
        if loc.id not in sens:
            out.append(loc)
            continue
        data = loc.model_dump()
        pos = position_for(loc.latitude, loc.longitude, sensitive=True, role=role_of(loc))
        data.update(latitude=pos.lat, longitude=pos.lon, coordinate_uncertainty=int(pos.uncertainty_m or 0),
                    elevation=None)
        out.append(data)
    return out


# ---- photos -------------------------------------------------------------------------------------
def person_media_clause():
    """SQL condition: the media row shows a person (flagged, or a person detection not rejected/dismissed)."""
    person_det = (select(Detection.media_id).where(Detection.category == "person")
                  .where(Detection.dismissed.is_(False)).where(Detection.review_status != "rejected"))
    return or_(Media.contains_person.is_(True), Media.id.in_(person_det))


def image_for(session: Session, media: Media, size: str, role: str, media_store, derivatives,
              detector_configured: bool):
    """(path, MIME type, blurred) of the image ``role`` may see of ``media`` at ``size``.

    ``size``: thumb, review or original (see the module docstring). Answers
    409 ``not_screened`` (no detector has checked it yet), 403 ``withheld`` (it
    shows a person with no box to blur) or 422 ``unreadable_image``.
    """
    from ..detect import privacy
    from ..errors import SaolaError

    try:
        return privacy.image_for_role(session, media, size, role, media_store, derivatives, detector_configured)
    except privacy.NotScreened:
        raise SaolaError("this image has not been checked for people yet; it is shown to viewers once "
                         "detection has run", status=409, code="not_screened") from None
    except privacy.Withheld:
        raise SaolaError("this image shows a person who cannot be blurred; it needs the biologist role",
                         status=403, code="withheld") from None
    except ValueError as e:  # unreadable original, unknown size
        raise SaolaError(f"cannot make the image: {e}", status=422, code="unreadable_image") from None


def is_placeholder(path) -> bool:
    """Whether :func:`image_for` answered with the stand-in for a thumbnail still being made."""
    from ..detect.privacy import is_placeholder as placeholder

    return placeholder(path)


def placeholder_response(path):
    """The stand-in image, never cached, marked ``X-Saola-Pending: 1`` (pages fetch it again later)."""
    import io

    from flask import send_file

    # The bytes, not an open file (the test client and some WSGI servers leave it open).
    resp = send_file(io.BytesIO(path.read_bytes()), mimetype="image/svg+xml", conditional=False, max_age=0)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Saola-Pending"] = "1"
    resp.headers["Retry-After"] = "3"
    return resp


def recording_for(media: Media, role: Optional[str], media_store, derivatives) -> tuple[Any, str, bool]:
    """(path, MIME type, cleaned) of the recording ``role`` may download of the audio ``media``.

    Recordings carry the recorder's position and serial (GUANO, AudioMoth
    comments, INFO chunks): rangers and above get the stored bytes (they bring
    the cards in); viewers get a copy without metadata (server/audio/clean.py),
    made once and kept beside the other derivatives. Answers 422
    ``unreadable_recording`` when no clean copy can be made.
    """
    import tempfile
    from pathlib import Path

    from ..audio.clean import CleanError, clean_copy, clean_key
    from ..errors import SaolaError

    if may_download_originals(role):
        return media_store.path(media.storage_key), media.media_type or "audio/wav", False
    key, mimetype = clean_key(media.sha256, media.media_type)
    if not derivatives.exists(key):
        from ..storage_s3 import materialise

        src = media_store.path(media.storage_key)
        materialise(src)
        if not src.is_file():
            return src, mimetype, True  # the caller answers 404 for a missing original
        folder = derivatives.path(key).parent
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder, prefix=".tmp-") as tmp:
            out = Path(tmp) / ("clean" + Path(key).suffix)
            try:
                clean_copy(src, media.media_type, out)
            except CleanError as e:
                raise SaolaError(f"cannot prepare the recording: {e}", status=422,
                                 code="unreadable_recording") from None
            derivatives.put_move(out, key)
    return derivatives.path(key), mimetype, True


class _PosterStore:
    """Stands in for the media store so that a video's poster frame passes the photo rule."""

    def __init__(self, path):
        self._path = path

    def path(self, _key: str):
        return self._path


def poster_for(session: Session, media: Media, size: str, role: str, derivatives, detector_configured: bool):
    """(path, MIME type, blurred) of a video's poster frame as ``role`` may see it, or None when the
    video has no poster. The photo rule (:func:`image_for`): for viewers and rangers the person and
    vehicle boxes of any frame of the video are blurred on it, and the same refusals apply."""
    from types import SimpleNamespace

    from ..ingest.derivatives import poster_key

    key = poster_key(media.sha256)
    if size not in ("thumb", "review") or not derivatives.exists(key):
        return None
    # The frame's own derivatives are keyed apart from the video's (its SHA-256 with a suffix).
    frame = SimpleNamespace(id=media.id, sha256=f"{media.sha256}-poster", storage_key=key, media_type="image/jpeg",
                            has_derivatives=False)
    return image_for(session, frame, size, role, _PosterStore(derivatives.path(key)), derivatives,  # type: ignore[arg-type]
                     detector_configured)


def video_for(session: Session, media: Media, role: str, media_store, derivatives, detector_configured: bool):
    """(path, MIME type, private) of the video ``role`` may see of ``media``.

    Frames are not blurred (yet): biologists and above get the original; for
    viewers and rangers a video showing a person or vehicle is withheld (403
    ``withheld``), one no detector has checked is withheld while a detector is
    configured (409 ``not_screened``); rangers get the original of a video
    showing nobody, viewers a copy without metadata (503 ``video_copy_unavailable``
    when the server cannot make one).
    """
    from ..detect import privacy
    from ..errors import SaolaError

    try:
        return privacy.video_for_role(session, media, role, media_store, derivatives, detector_configured)
    except privacy.NotScreened:
        raise SaolaError("this video has not been checked for people yet; it is shown to viewers once "
                         "detection has run", status=409, code="not_screened") from None
    except privacy.Withheld:
        raise SaolaError("this video shows a person or a vehicle, which cannot be blurred in videos yet; "
                         "it needs the biologist role", status=403, code="withheld") from None
    except privacy.VideoCopyUnavailable as e:
        raise SaolaError(f"cannot make a copy of this video without its metadata: {e}", status=503,
                         code="video_copy_unavailable") from None


def field_photo_uploader(session: Session, media: Media) -> Optional[str]:
    """The user whose upload brought a field photo's bytes (recorded at upload; for photos
    stored before that, the first completed upload of them)."""
    who = (media.meta or {}).get("uploaded_by")
    if who:
        return who
    return session.exec(select(Upload.user_id).where(Upload.media_id == media.id,
                                                     col(Upload.completed_at).is_not(None))
                        .order_by(col(Upload.completed_at), col(Upload.created_at))).first()


def _writer(session: Session, user_id: Optional[str], area_id: str) -> bool:
    user = session.get(User, user_id) if user_id else None
    if user is None:
        return False
    if user.is_admin:
        return True
    role = session.exec(select(Membership.role).where(Membership.user_id == user_id,
                                                      Membership.area_id == area_id)).first()
    return _reaches(role, "ranger")


def may_see_field_photo(session: Session, area_id: str, media: Media) -> bool:
    """Whether ``media`` may be shown through the field records of ``area_id``: a media of the area's
    own deployments, or a field photo whose bytes a ranger (or above) of the area uploaded."""
    if media.deployment_id is not None:
        from .permissions import deployment_area

        return deployment_area(session, media.deployment_id) == area_id
    return _writer(session, field_photo_uploader(session, media), area_id)


def may_reuse_bytes(session: Session, user: User, media: Media) -> bool:
    """Whether an upload by ``user`` of bytes the server already holds may complete at once.

    Only for media the user may see: their own photo, a media of an area where
    they hold a role, or a field photo listed by a record of an area where they
    are a ranger or above. Anyone else is answered as for unknown bytes, so the
    answer never tells whether a SHA-256 exists elsewhere.
    """
    if user.is_admin:
        return True
    if media.deployment_id is not None:
        from .permissions import deployment_area

        area_id = deployment_area(session, media.deployment_id)
        return area_id is not None and role_in_area(session, user, area_id) is not None
    if field_photo_uploader(session, media) == user.id:
        return True
    areas = session.exec(select(Membership.area_id).where(
        Membership.user_id == user.id, Membership.role.in_(("ranger", "biologist", "manager"))))
    return any(field_photo_listed(session, a, media.sha256) and may_see_field_photo(session, a, media)
               for a in areas)


def field_photo_listed(session: Session, area_id: str, sha256: str) -> bool:
    """Whether a live field record of ``area_id`` lists the photo ``sha256``."""
    programs = select(Program.id).where(Program.area_id == area_id)
    rows = session.exec(select(FieldObservation.photos).where(FieldObservation.program_id.in_(programs),
                                                              FieldObservation.deleted.is_(False)))
    return any(sha256 in (photos or []) for photos in rows)
