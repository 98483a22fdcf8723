"""MegaDetector batch-output JSON for a deployment: export and import.

Export writes the detections of one model for the images of a deployment, with
file paths relative to the deployment (the path recorded at ingest, made
relative to the folder all of the deployment's images share), so the file
opens in Timelapse or AddaxAI next to the images. Each image also carries its
``sha256`` (an extra field the tools ignore), which import uses first.

People's review goes with the boxes (server/review/state.py decides each
box's state from its sequence's labels). The MegaDetector format has no field
for it, so the export follows what downstream tools already read: a box people
rejected (dismissed, deleted, or in a sequence they marked blank or labelled
without that kind of object) is left out, as repeat-detection elimination
leaves out false positives, so an image whose boxes were all rejected reads
as processed with nothing found (``"detections": []``); a box people verified
keeps the detector's ``conf`` and carries the species they accepted as its
first classification with confidence 1.0 (Timelapse and AddaxAI show the top
classification). Each box also has ``review_status`` (and ``reviewed_by``,
``accepted_label`` when verified), extra fields the tools ignore, and
``info.human_review`` says how the file was made.

Videos follow MegaDetector's video convention: each sampled frame is an entry
of its own under the video's path, ``DCIM/VID_0001.MP4/frame000025.jpg`` (the
frame number 0-based, six digits), with ``frame_number`` and the video's
``frame_rate`` as extra fields; every frame the detector looked at is listed
(``"detections": []`` where it found nothing). Import puts such entries back on
the video's frames (``frame_index``; ``start_s`` = frame / frame rate), and
reads MegaDetector's video-level results too (one entry under the video's own
path, each detection with its ``frame_number``).

Import matches each entry to an image of the deployment by SHA-256 when the
entry has one, else by the longest unambiguous tail of its path (``cam1/
DCIM/IMG_0001.JPG`` matches an image ingested from ``.../DCIM/IMG_0001.JPG``),
case-insensitively, and stores the detections under the model named by
``info.detector`` (replacing that model's earlier unreviewed detections of the
image, like a detect job does).
"""
from __future__ import annotations

import json
import os
import posixpath
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from classifiers import md_json
from classifiers.megadetector import MD_CATEGORIES, Detection as MDDetection, ImageResult
from classifiers.video import frame_file_name, parse_frame_file_name

from .. import audit
from ..models import Deployment, Detection, Media, MLModel, Program
from ..review.state import human_labels, labels_for, review_of, taxon_names
from . import service
from .registry import model_key

_MD_IDS = {name: cid for cid, name in MD_CATEGORIES.items()}
_KINDS = ("image", "video")


def _rollup(m: Media, key: str) -> dict:
    r = (m.meta or {}).get("video_detection") or {}
    return r if r.get("model") == key else {}


def _frame_rate(m: Media, key: str) -> float | None:
    return _rollup(m, key).get("frame_rate")


def _frames_of(m: Media, key: str, rows: list[Detection]) -> list[tuple[int, list[Detection]]]:
    """A video's detections by frame, every sampled frame listed (MegaDetector lists each frame it
    looked at). Frames come from the roll-up of the run that made them; rows of a model without one
    (imported) list the frames that have boxes, or frame 0 with nothing when none has."""
    by_frame: dict[int, list[Detection]] = defaultdict(list)
    for d in rows:
        if d.frame_index is not None:
            by_frame[d.frame_index].append(d)
    r = _rollup(m, key)
    step, n = r.get("step"), r.get("frames_sampled")
    frames = set(by_frame)
    if isinstance(step, int) and isinstance(n, int) and step > 0:
        frames |= set(range(0, step * n, step))
    if not frames:
        frames = {0}
    return [(f, by_frame.get(f, [])) for f in sorted(frames)]


class ExportError(ValueError):
    """Nothing sensible to export (no such deployment, no detections, unknown model)."""


def _components(path: str) -> list[str]:
    p = path.replace("\\", "/")
    if len(p) > 1 and p[1] == ":":  # Windows drive letter
        p = p[2:]
    return [c for c in p.split("/") if c not in ("", ".")]


def _media_components(m: Media) -> list[str]:
    """Path components of where a media came from, ending with its file name."""
    comps = _components(m.file_path or "")
    if not comps or comps[-1] != m.file_name:  # file_path may name the folder only
        comps.append(m.file_name)
    return comps


def relative_paths(media: list[Media]) -> dict[str, str]:
    """media id -> path relative to the deployment (see module docstring); unique per media."""
    comps = {m.id: _media_components(m) for m in media}
    absolute = [c for m in media for c in [comps[m.id]]
                if (m.file_path or "").startswith(("/", "\\")) or (len(m.file_path or "") > 1 and m.file_path[1] == ":")]
    prefix: list[str] = []
    if absolute:
        # Strip the folder every absolute path shares (the card or upload root).
        prefix = list(os.path.commonprefix([c[:-1] for c in absolute]))
    out, seen = {}, Counter()
    for m in media:
        c = comps[m.id]
        if prefix and c[:len(prefix)] == prefix:
            c = c[len(prefix):]
        rel = "/".join(c)
        seen[rel.casefold()] += 1
        out[m.id] = rel
    for m in media:  # two images with the same path (two cards): keep them apart
        if seen[out[m.id].casefold()] > 1:
            out[m.id] = f"{m.sha256[:12]}/{out[m.id]}"
    return out


def _clipped(x: float, y: float, w: float | None, h: float | None) -> tuple[float, float, float, float] | None:
    """A stored box clipped into the image (a person may drag a box past the edge; the format wants
    0..1 and x+width, y+height <= 1); None when nothing of it is inside."""
    x, y = min(1.0, max(0.0, float(x))), min(1.0, max(0.0, float(y or 0.0)))
    w, h = min(float(w or 0.0), 1.0 - x), min(float(h or 0.0), 1.0 - y)
    return (x, y, w, h) if w > 0 and h > 0 else None


def choose_model(session: Session, deployment_id: str, model: str | None) -> str:
    """The model key to export: ``model`` (a registered name or a name@version), else the
    model with the most image detections in the deployment."""
    if model:
        if "@" in model:
            return model
        row = session.exec(select(MLModel).where(MLModel.name == model)).first()
        if row is None:
            raise ExportError(f"no registered model {model!r}; give a name@version as stored with the detections")
        return model_key(row)
    counts = session.exec(select(Detection.model, func.count()).join(Media, Media.id == Detection.media_id)
                          .where(Media.deployment_id == deployment_id, Media.kind.in_(_KINDS))
                          .group_by(Detection.model).order_by(func.count().desc(), Detection.model)).all()
    if not counts:
        raise ExportError(f"deployment {deployment_id} has no image or video detections to export "
                          "(run `saola detect` first)")
    return counts[0][0]


def export_deployment(session: Session, deployment_id: str, out: str | os.PathLike,
                      model: str | None = None) -> dict:
    """Write the deployment's detections of one model as MegaDetector JSON; returns a summary."""
    dep = session.get(Deployment, deployment_id)
    if dep is None:
        raise ExportError(f"no deployment with id {deployment_id!r}")
    key = choose_model(session, deployment_id, model)
    media = list(session.exec(select(Media).where(Media.deployment_id == deployment_id, Media.kind.in_(_KINDS))
                              .order_by(Media.file_path, Media.file_name, Media.id)))
    rel = relative_paths(media)
    rows_by_media: dict[str, list[Detection]] = defaultdict(list)
    for part in service.chunks([m.id for m in media]):
        for d in session.exec(select(Detection).where(Detection.media_id.in_(part), Detection.model == key)
                              .order_by(Detection.confidence.desc(), Detection.id)):
            rows_by_media[d.media_id].append(d)
    det_ids = dict(_MD_IDS)
    people = human_labels(session, deployment_id=deployment_id)
    seq_of = {m.id: m.sequence_id for m in media}
    reviews = {d.id: review_of(d, labels_for(people, seq_of[d.media_id], d.media_id))
               for rows in rows_by_media.values() for d in rows}
    names = taxon_names(session, [r.taxon_id for r in reviews.values()])
    accepted = {d.id: reviews[d.id].label(names) if reviews[d.id].taxon_id else ""
                for rows in rows_by_media.values() for d in rows}
    labels = sorted({d.label for rows in rows_by_media.values() for d in rows if d.label}
                    | {lab for lab in accepted.values() if lab})
    cls_ids = {lab: str(i + 1) for i, lab in enumerate(labels)}
    images, extra, marks = [], [], []
    frame_fields: dict[int, dict] = {}  # position in images -> frame_number, frame_rate
    videos = set()
    for m in media:
        rows = rows_by_media.get(m.id)
        if not rows:
            continue  # not processed by this model
        if m.kind == "video":
            videos.add(m.id)
        for frame, frame_rows in (_frames_of(m, key, rows) if m.kind == "video" else [(None, rows)]):
            dets, notes = [], []
            for d in frame_rows:
                if d.category == service.BLANK or d.bbox_x is None:
                    continue
                rv = reviews[d.id]
                if rv.status == "rejected":
                    continue  # people said it is not there
                if d.category not in det_ids:
                    det_ids[d.category] = str(max(int(i) for i in det_ids.values()) + 1)
                cls = ((cls_ids[d.label], float(d.label_confidence or 0.0)),) if d.label else ()
                if accepted[d.id]:  # the species people accepted first, with certainty
                    cls = ((cls_ids[accepted[d.id]], 1.0),) + tuple(c for c in cls if c[0] != cls_ids[accepted[d.id]])
                box = _clipped(d.bbox_x, d.bbox_y, d.bbox_width, d.bbox_height)
                if box is None:
                    continue  # nothing of it inside the image
                dets.append(MDDetection(det_ids[d.category], float(d.confidence), box, cls))
                note = {"review_status": rv.status}
                if rv.status == "verified":
                    note.update(reviewed_by=rv.reviewed_by, accepted_label=rv.label(names) or None)
                notes.append(note)
            if frame is not None:
                frame_fields[len(images)] = {"frame_number": frame, "frame_rate": _frame_rate(m, key)}
            images.append(ImageResult(rel[m.id] if frame is None else frame_file_name(rel[m.id], frame), dets))
            extra.append(m.sha256)
            marks.append(notes)
    batch = md_json.MDBatch(images, {cid: name for name, cid in det_ids.items()},
                            {cid: lab for lab, cid in cls_ids.items()} if labels else None,
                            info={"format_version": md_json.FORMAT_VERSION, "detector": key,
                                  "detection_completion_time": md_json.completion_time(),
                                  "detector_metadata": {"typical_detection_threshold": 0.2,
                                                        "conservative_detection_threshold": 0.05},
                                  "human_review": "boxes people rejected are left out; a box people verified "
                                                  "has the label they accepted as its first classification "
                                                  "(confidence 1.0) and review_status verified"})
    data = md_json.to_dict(batch)
    for i, (im, sha, notes) in enumerate(zip(data["images"], extra, marks)):
        im["sha256"] = sha
        im.update(frame_fields.get(i, {}))
        for det, note in zip(im["detections"], notes):
            det.update(note)
    md_json.validate(data, source=str(out))
    out = Path(out)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, ensure_ascii=False)
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    done = len({m.id for m in media if m.id in rows_by_media})
    return {"model": key, "images": done - len(videos), "videos": len(videos), "frames": len(frame_fields),
            "not_processed": len(media) - done, "detections": sum(len(i.detections) for i in images),
            "file": str(out)}


@dataclass
class ImportReport:
    """What an import did; ``unmatched`` and ``ambiguous`` name the files."""

    model: str
    matched: int = 0  # images and videos
    videos: int = 0
    frames: int = 0  # video frames read from the file
    detections: int = 0
    failed_in_file: int = 0
    skipped_reviewed: int = 0
    unmatched: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)


class _Matcher:
    def __init__(self, media: list[Media]):
        self.by_sha = {m.sha256: m.id for m in media}
        self.videos = {m.id for m in media if m.kind == "video"}
        self.by_tail: dict[tuple, set[str]] = defaultdict(set)
        for m in media:
            comps = [c.casefold() for c in _media_components(m)]
            for k in range(1, len(comps) + 1):
                self.by_tail[tuple(comps[-k:])].add(m.id)

    def match(self, file: str, sha256: str | None) -> tuple[str | None, bool]:
        """(media id or None, ambiguous)."""
        if sha256 and sha256 in self.by_sha:
            return self.by_sha[sha256], False
        comps = [c.casefold() for c in _components(file)]
        for k in range(len(comps), 0, -1):
            hit = self.by_tail.get(tuple(comps[-k:]))
            if hit:
                return (next(iter(hit)), False) if len(hit) == 1 else (None, True)
        return None, False


def _named(im: ImageResult, cls_names: dict) -> ImageResult:
    """An entry's detections with classification ids replaced by their names."""
    return ImageResult(im.file, [MDDetection(d.category, d.conf, d.bbox,
                                             tuple((cls_names.get(c, c), p) for c, p in d.classifications))
                                 for d in im.detections or ()])


def _frame_rate_of(media: list[Media], media_id: str) -> float | None:
    for m in media:
        if m.id == media_id:
            rate = ((m.meta or {}).get("video_detection") or {}).get("frame_rate")
            return float(rate) if isinstance(rate, (int, float)) and rate > 0 else None
    return None


def _video_rows(media_id: str, key: str, by_frame: dict[int, ImageResult], rate: float | None,
                categories: dict[str, str]) -> tuple[list[dict], dict]:
    """Detection rows of a video's imported frames (frame index, its time when the frame rate is
    known, until the next sampled frame) and the video's roll-up."""
    order = sorted(by_frame)
    gaps = [b - a for a, b in zip(order, order[1:])]
    step = min(gaps) if gaps else None
    rows: list[dict] = []
    best: tuple[float, int, str] | None = None
    max_conf: dict[str, float] = {}
    for f in order:
        start = round(f / rate, 6) if rate else None
        end = round((f + step) / rate, 6) if rate and step else None
        for r in service.detection_rows(media_id, key, by_frame[f], categories, 0.0):
            if r["category"] == service.BLANK:
                continue
            r.update(frame_index=f, start_s=start, end_s=end)
            rows.append(r)
            max_conf[r["category"]] = max(max_conf.get(r["category"], 0.0), r["confidence"])
            if best is None or r["confidence"] > best[0]:
                best = (r["confidence"], f, r["category"])
    if not rows:
        rows = service.detection_rows(media_id, key, ImageResult("", []), categories, 0.0)
    # Frames listed at a regular step from 0 are the sampling itself (what an export lists again).
    regular = bool(step) and order[0] == 0 and all(g == step for g in gaps)
    rollup = {"model": key, "frame_rate": rate, "every_s": round(step / rate, 6) if rate and step else None,
              "step": step if regular else None, "frames_sampled": len(order) if regular else None,
              "max_confidence": {c: round(v, 4) for c, v in sorted(max_conf.items())},
              "best_frame_index": best[1] if best else None,
              "best_time_s": round(best[1] / rate, 6) if best and rate else None, "imported": True}
    if best:
        rollup.update(best_category=best[2], best_confidence=round(best[0], 4))
    return rows, rollup


def import_file(session_factory, path: str | os.PathLike, deployment_id: str | None = None,
                model: str | None = None, batch_size: int = 200) -> ImportReport:
    """Import a MegaDetector results file (see module docstring).

    ``session_factory()`` opens a short transaction (``session_scope``); the
    file is read and validated before anything is written.
    """
    batch = md_json.read_results(path)  # MDJsonError naming file and field
    key = model or str(batch.info.get("detector") or "").strip()
    if not key:
        raise ValueError(f"{path}: info.detector is empty; say which model made it with --model")
    key = key[:128]
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    shas = [im.get("sha256") if isinstance(im.get("sha256"), str) else None for im in raw["images"]]
    rates = [im.get("frame_rate") if isinstance(im.get("frame_rate"), (int, float)) and not isinstance(
        im.get("frame_rate"), bool) and im["frame_rate"] > 0 else None for im in raw["images"]]
    with session_factory() as s:
        if deployment_id is not None:
            if s.get(Deployment, deployment_id) is None:
                raise ValueError(f"no deployment with id {deployment_id!r}")
            media = list(s.exec(select(Media).where(Media.deployment_id == deployment_id, Media.kind.in_(_KINDS))))
        else:
            if any(sh is None for sh in shas):
                raise ValueError(f"{path}: images without sha256 can only be matched within a deployment: "
                                 "give --deployment")
            media = []
            for part in service.chunks([sh for sh in shas if sh]):
                media += s.exec(select(Media).where(Media.sha256.in_(part))).all()
        area_id = None
        if deployment_id is not None:
            dep = s.get(Deployment, deployment_id)
            area_id = s.get(Program, dep.program_id).area_id
    matcher = _Matcher(media)
    rep = ImportReport(model=key)
    cls_names = batch.classification_categories or {}
    per_media: dict[str, list[Detection]] = {}
    frames: dict[str, dict[int, ImageResult]] = defaultdict(dict)  # video -> frame -> its entry
    frame_rates: dict[str, float] = {}
    for im, sha, rate, raw_im in zip(batch.images, shas, rates, raw["images"]):
        if not im.ok:
            rep.failed_in_file += 1
            continue
        parsed = parse_frame_file_name(im.file)
        if parsed is not None:  # MegaDetector's "<video>/frame000123.jpg"
            vid, _ = matcher.match(parsed[0], sha)
            if vid in matcher.videos:
                frames[vid][parsed[1]] = _named(im, cls_names)
                if rate:
                    frame_rates[vid] = float(rate)
                continue
        mid, ambiguous = matcher.match(im.file, sha)
        if mid is None:
            (rep.ambiguous if ambiguous else rep.unmatched).append(im.file)
            continue
        if mid in matcher.videos:
            # MegaDetector's video-level results (frame_results_to_video_results): the video's own path,
            # each detection with the frame_number it was found in.
            numbers = [d.get("frame_number") if isinstance(d, dict) else None for d in raw_im.get("detections") or []]
            if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in numbers):
                (rep.ambiguous if ambiguous else rep.unmatched).append(f"{im.file} (a video: its detections need "
                                                                      "frame_number, or entries per frame)")
                continue
            by_frame = frames[mid]  # a video found empty is stored as processed (blank) too
            for n, d in zip(numbers, im.detections or ()):
                entry = by_frame.setdefault(n, ImageResult(im.file, []))
                entry.detections.append(_named(ImageResult(im.file, [d]), cls_names).detections[0])
            if rate:
                frame_rates[mid] = float(rate)
            continue
        per_media[mid] = service.detection_rows(mid, key, _named(im, cls_names), batch.detection_categories, 0.0)
    rollups = {}
    for vid, by_frame in frames.items():
        rate = frame_rates.get(vid) or _frame_rate_of(media, vid)
        per_media[vid], rollups[vid] = _video_rows(vid, key, by_frame, rate, batch.detection_categories)
    ids = list(per_media)
    for part in service.chunks(ids, batch_size):
        with session_factory() as s:
            written = service.replace_detections(s, key, {m: per_media[m] for m in part})
            for mid in written:
                if mid in rollups:
                    rep.videos += 1
                    rep.frames += len(frames[mid])
                    m = s.get(Media, mid)
                    m.meta = {**(m.meta or {}), "video_detection": rollups[mid]}
                    s.add(m)
            rep.skipped_reviewed += len(part) - len(written)
            rep.matched += len(written)
            rep.detections += sum(1 for m in written for d in per_media[m] if d["category"] != service.BLANK)
    with session_factory() as s:
        audit.record(s, "create", "detection", f"import:{posixpath.basename(str(path))}"[:64], area_id=area_id,
                     after={"source": str(path), "model": key, "images": rep.matched,
                            "detections": rep.detections, "deployment_id": deployment_id})
    return rep
