"""An ingest run: scan, do the file work in a process pool, write rows in short batches.

Order of work, for crash safety: each file is stored (atomically) before its
database row exists, and rows are written in short transactions of
``batch_size`` files. A run that stops anywhere (crash, Ctrl-C, full disk)
leaves stored files without rows at worst; running the same command again
finds their SHA-256 in the store, skips the copy, and writes the missing rows:
the card is finished with nothing stored twice and no half-written record.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional

from flask import Flask
from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from .. import audit, features
from ..db import session_scope
from ..errors import NotFound, ValidationError
from ..models import Deployment, Media, Program, new_id, utcnow
from ..jobs.core import enqueue
from . import process as proc
from .early import EarlyStart
from .report import IngestReport
from .sequences import resequence
from .sources import Skipped, Source, ZipRefused, scan
from .timefix import correct_time, in_window, time_flags

log = logging.getLogger("saola.ingest")

BATCH_SIZE = 250
BATCH_SECONDS = 2.0
# Flags that ingest/retime recompute from times and windows (others, like corrupt, stay).
TIME_FLAGS = {"outside_window", "no_deployment", "no_timestamp", "clock_reset", "future_time"}

Progress = Callable[[int, int], None]


@dataclass
class DeploymentWindow:
    """What matching needs of a deployment (read once, outside any write transaction)."""

    id: str
    area_id: str
    camera_id: Optional[str]
    start: Any
    end: Any
    timezone: str
    clock_offset_s: int
    capture_method: Optional[str]

    @classmethod
    def of(cls, dep: Deployment, program: Program) -> "DeploymentWindow":
        return cls(dep.id, program.area_id, (dep.camera_id or "").strip().upper() or None, dep.deployment_start,
                   dep.deployment_end, dep.timezone or "UTC", dep.clock_offset_s or 0, program.capture_method)


class Matcher:
    """Finds the deployment of a file: the explicit one, or by camera serial and time window."""

    def __init__(self, url: str, deployment_id: Optional[str], default_tz: str, *, area_id: Optional[str] = None,
                 fallback_serial: Optional[str] = None):
        """``area_id``: only that area's deployments (a cellular camera's files never land in another
        area); ``fallback_serial``: the serial of files whose metadata names none (the camera's login)."""
        self.default_tz = default_tz
        self.fallback_serial = (fallback_serial or "").strip().upper()
        self.explicit: Optional[DeploymentWindow] = None
        self.explicit_kind: Optional[str] = None
        self._areas: Optional[dict[str, str]] = None
        self.by_serial: dict[str, list[DeploymentWindow]] = {}
        with session_scope(url, read_only=True) as s:
            if deployment_id is not None:
                dep = s.get(Deployment, deployment_id)
                if dep is None:
                    raise NotFound(f"no deployment with id {deployment_id!r}")
                self.explicit = DeploymentWindow.of(dep, s.get(Program, dep.program_id))
                self.explicit_kind = dep.kind
            else:
                stmt = (select(Deployment, Program).join(Program, Program.id == Deployment.program_id)
                        .where(Deployment.camera_id.is_not(None)))
                if area_id is not None:
                    stmt = stmt.where(Program.area_id == area_id)
                for dep, program in s.exec(stmt):
                    w = DeploymentWindow.of(dep, program)
                    if w.camera_id:
                        self.by_serial.setdefault(w.camera_id, []).append(w)

    def area_of(self, deployment_id: str) -> Optional[str]:
        """The protected area of a deployment this matcher knows."""
        if self._areas is None:
            known = [self.explicit] if self.explicit else [w for ws in self.by_serial.values() for w in ws]
            self._areas = {w.id: w.area_id for w in known}
        return self._areas.get(deployment_id)

    def place(self, info: dict) -> tuple[Optional[DeploymentWindow], Any, Optional[int], list[str]]:
        """(deployment, UTC time, UTC offset minutes, flags) of a file's metadata."""
        raw, file_off = info.get("captured_at_raw"), info.get("utc_offset_min")
        if self.explicit is not None:
            w = self.explicit
            t, off = correct_time(raw, w.timezone, w.clock_offset_s, file_off)
            flags = time_flags(raw, t)
            if raw is not None and not in_window(t, w.start, w.end):
                flags.append("outside_window")
            return w, t, off, flags
        serial = (info.get("camera_serial") or "").strip().upper() or self.fallback_serial
        candidates = self.by_serial.get(serial, []) if serial else []
        for w in candidates:
            t, off = correct_time(raw, w.timezone, w.clock_offset_s, file_off)
            if in_window(t, w.start, w.end):
                return w, t, off, time_flags(raw, t)
        t, off = correct_time(raw, self.default_tz, 0, file_off)
        flags = time_flags(raw, t)
        flags.append("outside_window" if candidates and raw is not None else "no_deployment")
        return None, t, off, flags


def _trim(v: Optional[str], n: int) -> Optional[str]:
    return v[:n] if isinstance(v, str) else v


def media_row(res: dict, w: Optional[DeploymentWindow], t: Any, off: Optional[int], flags: list[str]) -> dict:
    """The media table row of a processed file."""
    info = res["info"]
    meta = dict(info.get("meta") or {})
    if info.get("notes"):
        meta["ingest_notes"] = info["notes"]
    all_flags = list(dict.fromkeys(list(info.get("flags") or []) + flags))
    rel = res["rel_path"]
    return {
        "id": new_id(), "sha256": res["sha256"], "kind": res["kind"], "deployment_id": w.id if w else None,
        "sequence_id": None, "file_name": _trim(rel.rsplit("/", 1)[-1], 255), "file_path": rel,
        "media_type": _trim(res["media_type"], 64), "size_bytes": res["size"], "storage_key": res["storage_key"],
        "captured_at_raw": info.get("captured_at_raw"), "captured_at": t, "utc_offset_min": off,
        "timestamp_source": info.get("timestamp_source") or "none", "width": info.get("width"),
        "height": info.get("height"), "orientation": info.get("orientation"), "duration_s": info.get("duration_s"),
        "sample_rate": info.get("sample_rate"), "channels": info.get("channels"),
        "camera_make": _trim(info.get("camera_make"), 100), "camera_model": _trim(info.get("camera_model"), 100),
        "camera_serial": _trim(info.get("camera_serial"), 100), "latitude": info.get("latitude"),
        "longitude": info.get("longitude"), "capture_method": w.capture_method if w else None,
        "flags": all_flags, "meta": meta, "has_derivatives": bool(res.get("derivatives")),
        "contains_person": False, "favorite": False, "media_comments": None, "created_at": utcnow(),
    }


class NotDurable(Exception):
    """Syncing a batch's originals to disk failed: its rows are not written (the run stops)."""


class BatchWriter:
    """Writes processed files as media rows, a short transaction per batch."""

    def __init__(self, url: str, matcher: Matcher, report: IngestReport, run_id: str, keep_ids: bool,
                 media_root: Optional[str] = None):
        self.url, self.matcher, self.report, self.run_id, self.keep_ids = url, matcher, report, run_id, keep_ids
        # The local media store whose files each batch syncs before its rows are committed; None when
        # the workers fsync each file themselves (durable roots) or the store is remote (an S3 object
        # is durable once the upload is acknowledged).
        self.media_root = media_root
        # Sync each batch in a background thread while taking the next results (set when worker
        # processes do the file work); rows still follow their batch's sync.
        self.overlap = False
        self._syncer: Any = None
        self._inflight: Optional[tuple[list[dict], Any]] = None
        self.config: Optional[dict] = None  # app config, for queueing detection of new photos
        self.pending: list[dict] = []
        self.seen: dict[str, str] = {}  # sha256 -> media id, for files of this run
        self.last_flush = time.monotonic()
        self.later: list[tuple[str, str]] = []  # in-run duplicates whose media id is known after flush

    def add(self, res: dict) -> None:
        if res["sha256"] in self.seen:  # the same bytes twice on this card
            self.report.duplicate(res["rel_path"])
            if self.keep_ids:
                self.later.append((res["rel_path"], res["sha256"]))
            return
        self.seen[res["sha256"]] = ""  # media id filled in when written
        self.pending.append(res)
        if len(self.pending) >= BATCH_SIZE or time.monotonic() - self.last_flush > BATCH_SECONDS:
            self.flush()
        elif self._inflight is not None:
            self._settle()

    def _queue_detection(self, s, rows: list[dict]) -> list[str]:
        """Queue the follow-up jobs of new rows in this transaction: detection of photos (when a
        detector is configured) and the analysis of recordings (indices, events, BirdNET)."""
        jobs: list[str] = []
        if not self.config:
            return jobs
        for hook in features.ingest_hooks():
            queue = hook.load()
            by_area: dict = {}
            for row in rows:
                if row["kind"] == hook.media_kind and row["deployment_id"] and "corrupt" not in row["flags"]:
                    by_area.setdefault(self.matcher.area_of(row["deployment_id"]), []).append(row["id"])
            for area_id, ids in by_area.items():
                job = queue(s, ids, area_id, self.config, commit=False)
                if job is not None:
                    jobs.append(job.id)
        return jobs

    def _queue_derivatives(self, s, rows: list[dict], rederive: list) -> list[str]:
        """Queue the background ``derivatives`` job of new photos still without a thumbnail (and of
        ``rederive``: (media id, area id) of stored photos whose thumbnail is missing)."""
        by_area: dict = {}
        for mid, area_id in rederive:
            by_area.setdefault(area_id, []).append(mid)
        for row in rows:
            if row["kind"] == "image" and row["meta"].get("derivatives") == proc.PENDING:
                area = self.matcher.area_of(row["deployment_id"]) if row["deployment_id"] else None
                by_area.setdefault(area, []).append(row["id"])
        out: list[str] = []
        if not by_area:
            return out
        from . import jobs  # noqa: F401  (its handler: the job kind is known without loading every feature's)

        for area_id, ids in by_area.items():
            job = enqueue(s, proc.DERIVATIVES_JOB, {"media_ids": ids}, area_id=area_id, commit=False)
            out.append(job.id)
            self.report.derivative_jobs.append(job.id)
            self.report.derivatives_pending += len(ids)
        return out

    def finish(self) -> None:
        """Write what is pending and resolve the media ids of in-run duplicates."""
        try:
            self.flush()
            self._settle(wait=True)
        finally:
            if self._syncer is not None:
                self._syncer.shutdown()
                self._syncer = None
        for path, sha in self.later:
            if self.seen.get(sha):
                self.report.media_ids[path] = self.seen[sha]

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        self.last_flush = time.monotonic()
        if self.media_root is None:
            self._commit(batch)
            return
        # Make this batch's originals durable before any row names them: their files and folders
        # synced together, once per batch (process.make_durable), instead of one fsync per file.
        # A failure (EIO, ENOSPC on writeback) stops the run before the batch's rows.
        keys = [r["storage_key"] for r in batch]
        if not self.overlap:
            t0 = time.monotonic()
            try:
                proc.make_durable(self.media_root, keys)
            except OSError as e:
                raise self._not_durable(e, len(batch)) from e
            finally:
                self.report.sync_s += time.monotonic() - t0
            self._commit(batch)
            return
        # With worker processes doing the file work, this process syncs in a background thread and
        # goes on taking results; the batch's rows are written once its sync is done (the previous
        # batch's first: rows are committed in order, each only after its own files are synced).
        self._settle(wait=True)
        if self._syncer is None:
            from concurrent.futures import ThreadPoolExecutor

            self._syncer = ThreadPoolExecutor(1, thread_name_prefix="saola-ingest-sync")
        self._inflight = (batch, self._syncer.submit(proc.make_durable, self.media_root, keys))

    def _settle(self, wait: bool = False) -> None:
        """Write the rows of the batch being synced once its sync is done (``wait``: wait for it)."""
        if self._inflight is None:
            return
        batch, fut = self._inflight
        if not wait and not fut.done():
            return
        self._inflight = None
        t0 = time.monotonic()
        try:
            fut.result()
        except OSError as e:
            raise self._not_durable(e, len(batch)) from e
        finally:
            self.report.sync_s += time.monotonic() - t0  # the time this process waited for the disk
        self._commit(batch)

    @staticmethod
    def _not_durable(e: OSError, n: int) -> NotDurable:
        return NotDurable(f"the disk did not confirm the stored originals ({e.strerror or e}); the "
                          f"last {n} files have no rows yet: run the same command again")

    def _commit(self, batch: list[dict]) -> None:
        placed = []
        for res in batch:
            w, t, off, flags = self.matcher.place(res["info"])
            placed.append((res, w, t, off, flags))
        t0 = time.monotonic()
        try:
            self._write(placed)
        except IntegrityError:
            # Another ingest stored some of the same files meanwhile: go one by one.
            for item in placed:
                try:
                    self._write([item])
                except IntegrityError:
                    self._write([item])  # now seen as a duplicate
        finally:
            self.report.db_s += time.monotonic() - t0

    def _write(self, placed: list) -> None:
        rep = self.report
        shas = [p[0]["sha256"] for p in placed]
        with session_scope(self.url) as s:
            existing = {sha: (mid, has_d, dep_id, old_flags) for sha, mid, has_d, dep_id, old_flags in s.exec(
                select(Media.sha256, Media.id, Media.has_derivatives, Media.deployment_id, Media.flags)
                .where(Media.sha256.in_(shas)))}
            rows, completed, per_area, dups, assigned, rederive = [], [], {}, [], [], []
            for res, w, t, off, flags in placed:
                if res["sha256"] in existing:
                    mid, has_d, dep_id, old_flags = existing[res["sha256"]]
                    dups.append((res, mid))
                    if res.get("derivatives") and not has_d:
                        completed.append(mid)
                    elif (res["info"].get("meta") or {}).get("derivatives") == proc.PENDING:
                        # Stored before, its thumbnail missing (never made, or deleted): the job makes it.
                        rederive.append((mid, w.area_id if w else self.matcher.area_of(dep_id) if dep_id else None))
                    if dep_id is None and w is not None:
                        # Stored earlier without a deployment; this run knows it: assign it now.
                        kept = [f for f in (old_flags or []) if f not in TIME_FLAGS]
                        assigned.append({"mid": mid, "dep": w.id, "t": t, "off": off,
                                         "fl": list(dict.fromkeys(kept + flags)), "cm": w.capture_method,
                                         "kind": res["kind"]})
                        per_area.setdefault(w.area_id, []).append(mid)
                    continue
                row = media_row(res, w, t, off, flags)
                rows.append(row)
                per_area.setdefault(w.area_id if w else None, []).append(row["id"])
            if rows:
                s.connection().execute(insert(Media.__table__), rows)
            if completed:
                s.connection().execute(update(Media.__table__).where(Media.__table__.c.id.in_(completed))
                                       .values(has_derivatives=True))
            if assigned:
                tbl = Media.__table__
                s.connection().execute(update(tbl).where(tbl.c.id == bindparam("mid")).values(
                    deployment_id=bindparam("dep"), captured_at=bindparam("t"), utc_offset_min=bindparam("off"),
                    flags=bindparam("fl"), capture_method=bindparam("cm")), assigned)
            # One summarising audit entry per batch and area (bulk machine write).
            for area_id, ids in per_area.items():
                audit.record(s, "create", "media", self.run_id, area_id=area_id,
                             after={"ingest_run": self.run_id, "source": rep.source, "count": len(ids),
                                    "media_ids": ids})
            # Thumbnails the workers did not make (no usable camera preview), then detection of the new
            # photos: queued in the same transaction as their rows.
            jobs = self._queue_derivatives(s, rows, rederive)
            jobs += self._queue_detection(s, rows + [{"id": a["mid"], "kind": a["kind"], "deployment_id": a["dep"],
                                                       "flags": a["fl"]} for a in assigned])
        # Counted (and jobs dispatched) only once committed.
        if jobs:
            from ..jobs import dispatch

            for job_id in jobs:
                dispatch(job_id)
        rep.completed += len(completed)
        rep.assigned += len(assigned)
        for a in assigned:
            rep.deployments.add(a["dep"])
        for res, mid in dups:
            self.seen[res["sha256"]] = mid
            rep.duplicate(res["rel_path"])
            if self.keep_ids:
                rep.media_ids[res["rel_path"]] = mid
        for row in rows:
            self.seen[row["sha256"]] = row["id"]
            if self.keep_ids:
                rep.media_ids[row["file_path"]] = row["id"]
            rep.ingested += 1
            rep.by_kind[row["kind"]] += 1
            rep.flag(row["file_path"], [f for f in row["flags"]])
            if row["deployment_id"]:
                rep.deployments.add(row["deployment_id"])


def _pool_context():
    # fork is fastest, but only safe while this process runs no other threads.
    if "fork" in mp.get_all_start_methods() and threading.active_count() == 1:
        return mp.get_context("fork")
    return mp.get_context("spawn")


def _results(sources: Iterable[Source], roots: proc.StoreRoots, workers: int, few: bool = False) -> Iterator[dict]:
    """Each source's file work, in order; in a process pool unless ``workers`` <= 1 or ``few``.

    ``sources`` may be a generator that waits for files still arriving (browser card uploads):
    the pool's feeder thread consumes it while the workers process what came before.
    """
    if workers <= 1 or few:
        try:
            for src in sources:
                yield proc.process_source(src, roots)
        finally:
            proc.close_zips()
        return
    ctx = _pool_context()
    pool = ctx.Pool(workers, initializer=proc.init_worker, initargs=(roots, os.getpid()))
    try:
        # Ordered results keep the report and the batches repeatable; small chunks keep memory flat.
        yield from pool.imap(proc.work, sources, chunksize=4)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def store_roots(app: Flask) -> proc.StoreRoots:
    """Where the worker processes write, from the app's stores (durability: one sync per batch)."""
    return config_roots(app.config)


#: Kept here for the modules that import them from the pipeline (jobs, uploads).
REMOTE_SETTINGS = proc.REMOTE_SETTINGS
config_roots = proc.config_roots


def ingest_sources(app: Flask, sources: list[Source], skipped: Iterable[Skipped] = (), *,
                   deployment_id: Optional[str] = None, workers: Optional[int] = None,
                   progress: Optional[Progress] = None, source_name: str = "", keep_ids: bool = False,
                   resequence_after: bool = True, matcher: Optional[Matcher] = None,
                   early: Optional[EarlyStart] = None) -> IngestReport:
    """Ingest already scanned sources; the building block of :func:`ingest_path` and uploads.
    ``matcher``: how files find their deployment (default: ``deployment_id``, else serial and time).
    ``early``: workers already started on these ``sources`` (server/ingest/early.py), holding what they
    would store until the deployment is known; closed here whatever happens."""
    url = app.config["DATABASE_URL"]
    skipped = list(skipped)
    report = IngestReport(source=source_name, total=len(sources) + len(skipped))
    for sk in skipped:
        report.skip(sk.rel_path, sk.reason)
    roots = store_roots(app)
    try:
        if early is not None and not early.fits(roots):  # not where this app stores: start again here
            early.close()
            early = None
        matcher = matcher or Matcher(url, deployment_id, app.config.get("DEFAULT_TIMEZONE") or "Asia/Ho_Chi_Minh")
        if matcher.explicit is not None:
            sources = _fitting_kinds(sources, matcher.explicit_kind, deployment_id, report)
        # The workers' files of the kinds the deployment takes move into the store as their results
        # are taken; the others were stored nowhere and are reported skipped already.
        results = early.results({s.kind for s in sources}) if early is not None else None
        # From the end of the command's start-up (an early start's workers began before it: the files
        # they did meanwhile cost nothing here).
        started = time.monotonic()
        done = ingest_stream(app.config, sources, report, matcher, workers=workers, progress=progress,
                             keep_ids=keep_ids, total=len(sources), roots=roots, results=results)
    finally:
        if early is not None:
            early.close()
    if report.fatal is None and done < len(sources):
        report.fatal = f"stopped after {done} of {len(sources)} files"
    if resequence_after and report.deployments:
        report.sequences = resequence_all(url, report.deployments)
        check_health(url, report)
    report.elapsed_s = time.monotonic() - started
    return report


def check_health(url: str, report: IngestReport) -> None:
    """Run the camera health checks of the deployments the ingest touched into ``report.health``
    (server/services/health.py). A failure of the checks is noted, never stops an ingest that stored
    its files."""
    if not report.deployments:
        return
    from ..services.health import after_ingest

    try:
        with session_scope(url) as s:
            report.health = after_ingest(s, report.deployments)
    except Exception as e:  # noqa: BLE001 - the files are stored; say the checks did not run
        log.exception("camera health checks after ingest failed")
        report.notes.append(f"camera health checks did not run: {e}")


def ingest_stream(config: dict, sources: Iterable[Source], report: IngestReport, matcher: Matcher, *,
                  workers: Optional[int] = None, progress: Optional[Progress] = None, keep_ids: bool = False,
                  total: Optional[int] = None, roots: Optional[proc.StoreRoots] = None,
                  results: Optional[Iterator[dict]] = None) -> int:
    """The file work and row writes of an ingest over ``sources`` (a list, or a generator of files
    as they arrive); counts go into ``report``. Returns how many sources were processed.

    ``total`` is what progress counts up to (None: unknown, e.g. a card still arriving). Rows of the
    files already stored are written whatever stops the run (crash safety); resequencing is the
    caller's (:func:`resequence_all`), once at the end. ``results``: the file work of ``sources``
    already under way (an early start), one result per source.
    """
    url = config["DATABASE_URL"]
    roots = roots or config_roots(config)
    writer = BatchWriter(url, matcher, report, new_id(), keep_ids,
                         media_root=None if roots.durable or roots.remote else roots.media)
    writer.config = config
    if workers is None:
        workers = os.cpu_count() or 1
    done = 0
    if progress:
        progress(0, total)
    try:
        few = total is not None and total < 8
        writer.overlap = results is not None or (workers > 1 and not few)
        for res in results if results is not None else _results(sources, roots, workers, few):
            done += 1
            if res["status"] == "ok":
                writer.add(res)
            elif res["status"] == "disk_full":
                report.fatal = (f"disk full while storing {res['rel_path']}: {res['reason']}. Free space in "
                                f"{roots.media} and run the same command again; what is "
                                "stored so far is kept and will not be stored twice")
                break
            else:
                report.skip(res["rel_path"], res["reason"])
            if progress:
                progress(done, total)
    except NotDurable as e:
        report.fatal = str(e)
    finally:
        # Whatever happens, rows of files already stored are written (crash safety).
        try:
            writer.finish()
        except NotDurable as e:
            if report.fatal is None:
                report.fatal = str(e)
        except OSError as e:
            if report.fatal is None:
                report.fatal = f"database write failed: {e}"
    return done


# Which media kinds each deployment kind takes, and what to say about the others.
_KINDS = {"camera": ({"image", "video"}, "a sound recording; recordings go to an acoustic deployment"),
          "acoustic": ({"audio"}, "a photo or video; they go to a camera deployment")}


def misfit_reason(kind: Optional[str], dep_kind: Optional[str], deployment_id: str) -> Optional[str]:
    """Why a deployment of ``dep_kind`` does not take media of ``kind`` (None when it does)."""
    if dep_kind not in _KINDS:
        return None
    kinds, why = _KINDS[dep_kind]
    if kind in kinds:
        return None
    article = "an" if dep_kind[0] in "aeiou" else "a"
    return f"{why} (deployment {deployment_id} is {article} {dep_kind} deployment)"


def _fitting_kinds(sources: list[Source], dep_kind: Optional[str], deployment_id: str,
                   report: IngestReport) -> list[Source]:
    """The sources a deployment of ``dep_kind`` takes; the others are skipped (all of them: an error)."""
    if dep_kind not in _KINDS:
        return sources
    kinds, why = _KINDS[dep_kind]
    article = "an" if dep_kind[0] in "aeiou" else "a"
    fit = [s for s in sources if s.kind in kinds]
    if sources and not fit:
        raise ValidationError(f"deployment {deployment_id} is {article} {dep_kind} deployment and every file is {why}")
    for s in sources:
        reason = misfit_reason(s.kind, dep_kind, deployment_id)
        if reason:
            report.skip(s.rel_path, reason)
    return fit


def resequence_all(url: str, deployment_ids: Iterable[str]) -> int:
    """Resequence each deployment in its own short transaction; total sequences."""
    n = 0
    for dep_id in sorted(deployment_ids):
        with session_scope(url) as s:
            n += resequence(s, dep_id)
    return n


def ingest_path(app: Flask, path: str | os.PathLike, *, deployment_id: Optional[str] = None,
                workers: Optional[int] = None, progress: Optional[Progress] = None,
                keep_ids: bool = False, early: Optional[EarlyStart] = None) -> IngestReport:
    """Ingest a folder (recursively) or a zip into the media store and database. ``early``: the
    workers already started on ``path`` (:func:`server.ingest.early.start`), with its scan."""
    if early is not None:
        sources, skipped = early.sources, early.skipped
    else:
        try:
            sources, skipped = scan(path)
        except ZipRefused as e:
            rep = IngestReport(source=str(path), total=1)
            rep.skip(os.path.basename(str(path)), str(e))
            return rep
    return ingest_sources(app, sources, skipped, deployment_id=deployment_id, workers=workers, progress=progress,
                          source_name=str(path), keep_ids=keep_ids, early=early)
