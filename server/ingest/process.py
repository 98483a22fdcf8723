"""The per-file work of ingest, run in worker processes: read once, hash, store, describe, derive.

For each file: read its bytes once (photos fit in memory; big videos are
streamed), SHA-256 them, store the original in the content-addressed media
store (atomic: temporary file, fsync, rename; skipped when the key already
exists), read its metadata with the registered reader, and make the
thumbnail / review-size image (also atomic; skipped when present). The
database row is written afterwards by the parent process, so a crash at any
point leaves either nothing or a complete file without a row, which the next
run completes.

No Flask and no database here: workers only touch files.
"""
from __future__ import annotations

import ctypes
import dataclasses
import errno
import hashlib
import os
import signal
import sys
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from classifiers.safe_image import DEFAULT_MAX_PIXELS, ImageTooLarge, check_size, set_max_pixels

from . import derivatives as deriv
from .registry import MediaInfo, UnreadableMedia, load_plugins, reader_for
from .sources import IMAGE_MAX_BYTES, Source, too_big

IN_MEMORY_MAX = 64 * 1024 * 1024  # files up to this size are read into memory once
CHUNK = 1024 * 1024
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


@dataclass(frozen=True)
class StoreRoots:
    """Where workers write: the media store and the derivatives store (local folders)."""

    media: str
    derivatives: str
    # fsync each original as it is written. When False the caller makes the batch durable
    # (make_durable() of the batch's files and folders before committing its rows; see
    # pipeline.BatchWriter): same guarantee, a row never names a file that is not on disk,
    # at a fraction of the cost.
    durable: bool = True
    # Photos declaring more pixels are skipped unread (decompression bombs; classifiers/safe_image.py).
    max_image_pixels: int = DEFAULT_MAX_PIXELS
    # Media in object storage: the settings (name, value) that open the stores
    # (server.storage.stores_from_config); ``media`` is then only a local scratch folder for big files.
    remote: tuple[tuple[str, Any], ...] = ()
    # Workers started before the command may store anything (server/ingest/early.py): new originals and
    # thumbnails are written under temporary names in this folder (inside ``media``, so a rename moves
    # them), and the command moves them into place or deletes them. "": store directly.
    hold: str = ""
    # Decode each photo during ingest for its thumbnail / review image (the old way). False: ingest only
    # hashes, reads metadata, stores and indexes; the thumbnail comes from the camera's embedded preview
    # when usable, else from the background ``derivatives`` job (server/ingest/jobs.py).
    decode_derivatives: bool = False


_remote_cache: dict[tuple, tuple[Any, Any]] = {}


def remote_stores(roots: StoreRoots) -> Optional[tuple[Any, Any]]:
    """(media store, derivatives store) of this process for remote roots, None for local folders."""
    if not roots.remote:
        return None
    key = (os.getpid(), roots.remote)
    if key not in _remote_cache:
        from ..storage import stores_from_config

        _remote_cache[key] = stores_from_config(dict(roots.remote))
    return _remote_cache[key]


#: The settings ingest worker processes need to open S3 stores themselves.
REMOTE_SETTINGS = ("MEDIA_URL", "S3_ENDPOINT_URL", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "S3_REGION",
                   "S3_PART_MB", "MEDIA_CACHE_DIR", "MEDIA_CACHE_MB", "DATA_DIR")


def config_roots(config, durable: bool = False) -> StoreRoots:
    """Where ingest writes, from an app's configuration alone (jobs run without a Flask app): the
    local folders, or with MEDIA_URL the S3 stores (big files pass through DATA_DIR/tmp)."""
    pixels = int(config.get("MAX_IMAGE_MPIXELS") or 64) * 1_000_000
    if (config.get("MEDIA_URL") or "").strip():
        remote = tuple((k, config.get(k)) for k in REMOTE_SETTINGS)
        scratch = os.path.join(config["DATA_DIR"], "tmp")
        return StoreRoots(scratch, scratch, durable=durable, max_image_pixels=pixels, remote=remote)
    media = config.get("MEDIA_DIR") or os.path.join(config["DATA_DIR"], "media")
    return StoreRoots(str(media), os.path.join(config["DATA_DIR"], "derivatives"), durable=durable,
                      max_image_pixels=pixels)


class DiskFull(Exception):
    """No space left on the device (ENOSPC/EDQUOT)."""


_EXT_ALIASES = {"jpeg": "jpg"}


def media_key(sha256: str, ext: str) -> str:
    """The media-store key ``ab/cd/<sha256>.<ext>`` (as LocalMediaStore.key_for; .jpeg stored as .jpg)."""
    ext = ext.lower().lstrip(".")
    ext = _EXT_ALIASES.get(ext, ext)
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}.{ext}" if ext else f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


_made_dirs: set[str] = set()


def _makedirs(folder: str) -> None:
    if folder not in _made_dirs:  # a card has 10,000s of files in a few hundred folders
        os.makedirs(folder, exist_ok=True)
        if len(_made_dirs) > 100_000:
            _made_dirs.clear()
        _made_dirs.add(folder)


def atomic_write(path: str, data: bytes, durable: bool) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never half-written)."""
    folder = os.path.dirname(path)
    _makedirs(folder)
    tmp = os.path.join(folder, f".tmp-{uuid.uuid4().hex}")
    try:
        try:
            f = open(tmp, "wb")
        except FileNotFoundError:  # the folder was removed since it was made: make it again
            _made_dirs.discard(folder)
            _makedirs(folder)
            f = open(tmp, "wb")
        with f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
            else:  # synced later with its batch (make_durable): start the disk on it now
                start_writeback(f)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


_SYNC_FILE_RANGE_WRITE = 2  # linux/fs.h
_sync_file_range: Any = None


def start_writeback(f) -> None:
    """Ask the kernel to start writing file ``f`` to disk now, without waiting for it (Linux
    ``sync_file_range(SYNC_FILE_RANGE_WRITE)``).

    Durability still comes from the batch's fsync (:func:`make_durable`); this only moves the
    disk's work earlier, while the next files are read and hashed, so that the fsync finds
    little left to write (a batch of 250 photos: ~0.2 s of waiting down to ~0.03 s here). Best
    effort: a no-op where the call does not exist or fails.
    """
    global _sync_file_range
    if _sync_file_range is None:
        _sync_file_range = False
        if sys.platform.startswith("linux"):
            try:
                fn = ctypes.CDLL(None, use_errno=True).sync_file_range
                fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
                _sync_file_range = fn
            except (OSError, AttributeError):
                pass
    if _sync_file_range:
        f.flush()
        _sync_file_range(f.fileno(), 0, 0, _SYNC_FILE_RANGE_WRITE)


def hold_write(folder: str, data: bytes) -> str:
    """Write ``data`` to a new temporary file in ``folder`` (an early start's holding folder, on the
    store's filesystem); its path. The command moves it into the store (a rename) or deletes it."""
    path = os.path.join(folder, f".tmp-{uuid.uuid4().hex}")
    with open(path, "wb") as f:
        f.write(data)
        start_writeback(f)
    return path


def make_durable(root: str, keys: Iterable[str], threads: int = 8) -> int:
    """fsync the stored files ``root/<key>`` and the folders naming them; returns how many files.

    What a row may name must survive a power cut: the file's bytes (fsync of the file) and
    the directory entry its rename made (fsync of its folder ``ab/cd``, and of ``ab`` and
    ``root`` that may have been made for it). Called once per batch of rows, before they are
    committed, instead of one fsync per file as it is written or one ``os.sync()`` (which
    flushes every file of every program on the machine). The fsyncs run in threads: the
    filesystem then commits its journal once for many files instead of once per file. A
    file found already stored (e.g. copied by a run that crashed before its sync) is synced
    too: cheap when it is on disk already, and a row never names unsynced bytes.
    """
    files: list[str] = []
    folders: set[str] = set()
    for key in keys:
        files.append(os.path.join(root, key))
        parts = key.split("/")[:-1]
        for i in range(len(parts) + 1):
            folders.add(os.path.join(root, *parts[:i]) if i else root)
    if not files:
        return 0

    def sync(path: str) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    if len(files) == 1 or threads <= 1:
        for f in files:
            sync(f)
        for d in folders:
            sync(d)
        return len(files)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(threads, len(files))) as ex:
        list(ex.map(sync, files))  # re-raises the first OSError: the batch is not committed
        list(ex.map(sync, sorted(folders)))
    return len(files)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return -1


def _present(path: str) -> bool:
    try:
        return os.path.getsize(path) > 0
    except OSError:
        return False


_zips: dict[str, zipfile.ZipFile] = {}


def _open_member(src: Source):
    zf = _zips.get(src.zip_path)
    if zf is None:
        if len(_zips) > 4:
            for z in _zips.values():
                z.close()
            _zips.clear()
        zf = _zips[src.zip_path] = zipfile.ZipFile(src.zip_path)
    return zf.open(src.member)


def close_zips() -> None:
    """Close the zips this process opened (after an inline run; workers just exit)."""
    for z in _zips.values():
        z.close()
    _zips.clear()


def _stream_to_store(stream, roots: StoreRoots, ext: str) -> tuple[str, str, int, bool, str]:
    """Copy a big stream into the store while hashing it; (sha256, key, size, newly stored, scratch).

    With remote stores the stream goes to a scratch file (the key is its hash, known only at
    the end), which is then uploaded in parts; ``scratch`` is that file, for the reader, and
    the caller removes it."""
    os.makedirs(roots.media, exist_ok=True)
    tmp = os.path.join(roots.media, f".tmp-{uuid.uuid4().hex}")
    h = hashlib.sha256()
    size = 0
    try:
        with open(tmp, "wb") as out:
            for block in iter(lambda: stream.read(CHUNK), b""):
                h.update(block)
                out.write(block)
                size += len(block)
            if roots.durable:
                out.flush()
                os.fsync(out.fileno())
            else:
                start_writeback(out)
        sha = h.hexdigest()
        key = media_key(sha, ext)
        stores = remote_stores(roots)
        if stores is not None:
            if stores[0].size(key) == size:
                return sha, key, size, False, tmp
            stores[0].put_file(tmp, key)  # multipart above S3_PART_MB
            return sha, key, size, True, tmp
        dest = os.path.join(roots.media, key)
        if _present(dest):
            os.unlink(tmp)
            return sha, key, size, False, ""
        os.makedirs(os.path.dirname(dest), exist_ok=True)  # big files are few: no cache
        os.replace(tmp, dest)
        return sha, key, size, True, ""
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


_FIELDS = [f.name for f in dataclasses.fields(MediaInfo)]


def _info_dict(info: MediaInfo) -> dict[str, Any]:
    # Shallow: the reader built fresh containers (asdict's deep copy cost ~1 ms a photo).
    return {name: getattr(info, name) for name in _FIELDS}


def process_source(src: Source, roots: StoreRoots, make_derivatives: bool = True) -> dict[str, Any]:
    """Do the file work for one source; returns a small picklable result.

    ``status`` is ``ok`` (stored; ``info`` describes it), ``skipped`` (with
    ``reason``) or ``disk_full``.
    """
    res: dict[str, Any] = {"rel_path": src.rel_path, "status": "ok", "kind": src.kind, "ext": src.ext}
    try:
        reader = reader_for(src.file_name)
        if reader is None or reader.read is None:
            return {**res, "status": "skipped", "reason": "no reader for this file type"}
        data: Optional[bytes] = None
        if src.size <= IN_MEMORY_MAX:
            if src.path is not None:
                with open(src.path, "rb") as f:
                    data = f.read()
            else:
                with _open_member(src) as f:
                    data = f.read(IN_MEMORY_MAX + 1)
            if len(data) > IN_MEMORY_MAX:  # grew since the scan; stream it instead
                data = None
        if data is not None:
            if not data:
                return {**res, "status": "skipped", "reason": "empty file (0 bytes)"}
            sha = hashlib.sha256(data).hexdigest()
            key = media_key(sha, src.ext)
            dest = os.path.join(roots.media, key)
            try:
                info = reader.read(data, src.path)
                if src.kind == "image":
                    check_size(info.width, info.height, roots.max_image_pixels)
            except (UnreadableMedia, ImageTooLarge) as e:
                return {**res, "status": "skipped", "reason": str(e)}
            stores = remote_stores(roots)
            if stores is not None:
                if stores[0].size(key) != len(data):  # an S3 object is whole or absent; the size is cheap
                    stores[0].put_bytes(key, data)
                    res["stored_new"] = True
            elif _size(dest) != len(data):  # absent, or cut short by a power loss before it was synced
                if roots.hold:
                    res["held"] = hold_write(roots.hold, data)
                else:
                    atomic_write(dest, data, roots.durable)
                res["stored_new"] = True
            size = len(data)
        else:
            if src.kind == "image":  # photos are read whole below: never one this big (sources.IMAGE_MAX_BYTES)
                return {**res, "status": "skipped", "reason": too_big("image", max(src.size, IMAGE_MAX_BYTES + 1))}
            if roots.hold:  # big files are streamed into place by the command itself, once it may store
                return {**res, "status": "later"}
            opener = open(src.path, "rb") if src.path is not None else _open_member(src)
            stores = remote_stores(roots)
            with opener as f:
                sha, key, size, created, scratch = _stream_to_store(f, roots, src.ext)
            res["stored_new"] = created
            dest = scratch or os.path.join(roots.media, key)
            try:
                # The original path, not the store copy: readers date recordings by their file name.
                info = reader.read(None, src.path if src.path is not None else dest)
                if src.kind == "image":
                    check_size(info.width, info.height, roots.max_image_pixels)
            except (UnreadableMedia, ImageTooLarge) as e:
                if created:  # not media after all: take back the copy this call made
                    if stores is not None:
                        stores[0].delete(key)
                    else:
                        os.unlink(dest)
                return {**res, "status": "skipped", "reason": str(e)}
            finally:
                if scratch:
                    os.unlink(scratch)
        res.update(sha256=sha, storage_key=key, size=size, media_type=reader.media_type)
        res["derivatives"] = False
        if src.kind == "image" and make_derivatives and "corrupt" not in info.flags:
            blob = data if data is not None else _read(dest)
            if roots.decode_derivatives:
                res["derivatives"] = ensure_derivatives(sha, blob, info, roots)
            else:
                res["derivatives"] = preview_derivatives(sha, blob, info, roots, res)
                if not res["derivatives"]:
                    info.meta["derivatives"] = PENDING
        res["info"] = _info_dict(info)
        return res
    except OSError as e:
        if e.errno in _NO_SPACE:
            return {**res, "status": "disk_full", "reason": f"no space left on the device ({e.strerror or e})"}
        return {**res, "status": "skipped", "reason": f"cannot read: {e.strerror or e}"}
    except zipfile.BadZipFile as e:
        return {**res, "status": "skipped", "reason": f"damaged zip entry: {e}"}


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


# Media.meta["derivatives"] of a photo whose thumbnail the background job has yet to make: the pages
# show a placeholder meanwhile instead of decoding the photo while the user waits.
PENDING = "pending"
DERIVATIVES_JOB = "derivatives"  # the job kind that makes them (server/ingest/jobs.py)


def preview_derivatives(sha: str, data: bytes, info: MediaInfo, roots: StoreRoots,
                        res: Optional[dict[str, Any]] = None) -> bool:
    """Complete derivatives without decoding the photo, when possible: the photo serves as its own
    review image (upright, at most 2048 px) and the camera embedded a usable preview, which becomes
    the thumbnail. False when the derivative job has to decode the photo. With ``roots.hold`` the
    thumbnail is written there and its name put in ``res["held_thumb"]``."""
    stores = remote_stores(roots)
    thumb = os.path.join(roots.derivatives, deriv.thumb_key(sha))
    if stores[1].exists(deriv.thumb_key(sha)) if stores is not None else _present(thumb):
        return True
    if not deriv.serves_as_review(info.width, info.height, info.orientation, info.meta.get("components")):
        return False
    small = deriv.thumb_from_preview(deriv.exif_preview(data), info.width, info.height)
    if small is None:
        return False
    if stores is not None:
        stores[1].put_bytes(deriv.thumb_key(sha), small)
    elif roots.hold and res is not None:
        res["held_thumb"] = hold_write(roots.hold, small)
    else:
        atomic_write(thumb, small, False)
    info.meta["derivatives"] = "exif_preview"
    return True


def ensure_derivatives(sha: str, data: bytes, info: MediaInfo, roots: StoreRoots) -> bool:
    """Make the thumbnail / review image unless present; False (and flag ``corrupt``) if undecodable."""
    stores = remote_stores(roots)
    thumb = os.path.join(roots.derivatives, deriv.thumb_key(sha))
    if stores[1].exists(deriv.thumb_key(sha)) if stores is not None else _present(thumb):
        return True
    try:
        d = deriv.make_derivatives(data, info.orientation, roots.max_image_pixels)
    except deriv.DerivativeError as e:
        info.flags.append("corrupt")
        info.notes.append(str(e))
        return False
    if stores is not None:
        if d.review is not None:
            stores[1].put_bytes(deriv.review_key(sha), d.review)
        stores[1].put_bytes(deriv.thumb_key(sha), d.thumb)  # last: its presence means "complete"
        return True
    if d.review is not None:
        # Derivatives can be made again from the original: no fsync needed.
        atomic_write(os.path.join(roots.derivatives, deriv.review_key(sha)), d.review, False)
    # The thumbnail is written last: its presence means "derivatives complete".
    atomic_write(thumb, d.thumb, False)
    return True


def derive_one(roots: StoreRoots, item: tuple[str, str, str, Optional[int]]) -> tuple[str, str, str]:
    """The derivatives of one stored photo ``(media id, sha256, storage key, orientation)``:
    ``(media id, outcome, message)``, outcome ``made``, ``undecodable``, ``missing`` (no original)
    or ``error`` (writing failed: worth another attempt)."""
    mid, sha, key, orientation = item
    stores = remote_stores(roots)
    try:
        if stores is not None:
            with stores[0].open(key) as f:
                data = f.read()
        else:
            with open(os.path.join(roots.media, key), "rb") as f:
                data = f.read()
    except OSError as e:
        return mid, "missing", f"original missing from the media store: {e.strerror or e}"
    info = MediaInfo(orientation=orientation)
    try:
        made = ensure_derivatives(sha, data, info, roots)
    except OSError as e:
        return mid, "error", f"cannot write the thumbnail: {e.strerror or e}"
    return (mid, "made", "") if made else (mid, "undecodable", "; ".join(info.notes) or "cannot decode the image")


# ---- worker-process plumbing ---------------------------------------------------------------
_roots: Optional[StoreRoots] = None
def die_with_parent(parent: Optional[int] = None) -> None:
    """End this process as soon as the process that started it dies, however it dies.

    A pool worker survived as an orphan when its ingest process was killed (kill -9):
    nothing told it to stop. On Linux the kernel sends SIGKILL at the parent's death
    (``prctl(PR_SET_PDEATHSIG)``); everywhere, a daemon thread notices the parent's
    id changing (the orphan is adopted) and exits. ``parent``: the pid the caller
    expects (known before this process started, so an early death is seen too).
    """
    parent = os.getppid() if parent is None else parent
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl here: the thread below still watches
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=watch, name="saola-parent-watch", daemon=True).start()


_PR_SET_PDEATHSIG = 1
PARENT_CHECK_S = 1.0


def init_worker(roots: StoreRoots, parent: Optional[int] = None) -> None:
    """Pool initializer: die with the parent (pid ``parent``), remember the store roots, load extra readers."""
    global _roots
    die_with_parent(parent)
    _roots = roots
    set_max_pixels(roots.max_image_pixels)  # also Pillow's own limit, in this process
    load_plugins()


def work(src: Source) -> dict[str, Any]:
    """Pool entry point."""
    assert _roots is not None, "init_worker was not called"
    return process_source(src, _roots)
