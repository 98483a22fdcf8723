"""User ONNX audio classifiers: a tiny model built here with onnx.helper, every input layout."""

from __future__ import annotations

import json

import librosa
import numpy as np
import onnx
import pytest
import soundfile
from onnx import TensorProto, helper, numpy_helper

from classifiers.audio.custom import CustomClassifier, CustomModelConfig, CustomModelError
from tests.classifiers.audio.wavtools import tone

N_MELS = 32
LABELS = ["low_call", "high_call"]


def band_weights(n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, 2): label 0 scores low mel bands over high ones, label 1 the reverse."""
    w = np.zeros((n_mels, 2), dtype=np.float32)
    w[: n_mels // 4, 0], w[n_mels // 2 :, 0] = 0.2, -0.2 * (n_mels // 4) / (n_mels - n_mels // 2)
    w[:, 1] = -w[:, 0]
    return w


def mel_model(path, layout: str) -> None:
    """Mean over time (and channel) of a log-mel input, then a 2-class linear layer."""
    shapes = {"NCHW": ["N", 1, N_MELS, "T"], "NHWC": ["N", N_MELS, "T", 1], "NMT": ["N", N_MELS, "T"],
              "NTM": ["N", "T", N_MELS]}
    axes = {"NCHW": [1, 3], "NHWC": [2, 3], "NMT": [2], "NTM": [1]}[layout]
    nodes = [
        helper.make_node("ReduceMean", ["mel"], ["pooled"], axes=axes, keepdims=0),
        helper.make_node("MatMul", ["pooled", "w"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_mel_classifier",
        [helper.make_tensor_value_info("mel", TensorProto.FLOAT, shapes[layout])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2])],
        initializer=[numpy_helper.from_array(band_weights(), "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


@pytest.fixture
def labels_file(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("\n".join(LABELS) + "\n")
    return path


def recording(tmp_path, rate=16000):
    """3 s low call, 3 s high call, 3 s silence, 1 s tail (dropped: under half a window)."""
    x = np.concatenate([tone(500, 3, rate), tone(6000, 3, rate), np.zeros(4 * rate, np.float32)])
    path = tmp_path / f"gibbon_post_{rate}.wav"
    soundfile.write(path, x, rate, subtype="FLOAT")
    return path, x


@pytest.mark.parametrize("layout", ["NCHW", "NHWC", "NMT", "NTM"])
def test_windows_labels_and_scores(tmp_path, labels_file, layout):
    model_path = tmp_path / f"tiny_{layout}.onnx"
    mel_model(model_path, layout)
    config = CustomModelConfig(str(model_path), str(labels_file), name="gibbon", version="0.1",
                               sample_rate=16000, window_s=3.0, n_mels=N_MELS, n_fft=1024, hop_length=256,
                               fmax=8000, input_layout=layout, min_conf=0.6)
    clf = CustomClassifier(config)
    path, x = recording(tmp_path)
    dets = clf.analyse_file(path)
    assert clf.model_id == "gibbon@0.1"
    assert [(d.start_s, d.end_s, d.label) for d in dets] == [(0.0, 3.0, "low_call"), (3.0, 6.0, "high_call")]
    # the confidence is what the model computes on librosa's log-mel of the window
    mel = librosa.power_to_db(librosa.feature.melspectrogram(y=x[:48000], sr=16000, n_fft=1024, hop_length=256,
                                                             n_mels=N_MELS, fmax=8000), ref=1.0, top_db=None)
    logit = mel.mean(axis=1) @ band_weights()
    assert dets[0].confidence == pytest.approx(1 / (1 + np.exp(-logit[0])), rel=1e-4)


def test_resamples_to_model_rate_and_hops(tmp_path, labels_file):
    model_path = tmp_path / "tiny.onnx"
    mel_model(model_path, "NCHW")
    config = CustomModelConfig(str(model_path), str(labels_file), sample_rate=16000, window_s=3.0, hop_s=1.5,
                               n_mels=N_MELS, hop_length=256, output_activation="softmax", min_conf=0.9,
                               batch_size=2)
    path, _ = recording(tmp_path, rate=48000)
    dets = CustomClassifier(config).analyse_file(path)
    by_start = {d.start_s: d.label for d in dets}
    assert by_start[0.0] == "low_call" and by_start[3.0] == "high_call"
    assert max(by_start) <= 7.5  # windows every 1.5 s; the 10 s file has none starting past 7.5 s


def test_config_from_json(tmp_path, labels_file):
    mel_model(tmp_path / "tiny.onnx", "NTM")
    (tmp_path / "gibbon.json").write_text(json.dumps(
        {"model_path": "tiny.onnx", "labels_path": "labels.txt", "n_mels": N_MELS, "input_layout": "NTM"}))
    config = CustomModelConfig.from_json(tmp_path / "gibbon.json")
    assert config.model_path == str((tmp_path / "tiny.onnx").resolve())
    assert CustomClassifier(config).labels == LABELS
    (tmp_path / "bad.json").write_text(json.dumps({"model_path": "tiny.onnx", "labels_path": "labels.txt",
                                                    "n_mel": 32}))
    with pytest.raises(CustomModelError, match="bad.json.*unknown config field.*n_mel"):
        CustomModelConfig.from_json(tmp_path / "bad.json")


def test_bad_configurations_are_clear(tmp_path, labels_file):
    model_path = tmp_path / "tiny.onnx"
    mel_model(model_path, "NCHW")
    with pytest.raises(CustomModelError, match="input_layout"):
        CustomModelConfig(str(model_path), str(labels_file), input_layout="NCTW")
    three = tmp_path / "three.txt"
    three.write_text("a\nb\nc\n")
    path, _ = recording(tmp_path)
    clf = CustomClassifier(CustomModelConfig(str(model_path), str(three), n_mels=N_MELS))
    with pytest.raises(CustomModelError, match="outputs 2 classes.*lists 3 labels"):
        clf.analyse_file(path)
    clf = CustomClassifier(CustomModelConfig(str(model_path), str(labels_file), n_mels=64))
    with pytest.raises(CustomModelError, match="rejected input of shape"):
        clf.analyse_file(path)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(CustomModelError, match="junk.onnx.*cannot load"):
        CustomClassifier(CustomModelConfig(str(tmp_path / "junk.onnx"), str(labels_file)))
