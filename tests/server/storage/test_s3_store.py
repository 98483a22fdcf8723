"""The S3 media store against an S3-compatible server over HTTP (moto's server mode: tests/s3_server.py):
store, read ranges, multipart, presigned links, and ``saola storage migrate`` both ways with every
SHA-256 verified, resumed after an interruption, a damaged source reported; on SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path

import pytest
from sqlmodel import select

from server.storage import LocalMediaStore, open_store, stores_from_config
from server.storage_migrate import journal_for, migrate_store
from server.storage_s3 import S3MediaStore, materialise, pending


def _store(s3_server, tmp_path, url=None) -> S3MediaStore:
    url = url or f"s3://{s3_server.bucket()}/area/originals"
    return open_store(url, {**s3_server.config(url), "DATA_DIR": str(tmp_path)}, "t")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_s3_store_put_read_ranges_multipart_and_presigned_links(s3_server, tmp_path):
    store = _store(s3_server, tmp_path)
    photo = os.urandom(200_000)
    key = store.key_for(_sha(photo), "JPG")
    assert key == f"{_sha(photo)[:2]}/{_sha(photo)[2:4]}/{_sha(photo)}.jpg"
    assert not store.exists(key) and store.size(key) is None
    store.put_bytes(key, photo)
    assert store.exists(key) and store.size(key) == len(photo)
    # Under the URL's prefix in the bucket, as the local store's layout.
    objects = s3_server.client().list_objects_v2(Bucket=store.bucket)["Contents"]
    assert [o["Key"] for o in objects] == [f"area/originals/{key}"]

    # Ranged reads: the first byte, a middle span, the tail, and the whole.
    assert b"".join(store.open_range(key, 0, 0)) == photo[:1]
    assert b"".join(store.open_range(key, 1000, 99_999)) == photo[1000:100_000]
    assert b"".join(store.open_range(key, 199_990)) == photo[199_990:]
    assert store.sha256(key) == _sha(photo)

    # A 12 MB video goes up in 5 MiB parts (S3_PART_MB=5): three parts, whole and exact afterwards.
    video = os.urandom(12 * 1024 * 1024)
    src = tmp_path / "clip.mp4"
    src.write_bytes(video)
    vkey = store.key_for(_sha(video), "mp4")
    store.put_file(src, vkey)
    head = s3_server.client().head_object(Bucket=store.bucket, Key=store.object_key(vkey), PartNumber=1)
    assert head["PartsCount"] == 3
    assert store.sha256(vkey) == _sha(video)
    assert b"".join(store.open_range(vkey, 5 * 1024 * 1024 - 3, 5 * 1024 * 1024 + 2)) == \
        video[5 * 1024 * 1024 - 3:5 * 1024 * 1024 + 3]

    # A stream of unknown length: hashed while it is uploaded.
    with open(src, "rb") as f:
        assert store.put_stream(f, "stream/clip.mp4") == _sha(video)

    # Files for code that needs a path: fetched once into the local cache.
    p = store.path(key)
    assert p.read_bytes() == photo and str(p).startswith(str(tmp_path))
    assert store.path("ab/cd/absent.jpg").exists() is False

    # In a deferred block the original is not fetched: serving code streams or presigns it.
    with store.deferred():
        lazy = store.path(vkey)
        assert not lazy.exists() and pending(lazy) == (store, vkey)
        materialise(lazy)
        assert lazy.read_bytes() == video and pending(lazy) is None

    # A presigned link downloads the bytes over plain HTTP without credentials.
    url = store.presigned_url(key, 60, filename="IMG_0001.JPG", mimetype="image/jpeg")
    with urllib.request.urlopen(url) as r:
        assert r.read() == photo
        assert "IMG_0001.JPG" in r.headers["Content-Disposition"]

    assert sorted(store.iter_keys()) == sorted([key, vkey, "stream/clip.mp4"])
    store.delete(key)
    assert not store.exists(key) and not (tmp_path / "s3-cache" / "t" / key).exists()
    for bad in ("../etc/passwd", "/abs", "a//b", ""):
        with pytest.raises(ValueError, match="escapes the store"):
            store.path(bad)


def test_s3_settings_choose_the_backend(s3_server, tmp_path):
    url = f"s3://{s3_server.bucket()}/saola"
    media, deriv = stores_from_config({**s3_server.config(url), "DATA_DIR": str(tmp_path)})
    assert (media.options.url, deriv.options.url) == (url + "/originals", url + "/derivatives")
    local, _ = stores_from_config({"DATA_DIR": str(tmp_path), "MEDIA_URL": ""})
    assert isinstance(local, LocalMediaStore)
    with pytest.raises(ValueError, match="unsupported media store"):
        open_store("ftp://host/x", {"DATA_DIR": str(tmp_path)})
    with pytest.raises(ValueError, match="no bucket"):
        open_store("s3:///prefix", {"DATA_DIR": str(tmp_path)})


def _fill_local(root: Path, n: int = 5) -> dict[str, bytes]:
    store = LocalMediaStore(root / "media")
    out = {}
    for i in range(n):
        data = os.urandom(50_000 + i)
        key = store.key_for(_sha(data), "jpg")
        store.put_bytes(key, data)
        out[key] = data
    return out


def test_s3_migrate_resumes_after_an_interruption_and_reports_a_damaged_source(s3_server, tmp_path):
    files = _fill_local(tmp_path)
    src = LocalMediaStore(tmp_path / "media")
    dst = _store(s3_server, tmp_path)
    journal = journal_for(tmp_path, src, dst)
    keys = sorted(files)
    # The first run stops after two objects (as a killed process would).
    first = migrate_store(src, dst, journal, keys=keys[:2])
    assert (first.copied, first.already, first.ok) == (2, 0, True)
    # A copy left in the target without its journal line (killed between upload and journal),
    # and a bad copy (wrong bytes under the key) left by some other tool.
    dst.put_bytes(keys[2], files[keys[2]])
    dst.put_bytes(keys[3], b"not the photo")
    again = migrate_store(src, dst, journal)
    assert (again.copied, again.already, again.replaced, again.ok) == (2, 3, 1, True)
    for key, data in files.items():
        assert dst.sha256(key) == _sha(data)

    # A damaged source (bit rot): not copied, reported, the run is not ok; the others are kept.
    bad = tmp_path / "media2"
    good = _fill_local(bad, 2)
    broken_key = sorted(good)[0]
    (bad / "media" / broken_key).write_bytes(b"truncated")
    src2 = LocalMediaStore(bad / "media")
    rep = migrate_store(src2, dst, journal_for(tmp_path, src2, dst), delete_source=True)
    assert not rep.ok and len(rep.errors) == 1 and broken_key in rep.errors[0] and "damaged" in rep.errors[0]
    assert not dst.exists(broken_key)
    assert (bad / "media" / broken_key).is_file()  # never deleted: it was not verified
    other = sorted(good)[1]
    assert dst.sha256(other) == _sha(good[other]) and not (bad / "media" / other).exists()


def test_s3_migrate_command_both_ways_with_hashes_verified(s3_server, app, world, runner, tmp_path, monkeypatch):
    """``saola storage migrate --to s3://...`` then ``--to local PATH`` back, on both databases."""
    from storage_helpers import add_media

    media_root = Path(app.config["MEDIA_DIR"])
    files = _fill_local(media_root.parent)  # DATA_DIR/media is the configured store
    deriv = LocalMediaStore(Path(app.config["DATA_DIR"]) / "derivatives")
    thumb = os.urandom(3000)
    deriv.put_bytes("thumb/aa/bb/x.jpg", thumb)
    add_media(world, files)
    url = f"s3://{s3_server.bucket()}/pa"

    res = runner.invoke(["storage", "migrate", "--to", url], env={
        "SAOLA_S3_ENDPOINT_URL": s3_server.endpoint, "SAOLA_S3_ACCESS_KEY_ID": "saola-test-key",
        "SAOLA_S3_SECRET_ACCESS_KEY": "saola-test-secret"})
    assert res.exit_code == 0, res.output
    assert f"copied and verified {len(files) + 1} object(s)" in res.output
    assert f"SAOLA_MEDIA_URL={url}" in res.output
    s3 = _store(s3_server, tmp_path, url + "/originals")
    for key, data in files.items():
        assert s3.sha256(key) == _sha(data)
        assert (media_root / key).is_file()  # the source is kept without --delete-source
    assert _store(s3_server, tmp_path, url + "/derivatives").sha256("thumb/aa/bb/x.jpg") == _sha(thumb)

    # Running it again finds everything verified and copies nothing.
    res = runner.invoke(["storage", "migrate", "--to", url], env={
        "SAOLA_S3_ENDPOINT_URL": s3_server.endpoint, "SAOLA_S3_ACCESS_KEY_ID": "saola-test-key",
        "SAOLA_S3_SECRET_ACCESS_KEY": "saola-test-secret"})
    assert res.exit_code == 0 and "copied and verified 0 object(s)" in res.output

    # Now configured on S3: back to a new local folder, deleting each S3 object once verified.
    back = tmp_path / "back"
    env = {"SAOLA_MEDIA_URL": url, "SAOLA_S3_ENDPOINT_URL": s3_server.endpoint,
           "SAOLA_S3_ACCESS_KEY_ID": "saola-test-key", "SAOLA_S3_SECRET_ACCESS_KEY": "saola-test-secret"}
    res = runner.invoke(["storage", "migrate", "--to", "local", str(back / "media"), "--derivatives",
                         str(back / "derivatives"), "--delete-source"], env=env)
    assert res.exit_code == 0, res.output
    for key, data in files.items():
        assert _sha((back / "media" / key).read_bytes()) == _sha(data)
    assert (back / "derivatives" / "thumb/aa/bb/x.jpg").read_bytes() == thumb
    assert list(s3.iter_keys()) == []

    # A database naming media that are not in the target: the command fails and says so.
    add_media(world, {"ff/ff/" + "f" * 64 + ".jpg": b"gone"})
    res = runner.invoke(["storage", "migrate", "--to", url], env={
        "SAOLA_S3_ENDPOINT_URL": s3_server.endpoint, "SAOLA_S3_ACCESS_KEY_ID": "saola-test-key",
        "SAOLA_S3_SECRET_ACCESS_KEY": "saola-test-secret"})
    assert res.exit_code == 1 and "are not in the target" in res.output and "ff/ff/" in res.output

    bad = runner.invoke(["storage", "migrate", "--to", "local"])
    assert bad.exit_code == 1 and "needs a folder" in bad.output
    bad = runner.invoke(["storage", "migrate", "--to", "ftp://x"])
    assert bad.exit_code == 1 and "--to must be" in bad.output
    with world.session() as s:
        from server.models import Media

        assert len(s.exec(select(Media)).all()) == len(files) + 1

