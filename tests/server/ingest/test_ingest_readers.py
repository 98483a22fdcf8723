"""Readers, time correction, derivatives and zip checks: no database needed."""
from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from ingest_helpers import avi_bytes, jpeg_bytes, mp4_bytes, reconyx_dir, write
from server.ingest import derivatives as deriv
from server.ingest import registry
from server.ingest.exif import parse_exif_datetime, parse_offset, read_jpeg
from server.ingest.registry import UnreadableMedia, register_reader, reader_for
from server.ingest.sequences import group_times
from server.ingest.sources import ZipRefused, classify, safe_member_name, scan_folder, scan_zip
from server.ingest.timefix import correct_time, in_window, time_flags
from server.ingest.video import parse_avi_date, read_video


# ---- EXIF ---------------------------------------------------------------------------------
def test_reconyx_metadata(shared_dir):
    path = sorted(reconyx_dir(shared_dir).glob("*.JPG"))[0]
    info = read_jpeg(path.read_bytes(), str(path))
    assert info.camera_make == "RECONYX"
    assert info.camera_model == "HYPERFIRE 2 COVERT"
    assert info.captured_at_raw == datetime(2021, 4, 11, 20, 43, 9)
    assert info.timestamp_source == "exif"
    assert (info.width, info.height) == (2048, 1440)
    assert info.meta["exif"]["EXIF SceneCaptureType"] == "Night"
    assert info.flags == []


def test_generated_exif_fields():
    data = jpeg_bytes("2026:03:02 06:15:01", serial="H2-0042", orientation=6, offset="+07:00", subsec="25",
                      gps=(17.5, -106.25))
    info = read_jpeg(data, None)
    assert info.captured_at_raw == datetime(2026, 3, 2, 6, 15, 1, 250000)
    assert info.camera_serial == "H2-0042"
    assert info.orientation == 6
    assert info.utc_offset_min == 420 and info.timestamp_source == "exif_offset"
    assert info.latitude == pytest.approx(17.5) and info.longitude == pytest.approx(-106.25)


def test_no_exif_is_read_without_time():
    info = read_jpeg(jpeg_bytes(exif=False), None)
    assert info.captured_at_raw is None and info.timestamp_source == "none"
    assert info.width == 96 and "no EXIF metadata" in info.notes


@pytest.mark.parametrize("data,message", [(b"", "empty file"), (b"hello, not a photo", "not a JPEG file"),
                                          (b"\x89PNG\r\n\x1a\n" + bytes(40), "not a JPEG file")])
def test_not_a_jpeg_is_unreadable(data, message):
    with pytest.raises(UnreadableMedia, match=message):
        read_jpeg(data, None)


@pytest.mark.parametrize("text,sub,expected", [
    ("2021:04:11 20:43:09", None, datetime(2021, 4, 11, 20, 43, 9)),
    ("2021-04-11 20:43:09", "5", datetime(2021, 4, 11, 20, 43, 9, 500000)),
    ("0000:00:00 00:00:00", None, None), ("    :  :     :  :  ", None, None), ("", None, None),
    ("2021:02:30 10:00:00", None, None)])
def test_parse_exif_datetime(text, sub, expected):
    assert parse_exif_datetime(text, sub) == expected


@pytest.mark.parametrize("text,expected", [("+07:00", 420), ("-03:30", -210), ("+0545", 345), ("junk", None),
                                           ("+25:00", None), (None, None)])
def test_parse_offset(text, expected):
    assert parse_offset(text) == expected


# ---- time ---------------------------------------------------------------------------------
def test_correct_time_zone_offset_and_file_offset():
    raw = datetime(2021, 4, 11, 20, 43, 9)
    assert correct_time(raw, "Asia/Ho_Chi_Minh") == (datetime(2021, 4, 11, 13, 43, 9, tzinfo=timezone.utc), 420)
    # The clock offset corrects the device clock first (camera 1 h slow).
    assert correct_time(raw, "Asia/Ho_Chi_Minh", 3600)[0] == datetime(2021, 4, 11, 14, 43, 9, tzinfo=timezone.utc)
    # A stated offset wins over the zone.
    assert correct_time(raw, "Asia/Ho_Chi_Minh", 0, 120)[0] == datetime(2021, 4, 11, 18, 43, 9, tzinfo=timezone.utc)
    # Daylight saving is applied per date.
    assert correct_time(datetime(2021, 1, 5, 12), "Europe/Brussels")[1] == 60
    assert correct_time(datetime(2021, 7, 5, 12), "Europe/Brussels")[1] == 120
    assert correct_time(None, "UTC") == (None, None)


def test_time_flags():
    now = datetime(2026, 3, 1, tzinfo=timezone.utc)
    assert time_flags(None, None) == ["no_timestamp"]
    assert time_flags(datetime(1970, 1, 1), datetime(1970, 1, 1, tzinfo=timezone.utc)) == ["clock_reset"]
    assert time_flags(datetime(2000, 1, 1, 0, 5), datetime(2000, 1, 1, tzinfo=timezone.utc)) == ["clock_reset"]
    assert time_flags(datetime(2027, 1, 1), datetime(2027, 1, 1, tzinfo=timezone.utc), now) == ["future_time"]
    assert time_flags(datetime(2026, 2, 1), datetime(2026, 2, 1, tzinfo=timezone.utc), now) == []


def test_in_window():
    s = datetime(2026, 3, 1, tzinfo=timezone.utc)
    assert in_window(s, s, None) and not in_window(s - timedelta(seconds=1), s, None)
    assert not in_window(s + timedelta(days=2), s, s + timedelta(days=1))
    assert in_window(s.replace(tzinfo=None), s, s)  # SQLite gives naive UTC back
    assert not in_window(None, s, None)


def test_group_times_splits_at_gap():
    t0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
    times = [t0, t0 + timedelta(seconds=1), t0 + timedelta(seconds=61.5), t0 + timedelta(seconds=62),
             t0 + timedelta(seconds=200)]
    assert group_times(times, 60) == [0, 0, 1, 1, 2]
    assert group_times(times, 0) == [0, 1, 2, 3, 4]
    assert group_times([], 60) == []


# ---- derivatives ----------------------------------------------------------------------------
def _img(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def test_thumbnail_only_for_review_sized_upright_photo(shared_dir):
    data = sorted(reconyx_dir(shared_dir).glob("*.JPG"))[0].read_bytes()
    d = deriv.make_derivatives(data, 1)
    assert d.review is None  # 2048 px upright: the original serves for review
    assert _img(d.thumb).size == (256, 180)  # straight from 1/8 DCT scaling, no resampling


@pytest.mark.parametrize("size,thumb", [((2560, 1920), (320, 240)), ((1920, 1080), (240, 135)),
                                        ((1280, 720), (320, 180)), ((200, 150), (200, 150))])
def test_thumbnail_sizes(size, thumb):
    # About 320 px: exactly 320 after resampling, 240-320 when DCT scaling lands there; never enlarged.
    assert _img(deriv.make_derivatives(jpeg_bytes(size=size), None).thumb).size == thumb


def test_big_photo_gets_a_review_image():
    d = deriv.make_derivatives(jpeg_bytes(size=(4000, 3000)), None)
    assert _img(d.review).size == (1600, 1200)
    assert _img(d.thumb).size == (320, 240)


@pytest.mark.parametrize("orientation,size,marker", [(6, (48, 64), (0.75, 0.1)), (8, (48, 64), (0.1, 0.9)),
                                                    (3, (64, 48), (0.9, 0.9))])
def test_orientation_is_applied(orientation, size, marker):
    # A 64x48 photo whose white marker sits top-left as stored.
    d = deriv.make_derivatives(jpeg_bytes(size=(640, 480), orientation=orientation), orientation)
    for blob in (d.thumb, d.review):
        im = _img(blob).convert("L")
        w, h = im.size
        assert (w > h) == (size[0] > size[1])
        assert im.getpixel((int(marker[0] * w), int(marker[1] * h))) > 200  # the marker moved with the rotation
        assert im.getpixel((int((1 - marker[0]) * w), int((1 - marker[1]) * h))) < 150


def test_cmyk_and_greyscale():
    d = deriv.make_derivatives(jpeg_bytes(mode="CMYK", size=(400, 300)), None)
    assert _img(d.thumb).mode == "RGB" and d.review is not None
    g = deriv.make_derivatives(jpeg_bytes(mode="L", size=(400, 300)), None)
    assert _img(g.thumb).mode == "L" and g.review is None


def test_truncated_photo_cannot_be_derived():
    data = jpeg_bytes(size=(800, 600))
    with pytest.raises(deriv.DerivativeError, match="cannot decode"):
        deriv.make_derivatives(data[: len(data) // 2], None)


# ---- video ----------------------------------------------------------------------------------
@pytest.mark.parametrize("version", [0, 1])
def test_mp4_mvhd(version):
    info = read_video(mp4_bytes(datetime(2026, 3, 5, 14, 30, 12), 12.5, 1920, 1080, version), None)
    assert info.captured_at_raw == datetime(2026, 3, 5, 14, 30, 12)
    assert info.duration_s == 12.5 and (info.width, info.height) == (1920, 1080)
    assert info.timestamp_source == "video" and info.meta["parser"] == "saola"


def test_avi_headers():
    info = read_video(avi_bytes(), None)
    assert info.captured_at_raw == datetime(2026, 3, 5, 14, 30, 12)
    assert info.duration_s == pytest.approx(10.0, abs=0.01)
    assert (info.width, info.height) == (1920, 1080)


@pytest.mark.parametrize("text,expected", [("THU MAR 05 14:30:12 2026\n", datetime(2026, 3, 5, 14, 30, 12)),
                                           ("2026:03:05 14:30:12", datetime(2026, 3, 5, 14, 30, 12)),
                                           ("garbage", None), ("MON FOO 05 14:30:12 2026", None)])
def test_avi_dates(text, expected):
    assert parse_avi_date(text) == expected


def test_damaged_video_is_kept_flagged_and_non_video_refused(tmp_path):
    cut = mp4_bytes(datetime(2026, 3, 5), 3)[:40]  # ftyp and the start of moov only
    p = write(tmp_path / "cut.mp4", cut)
    info = read_video(cut, str(p))
    assert info.flags == ["corrupt"]
    with pytest.raises(UnreadableMedia, match="not a readable video"):
        read_video(b"just text, not a video at all", str(write(tmp_path / "x.mp4", b"just text, not a video")))


def test_ffprobe_reads_what_the_header_parser_cannot(tmp_path):
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is installed by scripts/setup.sh"
    out = tmp_path / "clip.mkv"
    subprocess.run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", "color=c=green:s=64x48:d=1.5", "-metadata",
                    "creation_time=2026-03-05T14:30:12Z", "-c:v", "mjpeg", str(out)], check=True, timeout=60)
    p = tmp_path / "clip.mp4"  # Matroska content behind an .mp4 name: only ffprobe reads it
    out.rename(p)
    info = read_video(None, str(p))
    assert info.meta["parser"] == "ffprobe"
    assert info.duration_s == pytest.approx(1.5, abs=0.1)
    assert info.captured_at_raw == datetime(2026, 3, 5, 14, 30, 12)
    assert (info.width, info.height) == (64, 48)


# ---- registry and scanning --------------------------------------------------------------------
def test_registry_dispatch_and_feature_readers(tmp_path, monkeypatch):
    registry.load_plugins()
    # Every feature's readers are loaded (server/features.py): the audio feature reads WAV and FLAC.
    assert classify("rec/20260301_050000.WAV") == ("audio", None, ".wav")
    assert classify("rec/20260301_050000.flac") == ("audio", None, ".flac")
    saved = dict(registry.READERS)
    try:
        # Ingest's own readers only: photos and videos.
        registry.READERS.clear()
        registry._builtin()
        monkeypatch.setattr(registry, "_plugins_loaded", True)
        assert classify("DCIM/100RECNX/IMG_0001.JPG")[0] == "image"
        assert classify("DCIM/100MEDIA/CLIP0001.AVI")[0] == "video"
        assert classify("rec/20260301_050000.WAV")[1] == "not a media file (.wav)"
        assert classify("notes.txt")[1] == "not a media file (.txt)"
        assert classify("._IMG_0001.JPG")[1].startswith("operating-system metadata")
        assert classify("nested/card.zip")[1].startswith("archive inside the card")
        # The audio feature registers its readers this way.
        register_reader([".wav"], "audio", "audio/wav", lambda data, path: registry.MediaInfo(sample_rate=48000))
        assert classify("rec/a.wav") == ("audio", None, ".wav")
        assert reader_for("A.WAV").read(None, None).sample_rate == 48000
        with pytest.raises(ValueError, match="unknown media kind"):
            register_reader([".xyz"], "hologram", "x/y", lambda d, p: None)
    finally:
        registry.READERS.clear()
        registry.READERS.update(saved)


def test_scan_folder(tmp_path):
    write(tmp_path / "DCIM/100RECNX/IMG_0001.JPG", jpeg_bytes())
    write(tmp_path / "DCIM/100RECNX/notes.txt", b"x")
    write(tmp_path / "DCIM/100RECNX/EMPTY.JPG", b"")
    write(tmp_path / "System Volume Information/IndexerVolumeGuid", b"x")
    (tmp_path / "link.JPG").symlink_to(tmp_path / "DCIM/100RECNX/IMG_0001.JPG")
    sources, skipped = scan_folder(tmp_path)
    assert [s.rel_path for s in sources] == ["DCIM/100RECNX/IMG_0001.JPG"]
    reasons = dict((s.rel_path, s.reason) for s in skipped)
    assert reasons["DCIM/100RECNX/notes.txt"] == "not a media file (.txt)"
    assert reasons["DCIM/100RECNX/EMPTY.JPG"] == "empty file (0 bytes)"
    assert reasons["link.JPG"] == "symbolic link, not followed"
    assert "system folder" in reasons["System Volume Information/IndexerVolumeGuid"]


@pytest.mark.parametrize("name,expected", [("a/b.jpg", "a/b.jpg"), ("./a//b.jpg", "a/b.jpg"), ("../b.jpg", None),
                                           ("a/../../b.jpg", None), ("/etc/passwd", None), ("C:/x.jpg", None),
                                           ("a\\..\\..\\b.jpg", None), ("", None)])
def test_safe_member_name(name, expected):
    assert safe_member_name(name) == expected


def test_scan_zip_refuses_escapes_links_and_bombs(tmp_path):
    z = tmp_path / "card.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("DCIM/IMG_0001.JPG", jpeg_bytes())
        zf.writestr("../../etc/evil.JPG", jpeg_bytes(serial="evil"))
        zf.writestr("/abs.JPG", jpeg_bytes(serial="abs"))
        zf.writestr("bomb.JPG", b"\x00" * (4 * 1024 * 1024))  # ~1000:1
        link = zipfile.ZipInfo("DCIM/link.JPG")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
    sources, skipped = scan_zip(z)
    assert [s.rel_path for s in sources] == ["DCIM/IMG_0001.JPG"]
    reasons = {s.rel_path: s.reason for s in skipped}
    assert "escapes the target" in reasons["../../etc/evil.JPG"]
    assert "escapes the target" in reasons["/abs.JPG"]
    assert "zip bomb" in reasons["bomb.JPG"]
    assert "symbolic link" in reasons["DCIM/link.JPG"]
    with pytest.raises(ZipRefused, match="zip bomb"):
        scan_zip(z, max_total_bytes=1024 * 1024)
    with pytest.raises(ZipRefused, match="not a readable zip"):
        scan_zip(write(tmp_path / "fake.zip", b"PK\x03\x04 not really"))


def test_truncated_photo_is_flagged_even_when_pillow_is_told_to_accept_it(monkeypatch):
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # as weasyprint sets it
    data = jpeg_bytes(size=(800, 600))
    cut = read_jpeg(data[: len(data) * 2 // 3], None)
    assert cut.flags == ["corrupt"] and "truncated JPEG" in cut.notes[-1]
    assert read_jpeg(data, None).flags == []
