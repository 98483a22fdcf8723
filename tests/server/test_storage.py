"""The content-addressed media store: atomic writes, no half-written originals, no escapes."""
import hashlib
import io

import pytest

from server.storage import LocalMediaStore, sha256_file


def test_put_file_stream_and_move(tmp_path):
    store = LocalMediaStore(tmp_path / "media")
    src = tmp_path / "a.jpg"
    src.write_bytes(b"\xff\xd8photo")
    sha = sha256_file(src)
    key = store.key_for(sha, ".JPG")
    assert key == f"{sha[:2]}/{sha[2:4]}/{sha}.jpg"
    store.put_file(src, key)
    store.put_file(src, key)  # again: a no-op
    assert store.path(key).read_bytes() == b"\xff\xd8photo"
    data = b"x" * 3_000_000
    k2 = store.key_for(hashlib.sha256(data).hexdigest(), "bin")
    assert store.put_stream(io.BytesIO(data), k2) == hashlib.sha256(data).hexdigest()
    part = tmp_path / "upload.part"
    part.write_bytes(b"moved")
    k3 = store.key_for(hashlib.sha256(b"moved").hexdigest(), "jpg")
    store.put_move(part, k3)
    assert not part.exists() and store.path(k3).read_bytes() == b"moved"
    assert sorted(store.iter_keys()) == sorted([key, k2, k3])


def test_a_failing_write_leaves_nothing_behind(tmp_path):
    store = LocalMediaStore(tmp_path / "media")

    class Broken(io.RawIOBase):
        def __init__(self):
            self.n = 0

        def read(self, size=-1):
            self.n += 1
            if self.n > 2:
                raise OSError(28, "No space left on device")
            return b"y" * 1024

    key = store.key_for("ab" * 32, "jpg")
    with pytest.raises(OSError, match="No space left"):
        store.put_stream(Broken(), key)
    assert not store.exists(key)
    assert list(store.iter_keys()) == [] and not any(p.name.startswith(".tmp-") for p in (tmp_path / "media").rglob("*"))


def test_keys_cannot_escape_the_store(tmp_path):
    store = LocalMediaStore(tmp_path / "media")
    with pytest.raises(ValueError, match="escapes"):
        store.path("../../etc/passwd")
