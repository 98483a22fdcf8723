"""A card's file work started before ``saola ingest`` has its database: start-up hidden behind the card.

The command's own start-up (Flask, SQLAlchemy, the table models, the first connection: ~1 s,
one core) used to come before the first file was read. Here the worker processes are forked
first, from a process that has imported nothing heavy, and start reading, hashing and
describing the card's files at once while the command starts up in parallel.

Nothing is stored before the command knows where the card goes: each worker waits at a gate
before its first write to the media store. Once the deployment is found and the kinds of
media it takes are known, :meth:`EarlyStart.open` lets the workers store the files of those
kinds (the others come back as ``misfit``, stored nowhere). When the start-up fails (no such
deployment, every file of the wrong kind, a database error) :meth:`EarlyStart.close` ends the
workers while they wait: nothing was written.

No Flask and no database here (imported by the command before them).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from . import process as proc
from .sources import Skipped, Source, ZipRefused, scan

#: Fewer files than this are done in the command's own process (forking workers would cost more).
MIN_FILES = 8


class EarlyStart:
    """Worker processes already at work on ``sources``; their results, in order, are :attr:`results`."""

    def __init__(self, sources: list[Source], skipped: list[Skipped], roots: proc.StoreRoots, workers: int):
        self.sources, self.skipped, self.roots = sources, skipped, roots
        self.started = time.monotonic()
        # The JPEG reader's modules, imported once here and inherited by the forked workers
        # (instead of once in each of them).
        from . import exif  # noqa: F401

        ctx = mp.get_context("fork")
        self._event = ctx.Event()
        self._allowed = ctx.Value("i", 0, lock=False)
        self.pool = ctx.Pool(workers, initializer=proc.init_worker,
                             initargs=(roots, os.getpid(), (self._event, self._allowed)))
        self.results: Iterator[dict[str, Any]] = self.pool.imap(proc.work, sources, chunksize=4)
        self.opened = False

    def open(self, kinds: Iterable[str]) -> None:
        """Let the workers store files of these media kinds (the others are not stored)."""
        self._allowed.value = sum(proc.KIND_BITS.get(k, 0) for k in set(kinds))
        self.opened = True
        self._event.set()

    def close(self) -> None:
        """End the workers (before :meth:`open`: while they wait at the gate, so nothing was stored)."""
        self.pool.terminate()
        self.pool.join()


def start(path: Path, workers: Optional[int], config: dict[str, Any]) -> Optional[EarlyStart]:
    """Scan ``path`` and start the workers on it, or None where an early start does not apply
    (a refused zip, a few files, no worker processes, no ``fork``, threads already running:
    the ingest then runs as before). ``config``: the resolved settings the app will have."""
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers <= 1 or "fork" not in mp.get_all_start_methods() or threading.active_count() != 1:
        return None
    try:
        sources, skipped = scan(path)
    except (ZipRefused, OSError):
        return None  # the ingest scans again and reports it
    if len(sources) < MIN_FILES:
        return None
    import logging

    # As create_app will (a no-op there then): the workers, forked now, log at the configured level.
    logging.basicConfig(level=getattr(logging, str(config.get("LOG_LEVEL") or "INFO").upper(), logging.INFO))
    return EarlyStart(sources, skipped, proc.config_roots(config), workers)
