"""Recording start time and recorder facts from GUANO, AudioMoth comments and file names; bad files."""

from __future__ import annotations

import datetime as dt
import json
import os

import numpy as np
import pytest
import soundfile

from classifiers.audio.errors import (
    AudioFileError,
    CorruptAudioError,
    EmptyAudioError,
    NotAudioError,
    TruncatedAudioError,
    UnsupportedSampleFormatError,
)
from classifiers.audio.metadata import parse_audiomoth_comment, parse_filename, read_metadata, scan
from tests.classifiers.audio.wavtools import guano_chunk, info_list, noise, wav_bytes, write_wav

RATE = 8000
UTC = dt.timezone.utc


def utc(*args) -> dt.datetime:
    return dt.datetime(*args)


def short() -> np.ndarray:
    return noise(0.5, RATE)


AUDIOMOTH_VARIANTS = [
    # (comment, start_utc, offset_min, recorder_id, deployment_id, gain, battery, battery_v, temperature_c)
    (
        "Recorded at 21:09:41 19/03/2018 (UTC+7) by AudioMoth 24A04F085A1B2C3D at medium gain setting "
        "while battery state was 4.2V and temperature was 23.4C.",
        utc(2018, 3, 19, 14, 9, 41), 420, "24A04F085A1B2C3D", None, "medium", "4.2V", 4.2, 23.4,
    ),
    (
        "Recorded at 22:00:00 12/04/2018 (UTC) by AudioMoth 0FE081F80FE081F0 at gain setting 2 "
        "while battery state was less than 3.6V.",
        utc(2018, 4, 12, 22, 0, 0), 0, "0FE081F80FE081F0", None, "2", "less than 3.6V", 3.6, None,
    ),
    (  # oldest firmware: no offset at all means the clock was UTC
        "Recorded at 10:00:00 01/01/2019 by AudioMoth 0FE081F80FE081F0 at gain setting 3 "
        "while battery state was 4.5V.",
        utc(2019, 1, 1, 10, 0, 0), 0, "0FE081F80FE081F0", None, "3", "4.5V", 4.5, None,
    ),
    (
        "Recorded at 01:15:00 02/03/2020 (UTC-3:30) by AudioMoth 242A26045F5B3A8C at medium gain "
        "while battery was 4.4V and temperature was -2.5C.",
        utc(2020, 3, 2, 4, 45, 0), -210, "242A26045F5B3A8C", None, "medium", "4.4V", 4.4, -2.5,
    ),
    (  # deployment-ID wording; local time before 07:00 is the previous UTC day
        "Recorded at 05:00:00 15/06/2021 (UTC+7) during deployment 0123456789ABCDEF at high gain "
        "while battery was greater than 4.9V and temperature was 25.6C.",
        utc(2021, 6, 14, 22, 0, 0), 420, None, "0123456789ABCDEF", "high", "greater than 4.9V", 4.9, 25.6,
    ),
    (  # trailing firmware sentences are ignored
        "Recorded at 23:59:59 31/12/2022 (UTC+5:30) by AudioMoth 24E144085F256D62 at low gain while "
        "battery was 3.9V and temperature was 30.0C. Amplitude threshold was 512. Band-pass filter "
        "with frequencies of 1.0kHz and 4.0kHz applied.",
        utc(2022, 12, 31, 18, 29, 59), 330, "24E144085F256D62", None, "low", "3.9V", 3.9, 30.0,
    ),
    (
        "Recorded at 06:30:00 07/08/2023 (UTC+10) by AudioMoth 24E144085F256D62 during deployment "
        "AB12CD34EF56AB78 at medium-high gain while battery was 4.0V and temperature was 19.0C.",
        utc(2023, 8, 6, 20, 30, 0), 600, "24E144085F256D62", "AB12CD34EF56AB78", "medium-high", "4.0V", 4.0, 19.0,
    ),
    (  # firmware 1.0: no zone, lower-case serial, "< 3.6V", no final full stop
        "Recorded at 06:00:00 17/02/2019 by AudioMoth 0fe081f80fe081f0 at gain setting 4 while battery state was < 3.6V",
        utc(2019, 2, 17, 6, 0, 0), 0, "0FE081F80FE081F0", None, "4", "less than 3.6V", 3.6, None,
    ),
    (  # firmware 1.0: two-decimal volts
        "Recorded at 06:00:00 17/02/2019 by AudioMoth 0FE081F80FE081F0 at gain setting 2 while battery state was 4.70V",
        utc(2019, 2, 17, 6, 0, 0), 0, "0FE081F80FE081F0", None, "2", "4.70V", 4.7, None,
    ),
    (  # a zone of minus half an hour is written "-0:30"; cancelled recording
        "Recorded at 11:30:00 01/05/2021 (UTC-0:30) by AudioMoth 24E144085F256D62 at low-medium gain setting while "
        "battery state was less than 2.5V and temperature was 8.0C. Recording cancelled before completion due to "
        "low voltage.",
        utc(2021, 5, 1, 12, 0, 0), -30, "24E144085F256D62", None, "low-medium", "less than 2.5V", 2.5, 8.0,
    ),
    (  # external microphone wording between the serial and the gain
        "Recorded at 19:00:00 09/09/2022 (UTC+7) by AudioMoth 24E144085F256D62 using external microphone at "
        "medium gain while battery was 3.7V and temperature was 28.2C.",
        utc(2022, 9, 9, 12, 0, 0), 420, "24E144085F256D62", None, "medium", "3.7V", 3.7, 28.2,
    ),
]


@pytest.mark.parametrize("comment,start,offset,rid,dep,gain,battery,volts,temp", AUDIOMOTH_VARIANTS)
def test_audiomoth_comment_in_list_info_chunk(tmp_path, comment, start, offset, rid, dep, gain, battery, volts, temp):
    # The name carries a different time: the header comment must win over it.
    path = write_wav(tmp_path / "20000101_000000.WAV", short(), RATE,
                     before_data=info_list(ICMT=comment, IART="AudioMoth"))
    meta = read_metadata(path)
    assert meta.timestamp_source == "audiomoth"
    assert meta.start_utc == start
    assert meta.utc_offset_min == offset
    assert meta.recorder_id == rid
    assert meta.deployment_id == dep
    assert meta.gain == gain
    assert meta.battery == battery
    assert meta.battery_v == pytest.approx(volts)
    assert meta.temperature_c == (pytest.approx(temp) if temp is not None else None)
    assert meta.raw["info"]["ICMT"] == comment
    assert meta.raw["timestamps"]["filename"]["start_utc"].startswith("1999-12-31T17:00")
    json.dumps(meta.as_dict())  # raw metadata is JSON-able


def test_audiomoth_comment_parser_rejects_other_text():
    assert parse_audiomoth_comment("Made with Audacity") == {}
    assert parse_audiomoth_comment("Recorded at 25:61:00 40/13/2020 (UTC) by AudioMoth 24E144085F256D62") == {}


def test_guano_timestamp_with_offset_wins_over_audiomoth_and_name(tmp_path):
    path = write_wav(
        tmp_path / "20000101_000000.WAV", short(), RATE,
        before_data=info_list(ICMT="Recorded at 10:00:00 01/01/2019 (UTC) by AudioMoth 0FE081F80FE081F0 "
                                   "at gain setting 3 while battery state was 4.5V."),
        after_data=guano_chunk({"Timestamp": "2021-06-15T05:00:00+07:00", "Serial": "SMM01234",
                                "Make": "Wildlife Acoustics", "Model": "Song Meter Mini",
                                "Temperature Int": "27.5", "WA|Song Meter|Prefix": "SMM01234"}),
    )
    meta = read_metadata(path)
    assert meta.timestamp_source == "guano"
    assert meta.start_utc == utc(2021, 6, 14, 22, 0, 0)
    assert meta.utc_offset_min == 420
    assert meta.recorder_id == "SMM01234"
    assert meta.recorder_model == "Wildlife Acoustics Song Meter Mini"
    assert meta.temperature_c == 27.5
    assert meta.raw["guano"]["WA|Song Meter|Prefix"] == "SMM01234"
    assert set(meta.raw["timestamps"]) == {"guano", "audiomoth", "filename"}


@pytest.mark.parametrize(
    "stamp,tz,start,offset",
    [
        ("2020-02-29T23:30:00Z", "Asia/Ho_Chi_Minh", utc(2020, 2, 29, 23, 30), 0),
        ("2020-02-29T23:30:00-0330", "Asia/Ho_Chi_Minh", utc(2020, 3, 1, 3, 0), -210),
        # naive GUANO stamp: local time, read in the deployment's zone
        ("2020-07-01T12:00:00", "Europe/Berlin", utc(2020, 7, 1, 10, 0), 120),
        ("2020-07-01 12:00:00.250", "Asia/Ho_Chi_Minh", utc(2020, 7, 1, 5, 0, 0, 250000), 420),
    ],
)
def test_guano_timestamp_variants(tmp_path, stamp, tz, start, offset):
    path = write_wav(tmp_path / "rec.wav", short(), RATE, after_data=guano_chunk({"Timestamp": stamp}))
    meta = read_metadata(path, timezone=tz)
    assert (meta.timestamp_source, meta.start_utc, meta.utc_offset_min) == ("guano", start, offset)


@pytest.mark.parametrize(
    "name,tz,start,offset,pattern,rid,triggered",
    [
        ("20210615_050000.WAV", "Asia/Ho_Chi_Minh", utc(2021, 6, 14, 22, 0), 420, "audiomoth", None, False),
        ("24A04F085A1B2C3D_20210615_050000T.WAV", "Asia/Ho_Chi_Minh", utc(2021, 6, 14, 22, 0), 420,
         "audiomoth", "24A04F085A1B2C3D", True),
        ("SMM01234_20210615_050000.wav", "America/Costa_Rica", utc(2021, 6, 15, 11, 0), -360, "songmeter", None, None),
        ("S4A12345_0+1_20210615_050000.wav", "Asia/Ho_Chi_Minh", utc(2021, 6, 14, 22, 0), 420,
         "songmeter", None, None),
        ("S4A12345_20210115_050000.wav", "Europe/Berlin", utc(2021, 1, 15, 4, 0), 60, "songmeter", None, None),
        ("S4U12345_20210615_050000_250.wav", "UTC", utc(2021, 6, 15, 5, 0, 0, 250000), 0, "songmeter", None, None),
    ],
)
def test_filename_times_in_deployment_zone(tmp_path, name, tz, start, offset, pattern, rid, triggered):
    path = write_wav(tmp_path / name, short(), RATE)
    meta = read_metadata(path, timezone=tz)
    assert meta.timestamp_source == "filename"
    assert meta.start_utc == start
    assert meta.utc_offset_min == offset
    assert meta.raw["filename"]["pattern"] == pattern
    assert meta.recorder_id == rid
    assert meta.triggered is triggered


def test_old_audiomoth_hex_name_is_unix_time(tmp_path):
    path = write_wav(tmp_path / "5A1B2C3D.WAV", short(), RATE)
    meta = read_metadata(path, timezone="Asia/Ho_Chi_Minh")
    expected = dt.datetime.fromtimestamp(0x5A1B2C3D, UTC).replace(tzinfo=None)
    assert meta.timestamp_source == "filename"
    assert meta.start_utc == expected
    assert meta.utc_offset_min == 420
    assert meta.raw["filename"]["pattern"] == "audiomoth-hex"


def test_unrecognised_names_give_no_time():
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    for name in ("recording.wav", "20211315_050000.WAV", "2021-06-15 05.00.00.wav", "ZZZZZZZZ.WAV"):
        assert parse_filename(name, tz) == {}, name


def test_file_mtime_is_never_used(tmp_path):
    path = write_wav(tmp_path / "recording.wav", short(), RATE)
    os.utime(path, (1_600_000_000, 1_600_000_000))
    meta = read_metadata(path)
    assert meta.timestamp_source == "none"
    assert meta.start_utc is None and meta.utc_offset_min is None


def test_technical_facts_without_reading_samples(tmp_path):
    stereo = np.stack([noise(2.0, 32000, seed=1), noise(2.0, 32000, seed=2)], axis=1)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, stereo, 32000, subtype="PCM_24")
    meta = read_metadata(path)
    assert (meta.format, meta.sample_format, meta.sample_rate, meta.channels, meta.frames) == (
        "WAV", "PCM_24", 32000, 2, 64000)
    assert meta.duration_s == pytest.approx(2.0)


def test_audiomoth_comment_in_flac(tmp_path):
    path = tmp_path / "20000101_000000.flac"
    with soundfile.SoundFile(path, "w", samplerate=RATE, channels=1, format="FLAC", subtype="PCM_16") as f:
        f.comment = ("Recorded at 21:09:41 19/03/2018 (UTC+7) by AudioMoth 24A04F085A1B2C3D at medium gain "
                     "while battery was 4.2V and temperature was 23.4C.")
        f.write(short())
    meta = read_metadata(path)
    assert meta.format == "FLAC"
    assert (meta.timestamp_source, meta.start_utc, meta.recorder_id) == (
        "audiomoth", utc(2018, 3, 19, 14, 9, 41), "24A04F085A1B2C3D")


def test_unknown_time_zone_is_a_clear_error(tmp_path):
    path = write_wav(tmp_path / "a.wav", short(), RATE)
    with pytest.raises(ValueError, match="Mars/Olympus"):
        read_metadata(path, timezone="Mars/Olympus")


# ----------------------------------------------------------------------------- bad files


def test_zero_byte_file(tmp_path):
    path = tmp_path / "20210615_050000.WAV"
    path.write_bytes(b"")
    with pytest.raises(EmptyAudioError, match="20210615_050000.WAV.*0 bytes"):
        read_metadata(path)


def test_header_without_frames(tmp_path):
    path = write_wav(tmp_path / "empty.wav", np.zeros(0, np.float32), RATE)
    with pytest.raises(EmptyAudioError, match="empty.wav.*no sample frames"):
        read_metadata(path)


def test_truncated_wav(tmp_path):
    whole = wav_bytes(noise(2.0, RATE), RATE)
    path = tmp_path / "cut.wav"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(TruncatedAudioError, match="cut.wav.*data chunk declares 32000 bytes"):
        read_metadata(path)


def test_truncated_flac(tmp_path):
    whole = tmp_path / "whole.flac"
    soundfile.write(whole, noise(30.0, RATE), RATE, subtype="PCM_16")
    assert read_metadata(whole).frames == 30 * RATE
    cut = tmp_path / "cut.flac"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(TruncatedAudioError, match="cut.flac.*promises 240000 frames"):
        read_metadata(cut)


def test_truncated_flac_found_while_streaming(tmp_path):
    from classifiers.audio.stream import iter_blocks

    whole = tmp_path / "whole.flac"
    soundfile.write(whole, noise(150.0, RATE), RATE, subtype="PCM_16")
    cut = tmp_path / "cut.flac"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(CorruptAudioError, match="cut.flac.*between 60.0 and 120.0 s"):
        for _ in iter_blocks(cut, block_s=60):
            pass


def test_corrupt_wav_header(tmp_path):
    whole = bytearray(wav_bytes(noise(0.5, RATE), RATE))
    fmt = whole.index(b"fmt ")
    whole[fmt + 8 : fmt + 24] = b"\xff" * 16  # nonsense format tag, channels, rate
    path = tmp_path / "garbled.wav"
    path.write_bytes(bytes(whole))
    with pytest.raises(CorruptAudioError, match="garbled.wav"):
        read_metadata(path)


def test_riff_that_is_not_wave(tmp_path):
    path = tmp_path / "video.avi"
    path.write_bytes(b"RIFF\x10\x00\x00\x00AVI LIST\x04\x00\x00\x00hdrl")
    with pytest.raises(CorruptAudioError, match="video.avi.*not WAVE"):
        read_metadata(path)


def test_not_audio(tmp_path):
    path = tmp_path / "notes.WAV"
    path.write_text("field notes, not a recording\n" * 20)
    with pytest.raises(NotAudioError, match="notes.WAV.*not a WAV or FLAC"):
        read_metadata(path)


@pytest.mark.parametrize("subtype", ["ULAW", "IMA_ADPCM"])
def test_unsupported_sample_format(tmp_path, subtype):
    path = tmp_path / "phone.wav"
    soundfile.write(path, noise(0.5, RATE), RATE, subtype=subtype)
    with pytest.raises(UnsupportedSampleFormatError, match=f"phone.wav.*{subtype}"):
        read_metadata(path)


def test_other_container_is_refused(tmp_path):
    path = tmp_path / "clip.aiff"
    soundfile.write(path, noise(0.5, RATE), RATE, format="AIFF")
    with pytest.raises(NotAudioError, match="clip.aiff.*AIFF"):
        read_metadata(path)


def test_scan_reports_bad_files_and_continues(tmp_path):
    good1 = write_wav(tmp_path / "20210615_050000.WAV", short(), RATE)
    bad = tmp_path / "20210615_060000.WAV"
    bad.write_bytes(b"")
    good2 = write_wav(tmp_path / "20210615_070000.WAV", short(), RATE)
    results = dict(scan([good1, bad, good2]))
    assert isinstance(results[bad], EmptyAudioError) and isinstance(results[bad], AudioFileError)
    assert results[good1].start_utc == utc(2021, 6, 14, 22, 0)
    assert results[good2].start_utc == utc(2021, 6, 15, 0, 0)
