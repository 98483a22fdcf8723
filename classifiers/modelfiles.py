"""Model files: checksums, verified downloads, and the public weights Saola knows of.

Heavy models are files the user supplies or downloads; nothing here runs at
import time.  `fetch` streams into a temporary file next to the destination,
hashes while it writes, and only renames the file into place when the
SHA-256 matches the published one, so a half-downloaded or tampered model
never sits at the destination path.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

_CHUNK = 1 << 20
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ChecksumMismatch(ValueError):
    """A model file's SHA-256 differs from the expected one."""

    def __init__(self, what: str, expected: str, actual: str):
        self.expected, self.actual = expected, actual
        super().__init__(f"SHA-256 mismatch for {what}: expected {expected}, got {actual}")


class DownloadError(RuntimeError):
    """A model download failed (network, HTTP status, missing checksum)."""


@dataclass(frozen=True)
class ModelFile:
    """Identity of a model file on disk."""

    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class KnownModel:
    """Public weights Saola can fetch.  `sha256` is None where no checksum is published
    that we could confirm: the caller must then supply one (it is never guessed)."""

    name: str
    url: str
    sha256: str | None
    format: str  # "onnx" runs directly; "pt" must be exported to ONNX first
    description: str


#: Known public MegaDetector weights.  Only ONNX files run in `Detector`; the
#: official PyTorch files are listed so they can be fetched for conversion.
KNOWN_MODELS: dict[str, KnownModel] = {m.name: m for m in [
    KnownModel("md_v5a_pt", "https://github.com/agentmorris/MegaDetector/releases/download/v5.0/md_v5a.0.0.pt",
               None, "pt", "MegaDetector v5a, official PyTorch weights (YOLOv5x6, 1280 px)"),
    KnownModel("md_v5b_pt", "https://github.com/agentmorris/MegaDetector/releases/download/v5.0/md_v5b.0.0.pt",
               None, "pt", "MegaDetector v5b, official PyTorch weights (YOLOv5x6, 1280 px)"),
    KnownModel("md_v5a_onnx_megadetectorlite",
               "https://github.com/timmh/MegaDetectorLite/releases/download/v0.2/md_v5a.0.0.onnx",
               None, "onnx", "MegaDetector v5a exported to ONNX by the MegaDetectorLite project (community)"),
]}


def normalise_sha256(value: str) -> str:
    """Lower-case a hex SHA-256, raising ValueError if it is not one."""
    v = value.strip().lower()
    if not _HEX64.match(v):
        raise ValueError(f"not a SHA-256 hex digest (64 hex characters): {value!r}")
    return v


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def describe_file(path: str | os.PathLike) -> ModelFile:
    """SHA-256 and size of a model file (for `saola models add`)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"model file not found: {p}")
    return ModelFile(p, sha256_file(p), p.stat().st_size)


def verify_sha256(path: str | os.PathLike, expected: str) -> str:
    """Raise `ChecksumMismatch` unless the file's SHA-256 is `expected`; returns it."""
    expected = normalise_sha256(expected)
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumMismatch(str(path), expected, actual)
    return actual


ProgressCallback = Callable[[int, "int | None"], None]


def fetch(url: str, dest: str | os.PathLike, sha256: str | None, *,
          progress: ProgressCallback | None = None, timeout: float = 60.0) -> ModelFile:
    """Download `url` to `dest`, verifying the published SHA-256.

    `progress(done_bytes, total_bytes_or_None)` is called after each chunk.
    The file appears at `dest` only if the checksum matches (atomic rename);
    on any failure nothing is left behind and an existing `dest` is untouched.
    """
    if not sha256:
        raise DownloadError(f"no SHA-256 given for {url}: pass the checksum published with "
                            "the weights; Saola does not install unverified models")
    expected = normalise_sha256(sha256)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        digest, done = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:
                    length = resp.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    while chunk := resp.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
            except OSError as exc:  # URLError/HTTPError/timeouts are OSErrors
                raise DownloadError(f"download of {url} failed: {exc}") from exc
            if total is not None and done != total:
                raise DownloadError(f"download of {url} truncated: {done} of {total} bytes")
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if actual != expected:
            raise ChecksumMismatch(url, expected, actual)
        os.replace(tmp, dest)
        return ModelFile(dest, actual, done)
    finally:
        tmp.unlink(missing_ok=True)


def fetch_known(name: str, dest_dir: str | os.PathLike, *, sha256: str | None = None,
                progress: ProgressCallback | None = None, timeout: float = 60.0) -> ModelFile:
    """Fetch one of `KNOWN_MODELS` into `dest_dir` (checksum from the registry or `sha256`)."""
    try:
        model = KNOWN_MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(KNOWN_MODELS))}") from None
    if sha256 and model.sha256 and normalise_sha256(sha256) != model.sha256:
        raise ValueError(f"checksum given for {name} differs from the registry's {model.sha256}")
    filename = model.url.rsplit("/", 1)[-1]
    return fetch(model.url, Path(dest_dir) / filename, sha256 or model.sha256,
                 progress=progress, timeout=timeout)
