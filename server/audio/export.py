"""Detections of a deployment as CSV: image boxes and audio time/frequency boxes in one table.

Columns: media file, capture time (UTC, ISO 8601), media kind, start/end
seconds (audio; of a video: the frame's time from the start of the video and
the next sampled frame's), the video frame number (0-based), bbox x/y/width/height (images, normalised, top-left origin as
Camtrap DP), frequency low/high Hz (audio), category, label, confidence,
label confidence, model (name@version), review status, detection id, media id,
then what people said: the accepted label (scientific name, or human, vehicle,
unknown), its taxon id, and who reviewed it. The review status is the one the
sequence's review gives the detection (server/review/state.py: verified,
rejected or unreviewed), so a labelled sequence's boxes read verified with the
label people accepted.
Rows are ordered by capture time, file, start time (frame), confidence (highest first).
"""
from __future__ import annotations

import csv
import io
from typing import Iterator, TextIO

from sqlmodel import Session, select

from ..exports.common import spreadsheet_safe
from ..models import Detection, Media
from ..review.state import human_labels, labels_for, review_of, taxon_names

COLUMNS = ["media_file", "captured_at", "media_kind", "start_s", "end_s", "frame_index", "bbox_x", "bbox_y", "bbox_width",
           "bbox_height", "freq_low_hz", "freq_high_hz", "category", "label", "confidence", "label_confidence",
           "model", "review_status", "detection_id", "media_id", "accepted_label", "accepted_taxon_id",
           "reviewed_by"]
# MegaDetector's "processed, nothing found" marker rows are not detections.
_BLANK = "blank"


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    if hasattr(v, "isoformat"):
        return v.isoformat().replace("+00:00", "Z")
    return spreadsheet_safe(str(v))


def detection_rows(s: Session, deployment_id: str, *, include_dismissed: bool = False) -> Iterator[list[str]]:
    """CSV rows (lists of strings, :data:`COLUMNS` order) of a deployment's detections, streamed from the
    database in batches (server-side cursor on PostgreSQL), so a season of recordings never sits in memory."""
    # People's labels of the deployment (one row per labelled sequence or image): small beside its detections.
    labels = human_labels(s, deployment_id=deployment_id)
    names = taxon_names(s, [o.taxon_id for ls in labels.values() for o in ls])
    stmt = (select(Detection, Media.file_name, Media.captured_at, Media.kind, Media.sequence_id)
            .join(Media, Media.id == Detection.media_id)
            .where(Media.deployment_id == deployment_id, Detection.category != _BLANK))
    if not include_dismissed:
        stmt = stmt.where(Detection.dismissed.is_(False))
    stmt = stmt.order_by(Media.captured_at, Media.file_name, Detection.start_s, Detection.confidence.desc(),
                         Detection.id).execution_options(yield_per=2000)
    for d, name, captured, kind, seq_id in s.exec(stmt):
        rv = review_of(d, labels_for(labels, seq_id, d.media_id))
        yield [_fmt(v) for v in (name, captured, kind, d.start_s, d.end_s, d.frame_index, d.bbox_x, d.bbox_y, d.bbox_width,
                                 d.bbox_height, d.freq_low_hz, d.freq_high_hz, d.category, d.label,
                                 d.confidence, d.label_confidence, d.model, rv.status, d.id, d.media_id,
                                 rv.label(names), rv.taxon_id if rv.status == "verified" else None,
                                 rv.reviewed_by)]


def write_csv(s: Session, deployment_id: str, out: TextIO) -> int:
    """Write the header and every row to ``out``; returns the number of detections."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    n = 0
    for row in detection_rows(s, deployment_id):
        w.writerow(row)
        n += 1
    return n


def iter_csv(url: str, deployment_id: str, chunk_bytes: int = 64 * 1024) -> Iterator[str]:
    """The CSV in pieces of about ``chunk_bytes``, read in its own read-only session (for a streamed
    HTTP answer: the request's session may be closed before the last piece is sent)."""
    from ..db import session_scope

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    with session_scope(url, read_only=True) as s:
        for row in detection_rows(s, deployment_id):
            w.writerow(row)
            if buf.tell() >= chunk_bytes:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
    yield buf.getvalue()
