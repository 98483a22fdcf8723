"""S3-compatible media store (AWS S3, MinIO, Ceph RGW, Garage...), through boto3.

Content-addressed like :class:`server.storage.LocalMediaStore`: the same keys
(``ab/cd/<sha256>.<ext>``) under the URL's prefix, so a store moves between
backends unchanged (``saola storage migrate``). What each operation does on S3:

- **writes** stream: ``put_file``/``put_stream`` go through boto3's transfer
  manager, which switches to a multipart upload above ``part_mb`` and aborts it
  on any failure; an S3 object becomes visible only once complete, so a crash
  never leaves a half-written original (the local store's rename, on S3).
- **ranged reads** (:meth:`S3MediaStore.open_range`): a GET with a ``Range``
  header, so the server answers HTTP Range requests for videos and recordings
  without fetching the whole object.
- **presigned URLs** (:meth:`S3MediaStore.presigned_url`): time-limited links a
  browser downloads an original from directly; the API hands them out only for
  the unmodified original and only where the policy allows it.
- **local paths** (:meth:`S3MediaStore.path`): image decoding, ffmpeg, librosa
  and the detector need a file; objects are immutable (their key is their
  hash), so a local read-through cache (``cache_dir``, bounded by ``cache_mb``)
  is always valid. Derivatives written into the cache by code that only knows
  paths are sent to S3 with :meth:`S3MediaStore.commit`.

Processes each build their own client (boto3 clients are not fork-safe).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Optional
from urllib.parse import urlparse

CHUNK = 1024 * 1024

# Paths handed out by :meth:`S3MediaStore.path` inside :meth:`S3MediaStore.deferred` and not
# fetched yet, per thread: path -> (store, key). :func:`pending` and :func:`materialise` read it.
_lazy = threading.local()


def pending(path) -> Optional[tuple["S3MediaStore", str]]:
    """(store, key) when ``path`` is an S3 object not fetched yet (a deferred ``path()``), else None."""
    return getattr(_lazy, "paths", {}).get(str(path))


def materialise(path) -> None:
    """Fetch a deferred path's object into the cache (code about to read the file calls this)."""
    hit = pending(path)
    if hit is not None:
        _lazy.paths.pop(str(path), None)
        hit[0].fetch(hit[1])


@dataclass(frozen=True)
class S3Options:
    """How to reach the bucket (picklable: ingest worker processes rebuild the store from it)."""

    url: str  # s3://bucket/prefix
    endpoint_url: str = ""
    access_key: str = ""
    secret_key: str = ""
    region: str = "us-east-1"
    part_mb: int = 8

    @property
    def bucket(self) -> str:
        return urlparse(self.url).netloc

    @property
    def prefix(self) -> str:
        return urlparse(self.url).path.strip("/")


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of ``s3://bucket/prefix``; ValueError naming what is wrong."""
    u = urlparse(url)
    if u.scheme != "s3":
        raise ValueError(f"not an s3:// URL: {url!r}")
    if not u.netloc:
        raise ValueError(f"no bucket in {url!r} (expected s3://bucket/prefix)")
    if ".." in u.path.split("/"):
        raise ValueError(f"'..' in the prefix of {url!r}")
    return u.netloc, u.path.strip("/")


class _Hashing:
    """A read-only stream that hashes what passes through it (uploads of unknown size)."""

    def __init__(self, stream: BinaryIO):
        self._s = stream
        self.h = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        b = self._s.read(n)
        self.h.update(b)
        self.size += len(b)
        return b


class S3MediaStore:
    """Media store in an S3 bucket under a prefix, with a local read-through cache."""

    remote = True

    def __init__(self, options: S3Options, cache_dir: str | os.PathLike, cache_mb: int = 2048):
        parse_s3_url(options.url)
        self.options = options
        self.bucket, self.prefix = options.bucket, options.prefix
        self.cache = Path(cache_dir)
        self.cache.mkdir(parents=True, exist_ok=True)
        self.cache_bytes = max(0, int(cache_mb)) * 1024 * 1024
        self._client: Any = None
        self._pid = -1
        self._lock = threading.Lock()
        self._fetched = 0

    def __repr__(self) -> str:
        return f"S3MediaStore({self.options.url!r})"

    # ---- the connection ------------------------------------------------------------------
    @property
    def client(self):
        """A boto3 S3 client of this process (made on first use, again after a fork)."""
        if self._client is None or self._pid != os.getpid():
            with self._lock:
                if self._client is None or self._pid != os.getpid():
                    import boto3
                    from botocore.config import Config

                    o = self.options
                    kw: dict[str, Any] = {"region_name": o.region or "us-east-1",
                                          "config": Config(retries={"max_attempts": 5, "mode": "standard"},
                                                           s3={"addressing_style": "path"},
                                                           max_pool_connections=32)}
                    if o.endpoint_url:
                        kw["endpoint_url"] = o.endpoint_url
                    if o.access_key:
                        kw["aws_access_key_id"], kw["aws_secret_access_key"] = o.access_key, o.secret_key
                    self._client = boto3.session.Session().client("s3", **kw)
                    self._pid = os.getpid()
        return self._client

    def _transfer_config(self):
        from boto3.s3.transfer import TransferConfig

        part = max(5, self.options.part_mb) * 1024 * 1024  # S3's smallest part is 5 MiB
        return TransferConfig(multipart_threshold=part, multipart_chunksize=part, max_concurrency=4)

    def object_key(self, key: str) -> str:
        """The S3 object key of a store key (the prefix joined; keys that climb out are refused)."""
        parts = key.split("/")
        if not key or key.startswith("/") or ".." in parts or "" in parts:
            raise ValueError(f"storage key escapes the store: {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    @staticmethod
    def _missing(err) -> bool:
        code = str(err.response.get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    # ---- the MediaStore interface ----------------------------------------------------------
    @staticmethod
    def key_for(sha256: str, ext: str) -> str:
        """Storage key of a file with this hash and extension (as the local store's)."""
        from .storage import LocalMediaStore

        return LocalMediaStore.key_for(sha256, ext)

    def _cache_path(self, key: str) -> Path:
        self.object_key(key)  # refuses keys that climb out
        return self.cache / key

    def size(self, key: str) -> Optional[int]:
        """Size in bytes of the object, None when absent."""
        from botocore.exceptions import ClientError

        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))["ContentLength"])
        except ClientError as e:
            if self._missing(e):
                return None
            raise

    def exists(self, key: str) -> bool:
        """Whether the object exists; a cached copy answers without a request (keys are hashes:
        the bytes under a key never change)."""
        return self._cache_path(key).is_file() or self.size(key) is not None

    def put_file(self, src: Path, key: str) -> None:
        """Upload ``src`` under ``key`` (multipart above ``part_mb``; no-op if present)."""
        if self.exists(key):
            return
        self.client.upload_file(str(src), self.bucket, self.object_key(key), Config=self._transfer_config())

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` in one request (photos, thumbnails)."""
        self.client.put_object(Bucket=self.bucket, Key=self.object_key(key), Body=data)

    def put_move(self, src: Path, key: str) -> None:
        """Upload ``src`` under ``key``, then delete ``src``."""
        self.put_file(Path(src), key)
        Path(src).unlink(missing_ok=True)

    def put_stream(self, stream: BinaryIO, key: str) -> str:
        """Upload a stream under ``key`` (multipart when large) and return its SHA-256."""
        hs = _Hashing(stream)
        self.client.upload_fileobj(hs, self.bucket, self.object_key(key), Config=self._transfer_config())
        return hs.h.hexdigest()

    def open(self, key: str) -> BinaryIO:
        """The object's bytes as a file (through the local cache)."""
        p = self.path(key)
        if not p.is_file():
            raise FileNotFoundError(f"{key} is not in {self.options.url}")
        return open(p, "rb")

    def open_range(self, key: str, start: int = 0, end: Optional[int] = None) -> Iterator[bytes]:
        """Bytes ``start``..``end`` (inclusive; None: to the end) read from S3 in blocks."""
        rng = f"bytes={start}-" + ("" if end is None else str(end))
        body = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key), Range=rng)["Body"]
        try:
            for block in iter(lambda: body.read(CHUNK), b""):
                yield block
        finally:
            body.close()

    @contextlib.contextmanager
    def deferred(self):
        """Within this block :meth:`path` does not fetch: a response that turns out to send the
        unmodified original streams it from S3 (ranges) or redirects to a presigned link instead of
        copying it here first; code that reads the file calls :func:`materialise` first."""
        if not hasattr(_lazy, "paths"):
            _lazy.paths, _lazy.active = {}, []
        _lazy.active.append(id(self))
        try:
            yield
        finally:
            _lazy.active.remove(id(self))
            if not _lazy.active:
                _lazy.paths = {}

    def path(self, key: str) -> Path:
        """A local file with the object's bytes (fetched into the cache once); a path that does not
        exist when the object is absent, as the local store answers."""
        p = self._cache_path(key)
        if p.is_file():
            return p
        if id(self) in getattr(_lazy, "active", ()):
            _lazy.paths[str(p)] = (self, key)
            return p
        return self.fetch(key)

    def fetch(self, key: str) -> Path:
        """Copy the object into the local cache (atomic) and return its path there."""
        from botocore.exceptions import ClientError

        p = self._cache_path(key)

        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                self.client.download_fileobj(self.bucket, self.object_key(key), f, Config=self._transfer_config())
            os.replace(tmp, p)
        except ClientError as e:
            if not self._missing(e):
                raise
        finally:
            Path(tmp).unlink(missing_ok=True)
        self._fetched += 1
        if self._fetched % 64 == 0:
            self.prune_cache()
        return p

    def commit(self, key: str) -> None:
        """Send a file written into :meth:`path`'s cache by path-only code (a derivative) to S3."""
        p = self._cache_path(key)
        if p.is_file() and not self.exists(key):
            self.client.upload_file(str(p), self.bucket, self.object_key(key), Config=self._transfer_config())

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))
        self._cache_path(key).unlink(missing_ok=True)

    def iter_keys(self) -> Iterator[str]:
        """Every key of the store (S3 lists them in order, 1,000 a page)."""
        pre = f"{self.prefix}/" if self.prefix else ""
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=pre):
            for obj in page.get("Contents", ()):
                yield obj["Key"][len(pre):]

    def sha256(self, key: str) -> str:
        """SHA-256 of the object's bytes as S3 returns them (streamed, not cached)."""
        h = hashlib.sha256()
        for block in self.open_range(key):
            h.update(block)
        return h.hexdigest()

    def presigned_url(self, key: str, expires_s: int, filename: str = "", mimetype: str = "") -> str:
        """A link that downloads the object for ``expires_s`` seconds without credentials."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self.object_key(key)}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        if mimetype:
            params["ResponseContentType"] = mimetype
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=int(expires_s))

    def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist (``saola storage migrate``, tests)."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def prune_cache(self) -> None:
        """Drop the least recently used cached files beyond ``cache_mb`` (they are in S3)."""
        if not self.cache_bytes:
            return
        files = []
        total = 0
        for p in self.cache.rglob("*"):
            if p.is_file() and not p.name.startswith(".tmp-"):
                st = p.stat()
                files.append((st.st_atime, st.st_size, p))
                total += st.st_size
        for _atime, size, p in sorted(files):
            if total <= self.cache_bytes:
                break
            p.unlink(missing_ok=True)
            total -= size
