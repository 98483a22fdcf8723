"""Sound traps: alerts, acoustic indices, spectrograms, audio detections, detections CSV, analysis jobs.

Permissions: reading needs viewer in the recording's (or alert's) protected
area; acknowledging an alert needs biologist or above (managers included),
the same rule as the web alerts page, so a viewer or ranger sees alerts but
the acknowledgement (someone responsible has dealt with it) is recorded by
staff; queueing an analysis needs biologist.
"""
from __future__ import annotations

import io
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Optional

from flask import Response, current_app, send_file
from pydantic import Field
from sqlmodel import select

from ..audio import JOB_KIND
from ..audio.export import iter_csv
from ..auth.permissions import current_user, load_in_area, scope_query
from ..bounds import MAX_RECORDING_S, BoundedDatetime
from ..db import get_session
from ..errors import NotFound, ValidationError
from ..jobs import enqueue
from ..models import AcousticIndex, Alert, Deployment, Detection, Media
from ..storage import get_store
from .core import Limit, endpoint, paginate
from .schemas import In, JobOut, ListQuery, Out

TAGS = ["sound"]


class AlertOut(Out):
    id: str
    area_id: str
    deployment_id: Optional[str]
    media_id: Optional[str]
    detection_id: Optional[str]
    kind: str
    confidence: float
    occurred_at: Optional[datetime]
    acknowledged_by: Optional[str]
    acknowledged_at: Optional[datetime]
    created_at: datetime


class AlertQuery(ListQuery):
    area_id: Optional[str] = Field(default=None, max_length=64, description="only this protected area")
    kind: Optional[Literal["gunshot", "engine", "power_tools"]] = None
    acknowledged: Optional[bool] = Field(default=None, description="false: open alerts only; true: handled only")
    deployment_id: Optional[str] = Field(default=None, max_length=64)


class IndexOut(Out):
    media_id: str
    minute: int
    start_at: Optional[datetime]
    aci: Optional[float]
    adi: Optional[float]
    aei: Optional[float]
    bi: Optional[float]
    ndsi: Optional[float]
    h: Optional[float]
    extra: dict[str, Any]


class IndexQuery(ListQuery):
    limit: Limit = 500
    start: Optional[BoundedDatetime] = Field(default=None, description="minutes starting at or after (UTC)")
    end: Optional[BoundedDatetime] = Field(default=None, description="minutes starting before (UTC)")


class AudioDetectionOut(Out):
    id: str
    media_id: str
    model: str
    category: str
    label: Optional[str]
    confidence: float
    start_s: Optional[float]
    end_s: Optional[float]
    freq_low_hz: Optional[float]
    freq_high_hz: Optional[float]
    taxon_id: Optional[str]
    review_status: str
    extra: dict[str, Any]


class AudioDetectionQuery(ListQuery):
    model: Optional[str] = Field(default=None, max_length=128, description="name@version, or a name")
    category: Optional[str] = Field(default=None, max_length=64, description="event, bird, Gun, Engine...")
    label: Optional[str] = Field(default=None, max_length=200)
    min_confidence: Optional[float] = Field(default=None, ge=0, le=1)
    review_status: Optional[Literal["unreviewed", "verified", "rejected"]] = None
    start: Optional[BoundedDatetime] = Field(default=None, description="recordings starting at or after (UTC)")
    end: Optional[BoundedDatetime] = Field(default=None, description="recordings starting before (UTC)")


class SpectrogramQuery(In):
    start: float = Field(default=0.0, ge=0, le=MAX_RECORDING_S, description="seconds from the start of the recording")
    end: Optional[float] = Field(default=None, gt=0, le=MAX_RECORDING_S,
                                 description="seconds (default start + 60, at most the end)")
    fmax: Optional[float] = Field(default=None, gt=0, le=1_000_000,
                                  description="top of the frequency axis, Hz (default Nyquist)")


class AnalyseIn(In):
    media_ids: Optional[list[str]] = Field(default=None, max_length=10000,
                                           description="these recordings of the deployment (default: all)")


def _deployment(deployment_id: str, minimum: str = "viewer") -> tuple[Deployment, str]:
    acc = load_in_area(get_session(), Deployment, deployment_id, minimum)
    return acc.row, acc.area_id


def _recording(media_id: str) -> Media:
    """An audio media the caller may see (404 otherwise, never another area's)."""
    m = load_in_area(get_session(), Media, media_id, what="recording").row
    if m.kind != "audio":
        raise NotFound(f"no recording with id {media_id!r}")
    return m


# ---- alerts ---------------------------------------------------------------------------------
@endpoint("/alerts", summary="Anti-poaching alerts (gunshot, engine, power tools) of the caller's areas",
          tags=TAGS, query=AlertQuery, response=AlertOut)
def list_alerts(query: AlertQuery):
    s = get_session()
    stmt = scope_query(s, select(Alert), Alert.area_id, query.area_id)
    if query.kind is not None:
        stmt = stmt.where(Alert.kind == query.kind)
    if query.acknowledged is not None:
        stmt = stmt.where(Alert.acknowledged_at.is_not(None) if query.acknowledged
                          else Alert.acknowledged_at.is_(None))
    if query.deployment_id is not None:
        stmt = stmt.where(Alert.deployment_id == query.deployment_id)
    return paginate(s, stmt, query, [Alert.occurred_at.desc(), Alert.id])


@endpoint("/alerts/<alert_id>/acknowledge", ["POST"], summary="Acknowledge an alert (biologists and managers)",
          tags=TAGS, response=AlertOut, responses={409: "already acknowledged"})
def acknowledge_alert(alert_id: str):
    from ..review import actions

    s = get_session()
    alert = load_in_area(s, Alert, alert_id, "biologist").row
    actions.acknowledge_alert(s, current_user(), alert)
    s.refresh(alert)
    return alert


# ---- acoustic indices -----------------------------------------------------------------------
def _index_range(stmt, query: IndexQuery):
    if query.start is not None:
        stmt = stmt.where(AcousticIndex.start_at >= query.start)
    if query.end is not None:
        stmt = stmt.where(AcousticIndex.start_at < query.end)
    return stmt


@endpoint("/media/<media_id>/acoustic-indices", summary="Acoustic indices of a recording, per minute",
          tags=TAGS, query=IndexQuery, response=IndexOut)
def media_indices(media_id: str, query: IndexQuery):
    _recording(media_id)
    stmt = _index_range(select(AcousticIndex).where(AcousticIndex.media_id == media_id), query)
    return paginate(get_session(), stmt, query, [AcousticIndex.minute])


@endpoint("/deployments/<deployment_id>/acoustic-indices",
          summary="Acoustic indices of a deployment's recordings, per minute in time order", tags=TAGS,
          query=IndexQuery, response=IndexOut)
def deployment_indices(deployment_id: str, query: IndexQuery):
    _deployment(deployment_id)
    stmt = _index_range(select(AcousticIndex).join(Media, Media.id == AcousticIndex.media_id)
                        .where(Media.deployment_id == deployment_id), query)
    return paginate(get_session(), stmt, query, [AcousticIndex.start_at, AcousticIndex.media_id,
                                                 AcousticIndex.minute])


# ---- spectrogram ----------------------------------------------------------------------------
@endpoint("/media/<media_id>/spectrogram.png", summary="Spectrogram PNG of a time range of a recording",
          tags=TAGS, query=SpectrogramQuery, raw=True, produces=("image/png",))
def media_spectrogram(media_id: str, query: SpectrogramQuery):
    from classifiers.audio import render_spectrogram

    m = _recording(media_id)
    store = get_store()
    if not store.exists(m.storage_key):
        raise NotFound(f"the original of {m.file_name} is missing from the media store")
    duration = float(m.duration_s or 0)
    end = query.end if query.end is not None else query.start + 60.0
    if duration:
        end = min(end, duration)
    if not end > query.start:
        raise ValidationError(f"need start < end within the recording ({duration:.1f} s), got {query.start}-{end}",
                              details=[{"field": "end", "message": "not after start"}])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "spectrogram.png"
        try:
            render_spectrogram(store.path(m.storage_key), out, query.start, end, f_max=query.fmax,
                               title=m.file_name)
        except ValueError as e:
            raise ValidationError(str(e).replace(str(store.path(m.storage_key)), m.file_name)) from None
        data = out.read_bytes()
    return send_file(io.BytesIO(data), mimetype="image/png", max_age=3600)


# ---- detections -----------------------------------------------------------------------------
@endpoint("/deployments/<deployment_id>/audio-detections",
          summary="Sound detections of a deployment (BirdNET, band events, custom models)", tags=TAGS,
          query=AudioDetectionQuery, response=AudioDetectionOut)
def deployment_audio_detections(deployment_id: str, query: AudioDetectionQuery):
    _deployment(deployment_id)
    stmt = (select(Detection).join(Media, Media.id == Detection.media_id)
            .where(Media.deployment_id == deployment_id, Media.kind == "audio", Detection.dismissed.is_(False)))
    if query.model:
        stmt = stmt.where(Detection.model == query.model) if "@" in query.model else stmt.where(
            Detection.model.startswith(query.model + "@", autoescape=True))
    if query.category is not None:
        stmt = stmt.where(Detection.category == query.category)
    if query.label is not None:
        stmt = stmt.where(Detection.label == query.label)
    if query.min_confidence is not None:
        stmt = stmt.where(Detection.confidence >= query.min_confidence)
    if query.review_status is not None:
        stmt = stmt.where(Detection.review_status == query.review_status)
    if query.start is not None:
        stmt = stmt.where(Media.captured_at >= query.start)
    if query.end is not None:
        stmt = stmt.where(Media.captured_at < query.end)
    return paginate(get_session(), stmt, query, [Media.captured_at, Media.file_name, Detection.start_s,
                                                 Detection.confidence.desc(), Detection.id])


@endpoint("/deployments/<deployment_id>/detections.csv",
          summary="All machine detections of a deployment (images and sound) as CSV", tags=TAGS, raw=True,
          produces=("text/csv",))
def deployment_detections_csv(deployment_id: str):
    dep, _area = _deployment(deployment_id)
    return Response(iter_csv(current_app.config["DATABASE_URL"], dep.id), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="detections-{dep.id}.csv"'})


# ---- analysis jobs --------------------------------------------------------------------------
@endpoint("/deployments/<deployment_id>/audio-analysis", ["POST"],
          summary="Queue the analysis of a deployment's recordings (biologists)", tags=TAGS, body=AnalyseIn,
          response=JobOut, status=202)
def analyse_deployment(deployment_id: str, body: AnalyseIn):
    from ..audio import jobs  # noqa: F401  (registers the handler)

    dep, area_id = _deployment(deployment_id, "biologist")
    s = get_session()
    if body.media_ids is not None:
        ids = list(dict.fromkeys(body.media_ids))
        found = set(s.exec(select(Media.id).where(Media.id.in_(ids), Media.deployment_id == dep.id,
                                                  Media.kind == "audio")))
        unknown = [i for i in ids if i not in found]
        if unknown:
            raise ValidationError(f"not recordings of deployment {dep.id}: {', '.join(unknown[:5])}",
                                  details=[{"field": "media_ids", "message": "unknown"}])
        params: dict[str, Any] = {"media_ids": ids}
    else:
        params = {"deployment_id": dep.id}
    return enqueue(s, JOB_KIND, params, area_id=area_id, created_by=current_user().id)
