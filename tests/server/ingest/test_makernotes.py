"""Camera makers' metadata (issue 16, item 1): Reconyx maker notes in every layout, the text fields of
other trail cameras, damaged maker notes, and the real HyperFire 2 burst. No database needed."""
from __future__ import annotations

import logging
from datetime import datetime

import pytest

import makernote_files as mf
from ingest_helpers import reconyx_dir
from server.ingest import makernotes
from server.ingest.exif import read_jpeg
from server.ingest.sequences import group_media, same_burst


def _read(data: bytes):
    info = read_jpeg(data, None)
    return info, info.meta.get("camera", {})


def test_hyperfire_old_model_time_only_in_maker_note():
    # Older HyperFire/RapidFire firmware: no EXIF DateTimeOriginal at all; the maker note has the time.
    info, cam = _read(mf.photo("RECONYX", "HC600 HYPERFIRE", mf.hyperfire()))
    assert info.captured_at_raw == datetime(2019, 6, 15, 3, 4, 5)
    assert info.timestamp_source == "makernote"
    assert info.camera_serial == "H500RX12345"
    assert cam["layout"] == "HyperFire" and cam["maker"] == "Reconyx"
    assert (cam["sequence_index"], cam["sequence_count"], cam["event_number"]) == (2, 3, 70000)
    assert cam["trigger_mode"] == "motion" and cam["moon_phase"] == "full"
    assert cam["temperature_c"] == 25 and cam["battery_v"] == 8.45 and cam["user_label"] == "PNKB S01"
    assert cam["firmware"] == "3.2.1"


def test_hyperfire_time_words_written_big_endian():
    _, cam = _read(mf.photo("RECONYX", "PC900", mf.hyperfire(big_endian_time=True)))
    assert cam["captured_at"] == "2019-06-15T03:04:05"


def test_hyperfire_needs_reconyx_make_without_version_word():
    # 01 F1 alone is too weak a signature for another maker's note.
    blob = b"\x01\xf1" + bytes(120)
    assert makernotes.read_maker_note("OTHER", blob) is None
    assert makernotes.read_maker_note("RECONYX", blob)["layout"] == "HyperFire"


def test_ultrafire():
    info, cam = _read(mf.photo("RECONYX", "ULTRAFIRE XR6", mf.ultrafire(), when="2020:07:09 22:15:30"))
    assert info.captured_at_raw == datetime(2020, 7, 9, 22, 15, 30) and info.timestamp_source == "exif"
    assert cam["captured_at"] == "2020-07-09T22:15:30"
    assert info.camera_serial == "UF0123456789"
    assert (cam["sequence_index"], cam["sequence_count"], cam["event_number"]) == (1, 5, 123456)
    assert cam["trigger_mode"] == "time lapse" and cam["moon_phase"] == "first quarter"
    assert cam["temperature_c"] == 10 and cam["battery_v"] == 11.9 and cam["user_label"] == "BACH MA 3"


def test_hyperfire2_and_weekday_settles_month_and_day():
    info, cam = _read(mf.photo("RECONYX", "HF2X", mf.hyperfire2()))
    # 4 and 11 could be April 11 or November 4: the weekday word (Sunday) says April 11.
    assert info.captured_at_raw == datetime(2021, 4, 11, 20, 43, 9)
    assert info.camera_serial == "H2RXEM00000001"
    assert (cam["sequence_index"], cam["sequence_count"], cam["event_number"]) == (3, 10, 4)
    assert cam["ambient_light"] == 17 and cam["battery_v"] == 7.814 and cam["battery_avg_v"] == 9.521
    assert cam["temperature_c"] == 2 and cam["moon_phase"] == "new" and cam["user_label"] == "CAT TIEN 12"
    assert cam["firmware"] == "1.4a" and cam["flash"] is True
    # Thursday: November 4.
    _, cam = _read(mf.photo("RECONYX", "HF2X", mf.hyperfire2(weekday=5)))
    assert cam["captured_at"] == "2021-11-04T20:43:09"


def test_microfire():
    info, cam = _read(mf.photo("RECONYX", "MICROFIRE MR5", mf.microfire()))
    assert info.captured_at_raw == datetime(2023, 12, 24, 6, 30, 0)
    assert info.camera_serial == "MF5000123"
    assert cam["layout"] == "MicroFire" and cam["trigger_mode"] == "external sensor"
    assert cam["temperature_c"] == -20 and cam["moon_phase"] == "last quarter" and cam["ambient_light"] == 250
    assert cam["battery_v"] == 4.8 and cam["user_label"] == "YOK DON"


def test_hyperfire4k():
    info, cam = _read(mf.photo("RECONYX", "HYPERFIRE 4K", mf.hyperfire4k()))
    assert info.captured_at_raw == datetime(2024, 2, 28, 3, 2, 1)
    assert info.camera_serial == "HF4K00042"
    assert (cam["sequence_index"], cam["sequence_count"], cam["event_number"]) == (4, 4, 77)
    assert cam["temperature_c"] == 35 and cam["ambient_light"] == 1234 and cam["user_label"] == "CUC PHUONG"


def test_exif_serial_wins_over_maker_note_and_exif_time_over_maker_time():
    info, cam = _read(mf.photo("RECONYX", "HF2X", mf.hyperfire2(), serial="EXIF-SERIAL",
                               when="2021:04:11 20:43:10"))
    assert info.camera_serial == "EXIF-SERIAL" and cam["serial"] == "H2RXEM00000001"
    assert info.captured_at_raw == datetime(2021, 4, 11, 20, 43, 10) and info.timestamp_source == "exif"


@pytest.mark.parametrize("blob,why", [
    (b"RECONYXH2\x00" + bytes(30), "maker note ends at byte 40"),
    (b"RECONYXUF\x00" + bytes(20), "maker note ends at byte 30"),
    (b"RECONYXMF\x00" + bytes(60), "maker note ends at byte 70"),
    (b"\x01\xf1\x03\x00" + bytes(10), "maker note ends at byte 14"),
])
def test_truncated_maker_note_is_noted_and_the_photo_kept(blob, why, caplog):
    with caplog.at_level(logging.INFO, logger="saola.ingest"):
        info, cam = _read(mf.photo("RECONYX", "HF2X", blob, when="2021:04:11 20:43:09"))
    assert info.captured_at_raw == datetime(2021, 4, 11, 20, 43, 9)
    assert any(n.startswith("maker note not read: ") and why in n for n in info.notes), info.notes
    assert "maker note not read" in caplog.text
    assert "camera" not in info.meta and info.flags == []


def test_unknown_firmware_garbage_values_are_dropped():
    # A block of the right size full of 0xFF: no date, no burst, no moon phase, no temperature.
    blob = b"RECONYXH2\x00" + b"\xff" * 200
    info, cam = _read(mf.photo("RECONYX", "HF9", blob))
    assert info.captured_at_raw is None and info.timestamp_source == "none"
    for key in ("captured_at", "sequence_index", "moon_phase", "temperature_c", "battery_v"):
        assert key not in cam


def test_maker_note_pointing_outside_the_exif_block_is_ignored():
    data = bytearray(mf.photo("RECONYX", "HF2X", mf.hyperfire2(), when="2021:04:11 20:43:09"))
    i = data.find(b"\x7c\x92\x07\x00")  # the maker note's IFD entry: move its offset far away
    data[i + 8:i + 12] = (0x7FFFFFF0).to_bytes(4, "little")
    info, cam = _read(bytes(data))
    assert info.captured_at_raw == datetime(2021, 4, 11, 20, 43, 9) and cam == {}


def test_unknown_binary_maker_note_is_ignored():
    info, cam = _read(mf.photo("Canon", "EOS", bytes(range(256)) * 2, when="2021:04:11 20:43:09"))
    assert cam == {} and info.notes == []


# ---- other trail cameras: labelled text -------------------------------------------------------
def test_bushnell_description_text():
    info, cam = _read(mf.photo("Bushnell", "119936", description="SN:BN4410223 TEMP:25C Moon: full",
                               when="2025:01:02 03:04:05"))
    assert info.camera_serial == "BN4410223" and cam["temperature_c"] == 25 and cam["moon_phase"] == "full"
    assert cam["maker"] == "Bushnell"


def test_browning_user_comment_fahrenheit_and_burst():
    info, cam = _read(mf.photo("BROWNING", "BTC-8E", user_comment="Camera ID: BTC8E-0042 Temperature 77F Seq 2/3",
                               when="2025:01:02 03:04:05"))
    assert info.camera_serial == "BTC8E-0042" and cam["temperature_c"] == 25
    assert (cam["sequence_index"], cam["sequence_count"]) == (2, 3)


def test_spypoint_standard_exif_temperature_and_serial():
    info, cam = _read(mf.photo("SPYPOINT", "FORCE-20", serial="SPY123456", temperature=(-35, 10), image_number=17,
                               when="2025:01:02 03:04:05"))
    assert info.camera_serial == "SPY123456" and cam["temperature_c"] == -3.5 and cam["image_number"] == 17


def test_oem_text_maker_note():
    info, cam = _read(mf.photo("SUNTEK", "HC-801", b"TEMP:-3C SN:SG2060K0007 MOON:waxing crescent\x00",
                               when="2025:01:02 03:04:05"))
    assert info.camera_serial == "SG2060K0007" and cam["temperature_c"] == -3
    assert cam["moon_phase"] == "new crescent" and cam["layout"] == "text"


def test_unlabelled_numbers_are_not_taken():
    _, cam = _read(mf.photo("Bushnell", "119936", description="25 12345 2/3", when="2025:01:02 03:04:05"))
    assert cam == {}


# ---- sequences: the camera's burst numbers beat time gaps ----------------------------------------
def test_same_burst_rules():
    a = {"sequence_index": 1, "sequence_count": 3, "event_number": 8}
    assert same_burst(a, {"sequence_index": 2, "sequence_count": 3, "event_number": 8}, 300) is True
    assert same_burst(a, {"sequence_index": 1, "sequence_count": 3, "event_number": 9}, 1) is False
    assert same_burst(a, {"sequence_index": 2, "sequence_count": 3, "event_number": 8}, 4000) is False
    assert same_burst({"sequence_index": 1, "sequence_count": 3}, {"sequence_index": 2, "sequence_count": 3}, 90)
    assert same_burst({"sequence_index": 2, "sequence_count": 3}, {"sequence_index": 1, "sequence_count": 3}, 1) \
        is False
    assert same_burst(a, None, 1) is None and same_burst(a, {"temperature_c": 3}, 1) is None


def test_group_media_mixes_camera_numbers_and_gaps():
    t = [datetime(2026, 1, 1, 0, 0, s) for s in (0, 1, 2, 3, 4)]
    t += [datetime(2026, 1, 1, 0, 3, 0), datetime(2026, 1, 1, 0, 3, 30)]
    b = [{"sequence_index": 1, "sequence_count": 2, "event_number": 1},
         {"sequence_index": 2, "sequence_count": 2, "event_number": 1},
         {"sequence_index": 1, "sequence_count": 2, "event_number": 2},  # new burst 1 s later
         None, None,  # no numbers: the gap rule
         {"sequence_index": 1, "sequence_count": 2, "event_number": 3},
         {"sequence_index": 2, "sequence_count": 2, "event_number": 3}]
    assert group_media(t, b, 60) == [0, 0, 1, 1, 1, 2, 2]
    assert group_media(t, b, 10) == [0, 0, 1, 1, 1, 2, 2]
    assert group_media(t, [None] * 7, 60) == [0, 0, 0, 0, 0, 1, 1]


# ---- the real HyperFire 2 burst ----------------------------------------------------------------
def test_real_reconyx_burst(shared_dir):
    files = sorted(reconyx_dir(shared_dir).glob("*.JPG"))
    seen = []
    for i, path in enumerate(files, start=1):
        info = read_jpeg(path.read_bytes(), str(path))
        cam = info.meta["camera"]
        assert info.camera_serial == "H2RXEM06043616" and cam["serial"] == "H2RXEM06043616"
        assert (cam["sequence_index"], cam["sequence_count"], cam["event_number"]) == (i, 10, 4)
        assert cam["trigger_mode"] == "motion" and cam["moon_phase"] == "new" and cam["temperature_c"] == 2
        assert cam["user_label"] == "MICA 318" and cam["layout"] == "HyperFire 2" and cam["firmware"] == "1.4a"
        assert 7 < cam["battery_v"] < 10 and cam["ambient_light"] == 0
        # The maker note's clock agrees with EXIF's (the weekday settles its month/day order).
        assert cam["captured_at"] == info.captured_at_raw.isoformat()
        seen.append(cam)
    assert group_media([datetime.fromisoformat(c["captured_at"]) for c in seen], seen, 1) == [0] * 10
