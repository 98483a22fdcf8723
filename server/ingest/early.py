"""A card's file work started before ``saola ingest`` has its database: start-up hidden behind the card.

The command's own start-up (Flask, SQLAlchemy, the table models, the first connection: more
than a second of one core) used to come before the first file was read. Here the worker
processes are forked first, from a process that has imported nothing heavy, and read, hash,
describe and copy the card's files while the command starts up beside them.

Nothing enters the media store before the command knows where the card goes. The workers
write each new original (and the thumbnail taken from its embedded preview) under a temporary
name in a holding folder inside the media store (:attr:`StoreRoots.hold`), and the command,
once it has found the deployment and the media kinds it takes, moves each file into place with
a rename as it takes the file's result (:meth:`EarlyStart.results`), or deletes it (a kind the
deployment does not take). When the start-up fails (no such deployment, a database error) or
the run stops, :meth:`EarlyStart.close` ends the workers and removes the holding folder: the
store holds only what was moved into place, each file whole, as after a crash of the ordinary
path. A holding folder left by a killed command is removed by the next early start.

Files bigger than the workers read into memory (long videos) are left to the command
(``later``): it streams them into the store itself once it may.

No Flask and no database here (imported by the command before them).
"""
from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any, Iterator, Optional

from . import process as proc
from .derivatives import thumb_key
from .sources import Skipped, Source, ZipRefused, scan

#: Fewer files than this are done in the command's own process (forking workers would cost more).
MIN_FILES = 8
HOLD_PREFIX = ".incoming-"


class EarlyStart:
    """Worker processes already at work on ``sources``, writing new files into a holding folder."""

    def __init__(self, sources: list[Source], skipped: list[Skipped], roots: proc.StoreRoots, workers: int):
        self.sources, self.skipped = sources, skipped
        self.hold = os.path.join(roots.media, f"{HOLD_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}")
        os.makedirs(self.hold)
        self.roots = dataclasses.replace(roots, hold=self.hold)
        # The JPEG reader's modules, imported once here and inherited by the forked workers
        # (instead of once in each of them).
        from . import exif  # noqa: F401

        # fork is fastest, but only safe while this process runs no other threads (a test process may).
        ctx = mp.get_context("fork" if threading.active_count() == 1 else "spawn")
        self.pool = ctx.Pool(workers, initializer=proc.init_worker, initargs=(self.roots, os.getpid()))
        self._results = self.pool.imap(proc.work, sources, chunksize=4)

    def fits(self, roots: proc.StoreRoots) -> bool:
        """Whether these workers store where ``roots`` (the app's) say."""
        return dataclasses.replace(self.roots, hold="") == roots

    def results(self, kinds: set[str]) -> Iterator[dict[str, Any]]:
        """The workers' results, in order, once the command may store files of ``kinds``: each
        result's held files are moved into place first; files of other kinds are deleted and
        their results left out (the caller reports them)."""
        plain = dataclasses.replace(self.roots, hold="")
        for src, res in zip(self.sources, self._results):
            if src.kind not in kinds:
                self._drop(res)
                continue
            if res["status"] == "later":  # too big for a worker's memory: streamed here
                res = proc.process_source(src, plain)
            else:
                self._settle(res)
            yield res

    def _settle(self, res: dict[str, Any]) -> None:
        held, thumb = res.pop("held", None), res.pop("held_thumb", None)
        if held:
            self._move(held, os.path.join(self.roots.media, res["storage_key"]))
        if thumb:
            self._move(thumb, os.path.join(self.roots.derivatives, thumb_key(res["sha256"])))

    @staticmethod
    def _move(held: str, dest: str) -> None:
        if proc._present(dest) and os.path.getsize(dest) == os.path.getsize(held):
            os.unlink(held)  # the same bytes twice on the card, moved into place already
            return
        folder = os.path.dirname(dest)
        proc._makedirs(folder)
        try:
            os.replace(held, dest)
        except FileNotFoundError:  # the folder was removed since it was made: make it again
            proc._made_dirs.discard(folder)
            proc._makedirs(folder)
            os.replace(held, dest)

    @staticmethod
    def _drop(res: dict[str, Any]) -> None:
        for name in ("held", "held_thumb"):
            if res.get(name):
                try:
                    os.unlink(res[name])
                except OSError:
                    pass

    def close(self) -> None:
        """End the workers and remove the holding folder with whatever was not moved into place."""
        self.pool.terminate()
        self.pool.join()
        shutil.rmtree(self.hold, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(media: str) -> None:
    """Remove the holding folders of early starts whose command is gone (killed)."""
    try:
        names = [n for n in os.listdir(media) if n.startswith(HOLD_PREFIX)]
    except OSError:
        return
    for name in names:
        pid = name[len(HOLD_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(os.path.join(media, name), ignore_errors=True)


def start(path: Path, workers: Optional[int], config: dict[str, Any]) -> Optional[EarlyStart]:
    """Scan ``path`` and start the workers on it, or None where an early start does not apply
    (a refused zip, a few files, no worker processes, media in object storage, no ``fork``: the
    ingest then runs as before). ``config``: the resolved settings the app will have."""
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers <= 1 or "fork" not in mp.get_all_start_methods():
        return None
    roots = proc.config_roots(config)
    if roots.remote:
        return None
    try:
        sources, skipped = scan(path)
    except (ZipRefused, OSError):
        return None  # the ingest scans again and reports it
    if len(sources) < MIN_FILES:
        return None
    try:
        os.makedirs(roots.media, exist_ok=True)
        clean_stale(roots.media)
    except OSError:
        return None  # the ingest says what is wrong with the store
    import logging

    # As create_app will (a no-op there then): the workers, forked now, log at the configured level.
    logging.basicConfig(level=getattr(logging, str(config.get("LOG_LEVEL") or "INFO").upper(), logging.INFO))
    return EarlyStart(sources, skipped, roots, workers)
