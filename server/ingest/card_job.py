"""The ``card_ingest`` job: a browser card upload through the ingest pipeline, while it arrives.

Params ``{"card_id"}``. The files of the card whose last byte has arrived are fed, in stream
order, to the same pipeline as ``saola ingest`` (:func:`server.ingest.pipeline.ingest_stream`:
hashing, EXIF, store, thumbnails, rows in short batches, follow-up detection), the process
pool working on the first files while the page still sends the next ones. A zip is scanned
once complete (``scan``: bombs and unsafe member paths refused, as by the CLI).

When no file is waiting and the card is still arriving, the job waits a little
(:data:`IDLE_S`), then ends without holding a worker (the card keeps its place: the next
complete file queues the job again, see :func:`server.ingest.cards.ensure_ingest_job`).
When every byte is in and handed over, the deployment is resequenced and the card's report
completed with the entries that were not sent (system files, unsafe paths, unreadable
files...): the same report as ``saola ingest`` of that folder.

The job is safe to run twice: files already stored are duplicates, their rows exist.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any, Iterator, Optional

from sqlmodel import select

from ..jobs.core import JobCancelled, JobContext, JobFailed, handler
from ..models import CardFile, CardUpload, Upload, utcnow
from .cards import ensure_ingest_job, manifest_skips, remove_staging, staged_path
from .pipeline import Matcher, check_health, ingest_stream, resequence_all
from .report import IngestReport
from .sources import Skipped, Source, ZipRefused, scan

IDLE_S = 20.0  # how long the job waits for more files of a card still arriving
POLL_S = 0.25
PROGRESS_EVERY_S = 0.5
PAGE = 500


class _Feed:
    """The sources of the card's complete files, as they complete (runs in the pool's feeder thread)."""

    def __init__(self, ctx: JobContext, card_id: str, base: int, data_dir: str, report: IngestReport):
        self.ctx, self.card_id, self.base, self.data_dir, self.report = ctx, card_id, base, data_dir, report
        self.idle_s = float(ctx.config.get("CARD_IDLE_S") or IDLE_S)
        self.handed = 0  # accepted files handed over by this run
        self.sources = 0
        self.ends: list[tuple[int, int]] = []  # (sources handed when this file was done, file idx)
        self.skipped = 0  # entries skipped here (zip members, refused zips), counted in the report's total
        self.lock = threading.Lock()

    def files_done(self, processed: int) -> list[int]:
        """Indexes of the files whose every source is among the first ``processed`` results."""
        with self.lock:
            return [idx for n, idx in self.ends if n <= processed]

    def _sources_of(self, cf: CardFile) -> tuple[list[Source], list[Skipped]]:
        path = staged_path(self.data_dir, self.card_id, cf.idx, cf.path)
        try:
            size = os.path.getsize(path)
        except OSError as e:
            return [], [Skipped(cf.path, f"cannot read: {e.strerror}")]
        if size != cf.size:  # lost with the server's page cache (a crash): never ingest a cut file
            return [], [Skipped(cf.path, f"received {size} of {cf.size} bytes (the server restarted?); "
                                         "upload the card again")]
        if cf.kind == "zip":
            try:
                return scan(path)
            except ZipRefused as e:
                return [], [Skipped(cf.path, str(e))]
        return [Source(cf.path, cf.kind or "", os.path.splitext(cf.path)[1].lower(), cf.size, path=str(path))], []

    def __iter__(self) -> Iterator[Source]:
        idle_since = time.monotonic()
        while True:
            with self.ctx.session() as s:
                up = s.exec(select(Upload).where(Upload.card_id == self.card_id)).first()
                if up is None:
                    return  # the card was deleted
                offset, size = up.offset, up.size_bytes
                rows = list(s.exec(select(CardFile).where(CardFile.card_id == self.card_id, CardFile.start >= 0,
                                                          CardFile.end <= offset)
                                   .order_by(CardFile.start).offset(self.base + self.handed).limit(PAGE)))
                for r in rows:
                    s.expunge(r)
            if rows:
                idle_since = time.monotonic()
                for cf in rows:
                    srcs, skips = self._sources_of(cf)
                    for sk in skips:
                        self.report.skip(sk.rel_path, sk.reason)
                        self.skipped += 1
                    for src in srcs:
                        self.sources += 1
                        yield src
                    with self.lock:
                        self.handed += 1
                        self.ends.append((self.sources, cf.idx))
                continue
            if offset >= size:
                return
            if time.monotonic() - idle_since > self.idle_s:
                return  # the rest of the card has not arrived yet: see _save
            time.sleep(POLL_S)


@handler("card_ingest")
def card_ingest(ctx: JobContext) -> dict[str, Any]:
    """Ingest a browser card upload as its files arrive (see the module docstring)."""
    card_id = ctx.params.get("card_id")
    cfg = ctx.config
    with ctx.session() as s:
        card = s.get(CardUpload, card_id) if isinstance(card_id, str) else None
        if card is None:
            raise JobFailed(f"no card upload with id {card_id!r}")
        if card.status in ("done", "cancelled"):
            return {"card_id": card_id, "status": card.status}
        deployment_id, label, accepted = card.deployment_id, card.label, card.files_accepted
        report = IngestReport.from_dict(card.report) if card.report else IngestReport(source=label)
        base = card.files_done
        if card.status == "failed":
            card.status = "ingesting" if _complete(s, card_id) else "receiving"
    report.fatal = None
    matcher = Matcher(cfg["DATABASE_URL"], deployment_id, cfg.get("DEFAULT_TIMEZONE") or "Asia/Ho_Chi_Minh")
    # A few photos are quicker in this thread than through a pool of processes.
    workers = min(os.cpu_count() or 1, 4) if accepted >= 16 else 1
    started = time.monotonic()
    while True:
        done_idx = _run_once(ctx, card_id, base, report, matcher, workers, accepted)
        base += len(done_idx)
        state = _save(ctx, card_id, base, report, done_idx, "failed" if report.fatal else None)
        if report.fatal:
            return {"card_id": card_id, "status": "failed", "report": report.to_dict()}
        if state == "waiting":
            ctx.progress(base, accepted)
            return {"card_id": card_id, "status": "waiting", "files_done": base, "files": accepted}
        if state == "complete":
            break
        # More files completed while this run was stopping: go on.
    report.sequences = resequence_all(cfg["DATABASE_URL"], report.deployments) if report.deployments else 0
    check_health(cfg["DATABASE_URL"], report)
    report.elapsed_s += time.monotonic() - started
    with ctx.session() as s:
        card = s.get(CardUpload, card_id)
        if card is None:
            return {"card_id": card_id, "status": "deleted"}
        skips = manifest_skips(s, card_id)
        report.skipped = skips + report.skipped
        report.total += len(skips)
        card.report = report.to_dict()
        card.status, card.finished_at, card.updated_at = "done", utcnow(), utcnow()
        card.files_done = base
        s.add(card)
    remove_staging(cfg["DATA_DIR"], card_id)
    ctx.progress(accepted, accepted)
    return {"card_id": card_id, "status": "done", "ingested": report.ingested, "duplicates": report.duplicates,
            "skipped": len(report.skipped), "sequences": report.sequences}


def _run_once(ctx: JobContext, card_id: str, base: int, report: IngestReport, matcher: Matcher, workers: int,
              accepted: int) -> list[int]:
    """One pass of the pipeline over the files complete now and those completing meanwhile;
    the indexes of the files it ingested (their rows written)."""
    feed = _Feed(ctx, card_id, base, ctx.config["DATA_DIR"], report)
    last = [0.0]
    seen = [0]  # results processed so far (every call, not only those reported)

    def progress(done: int, _total: Optional[int] = None) -> None:
        seen[0] = done
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            ctx.progress(base + len(feed.files_done(done)), accepted)

    try:
        processed = ingest_stream(ctx.config, iter(feed), report, matcher, workers=workers, progress=progress)
    except JobCancelled:
        done_idx = feed.files_done(seen[0])
        _save(ctx, card_id, base + len(done_idx), report, done_idx, None)
        raise
    report.total += processed + feed.skipped
    return feed.files_done(processed)


def _complete(s, card_id: str) -> bool:
    up = s.exec(select(Upload).where(Upload.card_id == card_id)).first()
    return up is not None and up.offset >= up.size_bytes


def _save(ctx: JobContext, card_id: str, files_done: int, report: IngestReport, done_idx: list[int],
          status: Optional[str]) -> str:
    """Store how far ingest went and its report; say whether the card is "complete" (every file
    handed over), "waiting" (this job lets go: nothing more to do until more bytes arrive), or
    "more" (files completed meanwhile: go on)."""
    with ctx.session() as s:
        # The lock ensure_ingest_job takes: a chunk completing a file now either sees this job
        # gone (and queues another) or is seen here.
        card = s.exec(select(CardUpload).where(CardUpload.id == card_id).with_for_update()).first()
        if card is None:
            return "complete"
        card.files_done = files_done
        card.report = report.to_dict()
        card.updated_at = utcnow()
        if status:
            card.status = status
        s.add(card)
        up = s.exec(select(Upload).where(Upload.card_id == card_id)).first()
        offset = up.offset if up is not None else 0
        complete = up is None or offset >= up.size_bytes
        waiting_files = s.exec(select(CardFile.idx).where(CardFile.card_id == card_id, CardFile.start >= 0,
                                                          CardFile.end <= offset)
                               .order_by(CardFile.start).offset(files_done).limit(1)).first()
        if status == "failed":
            state = "failed"
        elif waiting_files is not None:
            state = "more"
        elif complete:
            state = "complete"
        else:
            card.job_id = None  # let go: the next complete file queues the job again
            state = "waiting"
    remove_staging(ctx.config["DATA_DIR"], card_id, done_idx)
    return state


__all__ = ["card_ingest", "ensure_ingest_job"]
