"""Files cellular cameras upload, ingested as they arrive through the normal ingest pipeline.

The FTP server hands each finished upload to :class:`Receiver`, whose thread ingests what has
arrived in small batches (matched by the camera's serial and the photo's time, within the
camera's protected area; duplicates by hash; the usual flags), records a
:class:`server.models.CameraUpload` row per file and removes the staged file once it is
stored. A file that is not whole (see :mod:`server.cellular.files`) stays in the staging
folder, recorded as ``incomplete``, until the camera resumes or re-sends it. On start the
staging folders are scanned again, so files received before a crash are not lost.
"""
from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from .files import incomplete, refusal

log = logging.getLogger("saola.cellular")

#: Files ingested together at most (a camera sends a burst of 3-10 photos at once).
BATCH = 32
#: Folder of the staging root holding whole uploads waiting for ingest, one sub-folder per login.
RECEIVED = ".received"


@dataclass(frozen=True)
class Camera:
    """The login a connection authenticated as."""

    login_id: str
    username: str
    area_id: str
    serial: Optional[str]


def staging_root(config) -> Path:
    """Where cameras' uploads wait for ingest: DATA_DIR/cellular/<login id>/."""
    return Path(config["DATA_DIR"]) / "cellular"


def accept(camera: Camera, path: str | os.PathLike, root: Path) -> Optional[str]:
    """Move a finished, whole upload out of the camera's reach into its ``.received`` folder under a
    unique name (the camera may send another IMG_0001.JPG before this one is ingested); returns the
    new path, or None when the file is not whole (kept where it is for a resume)."""
    import uuid

    p = Path(path)
    if incomplete(p) is not None:
        return None
    # Outside every camera's home: a camera can neither see nor change what waits for ingest.
    dest = root / RECEIVED / camera.login_id / f"{uuid.uuid4().hex}--{p.name}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(p, dest)
    return str(dest)


def original_name(path: str | os.PathLike) -> str:
    """The name the camera gave a file moved by :func:`accept`."""
    name = Path(path).name
    return name.split("--", 1)[1] if Path(path).parent.parent.name == RECEIVED and "--" in name else name


def record(url: str, camera: Camera, file_name: str, status: str, reason: Optional[str] = None,
           size: Optional[int] = None, media_id: Optional[str] = None, flags: Optional[list] = None) -> None:
    """One CameraUpload row, and the login's last upload time."""
    from ..db import session_scope
    from ..models import CameraLogin, CameraUpload, utcnow

    with session_scope(url) as s:
        s.add(CameraUpload(login_id=camera.login_id, file_name=file_name[:255], size_bytes=size, status=status,
                           reason=(reason or None) and reason[:1000], media_id=media_id, flags=list(flags or [])))
        login = s.get(CameraLogin, camera.login_id)
        if login is not None and status != "refused":
            login.last_upload_at = utcnow()
            s.add(login)


class Receiver:
    """Ingests staged uploads on a thread of its own (the FTP threads only queue them)."""

    def __init__(self, app):
        self.app = app
        self.url = app.config["DATABASE_URL"]
        self.q: queue.Queue[Optional[tuple[Camera, str]]] = queue.Queue()
        self.idle = threading.Event()
        self.idle.set()
        self._thread = threading.Thread(target=self._run, name="saola-cellular-ingest", daemon=True)

    def start(self) -> "Receiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.q.put(None)
        self._thread.join(60)

    def submit(self, camera: Camera, path: str) -> None:
        """Queue a finished upload."""
        self.idle.clear()
        self.q.put((camera, path))

    def wait_idle(self, timeout: float = 60) -> bool:
        """Block until everything queued so far is ingested (tests, shutdown)."""
        return self.idle.wait(timeout)

    def rescan(self, cameras: dict[str, Camera]) -> int:
        """Queue the complete files left in the staging folders (a crash between upload and ingest)."""
        n = 0
        root = staging_root(self.app.config)
        for login_id, camera in cameras.items():
            home = root / login_id
            for p in sorted(home.rglob("*")) if home.is_dir() else ():
                if p.is_file() and refusal(p.name) is None:
                    accept(camera, p, root)  # whole ones move to the waiting folder; cut ones stay
            waiting = root / RECEIVED / login_id
            for p in sorted(waiting.glob("*")) if waiting.is_dir() else ():
                self.submit(camera, str(p))
                n += 1
        return n

    def _run(self) -> None:
        while True:
            item = self.q.get()
            if item is None:
                self.idle.set()
                return
            batch = [item]
            stop = False
            while len(batch) < BATCH:
                try:
                    nxt = self.q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            try:
                self.ingest(batch)
            except Exception:  # one bad batch must not stop the endpoint; the files stay staged
                log.exception("ingest of %d uploaded file(s) failed", len(batch))
                for camera, path in batch:
                    try:
                        record(self.url, camera, Path(path).name, "failed", "ingest failed on the server; "
                               "the file is kept and retried when the endpoint restarts")
                    except Exception:
                        log.exception("cannot record the failure")
            if stop:
                self.idle.set()
                return
            if self.q.empty():
                self.idle.set()

    def ingest(self, batch: list[tuple[Camera, str]]) -> None:
        """Ingest a batch, one camera at a time (each matched within its own area)."""
        by_camera: dict[Camera, list[str]] = {}
        for camera, path in batch:
            if path not in by_camera.setdefault(camera, []):
                by_camera[camera].append(path)
        for camera, paths in by_camera.items():
            while paths:  # two IMG_0001.JPG in one batch: one per round (names are the report's keys)
                names: set[str] = set()
                now: list[str] = []
                later: list[str] = []
                for p in paths:
                    (later if original_name(p) in names else now).append(p)
                    names.add(original_name(p))
                self._ingest_camera(camera, now)
                paths = later

    def _ingest_camera(self, camera: Camera, paths: list[str]) -> None:
        from sqlmodel import col, select

        from ..db import session_scope
        from ..ingest.pipeline import Matcher, ingest_sources
        from ..ingest.sources import Source, classify
        from ..models import Media

        sources, hashes, sizes = [], {}, {}
        for path in paths:
            p = Path(path)
            if not p.is_file():
                continue  # already ingested from an earlier queue entry
            size = p.stat().st_size
            kind, _why, ext = classify(original_name(p))
            rel = f"{camera.username}/{original_name(p)}"
            sources.append(Source(rel_path=rel, kind=kind or "image", ext=ext or "", size=size, path=str(p)))
            hashes[rel], sizes[rel] = _sha256(p), size
        if not sources:
            return
        with session_scope(self.url, read_only=True) as s:
            before = set(s.exec(select(Media.sha256).where(col(Media.sha256).in_(list(hashes.values())))).all())
        matcher = Matcher(self.url, None, self.app.config.get("DEFAULT_TIMEZONE") or "Asia/Ho_Chi_Minh",
                          area_id=camera.area_id, fallback_serial=camera.serial)
        rep = ingest_sources(self.app, sources, deployment_id=None, workers=0, source_name=f"ftp:{camera.username}",
                             matcher=matcher)
        skipped = dict(rep.skipped)
        with session_scope(self.url, read_only=True) as s:
            rows = {m.sha256: m for m in s.exec(select(Media).where(col(Media.sha256).in_(list(hashes.values()))))}
        for src in sources:
            sha, name = hashes[src.rel_path], original_name(src.path or "")
            m = rows.get(sha)
            if src.rel_path in skipped or m is None:
                record(self.url, camera, name, "skipped", skipped.get(src.rel_path) or rep.fatal or "not stored",
                       size=sizes[src.rel_path])
            else:
                status = "duplicate" if sha in before else "ingested"
                flags: Any = list(m.flags or [])
                why = None if m.deployment_id else "no deployment of this area names this camera's serial " \
                    "for the photo's time"
                record(self.url, camera, name, status, why, size=sizes[src.rel_path], media_id=m.id, flags=flags)
            if rep.fatal is None and src.path:
                Path(src.path).unlink(missing_ok=True)  # stored (or refused by ingest and recorded)
        log.info("ftp %s: %d ingested, %d duplicates, %d skipped", camera.username, rep.ingested, rep.duplicates,
                 len(rep.skipped))


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def remove_empty_dirs(folder: Path) -> None:
    """Drop empty sub-folders cameras made (MKD), keeping the camera's own folder."""
    for d in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        try:
            os.rmdir(d)
        except OSError:
            pass
