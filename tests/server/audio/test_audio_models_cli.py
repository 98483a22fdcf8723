"""Registering a custom ONNX audio classifier with `saola models add --kind audio_classifier`."""
import json

from sqlmodel import select

from server.db import session_scope
from server.models import MLModel


def test_register_audio_classifier(runner, app, tmp_path):
    from tests.classifiers.audio.test_audio_custom import N_MELS, mel_model

    model = tmp_path / "gibbon.onnx"
    mel_model(model, "NCHW")
    labels = tmp_path / "labels.txt"
    labels.write_text("low_call\nhigh_call\n")
    cfg = json.dumps({"sample_rate": 16000, "window_s": 3.0, "n_mels": N_MELS, "n_fft": 1024, "hop_length": 256})
    res = runner.invoke(["models", "add", str(model), "--name", "gibbon", "--kind", "audio_classifier",
                         "--version", "0.1", "--labels", str(labels), "--config", cfg])
    assert res.exit_code == 0, res.output
    with session_scope(app.config["DATABASE_URL"]) as s:
        row = s.exec(select(MLModel).where(MLModel.name == "gibbon")).one()
        assert row.kind == "audio_classifier" and row.config["labels"] == ["low_call", "high_call"]
        assert row.config["n_mels"] == N_MELS
    # labels are required for an audio classifier
    res = runner.invoke(["models", "add", str(model), "--name", "owl", "--kind", "audio_classifier"],
                        catch_exceptions=True)
    assert res.exit_code != 0 and "labels" in res.output
