"""Content-addressed media store.

Originals are stored unmodified under ``ab/cd/<sha256>.<ext>``. The
:class:`MediaStore` interface is what the rest of Saola uses, so an
S3-compatible backend can implement it later; :class:`LocalMediaStore` is the
embedded default. Writes go to a temporary file in the same folder and are
renamed into place, so a crash never leaves a half-written original.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator, Protocol

from flask import Flask, current_app

CHUNK = 1024 * 1024


class MediaStore(Protocol):
    """What a media backend must do."""

    def key_for(self, sha256: str, ext: str) -> str: ...
    def exists(self, key: str) -> bool: ...
    def put_file(self, src: Path, key: str) -> None: ...
    def put_move(self, src: Path, key: str) -> None: ...
    def put_stream(self, stream: BinaryIO, key: str) -> str: ...
    def open(self, key: str) -> BinaryIO: ...
    def path(self, key: str) -> Path: ...
    def delete(self, key: str) -> None: ...


def sha256_file(path: str | os.PathLike, chunk: int = CHUNK) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


class LocalMediaStore:
    """Media store in a local folder."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def key_for(sha256: str, ext: str) -> str:
        """Storage key of a file with this hash and extension."""
        ext = ext.lower().lstrip(".")
        name = f"{sha256}.{ext}" if ext else sha256
        return f"{sha256[:2]}/{sha256[2:4]}/{name}"

    def path(self, key: str) -> Path:
        p = (self.root / key).resolve()
        if self.root.resolve() not in p.parents:
            raise ValueError(f"storage key escapes the store: {key!r}")
        return p

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def _tmp(self, dest: Path):
        dest.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.NamedTemporaryFile(dir=dest.parent, prefix=".tmp-", delete=False)

    def _atomic_write(self, dest: Path, fill) -> None:
        """Write ``dest`` through a temporary file in its folder: ``fill(tmpfile)`` writes the
        bytes, then fsync and rename, so a crash never leaves a half-written original."""
        tmp = self._tmp(dest)
        try:
            fill(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
            tmp.close()
            os.replace(tmp.name, dest)
        except BaseException:
            tmp.close()
            Path(tmp.name).unlink(missing_ok=True)
            raise

    def put_file(self, src: Path, key: str) -> None:
        """Copy ``src`` into the store under ``key`` (atomic; no-op if present)."""
        dest = self.path(key)
        if dest.is_file():
            return

        def fill(tmp):
            with open(src, "rb") as f:
                shutil.copyfileobj(f, tmp, CHUNK)

        self._atomic_write(dest, fill)

    def put_move(self, src: Path, key: str) -> None:
        """Move ``src`` into the store under ``key`` (a rename on the same file system, else a copy)."""
        dest = self.path(key)
        if dest.is_file():
            Path(src).unlink(missing_ok=True)
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(src, dest)
        except OSError:  # another file system: copy atomically, then drop the source
            self.put_file(Path(src), key)
            Path(src).unlink(missing_ok=True)

    def put_stream(self, stream: BinaryIO, key: str) -> str:
        """Write a stream under ``key`` and return its SHA-256 (atomic)."""
        h = hashlib.sha256()

        def fill(tmp):
            for block in iter(lambda: stream.read(CHUNK), b""):
                h.update(block)
                tmp.write(block)

        self._atomic_write(self.path(key), fill)
        return h.hexdigest()

    def open(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def iter_keys(self) -> Iterator[str]:
        for p in self.root.rglob("*"):
            if p.is_file() and not p.name.startswith(".tmp-"):
                yield str(p.relative_to(self.root))


def get_store(app: Flask | None = None) -> LocalMediaStore:
    """The media store of ``app`` (default: the current app)."""
    app = app or current_app
    return app.extensions["saola.media"]


def init_app(app: Flask) -> None:
    """Open the media store (and the derivatives folder beside it)."""
    app.extensions["saola.media"] = LocalMediaStore(app.config["MEDIA_DIR"])
    app.extensions["saola.derivatives"] = LocalMediaStore(Path(app.config["DATA_DIR"]) / "derivatives")
