"""Staging folders for uploaded files on their way into the media store, and their cleanup.

An upload of photos or a card's zip is saved under ``DATA_DIR/incoming/<id>/``
while it is ingested, then removed. A process killed meanwhile (kill -9, power
loss) left its folder there for ever. Each folder is now locked (``flock``)
by the process using it for as long as it does, so a later clean-up - at
start-up and before each upload - removes exactly the folders whose owner is
gone, never one another server process is still filling. The kernel releases
the lock when the owner dies, however it dies.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: fall back to the age rule alone
    fcntl = None  # type: ignore[assignment]

LOCK = ".lock"
# A folder without a lock (being created, or written by an older version) is left alone this long.
UNLOCKED_GRACE_S = 3600

log = logging.getLogger("saola.staging")


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
