"""Model files: checksums and verified downloads from a local HTTP server (never the internet)."""

from __future__ import annotations

import hashlib
import http.server
import threading
from functools import partial

import pytest

from classifiers.modelfiles import (KNOWN_MODELS, ChecksumMismatch, DownloadError, describe_file,
                                    fetch, fetch_known, normalise_sha256, sha256_file, verify_sha256)

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, several download chunks
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def model_server(tmp_path):
    """Serve tmp_path/www on 127.0.0.1 for the duration of a test."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "md_test.onnx").write_bytes(PAYLOAD)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_describe_and_verify(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(PAYLOAD)
    info = describe_file(path)
    assert (info.sha256, info.size) == (PAYLOAD_SHA, len(PAYLOAD))
    assert verify_sha256(path, PAYLOAD_SHA.upper()) == PAYLOAD_SHA
    with pytest.raises(ChecksumMismatch, match="m.onnx"):
        verify_sha256(path, "a" * 64)
    with pytest.raises(ValueError, match="not a SHA-256"):
        verify_sha256(path, "abc")
    with pytest.raises(FileNotFoundError, match="missing.onnx"):
        describe_file(tmp_path / "missing.onnx")


def test_fetch_verifies_and_reports_progress(tmp_path, model_server):
    seen = []
    dest = tmp_path / "models" / "md_test.onnx"
    got = fetch(f"{model_server}/md_test.onnx", dest, PAYLOAD_SHA,
                progress=lambda done, total: seen.append((done, total)))
    assert dest.read_bytes() == PAYLOAD
    assert (got.sha256, got.size, got.path) == (PAYLOAD_SHA, len(PAYLOAD), dest)
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD)) and len(seen) >= 1
    assert [p.name for p in dest.parent.iterdir()] == ["md_test.onnx"]  # no temp files left


def test_fetch_with_wrong_checksum_leaves_nothing(tmp_path, model_server):
    dest = tmp_path / "md_test.onnx"
    dest.write_bytes(b"previous good model")
    with pytest.raises(ChecksumMismatch, match=f"expected {'b' * 64}, got {PAYLOAD_SHA}"):
        fetch(f"{model_server}/md_test.onnx", dest, "b" * 64)
    assert dest.read_bytes() == b"previous good model"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["md_test.onnx", "www"]


def test_fetch_http_error_and_missing_checksum(tmp_path, model_server):
    with pytest.raises(DownloadError, match="404"):
        fetch(f"{model_server}/absent.onnx", tmp_path / "x.onnx", PAYLOAD_SHA)
    assert not (tmp_path / "x.onnx").exists()
    with pytest.raises(DownloadError, match="no SHA-256"):
        fetch(f"{model_server}/md_test.onnx", tmp_path / "x.onnx", None)
    assert list(tmp_path.glob("*.part")) == []


def test_known_models_registry(tmp_path, monkeypatch, model_server):
    for model in KNOWN_MODELS.values():
        assert model.url.startswith("https://")
        assert model.sha256 is None or normalise_sha256(model.sha256) == model.sha256
        assert model.format in ("onnx", "pt")
    name = next(iter(KNOWN_MODELS))
    with pytest.raises(DownloadError, match="no SHA-256"):  # none invented: the caller must pass one
        fetch_known(name, tmp_path)
    with pytest.raises(KeyError, match="unknown model"):
        fetch_known("md_v99", tmp_path)
    # Point an entry at the local server to exercise the registry path end to end.
    entry = KNOWN_MODELS[name]
    monkeypatch.setitem(KNOWN_MODELS, name, entry.__class__(
        name, f"{model_server}/md_test.onnx", None, "onnx", entry.description))
    got = fetch_known(name, tmp_path / "models", sha256=PAYLOAD_SHA)
    assert got.path.name == "md_test.onnx" and sha256_file(got.path) == PAYLOAD_SHA
