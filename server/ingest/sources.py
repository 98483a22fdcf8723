"""Finding the files of a card: a folder (recursive, e.g. ``DCIM/100RECNX/``) or a zip.

Scanning decides, from the name alone, what each file is (through the reader
registry) and which files are skipped and why; nothing is read yet. Zips are
checked before anything is extracted: entries whose path would escape the
target (``../``, absolute paths, drive letters), links, and zip bombs (a
compression ratio or total size beyond the limits) are refused with a reason.
"""
from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Optional

from .registry import reader_for

# Zip limits. Photos and videos barely compress, so a high ratio means a bomb.
ZIP_MAX_RATIO = 100.0  # uncompressed / compressed, for members above ZIP_RATIO_MIN_BYTES
ZIP_RATIO_MIN_BYTES = 1024 * 1024
ZIP_MAX_MEMBER_BYTES = 8 * 1024 ** 3
ZIP_MAX_TOTAL_BYTES = 256 * 1024 ** 3
ZIP_MAX_MEMBERS = 500_000
# Photos are read whole into memory (to hash, describe and thumbnail them): one bigger than this is
# not a camera photo (the largest are ~20 MiB) and is refused by its declared size, before reading.
# A 300 MiB zip member at 85:1 (under the ratio limit) took ingest to 1 GiB.
IMAGE_MAX_BYTES = 64 * 1024 * 1024

# Folders cameras and operating systems add to cards; their files are not photos.
_SYSTEM_DIRS = {"system volume information", "$recycle.bin", ".trashes", ".spotlight-v100", ".fseventsd",
                "__macosx", ".thumbnails"}
_ARCHIVES = {".zip", ".7z", ".rar", ".tar", ".gz", ".tgz"}


@dataclass(frozen=True)
class Source:
    """One file of a card: where it is and what it is."""

    rel_path: str  # path on the card (posix), for provenance and messages
    kind: str
    ext: str
    size: int
    path: Optional[str] = None  # a file on disk
    zip_path: Optional[str] = None  # or a member of this zip
    member: Optional[str] = None

    @property
    def file_name(self) -> str:
        return PurePosixPath(self.rel_path).name


@dataclass(frozen=True)
class Skipped:
    """A file of the card that is not ingested, and why."""

    rel_path: str
    reason: str


def printable(name: str) -> str:
    """``name`` as valid UTF-8 text without NUL characters (for messages and database columns)."""
    return name.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def classify(rel_path: str) -> tuple[Optional[str], Optional[str], str]:
    """(kind, skip reason, extension) of a file by its name."""
    name = PurePosixPath(rel_path).name
    parts = [p.lower() for p in PurePosixPath(rel_path).parts[:-1]]
    ext = os.path.splitext(name)[1].lower()
    if any(p in _SYSTEM_DIRS for p in parts):
        return None, "system folder, not camera media", ext
    if name.startswith("._") or name.lower() in ("thumbs.db", "desktop.ini", ".ds_store"):
        return None, "operating-system metadata file, not camera media", ext
    if name.startswith("."):
        return None, "hidden file", ext
    if ext in _ARCHIVES:
        return None, f"archive inside the card is not opened ({ext}); ingest it on its own", ext
    reader = reader_for(name)
    if reader is None:
        return None, f"not a media file ({ext or 'no extension'})", ext
    return reader.kind, None, ext


def too_big(kind: Optional[str], size: int) -> Optional[str]:
    """The skip reason for a photo larger than :data:`IMAGE_MAX_BYTES`, else None."""
    if kind == "image" and size > IMAGE_MAX_BYTES:
        return (f"image file too large: {size / 1024 ** 2:.0f} MiB (limit {IMAGE_MAX_BYTES // 1024 ** 2} MiB); "
                "not read")
    return None


def scan_folder(root: str | os.PathLike) -> tuple[list[Source], list[Skipped]]:
    """Every file under ``root`` (sorted, so runs are repeatable), classified."""
    root = Path(root)
    sources: list[Source] = []
    skipped: list[Skipped] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            # For reports and the database only (the file is opened by ``full``): names that are
            # not valid UTF-8 on the card (surrogate escapes) are shown with replacement marks.
            rel = printable(Path(full).relative_to(root).as_posix())
            try:
                st = os.lstat(full)
            except OSError as e:
                skipped.append(Skipped(rel, f"cannot read: {e.strerror}"))
                continue
            if stat.S_ISLNK(st.st_mode):
                skipped.append(Skipped(rel, "symbolic link, not followed"))
                continue
            if not stat.S_ISREG(st.st_mode):
                skipped.append(Skipped(rel, "not a regular file"))
                continue
            kind, reason, ext = classify(rel)
            reason = reason or too_big(kind, st.st_size)
            if reason:
                skipped.append(Skipped(rel, reason))
            elif st.st_size == 0:
                skipped.append(Skipped(rel, "empty file (0 bytes)"))
            else:
                sources.append(Source(rel, kind, ext, st.st_size, path=full))
    return sources, skipped


def safe_member_name(name: str) -> Optional[str]:
    """The member's path normalised, or None when it would escape the extraction target."""
    n = name.replace("\\", "/")
    if n.startswith("/") or (len(n) > 1 and n[1] == ":") or "\x00" in n:
        return None
    parts = [p for p in n.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


class ZipRefused(Exception):
    """The whole zip is refused (a bomb, too many members, not a zip)."""


def scan_zip(zip_path: str | os.PathLike, *, max_ratio: float = ZIP_MAX_RATIO,
             max_member_bytes: int = ZIP_MAX_MEMBER_BYTES, max_total_bytes: int = ZIP_MAX_TOTAL_BYTES,
             max_members: int = ZIP_MAX_MEMBERS) -> tuple[list[Source], list[Skipped]]:
    """The members of a zip as sources, with unsafe ones skipped; ZipRefused for a bomb or a non-zip."""
    zip_path = str(zip_path)
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ZipRefused(f"not a readable zip file: {e}") from None
    with zf:
        infos = zf.infolist()
    if len(infos) > max_members:
        raise ZipRefused(f"zip has {len(infos)} entries (limit {max_members})")
    total = sum(i.file_size for i in infos if not i.is_dir())
    if total > max_total_bytes:
        raise ZipRefused(f"zip would expand to {total} bytes (limit {max_total_bytes}): refused as a zip bomb")
    sources: list[Source] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for info in sorted(infos, key=lambda i: i.filename):
        if info.is_dir():
            continue
        safe = safe_member_name(info.filename)
        if safe is None:
            skipped.append(Skipped(info.filename, "unsafe path in zip (escapes the target folder): refused"))
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            skipped.append(Skipped(safe, "symbolic link in zip: refused"))
            continue
        if safe in seen:
            skipped.append(Skipped(safe, "second zip entry with the same path: refused"))
            continue
        seen.add(safe)
        if info.flag_bits & 0x1:
            skipped.append(Skipped(safe, "encrypted zip entry: cannot be read"))
            continue
        if info.file_size > max_member_bytes:
            skipped.append(Skipped(safe, f"zip entry of {info.file_size} bytes exceeds the limit "
                                         f"({max_member_bytes}): refused"))
            continue
        if info.file_size >= ZIP_RATIO_MIN_BYTES and info.file_size > max_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            skipped.append(Skipped(safe, f"compression ratio {ratio:.0f}:1 above {max_ratio:.0f}:1: "
                                         "refused as a zip bomb"))
            continue
        kind, reason, ext = classify(safe)
        reason = reason or too_big(kind, info.file_size)
        if reason:
            skipped.append(Skipped(safe, reason))
        elif info.file_size == 0:
            skipped.append(Skipped(safe, "empty file (0 bytes)"))
        else:
            sources.append(Source(safe, kind, ext, info.file_size, zip_path=zip_path, member=info.filename))
    return sources, skipped


def scan(path: str | os.PathLike) -> tuple[list[Source], list[Skipped]]:
    """Scan a folder or a zip file (by content: a zip is recognised by its bytes, not its name)."""
    p = Path(path)
    if p.is_dir():
        return scan_folder(p)
    if p.is_file():
        if zipfile.is_zipfile(p):
            return scan_zip(p)
        # One file on its own.
        kind, reason, ext = classify(p.name)
        reason = reason or too_big(kind, p.stat().st_size)
        if reason:
            return [], [Skipped(p.name, reason)]
        return [Source(p.name, kind, ext, p.stat().st_size, path=str(p))], []
    raise FileNotFoundError(f"{path}: no such file or folder")
