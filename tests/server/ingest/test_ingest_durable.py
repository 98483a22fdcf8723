"""Durability of originals: each batch's files and folders are synced before its rows are committed,
and a sync that fails leaves no row naming an unsynced file (SQLite and PostgreSQL)."""
from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest
from sqlmodel import select

from ingest_helpers import jpeg_bytes, make_deployment, write
from server.ingest import pipeline, process
from server.ingest.pipeline import ingest_path
from server.models import Media


def _card(tmp_path: Path, n: int) -> Path:
    for i in range(n):
        write(tmp_path / f"card/IMG_{i:04d}.JPG", jpeg_bytes(f"2026:03:02 06:{i:02d}:00", color=(i * 20, 9, 9)))
    return tmp_path / "card"


def _synced_paths(monkeypatch) -> list[str]:
    """Record the path of every fsync (files and folders), from any thread."""
    seen: list[str] = []
    real = os.fsync

    def recording(fd):
        seen.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)

    monkeypatch.setattr(os, "fsync", recording)
    return seen


@pytest.mark.parametrize("workers", [0, 2])
def test_each_batch_is_synced_before_its_rows(app, world, tmp_path, monkeypatch, workers):
    _, _, dep = make_deployment(world)
    card = _card(tmp_path, 10)
    monkeypatch.setattr(pipeline, "BATCH_SIZE", 4)
    monkeypatch.setattr(pipeline, "BATCH_SECONDS", float("inf"))
    synced = _synced_paths(monkeypatch)
    root = str(app.extensions["saola.media"].root)
    real_write = pipeline.BatchWriter._write
    checked = []

    def checking_write(self, placed):
        # When rows are about to be written, their files, their folders and the store's root are synced.
        for res, *_ in placed:
            key = res["storage_key"]
            a, b = key.split("/")[:2]
            for p in (key, a + "/" + b, a):
                assert os.path.realpath(os.path.join(root, p)) in synced, p
            checked.append(key)
        assert os.path.realpath(root) in synced
        return real_write(self, placed)

    monkeypatch.setattr(pipeline.BatchWriter, "_write", checking_write)
    rep = ingest_path(app, card, deployment_id=dep.id, workers=workers)
    assert (rep.ingested, rep.fatal) == (10, None) and len(checked) == 10
    # Workers did not fsync each file (one sync per batch instead): only the batches' paths are synced.
    files = [p for p in synced if p.endswith(".jpg")]
    assert len(files) == 10 and len(set(files)) == 10


@pytest.mark.parametrize("workers", [0, 2])  # 2: batches synced in a background thread (BatchWriter.overlap)
def test_a_failed_sync_writes_no_rows_and_a_rerun_completes(app, world, tmp_path, monkeypatch, workers):
    _, _, dep = make_deployment(world)
    card = _card(tmp_path, 8 if workers else 6)  # 8: enough files for worker processes
    monkeypatch.setattr(pipeline, "BATCH_SIZE", 3)
    monkeypatch.setattr(pipeline, "BATCH_SECONDS", float("inf"))
    real = os.fsync
    calls = {"n": 0}

    def failing(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".jpg"):
            calls["n"] += 1
            if calls["n"] > 3:  # the second batch: the disk reports an I/O error on writeback
                raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(fd)

    monkeypatch.setattr(os, "fsync", failing)
    rep = ingest_path(app, card, deployment_id=dep.id, workers=workers)
    assert rep.fatal is not None and rep.fatal.startswith("the disk did not confirm the stored originals")
    assert "Input/output error" in rep.fatal and "run the same command again" in rep.fatal
    assert rep.summary_lines()[-1].startswith("STOPPED: the disk did not confirm")
    with world.session() as s:
        assert len(list(s.exec(select(Media)))) == 3  # only the synced batch has rows
    monkeypatch.setattr(os, "fsync", real)
    again = ingest_path(app, card, deployment_id=dep.id, workers=0)
    assert (again.ingested, again.duplicates, again.fatal) == (5 if workers else 3, 3, None)
    store = app.extensions["saola.media"]
    with world.session() as s:
        media = list(s.exec(select(Media)))
    assert len(media) == (8 if workers else 6)
    for m in media:  # every row names a whole file
        assert hashlib.sha256(store.path(m.storage_key).read_bytes()).hexdigest() == m.sha256


def test_make_durable_syncs_files_then_their_folders(tmp_path, monkeypatch):
    keys = [f"ab/c{i}/f{i}.jpg" for i in range(5)] + ["ab/c0/g.jpg"]
    for k in keys:
        write(tmp_path / k, b"x")
    synced = _synced_paths(monkeypatch)
    assert process.make_durable(str(tmp_path), keys) == 6
    files, folders = synced[:6], synced[6:]
    assert sorted(files) == sorted(str(tmp_path / k) for k in keys)
    assert sorted(folders) == sorted([str(tmp_path), str(tmp_path / "ab")] + [str(tmp_path / f"ab/c{i}")
                                                                             for i in range(5)])
    assert process.make_durable(str(tmp_path), []) == 0
    with pytest.raises(FileNotFoundError):  # a file that vanished is an error, never skipped
        process.make_durable(str(tmp_path), ["ab/c0/missing.jpg"])


def test_writeback_starts_as_each_original_is_written_and_its_failure_stops_nothing(app, world, tmp_path,
                                                                                 monkeypatch):
    """The disk starts on each original as it is written (so a batch's fsync finds little left to do);
    that hint failing (-1, as on a filesystem without it) changes nothing: the batch's fsync decides."""
    _, _, dep = make_deployment(world)
    card = _card(tmp_path, 5)
    started: list[str] = []

    def failing_hint(fd, offset, nbytes, flags):
        started.append(os.readlink(f"/proc/self/fd/{fd}"))
        return -1

    monkeypatch.setattr(process, "_sync_file_range", failing_hint)
    synced = _synced_paths(monkeypatch)
    rep = ingest_path(app, card, deployment_id=dep.id, workers=0)
    assert (rep.ingested, rep.fatal) == (5, None)
    root = os.path.realpath(app.extensions["saola.media"].root)
    assert len(started) == 5 and all(os.path.dirname(p).startswith(root) for p in started)  # the temp files
    assert len([p for p in synced if p.endswith(".jpg")]) == 5
