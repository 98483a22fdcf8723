"""Content-addressed media store.

Originals are stored unmodified under ``ab/cd/<sha256>.<ext>``. The
:class:`MediaStore` interface is what the rest of Saola uses;
:class:`LocalMediaStore` is the embedded default and
:class:`server.storage_s3.S3MediaStore` the S3-compatible backend, chosen by
``SAOLA_MEDIA_URL`` (:func:`stores_from_config`). Local writes go to a temporary
file in the same folder and are renamed into place, so a crash never leaves a
half-written original.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Mapping, Optional, Protocol

from flask import Flask, current_app

CHUNK = 1024 * 1024


class MediaStore(Protocol):
    """What a media backend must do.

    ``path(key)`` is a local file with the key's bytes (the file itself for the local
    store, a cached copy for S3) for code that needs a file name (Pillow, ffmpeg, the
    detector); code that wrote a file at ``path(key)`` itself calls ``commit(key)``.
    ``remote``: originals can be sent to a browser from elsewhere (``presigned_url``).
    """

    remote: bool

    def key_for(self, sha256: str, ext: str) -> str: ...
    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> Optional[int]: ...
    def put_file(self, src: Path, key: str) -> None: ...
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def put_move(self, src: Path, key: str) -> None: ...
    def put_stream(self, stream: BinaryIO, key: str) -> str: ...
    def open(self, key: str) -> BinaryIO: ...
    def open_range(self, key: str, start: int = 0, end: Optional[int] = None) -> Iterator[bytes]: ...
    def path(self, key: str) -> Path: ...
    def commit(self, key: str) -> None: ...
    def delete(self, key: str) -> None: ...
    def iter_keys(self) -> Iterator[str]: ...
    def sha256(self, key: str) -> str: ...


def sha256_file(path: str | os.PathLike, chunk: int = CHUNK) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


class LocalMediaStore:
    """Media store in a local folder."""

    remote = False

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

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write ``data`` under ``key`` (atomic)."""
        self._atomic_write(self.path(key), lambda tmp: tmp.write(data))

    def open(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")

    def size(self, key: str) -> Optional[int]:
        """Size in bytes of the file, None when absent."""
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            return None

    def open_range(self, key: str, start: int = 0, end: Optional[int] = None) -> Iterator[bytes]:
        """Bytes ``start``..``end`` (inclusive; None: to the end) in blocks."""
        with open(self.path(key), "rb") as f:
            f.seek(start)
            left = None if end is None else end - start + 1
            while left is None or left > 0:
                block = f.read(CHUNK if left is None else min(CHUNK, left))
                if not block:
                    break
                if left is not None:
                    left -= len(block)
                yield block

    def commit(self, key: str) -> None:
        """Nothing to do: a file written at :meth:`path` is in the store."""

    def sha256(self, key: str) -> str:
        """SHA-256 of the stored bytes."""
        return sha256_file(self.path(key))

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def iter_keys(self) -> Iterator[str]:
        for p in self.root.rglob("*"):
            if p.is_file() and not p.name.startswith(".tmp-"):
                yield str(p.relative_to(self.root))


def open_store(location: str, config: Mapping[str, Any], cache_name: str = "media") -> Any:
    """The store at ``location``: ``s3://bucket/prefix`` (with the S3_* settings of ``config``)
    or a local folder. ``cache_name``: the S3 cache's folder under DATA_DIR/s3-cache."""
    if location.startswith("s3://"):
        from .storage_s3 import S3MediaStore

        cache = Path(config.get("MEDIA_CACHE_DIR") or Path(config["DATA_DIR"]) / "s3-cache") / cache_name
        return S3MediaStore(s3_options(location, config), cache, int(config.get("MEDIA_CACHE_MB") or 0))
    if "://" in location:
        raise ValueError(f"unsupported media store {location!r}: a folder or s3://bucket/prefix")
    return LocalMediaStore(location)


def s3_options(url: str, config: Mapping[str, Any]):
    """The :class:`server.storage_s3.S3Options` of ``url`` from the S3_* settings."""
    from .storage_s3 import S3Options, parse_s3_url

    parse_s3_url(url)
    return S3Options(url, endpoint_url=config.get("S3_ENDPOINT_URL") or "",
                     access_key=config.get("S3_ACCESS_KEY_ID") or "",
                     secret_key=config.get("S3_SECRET_ACCESS_KEY") or "",
                     region=config.get("S3_REGION") or "us-east-1", part_mb=int(config.get("S3_PART_MB") or 8))


def stores_from_config(config: Mapping[str, Any]) -> tuple[Any, Any]:
    """(media store, derivatives store) of a configuration: with ``MEDIA_URL=s3://bucket/prefix``
    originals live under ``prefix/originals/`` and derivatives under ``prefix/derivatives/``,
    so workers on other machines reach both; else MEDIA_DIR and DATA_DIR/derivatives."""
    url = (config.get("MEDIA_URL") or "").strip()
    if url:
        base = url.rstrip("/")
        return (open_store(base + "/originals", config, "originals"),
                open_store(base + "/derivatives", config, "derivatives"))
    media = config.get("MEDIA_DIR") or os.path.join(config["DATA_DIR"], "media")
    return LocalMediaStore(media), LocalMediaStore(Path(config["DATA_DIR"]) / "derivatives")


def get_store(app: Flask | None = None) -> Any:
    """The media store of ``app`` (default: the current app)."""
    app = app or current_app
    return app.extensions["saola.media"]


def get_derivatives(app: Flask | None = None) -> Any:
    """The derivatives store of ``app`` (thumbnails, review copies, blurred copies)."""
    app = app or current_app
    return app.extensions["saola.derivatives"]


def init_app(app: Flask) -> None:
    """Open the media store and the derivatives store (settings: MEDIA_URL, MEDIA_DIR)."""
    app.extensions["saola.media"], app.extensions["saola.derivatives"] = stores_from_config(app.config)


def send_stored(path: Path, mimetype: str, *, etag: str, private: bool, download_name: str = "",
                presign: bool = False):
    """The HTTP answer sending a file a policy function chose (``path``), on any backend.

    A local file (the local store, a derivative, an S3 object already cached) is sent by Flask
    with conditional and Range support. An S3 original the store did not fetch
    (:meth:`server.storage_s3.S3MediaStore.deferred`) is the unmodified original, so it is either
    a redirect to a presigned link (``presign``: downloads, when ``private`` is false and
    S3_PRESIGN_S > 0) or streamed from S3 with HTTP Range requests answered by ranged GETs.
    Returns None when the file is missing (the caller answers 404 naming the media).
    """
    from flask import redirect, send_file

    from .storage_s3 import pending

    if path.is_file():
        resp = send_file(path, mimetype=mimetype, conditional=True, etag=False, max_age=0,
                         download_name=download_name or None)
        resp.set_etag(etag)
        return resp
    hit = pending(path)
    if hit is None:
        return None
    store, key = hit
    size = store.size(key)
    if size is None:
        return None
    download_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in download_name)
    expires = int(current_app.config.get("S3_PRESIGN_S") or 0)
    if presign and not private and expires > 0:
        moved = redirect(store.presigned_url(key, expires, download_name, mimetype), 302)
        moved.headers["Cache-Control"] = "private, no-store"  # the link expires: never reuse the answer
        return moved
    return _ranged(store, key, size, mimetype, etag, download_name)


def _ranged(store: Any, key: str, size: int, mimetype: str, etag: str, download_name: str):
    """Stream an S3 object, answering a Range request (206/416) with a ranged GET."""
    from flask import Response, request

    headers = {"Accept-Ranges": "bytes", "ETag": f'"{etag}"'}
    if download_name:
        headers["Content-Disposition"] = f'inline; filename="{download_name}"'
    if request.if_none_match.contains(etag):
        return Response(status=304, headers=headers)
    rng = request.range
    if rng is None or (request.if_range.etag and request.if_range.etag != etag):
        headers["Content-Length"] = str(size)
        return Response(store.open_range(key), 200, headers=headers, mimetype=mimetype, direct_passthrough=True)
    span = rng.range_for_length(size)
    if span is None:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status=416, headers=headers)
    start, stop = span
    headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    headers["Content-Length"] = str(stop - start)
    return Response(store.open_range(key, start, stop - 1), 206, headers=headers, mimetype=mimetype,
                    direct_passthrough=True)


def deferred(store: Any):
    """A block in which an S3 store does not fetch originals it is asked the path of (see
    :func:`send_stored`); nothing for the local store."""
    import contextlib

    return store.deferred() if getattr(store, "remote", False) else contextlib.nullcontext()
