"""Job handlers of ingest: ``retime``, ``resequence`` and ``derivatives``.

All three are idempotent: they recompute from what is stored (the raw device
time, the originals), so running one twice gives the same result.
"""
from __future__ import annotations

import os

from sqlalchemy import bindparam, update
from sqlmodel import select

from ..jobs.core import JobContext, handler
from ..models import Deployment, Media, Program
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
    """Params {"media_ids": [...]} (queued by ingest for photos it stored without a thumbnail) or
    {"deployment_id"} (make missing ones again): decode each photo once for its thumbnail and, when
    needed, review image; the pages show a placeholder until then.

    Photos are done in a process pool (``params["workers"]``, config ``DERIVATIVE_WORKERS``, default
    all cores but one). A photo that cannot be decoded is flagged ``corrupt`` (its original and row
    stay as they are; no retry). When writing fails (full disk, store unavailable) the job fails
    after the others are done and is retried; what was made is kept.
    """
    import concurrent.futures as cf
    import multiprocessing as mp
    from functools import partial

    from . import process as proc
    from .pipeline import config_roots

    cfg = ctx.config
    roots = config_roots(cfg, durable=True)
    with ctx.session() as s:
        stmt = select(Media.id, Media.sha256, Media.storage_key, Media.orientation).where(Media.kind == "image")
        if "media_ids" in ctx.params:
            # Done ones are checked again (a stat): a rerun of a card queues photos whose files went missing.
            stmt = stmt.where(Media.id.in_(list(ctx.params["media_ids"])))
        else:
            stmt = stmt.where(Media.deployment_id == ctx.params["deployment_id"])
        rows = s.exec(stmt.order_by(Media.id)).all()
    items = [(mid, sha, key, orientation) for mid, sha, key, orientation in rows]
    workers = int(ctx.params.get("workers") or cfg.get("DERIVATIVE_WORKERS") or max(1, (os.cpu_count() or 2) - 1))
    work = partial(proc.derive_one, roots)
    counts = {"made": 0, "undecodable": 0, "missing": 0, "error": 0}
    made: list[str] = []
    bad: dict[str, str] = {}

    def save() -> None:
        if not made and not bad:
            return
        with ctx.session() as s:
            for m in s.exec(select(Media).where(Media.id.in_(made + list(bad)))):
                meta = dict(m.meta or {})
                if m.id in bad:
                    meta["derivatives"] = "failed"
                    meta["ingest_notes"] = list(meta.get("ingest_notes") or []) + [bad[m.id]]
                    m.flags = list(dict.fromkeys(list(m.flags or []) + ["corrupt"]))
                else:
                    meta["derivatives"] = "made" if meta.get("derivatives") == proc.PENDING else \
                        meta.get("derivatives", "made")
                    m.has_derivatives = True
                m.meta = meta
                s.add(m)
        made.clear()
        bad.clear()

    def record(res: tuple[str, str, str], done: int) -> None:
        mid, outcome, message = res
        counts[outcome] += 1
        if outcome == "made":
            made.append(mid)
        elif outcome == "undecodable":
            bad[mid] = message
        if outcome != "made":
            ctx.fail_item(mid, message)
        if len(made) + len(bad) >= 200 or done == len(items):
            save()
            ctx.progress(done, len(items))  # renews the lease; raises JobCancelled when cancelled

    if workers <= 1 or len(items) < 8:
        for n, item in enumerate(items, start=1):
            record(work(item), n)
    else:
        # spawn: the job runs in a worker thread, and forking a threaded process is unsafe.
        with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            for n, res in enumerate(pool.map(work, items, chunksize=8), start=1):
                record(res, n)
    save()
    if counts["error"]:
        raise RuntimeError(f"{counts['error']} of {len(items)} thumbnails could not be written; the job is "
                           "retried (what was made is kept)")
    return {"media": len(items), "with_derivatives": counts["made"], "undecodable": counts["undecodable"],
            "missing": counts["missing"]}
