"""Job kind ``audio_analysis``: analyse recordings and store indices, detections and alerts.

Params: ``media_ids`` (list) or ``deployment_id`` (all its recordings).
Per recording: :func:`classifiers.audio.analyse_recording` (one streaming pass:
indices per minute, band events, BirdNET with the location/week filter of the
deployment's location and the recording's local date, the program's custom
classifiers), then one short transaction stores the results
(:mod:`server.audio.results`). No transaction is held during analysis.
Progress counts seconds of audio. A recording that cannot be analysed (missing
original, corrupt file, no deployment) is a per-item failure; the job goes on.
BirdNET is loaded once per worker thread (so once per process for Celery workers).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from sqlmodel import select

from ..jobs import JobFailed, handler
from ..models import Deployment, Location, Media, Program
from ..storage import stores_from_config
from . import JOB_KIND, runtime
from .config import AudioSettingsError, audio_settings
from .results import store_analysis

log = logging.getLogger("saola.audio")


@dataclass
class Item:
    """What analysing one recording needs, read before any analysis starts."""

    media_id: str
    file_name: str
    storage_key: str
    duration_s: float
    captured_at: Optional[dt.datetime]
    utc_offset_min: Optional[int]
    deployment_id: Optional[str]
    area_id: Optional[str] = None
    program_id: Optional[str] = None
    timezone: str = "UTC"
    lat: Optional[float] = None
    lon: Optional[float] = None


def select_items(s, params: dict) -> list[Item]:
    """The recordings a job's params name (JobFailed for bad params)."""
    stmt = select(Media).where(Media.kind == "audio")
    if isinstance(params.get("media_ids"), list):
        ids = [str(i) for i in params["media_ids"]]
        stmt = stmt.where(Media.id.in_(ids))
    elif params.get("deployment_id"):
        if s.get(Deployment, params["deployment_id"]) is None:
            raise JobFailed(f"no deployment with id {params['deployment_id']!r}")
        stmt = stmt.where(Media.deployment_id == params["deployment_id"])
    else:
        raise JobFailed("audio_analysis needs media_ids (a list) or deployment_id")
    items = []
    deps: dict[str, tuple] = {}
    for m in s.exec(stmt.order_by(Media.captured_at, Media.file_name)):
        it = Item(m.id, m.file_name, m.storage_key, float(m.duration_s or 0), m.captured_at, m.utc_offset_min,
                  m.deployment_id)
        if m.deployment_id:
            if m.deployment_id not in deps:
                dep = s.get(Deployment, m.deployment_id)
                prog = s.get(Program, dep.program_id)
                loc = s.get(Location, dep.location_id)
                deps[m.deployment_id] = (prog.area_id, prog.id, dep.timezone or "UTC",
                                         loc.latitude if loc else None, loc.longitude if loc else None)
            it.area_id, it.program_id, it.timezone, it.lat, it.lon = deps[m.deployment_id]
        items.append(it)
    return items


def week_of(item: Item) -> int:
    """BirdNET week (1-48) of the recording's local start date; -1 (whole year) when unknown."""
    from classifiers.audio.birdnet import week_48

    if item.captured_at is None:
        return -1
    return week_48(item.captured_at + dt.timedelta(minutes=item.utc_offset_min or 0))


@handler(JOB_KIND)
def audio_analysis(ctx) -> dict[str, Any]:
    """Analyse recordings (see module docstring); returns counts per kind of result."""
    from classifiers.audio import AudioFileError, analyse_recording

    with ctx.session() as s:
        items = select_items(s, ctx.params)
        programs = {p.id: p for p in s.exec(select(Program).where(
            Program.id.in_({i.program_id for i in items if i.program_id})))}
        try:
            settings = {pid: audio_settings(p.settings, p.name) for pid, p in programs.items()}
        except AudioSettingsError as e:
            raise JobFailed(str(e)) from None
    missing = set(str(i) for i in ctx.params.get("media_ids") or []) - {i.media_id for i in items}
    for mid in sorted(missing):
        ctx.fail_item(mid, "no audio media with this id")
    store = stores_from_config(ctx.config)[0]
    labels_dir = Path(ctx.config["DATA_DIR"]) / "models" / "audio-labels"
    total = int(sum(round(i.duration_s) for i in items))
    stats = {"recordings": len(items), "analysed": 0, "failed": len(missing), "indices": 0, "events": 0,
             "birdnet": 0, "custom": 0, "alerts": 0, "notes": []}
    ctx.progress(0, total)
    birdnet = None
    if any(cfg.birdnet for cfg in settings.values()):
        birdnet = runtime.get_birdnet()
        if birdnet is None:
            stats["notes"].append(f"BirdNET not run: {runtime.birdnet_unavailable()}")
    taxa: dict[str, Optional[str]] = {}
    done_before = 0
    for item in items:
        try:
            if item.deployment_id is None:
                raise ValueError("not attached to a deployment (assign it to one, then analyse again)")
            cfg = settings[item.program_id]
            custom = []
            if cfg.classifiers:
                with ctx.session() as s:
                    custom = [runtime.custom_classifier(s, name, labels_dir) for name in cfg.classifiers]
            path = store.path(item.storage_key)
            if not Path(path).is_file():
                raise FileNotFoundError(f"original missing from the media store ({item.storage_key})")

            def progress(done: int, _total: int, base=done_before) -> None:
                ctx.progress(min(total, base + done), total)

            result = analyse_recording(
                path, timezone=item.timezone, bands=cfg.bands, birdnet=birdnet if cfg.birdnet else None,
                lat=item.lat, lon=item.lon, week=week_of(item), birdnet_min_conf=cfg.birdnet_min_conf,
                alert_threshold=cfg.alert_threshold, custom=custom, progress=progress)
            with ctx.session() as s:
                media = s.get(Media, item.media_id)
                if media is None:  # deleted meanwhile
                    raise LookupError("deleted while it was being analysed")
                counts = store_analysis(s, media, item.area_id, result, alert_threshold=cfg.alert_threshold,
                                        job_id=ctx.job_id, taxa=taxa)
            stats["analysed"] += 1
            for k, v in counts.items():
                stats[k] += v
        except (AudioFileError, OSError, ValueError, LookupError, RuntimeError) as e:
            # one bad recording (or model) must not stop the others
            stats["failed"] += 1
            ctx.fail_item(item.media_id, f"{item.file_name}: {e}")
            log.warning("audio analysis of %s failed: %s", item.file_name, e)
        done_before += int(round(item.duration_s))
        ctx.progress(min(total, done_before), total)
    if stats["failed"] and not stats["analysed"] and items:
        raise JobFailed(f"no recording could be analysed: {ctx.failures[0]['error']}")
    return stats
