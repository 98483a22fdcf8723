"""Job handlers of ingest: ``retime``, ``resequence`` and ``derivatives``.

All three are idempotent: they recompute from what is stored (the raw device
time, the originals), so running one twice gives the same result.
"""
from __future__ import annotations


from sqlalchemy import bindparam, update
from sqlmodel import select

from ..jobs.core import JobContext, handler
from ..models import Deployment, Media, Program
from ..storage import stores_from_config
from .pipeline import TIME_FLAGS
from .sequences import resequence
from .timefix import correct_time, in_window, time_flags

CHUNK = 500

# Timestamp sources whose UTC offset the file itself states (kept when a deployment is retimed);
# the others are the device clock read in the deployment's time zone.
FILE_STATED_OFFSET = ("exif_offset", "guano", "audiomoth", "filename_utc")


def retime_deployment(session_factory, deployment_id: str, progress=None) -> dict:
    """Recompute captured_at, the UTC offset and the time flags of a deployment's media from captured_at_raw.

    ``session_factory()`` opens a short transaction (each chunk of media gets its own).
    Then the deployment is resequenced.
    """
    adopted = adopt_unassigned(session_factory, deployment_id)
    with session_factory() as s:
        dep = s.get(Deployment, deployment_id)
        if dep is None:
            raise LookupError(f"no deployment with id {deployment_id!r}")
        tz, offset_s, start, end = dep.timezone or "UTC", dep.clock_offset_s or 0, dep.deployment_start, \
            dep.deployment_end
        ids = list(s.exec(select(Media.id).where(Media.deployment_id == deployment_id).order_by(Media.id)))
    changed = 0
    for i in range(0, len(ids), CHUNK):
        with session_factory() as s:
            rows = s.exec(select(Media.id, Media.captured_at_raw, Media.timestamp_source, Media.utc_offset_min,
                                 Media.flags).where(Media.id.in_(ids[i:i + CHUNK]))).all()
            updates = []
            for mid, raw, source, file_off, flags in rows:
                t, off = correct_time(raw, tz, offset_s, file_off if source in FILE_STATED_OFFSET else None)
                new_flags = [f for f in (flags or []) if f not in TIME_FLAGS] + time_flags(raw, t)
                if raw is not None and not in_window(t, start, end):
                    new_flags.append("outside_window")
                updates.append({"mid": mid, "t": t, "off": off, "fl": new_flags})
            if updates:
                tbl = Media.__table__
                s.connection().execute(update(tbl).where(tbl.c.id == bindparam("mid")).values(
                    captured_at=bindparam("t"), utc_offset_min=bindparam("off"), flags=bindparam("fl")), updates)
                changed += len(updates)
        if progress:
            progress(min(i + CHUNK, len(ids)), len(ids) + 1)
    with session_factory() as s:
        n = resequence(s, deployment_id)
    return {"media": changed, "sequences": n, "adopted": adopted}


KINDS_OF = {"camera": ("image", "video"), "acoustic": ("audio",)}


def adopt_unassigned(session_factory, deployment_id: str) -> int:
    """Give a deployment the stored media that matched no deployment when they were ingested:
    same device serial, and a capture time (read with this deployment's clock) inside its window.

    A card ingested before its deployment was entered is thus sorted in when the deployment is
    created or its window or serial corrected. Returns how many media were adopted.
    """
    with session_factory() as s:
        dep = s.get(Deployment, deployment_id)
        if dep is None or not dep.camera_id:
            return 0
        serial = dep.camera_id.strip().upper()
        rows = s.exec(select(Media.id, Media.camera_serial, Media.captured_at_raw, Media.timestamp_source,
                             Media.utc_offset_min, Media.flags)
                      .where(Media.deployment_id.is_(None), Media.kind.in_(KINDS_OF.get(dep.kind, ())),
                             Media.camera_serial.is_not(None))).all()
        updates = []
        for mid, cam, raw, source, file_off, flags in rows:
            if (cam or "").strip().upper() != serial or raw is None:
                continue
            t, off = correct_time(raw, dep.timezone or "UTC", dep.clock_offset_s or 0,
                                  file_off if source in FILE_STATED_OFFSET else None)
            if not in_window(t, dep.deployment_start, dep.deployment_end):
                continue
            new_flags = [f for f in (flags or []) if f not in ("no_deployment", "outside_window")]
            updates.append({"mid": mid, "dep": deployment_id, "t": t, "off": off, "fl": new_flags})
        if updates:
            tbl = Media.__table__
            s.connection().execute(update(tbl).where(tbl.c.id == bindparam("mid")).values(
                deployment_id=bindparam("dep"), captured_at=bindparam("t"), utc_offset_min=bindparam("off"),
                flags=bindparam("fl")), updates)
        return len(updates)


@handler("retime")
def retime(ctx: JobContext) -> dict:
    """Params {"deployment_id"}: recompute media times after a clock offset / time zone change, then resequence."""
    return retime_deployment(ctx.session, ctx.params["deployment_id"], ctx.progress)


@handler("resequence")
def resequence_job(ctx: JobContext) -> dict:
    """Params {"program_id"} or {"deployment_id"}: recompute sequences (e.g. after the gap changed)."""
    if "deployment_id" in ctx.params:
        ids = [ctx.params["deployment_id"]]
    elif "program_id" in ctx.params:
        with ctx.session() as s:
            if s.get(Program, ctx.params["program_id"]) is None:
                raise LookupError(f"no program with id {ctx.params['program_id']!r}")
            ids = list(s.exec(select(Deployment.id).where(Deployment.program_id == ctx.params["program_id"])))
    else:
        raise ValueError("resequence needs program_id or deployment_id")
    total = 0
    for i, dep_id in enumerate(ids):
        with ctx.session() as s:
            total += resequence(s, dep_id)
        ctx.progress(i + 1, len(ids))
    return {"deployments": len(ids), "sequences": total}


@handler("derivatives")
def derivatives_job(ctx: JobContext) -> dict:
    """Params {"deployment_id"} or {"media_ids": [...]}: make missing thumbnails / review images again."""
    from . import process as proc
    from .registry import MediaInfo

    from .pipeline import config_roots

    cfg = ctx.config
    roots = config_roots(cfg, durable=True)
    store = stores_from_config(cfg)[0]
    with ctx.session() as s:
        stmt = select(Media.id, Media.sha256, Media.storage_key, Media.orientation).where(Media.kind == "image")
        if "media_ids" in ctx.params:
            stmt = stmt.where(Media.id.in_(list(ctx.params["media_ids"])))
        else:
            stmt = stmt.where(Media.deployment_id == ctx.params["deployment_id"])
        rows = s.exec(stmt).all()
    made = 0
    for i, (mid, sha, key, orientation) in enumerate(rows):
        try:
            with store.open(key) as f:
                data = f.read()
        except OSError as e:
            ctx.fail_item(mid, f"original missing from the media store: {e}")
            continue
        if proc.ensure_derivatives(sha, data, MediaInfo(orientation=orientation), roots):
            made += 1
            with ctx.session() as s:
                s.connection().execute(update(Media.__table__).where(Media.__table__.c.id == mid)
                                       .values(has_derivatives=True))
        else:
            ctx.fail_item(mid, "cannot decode the image")
        if i % 50 == 0:
            ctx.progress(i + 1, len(rows))
    return {"media": len(rows), "with_derivatives": made}
