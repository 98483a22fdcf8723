"""Move a media store between backends (local folder <-> S3), verifying every SHA-256.

``saola storage migrate`` copies each object of the source store to the target,
then reads the target's bytes back and hashes them: an original's key names its
SHA-256 (``ab/cd/<sha256>.<ext>``), so its copy must hash to that; a
derivative's copy must hash as the source bytes did. Only a verified copy is
written to the journal, and only then (``delete_source``) is the source object
removed, so an interrupted run loses nothing, and running the same command again
resumes: journalled keys are skipped, a copy left half-way (S3 shows none; a
local temporary file is cleaned) is made again, a wrong copy is replaced.

A source object whose bytes do not match its key (bit rot, a truncated file) is
not copied and is reported; the run then ends with an error so it is seen.
Finally every ``Media.storage_key`` of the database must be in the target.
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

_ORIGINAL = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]{64})(\.[A-Za-z0-9]+)?$")


@dataclass
class MigrateReport:
    """What a migration did; ``ok`` when every object is verified in the target."""

    copied: int = 0  # copied and verified in this run
    already: int = 0  # verified in the target by an earlier run (journal) or found there intact
    replaced: int = 0  # a copy in the target that did not verify, made again
    deleted: int = 0  # source objects removed after their copy was verified
    bytes: int = 0
    errors: list[str] = field(default_factory=list)
    missing_in_target: list[str] = field(default_factory=list)  # storage keys of the database not in the target

    @property
    def ok(self) -> bool:
        return not self.errors and not self.missing_in_target


class SourceCorrupt(Exception):
    """The source's bytes do not hash to the SHA-256 their key names."""


def expected_sha(key: str) -> Optional[str]:
    """The SHA-256 an original's key names, None for other keys (derivatives)."""
    m = _ORIGINAL.match(key)
    return m.group(1) if m else None


class _Journal:
    """Keys verified in the target, one a line, appended as they are verified (resumption)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.done: set[str] = set()
        if path.is_file():
            with open(path, encoding="utf-8") as f:
                # A line cut by a crash has no newline: not trusted, the key is verified again.
                self.done = {line[:-1] for line in f if line.endswith("\n")}
        self._f = open(path, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def add(self, key: str) -> None:
        with self._lock:
            self._f.write(key + "\n")
            self._f.flush()
            os.fsync(self._f.fileno())
            self.done.add(key)

    def close(self) -> None:
        self._f.close()


def _copy(src: Any, dst: Any, key: str) -> tuple[str, int]:
    """Copy one object, hashing the source bytes on the way; (source SHA-256, size)."""
    if not getattr(src, "remote", False) and getattr(dst, "remote", False):
        path = src.path(key)  # local -> S3: a file, sent in parts
        sha = src.sha256(key)
        dst.put_file(path, key)
        return sha, path.stat().st_size
    h = hashlib.sha256()
    size = 0

    class _Tee:
        def read(self, n: int = -1) -> bytes:
            nonlocal size
            b = next(blocks, b"")
            h.update(b)
            size += len(b)
            return b

    blocks = iter(src.open_range(key))
    dst.put_stream(_Tee(), key)
    return h.hexdigest(), size


def migrate_store(src: Any, dst: Any, journal_path: Path, *, delete_source: bool = False, workers: int = 8,
                  keys: Optional[Iterable[str]] = None, progress: Optional[Callable[[int], None]] = None,
                  report: Optional[MigrateReport] = None) -> MigrateReport:
    """Copy every key of ``src`` to ``dst`` with verification (see the module's docstring)."""
    report = report or MigrateReport()
    journal = _Journal(journal_path)
    lock = threading.Lock()

    def one(key: str) -> None:
        try:
            if key in journal.done and dst.exists(key):
                with lock:
                    report.already += 1
            else:
                want = expected_sha(key)
                replaced = False
                if dst.exists(key):  # left by an earlier run that stopped before its journal line
                    got = dst.sha256(key)
                    if got == (want or src.sha256(key)):
                        journal.add(key)
                        with lock:
                            report.already += 1
                        want = None
                        key_done = True
                    else:
                        dst.delete(key)
                        replaced, key_done = True, False
                else:
                    key_done = False
                if not key_done:
                    sha, size = _copy(src, dst, key)
                    if want is not None and sha != want:
                        dst.delete(key)
                        raise SourceCorrupt(f"{key}: the source's bytes hash to {sha}, not the {want} its key "
                                            "names (damaged in the source store); not copied")
                    got = dst.sha256(key)  # read back from the target
                    if got != sha:
                        dst.delete(key)
                        raise SourceCorrupt(f"{key}: the copy in the target hashes to {got}, the source to {sha}; "
                                            "removed from the target, run again")
                    journal.add(key)
                    with lock:
                        report.copied += 1
                        report.bytes += size
                        report.replaced += int(replaced)
            if delete_source:
                src.delete(key)
                with lock:
                    report.deleted += 1
        except SourceCorrupt as e:
            with lock:
                report.errors.append(str(e))
        except Exception as e:  # a network failure on one object must not hide the others
            with lock:
                report.errors.append(f"{key}: {type(e).__name__}: {e}")
        if progress:
            progress(1)

    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            list(pool.map(one, keys if keys is not None else src.iter_keys()))
    finally:
        journal.close()
    return report


def journal_for(data_dir: str | os.PathLike, src: Any, dst: Any) -> Path:
    """The journal file of a migration from ``src`` to ``dst`` (one per pair of stores)."""
    ident = hashlib.sha256(f"{_where(src)} -> {_where(dst)}".encode()).hexdigest()[:16]
    return Path(data_dir) / "storage-migrate" / f"{ident}.journal"


def _where(store: Any) -> str:
    return store.options.url if getattr(store, "remote", False) else str(Path(store.root).resolve())


def check_database(session, dst: Any, report: MigrateReport) -> None:
    """Every storage key the database names must be in the target (listed once, then compared)."""
    from sqlmodel import select

    from .models import Media

    present = set(dst.iter_keys())
    for key in session.exec(select(Media.storage_key)).all():
        if key and key not in present:
            report.missing_in_target.append(key)
