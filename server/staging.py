"""Staging folders for uploaded files on their way into the media store, and their cleanup.

An upload of photos or a card's zip is saved under ``DATA_DIR/incoming/<id>/``
while it is ingested, then removed. A process killed meanwhile (kill -9, power
loss) left its folder there for ever. Each folder is now locked (``flock``)
by the process using it for as long as it does, so a later clean-up - at
start-up and before each upload - removes exactly the folders whose owner is
gone, never one another server process is still filling. The kernel releases
the lock when the owner dies, however it dies.

Files posted in a form (a model, a boundary, photos) are spooled by werkzeug before
any view runs; :class:`SpoolingRequest` has it spool them into ``DATA_DIR/incoming``
as unnamed files, on the data disk, rather than the system's temporary folder, which
may be memory (tmpfs): an upload of hundreds of megabytes never fills memory.
"""
from __future__ import annotations

import io
import logging
import os
import shutil
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from flask import Request, current_app

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: fall back to the age rule alone
    fcntl = None  # type: ignore[assignment]

LOCK = ".lock"
# A folder without a lock (being created, or written by an older version) is left alone this long.
UNLOCKED_GRACE_S = 3600

log = logging.getLogger("saola.staging")
#: Uploads up to this size stay in memory while a request is parsed (werkzeug's own limit).
IN_MEMORY_UPLOAD = 500 * 1024


class SpoolingRequest(Request):
    """Flask's request, spooling uploaded files larger than :data:`IN_MEMORY_UPLOAD` into
    ``DATA_DIR/incoming`` (unnamed files: gone when closed, never left for the clean-up)."""

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> IO[bytes]:
        if total_content_length is not None and total_content_length <= IN_MEMORY_UPLOAD:
            return io.BytesIO()
        root = incoming_root(current_app.config["DATA_DIR"])
        root.mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryFile("wb+", dir=root)


def incoming_root(data_dir: str | os.PathLike) -> Path:
    """``DATA_DIR/incoming``, where uploads are staged."""
    return Path(data_dir) / "incoming"


def _lock(f: IO[bytes], blocking: bool) -> bool:
    """Take the exclusive lock of ``f``; False when another process holds it (non-blocking)."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return True
    except BlockingIOError:
        return False


@contextmanager
def staging_dir(data_dir: str | os.PathLike) -> Iterator[Path]:
    """A new, locked staging folder; removed (and unlocked) when the block ends."""
    root = incoming_root(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex
    # Made under a hidden name and renamed once locked, so the clean-up never sees it unlocked.
    tmp = root / f".new-{name}"
    tmp.mkdir()
    lock = open(tmp / LOCK, "wb")
    try:
        _lock(lock, blocking=True)
        final = root / name
        os.rename(tmp, final)
        try:
            yield final
        finally:
            shutil.rmtree(final, ignore_errors=True)
    finally:
        lock.close()
        shutil.rmtree(tmp, ignore_errors=True)


def clean_stale(data_dir: str | os.PathLike, now: float | None = None) -> int:
    """Remove staging folders left by processes that died; the number removed.

    A folder is stale when nobody holds its lock; a folder without a lock file
    only once it is older than :data:`UNLOCKED_GRACE_S`.
    """
    root = incoming_root(data_dir)
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return 0
    now = time.time() if now is None else now
    removed = 0
    for e in entries:
        path = Path(e.path)
        try:
            if not e.is_dir(follow_symlinks=False):
                if now - e.stat(follow_symlinks=False).st_mtime > UNLOCKED_GRACE_S:
                    path.unlink(missing_ok=True)
                    removed += 1
                continue
            try:
                f = open(path / LOCK, "rb")
            except FileNotFoundError:
                if now - e.stat(follow_symlinks=False).st_mtime > UNLOCKED_GRACE_S:
                    shutil.rmtree(path, ignore_errors=True)
                    removed += 1
                continue
            with f:
                if fcntl is None:
                    stale = now - e.stat(follow_symlinks=False).st_mtime > 24 * UNLOCKED_GRACE_S
                else:
                    stale = _lock(f, blocking=False)
                if stale:
                    shutil.rmtree(path, ignore_errors=True)
                    removed += 1
        except OSError as err:  # another process removed it meanwhile, or it cannot be read: next time
            log.debug("staging clean-up skipped %s: %s", path, err)
    if removed:
        log.info("removed %d staging folder(s) left by an interrupted upload in %s", removed, root)
    return removed
