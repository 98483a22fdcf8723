"""Field photos (mobile/photos.py): resized on the tablet with EXIF time and GPS kept, upright, on a
worker thread; a full disk or a file that is not a photo is told to the ranger and leaves nothing."""
from __future__ import annotations

import errno
import threading
from pathlib import Path

import pytest
from PIL import Image

from mobile import photos
from mobile.photos import PhotoError, PhotoWorker, add_to_store, resize_photo
from mobile.store import Store

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATETIME_ORIGINAL = 0x9003


def camera_jpeg(path: Path, size=(4000, 3000), orientation=6) -> Path:
    """A camera-like JPEG: big, lying on its side (orientation 6), with time taken and a GPS fix."""
    img = Image.new("RGB", size, (30, 120, 40))
    img.paste((200, 30, 30), (0, 0, size[0] // 4, size[1] // 4))  # a red corner to follow the rotation
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x0110] = "Saola Tab"
    exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = "2026:03:01 07:31:12"
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (16.0, 11.0, 45.6)
    gps[3], gps[4] = "E", (107.0, 51.0, 21.6)
    img.save(path, "JPEG", quality=95, exif=exif.tobytes())
    return path


def test_a_camera_photo_is_resized_upright_with_its_exif(tmp_path):
    src = camera_jpeg(tmp_path / "IMG_0001.jpg")
    out = resize_photo(src, tmp_path / "out", max_px=2048)
    with Image.open(out) as img:
        assert img.format == "JPEG" and img.size == (1536, 2048)  # turned upright, long side 2048
        assert img.getpixel((1536 - 10, 10))[0] > 150  # the red corner is now top right
        exif = img.getexif()
        assert exif[0x0112] == 1 and exif[0x0110] == "Saola Tab"
        assert exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] == "2026:03:01 07:31:12"
        gps = exif.get_ifd(GPS_IFD)
        assert gps[1] == "N" and [float(v) for v in gps[2]] == [16.0, 11.0, 45.6]
        assert gps[3] == "E" and [float(v) for v in gps[4]] == [107.0, 51.0, 21.6]
    assert out.stat().st_size < src.stat().st_size / 2
    assert [p.name for p in (tmp_path / "out").iterdir()] == [out.name]


def test_size_is_configurable_and_small_upright_jpegs_are_kept_as_they_are(tmp_path):
    out = resize_photo(camera_jpeg(tmp_path / "a.jpg", orientation=1), tmp_path / "o", max_px=1024)
    with Image.open(out) as img:
        assert img.size == (1024, 768)
    small = camera_jpeg(tmp_path / "small.jpg", size=(800, 600), orientation=1)
    assert resize_photo(small, tmp_path / "o2").read_bytes() == small.read_bytes()


def test_not_a_photo(tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    with pytest.raises(PhotoError) as e:
        resize_photo(bad, tmp_path / "o")
    assert e.value.message("vi") == "Tệp này không phải là ảnh mà ứng dụng đọc được (JPEG, PNG hoặc WebP)."
    assert e.value.message("en").startswith("This file is not a photo")
    assert list((tmp_path / "o").iterdir()) == []


def test_a_full_disk_adds_nothing_and_says_so(tmp_path, monkeypatch):
    store = Store(tmp_path / "data")
    kept = add_to_store(store, camera_jpeg(tmp_path / "first.jpg"))
    src = camera_jpeg(tmp_path / "second.jpg")

    def no_space(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", no_space)
    with pytest.raises(PhotoError) as e:
        add_to_store(store, src, delete_source=True)
    assert "Bộ nhớ máy tính bảng đã đầy" in e.value.message("vi")
    assert "storage is full" in e.value.message("en")
    assert src.exists()  # the capture is kept for another try
    assert list((store.root / "tmp").iterdir()) == []  # nothing half-written
    assert [p["sha256"] for p in store.pending_photos()] == [kept]
    monkeypatch.undo()

    monkeypatch.setattr(store, "add_photo", no_space)  # the store's copy fails instead
    with pytest.raises(PhotoError) as e:
        add_to_store(store, src)
    assert e.value.msgid == photos.MSG_DISK_FULL
    assert list((store.root / "tmp").iterdir()) == []
    store.close()


def test_the_worker_resizes_off_the_calling_thread_and_posts_back(tmp_path):
    store = Store(tmp_path / "data")
    posted, done = [], threading.Event()
    results = []

    def post(fn):  # the app's post is Clock.schedule_once: here, run and note the thread
        posted.append(threading.get_ident())
        fn()

    def on_done(sha, err):
        results.append((sha, err))
        done.set()

    worker = PhotoWorker(store, post, max_px=lambda: 1024)
    capture = camera_jpeg(tmp_path / "capture.jpg")
    worker.submit(capture, on_done, delete_source=True)
    assert done.wait(30)
    (sha, err), = results
    assert err is None and store.photo(sha)["size_bytes"] > 0
    assert threading.get_ident() not in worker.thread_ids  # never on the submitting (UI) thread
    with Image.open(store.photo(sha)["abs_path"]) as img:
        assert max(img.size) == 1024
    assert not capture.exists()  # the cache copy is dropped once stored

    done.clear()
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 broken")
    worker.submit(bad, on_done)
    assert done.wait(30)
    assert results[-1][0] is None and isinstance(results[-1][1], PhotoError)
    store.close()
